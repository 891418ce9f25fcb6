"""The lifecycle behaviour conformance cases cannot express: traces of nested calls,
threads, clocks, print capture, and where phprt must differ from PHP."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from phprt import E_USER_ERROR, Bailout, CliTransport, MemoryTransport, PhpError, Runtime
from tests.support.ports import uncaught_output

# Recorded from `php -n` 8.2.36: a script whose lines match TRACE_PORT line for line.
TRACE_PHP = """<?php
function inner($a, $s, $f) { throw new RuntimeException("deep"); }
function outer() { inner(1, "a long string value here", [1]); }
class K { function m($x) { outer(); } static function s() { header([]); } }
register_shutdown_function(function () { (new K)->m(null); });
register_shutdown_function(function () { K::s(); });
"""
TRACE_RECORDED = """
Fatal error: Uncaught RuntimeException: deep in %s:2
Stack trace:
#0 %s(3): inner(1, 'a long string v...', Array)
#1 %s(4): outer()
#2 %s(5): K->m(NULL)
#3 [internal function]: {closure}()
#4 {main}
  thrown in %s on line 2
"""
TRACE_PORT = """from phprt.php import *; RuntimeException = type("RuntimeException", (Exception,), {})
def inner(a, s, f): raise RuntimeException("deep")
def outer(): inner(1, "a long string value here", [1])
def m(self, x): outer()
K = type("K", (), {"m": m}); register_shutdown_function(lambda: K().m(None))
register_shutdown_function(lambda: echo("skipped"))
"""
# `php -n` 8.2.36 for: <?php \n ... \n class K { static function s() { header([]); } } \n K::s();
TYPE_ERROR_RECORDED = """
Fatal error: Uncaught TypeError: header(): Argument #1 ($header) must be of type string, array given in %s:4
Stack trace:
#0 %s(4): header(Array)
#1 %s(5): K::s()
#2 {main}
  thrown in %s on line 4
"""
TYPE_ERROR_PORT = """from phprt.php import *


def s(cls): header([])
K = type("K", (), {"s": classmethod(s)}); K.s()
"""


@pytest.mark.clause("DIAG-UNCAUGHT-1", "LIFE-SHUTDOWN-5")
def test_an_uncaught_exception_in_a_shutdown_function_has_php_trace(tmp_path: Path) -> None:
    import runpy

    script = tmp_path / "port.py"
    script.write_text(TRACE_PORT)
    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:
        runpy.run_path(str(script))
    assert transport.body.decode() == TRACE_RECORDED.replace("%s", str(script))
    assert rt.exit_status == 255


@pytest.mark.clause("DIAG-UNCAUGHT-1", "DEV-UNCAUGHT-1")
def test_an_uncaught_type_error_names_the_php_function_and_propagates(tmp_path: Path) -> None:
    import runpy

    script = tmp_path / "port.py"
    script.write_text(TYPE_ERROR_PORT)
    transport = MemoryTransport()
    runtime = Runtime(transport=transport)
    with pytest.raises(TypeError), runtime:
        runpy.run_path(str(script))
    assert transport.body.decode() == TYPE_ERROR_RECORDED.replace("%s", str(script))
    assert runtime.exit_status == 255 and transport.finished


def _spin_forever(rt: Runtime, seen: list[object]) -> None:
    rt.register_shutdown_function(lambda: seen.append(rt.connection_status()))
    while True:
        pass


@pytest.mark.clause("TIME-THREADS-1", "TIME-FATAL-1", "TIME-CPU-1")
def test_a_busy_loop_in_a_worker_thread_is_stopped_and_another_runtime_is_untouched() -> None:
    results: dict[str, object] = {}

    def limited() -> None:
        transport, seen = MemoryTransport(), []
        with Runtime(transport=transport, ini={"max_execution_time": "1", "display_errors": "1"}) as rt:
            _spin_forever(rt, seen)
        results["limited"] = (transport.body, seen, rt.exit_status)

    def unlimited() -> None:
        transport = MemoryTransport()
        with Runtime(transport=transport, ini={"max_execution_time": "0"}) as rt:
            end = time.process_time() + 0.5  # busy, but without a limit
            while time.thread_time() < end and time.process_time() < end + 5:
                pass
            rt.echo("finished")
        results["unlimited"] = (transport.body, rt.connection_status(), rt.exit_status)

    threads = [threading.Thread(target=limited), threading.Thread(target=unlimited)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    body, seen, status = results["limited"]  # type: ignore[misc]
    assert body.startswith(b"\nFatal error: Maximum execution time of 1 second exceeded in ")
    assert seen == [2] and status == 255
    assert results["unlimited"] == (b"finished", 0, 0)


@pytest.mark.clause("TIME-THREADS-1")
def test_a_busy_loop_in_the_main_thread_is_stopped() -> None:
    assert threading.current_thread() is threading.main_thread()
    transport, seen = MemoryTransport(), []
    with Runtime(transport=transport, sapi="cgi", ini={"max_execution_time": "1", "display_errors": "0"}) as rt:
        _spin_forever(rt, seen)
    assert seen == [2] and transport.status == 500
    assert rt.diagnostics[-1].message == "Maximum execution time of 1 second exceeded"


@pytest.mark.clause("TIME-WALL-1")
def test_the_wall_clock_counts_sleeping() -> None:
    transport, seen = MemoryTransport(), []
    with Runtime(transport=transport, ini={"max_execution_time": "1"}, clock="wall") as rt:
        rt.register_shutdown_function(lambda: seen.append(rt.connection_status()))
        while True:
            rt.usleep(50_000)
    assert seen == [2]
    with pytest.raises(ValueError):
        Runtime(clock="sundial")


@pytest.mark.clause("DEV-HARD-KILL-1")
def test_a_long_c_call_is_stopped_when_it_returns_not_killed() -> None:
    transport = MemoryTransport()
    with Runtime(transport=transport, ini={"max_execution_time": "1", "hard_timeout": "1"}) as rt:
        total = sum(range(10**8))  # one C call, longer than limit and hard_timeout here
        rt.echo(total)
    assert rt.connection_status() == 2 and b"Maximum execution time" in transport.body
    assert b"5000" not in transport.body


@pytest.mark.clause("RT-CAPTURE-1")
def test_print_in_the_runtime_thread_is_echo_and_other_threads_are_untouched(capsys: pytest.CaptureFixture[str]) -> None:
    from phprt.engine import capture

    # a script an earlier test's server still runs in a thread of its own routes sys.stdout
    # until it ends: this test's claim is about its Runtime alone
    for _ in range(1000):
        if not capture._users:
            break
        time.sleep(0.01)
    transport = MemoryTransport()
    before = sys.stdout
    with Runtime(transport=transport, capture_print=True) as rt:
        rt.ob_start(lambda buffer, phase: buffer.upper())
        print("hello", 42)
        sys.stdout.write("raw ")
        sys.stdout.buffer.write(b"bytes")
        other = threading.Thread(target=print, args=("from another thread",))
        other.start()
        other.join()
    assert transport.body == b"HELLO 42\nRAW BYTES"
    assert sys.stdout is before
    assert capsys.readouterr().out == "from another thread\n"


@pytest.mark.clause("TRANSPORT-EARLY-1", "FPM-FINISH-1")
def test_fastcgi_finish_request_needs_a_transport_that_can_end_early(tmp_path: Path) -> None:
    import io

    with Runtime(transport=CliTransport(io.BytesIO(), io.BytesIO()), sapi="fpm") as rt:
        assert rt.function_exists("fastcgi_finish_request") is False
        with pytest.raises(PhpError, match=r"^Call to undefined function fastcgi_finish_request\(\)$"):
            rt.fastcgi_finish_request()
    transport = MemoryTransport()
    with Runtime(transport=transport, sapi="fpm") as rt:
        rt.echo("answer")
        assert rt.fastcgi_finish_request() is True
        finished_at = len(transport.events)
        rt.echo("dropped")
    assert transport.events[finished_at - 1] == ("finish",) and len(transport.events) == finished_at
    assert transport.body == b"answer"


@pytest.mark.clause("DEV-FINALLY-1", "LIFE-EXIT-3")
def test_exit_runs_finally_blocks_which_php_would_skip() -> None:
    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:
        try:
            rt.exit("bye")
        finally:
            rt.echo("[finally]")
    assert transport.body == b"bye[finally]"


@pytest.mark.clause("DEV-SWALLOW-1")
def test_except_base_exception_swallows_a_bailout() -> None:
    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:
        try:
            rt.exit(3)
        except BaseException as caught:  # noqa: BLE001 - what this test pins
            assert isinstance(caught, Bailout)
        rt.echo("went on")
    assert transport.body == b"went on" and rt.exit_status == 3


@pytest.mark.clause("DEV-DESTRUCTORS-1", "LIFE-ORDER-1")
def test_no_destructor_step_runs_between_shutdown_functions_and_the_flush() -> None:
    transport = MemoryTransport()
    destroyed: list[bool] = []

    class Order:
        def __del__(self) -> None:
            destroyed.append(True)

    with Runtime(transport=transport) as rt:
        order = Order()
        rt.register_shutdown_function(lambda: rt.echo("[shutdown]"))
        rt.ob_start()
        rt.echo("body")
    assert not destroyed and transport.body == b"body[shutdown]" and transport.events[-1] == ("finish",)
    del order
    assert destroyed


@pytest.mark.clause("CONN-ABORT-1", "TRANSPORT-MEMORY-2")
def test_an_abort_stops_the_script_and_nothing_escapes_the_block() -> None:
    transport, log = MemoryTransport(disconnect_after=3), []
    with Runtime(transport=transport, sapi="cgi") as rt:
        rt.register_shutdown_function(lambda: log.append(rt.connection_status()))
        rt.echo("abc")
        try:
            rt.echo("def")
        except Exception:  # the script cannot catch the bailout
            log.append("caught")
        log.append("after")
    assert log == [1] and transport.body == b"abc"


# What PHP 8.2 (`php -n`) displays when the final flush finds a handler a bailout left running
# (spec/recorded/handlers.json, handler-timeout-end-flush-no-hard-timeout).
LOCKED_AT_SHUTDOWN = (b"\nFatal error: PHP Request Shutdown: Cannot use output buffering in output buffering"
                      b" display handlers in Unknown on line 0\n")


def _spinning_handler(calls: list[int]) -> object:
    def handler(buffer: str, phase: int) -> str:
        calls.append(phase)
        end = time.thread_time() + 10  # CPU-bound, far past the 1 second limit; bounded all the same
        while time.thread_time() < end:
            pass
        return buffer

    return handler


@pytest.mark.clause("OUT-BAILOUT-1", "TIME-HARD-1", "OUT-EXIT-1")
def test_a_handler_that_spins_or_exits_ends_its_request_and_the_next_runtime_is_untouched() -> None:
    """A handler spinning past max_execution_time with hard_timeout=0 is called once, as in PHP
    (whose recording is LOCKED_AT_SHUTDOWN); then, in the same thread, a handler that exits, and a
    plain request: each Runtime starts afresh."""
    results: dict[str, object] = {}

    def requests() -> None:
        transport, calls, seen = MemoryTransport(), [], []
        with Runtime(transport=transport, ini={"max_execution_time": "1", "hard_timeout": "0"}) as rt:
            rt.register_shutdown_function(lambda: seen.append((rt.connection_status(), rt.ob_get_level())))
            rt.ob_start(_spinning_handler(calls))
            rt.echo("a")
            rt.ob_end_flush()
            rt.echo("never")
        results["spin"] = (calls, seen, transport.body, rt.exit_status, transport.finished)

        transport, seen = MemoryTransport(), []
        with Runtime(transport=transport) as rt:
            rt.register_shutdown_function(lambda: seen.append(rt.ob_get_level()))
            rt.ob_start(lambda buffer, phase: rt.exit(f"[exit {phase}:{buffer}]"))
            rt.echo("a")
            rt.ob_end_flush()
            rt.echo("never")
        results["exit"] = (seen, transport.body, rt.exit_status)  # handler-exit-end-flush

        from phprt.php import echo, ob_start, register_shutdown_function

        transport, seen = MemoryTransport(), []
        with Runtime(transport=transport, ini={"max_execution_time": "1"}) as rt:
            register_shutdown_function(lambda: seen.append((rt.connection_status(), rt.ob_get_level())))
            ob_start(lambda buffer, phase: f"[{phase}:{buffer}]")
            echo("next")
        results["next"] = (seen, transport.body, rt.exit_status, rt.diagnostics)

    worker = threading.Thread(target=requests)
    worker.start()
    worker.join(timeout=60)  # a safety net only: the requests end in about a second of CPU
    assert not worker.is_alive()
    assert results["spin"] == ([9], [(2, 1)], LOCKED_AT_SHUTDOWN, 255, True)
    assert results["exit"] == ([0], b"a[exit 9:a]", 0)
    assert results["next"] == ([(0, 1)], b"[9:next]", 0, [])


@pytest.mark.clause("DEV-DIRECT-1", "OUT-DIRECT-1")
def test_output_after_the_layer_is_torn_down_reaches_no_client_and_no_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    """PHP-FPM writes it to its own stdout (spec/recorded/handlers.json,
    handler-timeout-end-flush-fpm): the client gets the head alone."""
    transport = MemoryTransport()
    with Runtime(transport=transport, sapi="fpm", ini={"display_errors": "1"}) as rt:
        rt.ob_start(lambda buffer, phase: rt.trigger_error("fatal in handler", E_USER_ERROR))
        rt.echo("a")
        rt.ob_end_flush()
    assert transport.head is not None and transport.body == b""
    assert [d.message for d in rt.diagnostics] == [
        "fatal in handler", "PHP Request Shutdown: Cannot use output buffering in output buffering display handlers"]
    assert capsys.readouterr().out == ""


@pytest.mark.clause("TIME-FATAL-2")
def test_a_handler_the_timeouts_report_runs_raises_its_notice_at_the_line_that_timed_out() -> None:
    """PHP 8.2, ``ob_start(h_array, 3)`` then a spin past max_execution_time=1 in the script (as
    spec/recorded/fuzz.json, fuzz-timeout-in-a-shutdown-function-locates-handler-notices, in a
    shutdown function): the fatal error and the notice of the handler its display runs, both at
    the spin's line; the final flush's notice in Unknown on line 0."""
    transport = MemoryTransport()
    with Runtime(transport=transport, ini={"max_execution_time": "1", "display_errors": "1"}) as rt:
        rt.ob_start(lambda buffer, phase: [1], 3)
        end = time.thread_time() + 30  # a safety net only: the limit stops the spin after a CPU second
        any(time.thread_time() > end for _ in iter(int, 1))
    spin_line = sys._getframe().f_lineno - 1
    assert [(d.message, d.file, d.line) for d in rt.diagnostics] == [
        ("Maximum execution time of 1 second exceeded", __file__, spin_line),
        ("Array to string conversion", __file__, spin_line),
        ("Array to string conversion", "Unknown", 0),
    ]
    assert transport.body == b"ArrayArray" and rt.exit_status == 255


@pytest.mark.clause("FPM-FINISH-1", "VER-GET-HANDLER-1")
def test_a_function_php_lacks_has_no_frame_in_the_trace(tmp_path: Path) -> None:
    # php -n (the CLI, no fastcgi_finish_request) for <?php \n function f() { \n fastcgi_finish_request(); \n } \n f();
    # "Uncaught Error: Call to undefined function fastcgi_finish_request() in FILE:3", "#0 FILE(5): f()", "#1 {main}"
    port = "from phprt.php import *\ndef f():\n    fastcgi_finish_request()\nf()\n"
    assert uncaught_output(tmp_path, port, "undefined function") == (
        "\nFatal error: Uncaught Error: Call to undefined function fastcgi_finish_request() in %s:3\n"
        "Stack trace:\n#0 %s(4): f()\n#1 {main}\n  thrown in %s on line 3\n")
