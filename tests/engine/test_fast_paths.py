"""The engine's fast paths give the slow paths' results (PERF-*, spec/runtime.md).

Expected output comes from PHP 8.2 (``php -n -r``, recorded in each test's comment); no
test here measures time. benchmarks/ prints the figures.
"""

from __future__ import annotations

import functools
import inspect
import json
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from types import BuiltinFunctionType, FunctionType
from typing import Any, Callable

import pytest

import phprt
from phprt import MemoryTransport, Runtime
from phprt.engine import ini as ini_module
from phprt.engine.callables import _accepted_positional
from phprt.engine.ini import configure, ini_bool, ini_integer
from phprt.engine.timelimit import _WATCHDOG
from phprt.output import functions as output_functions
from phprt.output.stack import OutputHandler, OutputStack, as_bytes
from phprt.transports.base import Transport
from tests.support.ports import spin, uncaught_output

ROOT = Path(phprt.__file__).resolve().parents[1]


@pytest.mark.clause("PERF-START-1")
def test_a_sapis_own_configuration_is_made_once_and_equals_a_fresh_one() -> None:
    for sapi in ("cli", "cgi", "fpm", "cli-server", "apache2handler"):
        shared = configure(sapi)
        assert configure(sapi) is shared and configure(sapi, {}) is shared
        fresh = ini_module._configure(sapi, {}, False)
        assert dict(shared.directives) == dict(fresh.directives) and dict(shared) == dict(fresh)
        assert shared.startup == fresh.startup
    assert configure("cli", {"precision": "5"}) is not configure("cli", {"precision": "5"})


@pytest.mark.clause("PERF-START-1")
@pytest.mark.parametrize("name, value", [
    ("precision", "14"), ("precision", " 7x"), ("output_buffering", "4K"), ("output_buffering", "1M"),
    ("output_buffering", "On"), ("max_execution_time", "30"), ("error_reporting", "32767"),
    ("zlib.output_compression", "1"), ("zlib.output_compression", "Off"),
])
def test_remembered_ini_numbers_are_the_parsed_ones(name: str, value: str) -> None:
    assert ini_integer(name, value) == ini_integer.__wrapped__(name, value)
    assert ini_bool(value) == ini_bool.__wrapped__(value)


@pytest.mark.clause("PERF-START-1", "PERF-ECHO-3")
def test_precision_set_during_a_request_is_used() -> None:
    # php -n -r 'echo 3.14159; ini_set("precision", "3"); echo " ", 3.14159, " 3.14159";'
    # prints "3.14159 3.14 3.14159" (a string is never reformatted)
    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:
        rt.echo(3.14159)
        rt.ini_set("precision", "3")
        rt.echo(" ", 3.14159, " 3.14159")
    assert transport.body == b"3.14159 3.14 3.14159"


@pytest.fixture
def watchdog_wakes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The time-limit watchdog's wake-ups from now on, one entry per notify(), with no round
    planned (what earlier tests planned is forgotten)."""
    woken: list[int] = []
    condition = _WATCHDOG._changed
    notify = condition.notify
    monkeypatch.setattr(condition, "notify", lambda n=1: (woken.append(n), notify(n))[1])
    with _WATCHDOG.lock:
        _WATCHDOG._wake_at = None
    return woken


@pytest.mark.clause("PERF-START-2")
def test_a_deadline_moved_earlier_wakes_the_watchdog() -> None:
    # A long limit first (the watchdog sleeps towards it), then 1 second: the spin stops.
    outcome: dict[str, object] = {}

    def request() -> None:
        transport = MemoryTransport()
        with Runtime(transport=transport, sapi="cgi", ini={"max_execution_time": "600", "display_errors": "0"}) as rt:
            time.sleep(0.05)  # let the watchdog settle on the 600 s deadline
            rt.set_time_limit(1)
            spin(20)  # the limit stops this after 1 s of CPU
            outcome["spun out"] = True
        outcome["status"] = rt.exit_status

    thread = threading.Thread(target=request)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert outcome == {"status": 255}


@pytest.mark.clause("PERF-START-2")
def test_disarming_or_a_later_deadline_does_not_wake_the_watchdog(watchdog_wakes: list[int]) -> None:
    woken = watchdog_wakes
    with Runtime(transport=Transport(), sapi="cgi", ini={"max_execution_time": "300"}) as rt:
        time.sleep(0.05)
        woken.clear()
        rt.set_time_limit(600)  # later than the watchdog's next round: no wake-up
        rt.set_time_limit(0)  # disarmed: no wake-up
        assert woken == []
        rt.set_time_limit(300)
        time.sleep(0.05)
        woken.clear()
        rt.set_time_limit(1)  # earlier: wakes it
        assert woken == [1]
        rt.set_time_limit(0)


def _plain(a: Any, b: Any) -> None: ...
def _defaults(a: Any, b: Any = 1, *, c: Any = 2) -> None: ...
def _varargs(a: Any, *rest: Any) -> None: ...
def _positional_only(a: Any, /, b: Any) -> None: ...
def _none() -> None: ...


@functools.wraps(_none)
def _wrapped(*args: Any) -> None: ...


class _Handler:
    def method(self, buffer: Any) -> None: ...

    @classmethod
    def bound_to_class(cls, buffer: Any, phase: Any, more: Any = None) -> None: ...

    def taking_any(self, *args: Any) -> None: ...

    def taking_none() -> None: ...  # type: ignore[misc] # no parameter for the object: inspect says so

    @functools.wraps(_plain)
    def wrapped_method(self, *args: Any) -> None: ...


@pytest.mark.clause("PERF-CALL-1", "PERF-OB-9")
@pytest.mark.parametrize("function", [_plain, _defaults, _varargs, _positional_only, _none, _wrapped,
                                      lambda b, p: b, _Handler().method, print, functools.partial(_plain, 1),
                                      _Handler.bound_to_class, _Handler().taking_any, _Handler().taking_none,
                                      _Handler().wrapped_method])
def test_a_functions_arity_from_its_code_is_inspects(function: Any) -> None:
    def inspected(offered: int) -> int:
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):
            return offered
        if any(p.kind is p.VAR_POSITIONAL for p in parameters):
            return offered
        return min(offered, sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters))

    for offered in range(4):
        assert _accepted_positional(function, offered) == inspected(offered)


@pytest.mark.clause("PERF-ECHO-2", "PERF-OB-1")
def test_the_ob_cycle_gives_phps_output() -> None:
    # php -n -r 'function h($b,$p){return strtoupper($b);} ob_start(); echo "a"; ob_start("h");
    #   echo "b"; ob_end_flush(); echo "c"; $x = ob_get_clean(); ...' gives "aBc", "1.571z"
    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:
        for _ in range(3):  # the same each time round: rebinding follows the stack
            rt.ob_start()
            rt.echo("a")
            rt.ob_start(lambda buffer, phase: buffer.upper())
            rt.echo("b")
            rt.ob_end_flush()
            rt.echo("c")
            assert rt.ob_get_clean() == "aBc"
            rt.ob_start()
            rt.echo(1.5, 7, True, None, "z")
            rt.ob_start()
            rt.echo("q")
            rt.ob_end_clean()
            assert rt.ob_get_clean() == "1.571z"
        rt.echo("out")
    assert transport.body == b"out"


@pytest.mark.clause("PERF-ECHO-2", "PERF-OB-4")
def test_echo_is_made_once_and_its_target_follows_the_stack() -> None:
    with Runtime(transport=Transport()) as rt:
        bound = rt.__dict__["echo"]
        target = rt._out.target
        assert target == [None, None]  # no buffer: echo goes through the stack
        rt.ob_start()
        first = rt._out.active
        assert first is not None and target[0] is first.chunks and target[1] is None  # no chunk size: no room to keep
        rt.echo("x")
        rt.ob_get_length()
        rt.ob_get_status()
        rt.ob_start(None, 4)  # a chunk size: writes of fewer bytes than it still wants are appended
        second = rt._out.active
        assert second is not None and target[0] is second.chunks and target[1] == 4
        rt.echo("ab")
        assert second.chunks == ["ab"] and target[1] == 2
        rt.echo("cdef")  # reaches the chunk size: the handler passes the buffer down, and the room is whole again
        assert second.chunks == [] and target[1] == 4
        rt.ob_end_clean()
        assert target[0] is first.chunks  # the same buffer again
        rt.echo("y")
        # php -n -r 'ob_start(); echo "x"; ob_start(null, 4); echo "abcdef"; ob_end_clean(); echo "y";
        #   var_dump(ob_get_contents());' gives "xabcdefy" (the chunk size passed "abcdef" down)
        assert rt.ob_get_contents() == "xabcdefy"
        rt.ob_start(lambda buffer, phase: (seen.append(target[0]), buffer)[1])
        seen: list[object] = []
        rt.echo("z")
        rt.ob_end_flush()
        assert seen == [None] and target[0] is first.chunks  # none while a handler runs
        rt.ob_end_clean()
        assert target == [None, None] and rt.__dict__["echo"] is bound
    assert target == [None, None]  # the layer is torn down


@pytest.mark.clause("PERF-OB-1")
@pytest.mark.parametrize("encoding", ["utf-8", "latin-1", "utf-16", "ascii"])
def test_joined_contents_are_the_chunks_encoded_one_by_one(encoding: str) -> None:
    handler = OutputHandler("default output handler", None, 0)
    OutputStack(lambda data: None, lambda: True, encoding).start(handler)  # the stack's encoding is the handler's
    text: list[str | bytes] = ["a", "é", "\udcff", "\ud800", "?"]
    if encoding == "utf-16":  # a stateful codec (a BOM per encode): chunk by chunk, as before
        text = ["a", "é", "b"]
    chunks: list[list[str | bytes]] = [text, ["a", b"\xff", "b"], []]
    for parts in chunks:
        handler.chunks[:] = parts
        assert handler.contents() == b"".join(as_bytes(chunk, encoding) for chunk in parts)


@pytest.mark.clause("PERF-MEMORY-1")
def test_memory_transport_body_is_every_write_in_order() -> None:
    transport = MemoryTransport()
    for index in range(2000):
        assert transport.write(b"%d," % index)
    expected = b"".join(b"%d," % index for index in range(2000))
    assert transport.body == expected and transport.body == expected
    assert transport.chunks[:2] == [b"0,", b"1,"]
    cut = MemoryTransport(disconnect_after=5)
    assert cut.write(b"abc") and cut.write(b"defg") and not cut.write(b"h")
    assert cut.body == b"abcde"


@pytest.mark.clause("PERF-BENCH-1")
def test_every_engine_benchmark_runs_quick_and_writes_json(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    names = ["engine-request", "engine-output", "engine-stream"]
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", *names, "--json", str(output)],
                          cwd=ROOT, capture_output=True, timeout=120, check=True)
    assert b"ratio" in done.stdout
    results = json.loads(output.read_text())["results"]
    assert {"name", "phprt", "baseline", "unit", "ratio"} <= set(results[0])
    assert len(results) == 14 and all(result["phprt"] > 0 for result in results)


# -- PERF-OB-2, PERF-START-3, PERF-FRAME-1 ------------------------------------------------------


def _up(buffer: str, phase: int) -> str:
    return buffer.upper()


@pytest.mark.clause("PERF-OB-2", "PERF-ECHO-2")
@pytest.mark.parametrize("echo_path", ["c", "python"])
def test_writes_through_deep_stacks_give_phps_output(echo_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # php -n: function up($b,$p){return strtoupper($b);} for ($i=0;$i<8;$i++) ob_start(); echo "a", "é";
    #   ob_start("up"); echo "b"; ob_end_flush(); echo 1.5; 8 x ob_get_clean() gives "aéB1.5", then
    #   seven ""; ob_start("up"); echo "x"; ob_start("up"); echo "y"; ob_end_flush(); ob_end_flush();
    #   print_r(ob_list_handlers()); echo "z"; prints "XYArray\n(\n)\nz"
    from phprt.output import functions as output_functions

    if echo_path == "python":
        monkeypatch.setattr(output_functions, "_c_echo_into", None)
    elif output_functions._c_echo_into is None:
        pytest.skip("phprt.output._speedups is not compiled")
    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:
        for _ in range(8):
            rt.ob_start()
        rt.echo("a", "é")
        rt.ob_start(_up)
        rt.echo("b")
        rt.ob_end_flush()
        rt.echo(1.5)
        parts = [rt.ob_get_clean() for _ in range(8)]
        assert parts == ["aéB1.5"] + [""] * 7
        rt.ob_start(_up)
        rt.echo("x")
        rt.ob_start(_up)
        rt.echo("y")
        rt.ob_end_flush()
        rt.ob_end_flush()
        rt.print_r(rt.ob_list_handlers())
        rt.echo("z")
    assert transport.body == b"XYArray\n(\n)\nz"


@pytest.mark.clause("PERF-OB-2")
def test_a_python_handler_is_made_once_per_request_under_its_php_name() -> None:
    # php -n: function up($b,$p){...} ob_start("up"); ob_start("up"); print_r(ob_list_handlers()) lists
    # "up" twice; a closure is "Closure::__invoke"; ob_get_status()["flags"] is 113 (0x71)
    with Runtime(transport=Transport()) as rt:
        rt.ob_start(_up)
        rt.ob_start(_up)
        rt.ob_start(lambda buffer, phase: buffer)
        assert rt.ob_list_handlers() == ["_up", "_up", "Closure::__invoke"]
        first, second = rt._out.handlers[:2]
        assert first is not second and first.function is second.function  # one handler function, two buffers
        assert rt.ob_get_status()["flags"] == rt._out.handlers[0].flags == 0x71
        for _ in range(3):
            rt.ob_end_clean()


class _Upper:
    def __call__(self, buffer: str, phase: int) -> str:
        return buffer.upper()


_upper = _Upper()


@pytest.mark.clause("PERF-OB-7", "PERF-OB-8")
def test_a_handler_named_by_a_string_is_made_once_per_function_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    # php -n: function up($b, $p) { return strtoupper($b); } ob_start("up"); echo "a"; ob_end_flush();
    #   gives "A"; ob_start("up"); ob_start("up"); print_r(ob_list_handlers()) lists "up" twice, flags 0x71;
    #   ob_start("nope") warns 'ob_start(): function "nope" not found or invalid function name' and
    #   notices "ob_start(): Failed to create buffer", each time
    from phprt.output import functions as output_functions

    resolved: list[Any] = []
    resolve = output_functions.resolve_callable
    monkeypatch.setattr(output_functions, "resolve_callable",
                        lambda callback, scope: resolved.append(callback) or resolve(callback, scope))
    transport = MemoryTransport()
    with Runtime(transport=transport, ini={"display_errors": "0"}) as rt:
        for _ in range(3):
            assert rt.ob_start("_up")
            rt.echo("a")
            rt.ob_end_flush()
        assert resolved == ["_up"]  # made once
        _python_copy("ob_start")("_up")  # called through another phprt frame (no C, PERF-CALL-3): the same
        rt.echo("d")
        rt.ob_end_flush()
        assert resolved == ["_up"]
        rt.ob_start("_up")
        rt.ob_start("_up", 4)
        first, second = rt._out.handlers
        assert first.function is second.function and rt.ob_list_handlers() == ["_up", "_up"]
        assert rt.ob_get_status()["flags"] == first.flags == 0x71 and rt.ob_get_status()["chunk_size"] == 4
        rt.ob_end_clean()
        rt.ob_end_clean()
        monkeypatch.setitem(globals(), "_up", _same)  # the name names another function now: its own handler
        rt.ob_start("_up")
        rt.echo("b")
        rt.ob_end_flush()
        monkeypatch.setitem(globals(), "_up", _upper)  # a callable object: resolved each time, as before
        for _ in range(2):
            rt.ob_start("_up")
            rt.echo("c")
            rt.ob_end_flush()
        assert resolved == ["_up"] * 4
        for _ in range(2):
            assert not rt.ob_start("nope")
    assert transport.body == b"AAADbCC"
    assert [d.message for d in rt.diagnostics] == [
        'ob_start(): function "nope" not found or invalid function name', "ob_start(): Failed to create buffer"] * 2


class _Counting:
    def __init__(self) -> None:
        self.calls = 0

    def h(self, buffer: str, phase: int) -> str:
        self.calls += 1
        return buffer.upper()


def _made_handlers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    # the names of the handlers ob_start() makes, as it makes them
    from phprt.output.functions import OutputFunctions

    made: list[str] = []
    user_handler = OutputFunctions._user_handler
    monkeypatch.setattr(OutputFunctions, "_user_handler",
                        lambda self, callback, *rest: made.append(callback.name) or user_handler(self, callback, *rest))
    return made


@pytest.mark.clause("PERF-OB-9")
def test_a_methods_handler_is_made_once_per_object(monkeypatch: pytest.MonkeyPatch) -> None:
    # php -n: class O { function h($b, $p) { return strtoupper($b); } } ob_start([$o, "h"]); echo "a";
    #   ob_end_flush(); gives "A", ob_list_handlers() "O::h"; ob_start([$o, "nope"]) warns 'ob_start():
    #   class O does not have a method "nope"' and notices "ob_start(): Failed to create buffer", each time
    made = _made_handlers(monkeypatch)
    transport = MemoryTransport()
    counting, other = _Counting(), _Counting()
    with Runtime(transport=transport, ini={"display_errors": "0"}) as rt:
        for callback in [counting.h] * 3 + [[counting, "h"]] * 3 + [other.h]:
            assert rt.ob_start(callback)
            rt.echo("a")
            assert rt.ob_list_handlers() == ["_Counting::h"]
            rt.ob_end_flush()
        assert made == ["_Counting::h"] * 3  # itself, as an array, another object's: one handler each
        assert (counting.calls, other.calls) == (6, 1)
        for _ in range(2):
            assert not rt.ob_start([counting, "nope"])
    assert transport.body == b"A" * 7
    assert [d.message for d in rt.diagnostics] == [
        'ob_start(): class _Counting does not have a method "nope"', "ob_start(): Failed to create buffer"] * 2


class _Static:
    @staticmethod
    def s(buffer: str, phase: int) -> str:
        return buffer.upper()

    def m(self, buffer: str, phase: int) -> str:
        return buffer


@pytest.mark.clause("PERF-OB-9")
def test_a_static_methods_handler_is_made_once_per_name(monkeypatch: pytest.MonkeyPatch) -> None:
    # php -n: class A { static function s($b, $p) { return strtoupper($b); } function m($b, $p) {...} }
    #   ob_start("A::s"); echo "a"; ob_end_flush(); ob_start(["A", "s"]); echo "b"; ob_list_handlers()
    #   gives "AB" and ["A::s"], twice; ob_start("A::m") warns "ob_start(): non-static method A::m()
    #   cannot be called statically", notices "ob_start(): Failed to create buffer" and is false
    made = _made_handlers(monkeypatch)
    transport = MemoryTransport()
    with Runtime(transport=transport, ini={"display_errors": "0"}) as rt:
        for _ in range(2):
            rt.ob_start("_Static::s")
            rt.echo("a")
            rt.ob_end_flush()
            rt.ob_start(["_Static", "s"])
            rt.echo("b")
            assert rt.ob_list_handlers() == ["_Static::s"]
            rt.ob_end_flush()
        assert made == ["_Static::s"]  # the string and the array name the same: one handler
        for _ in range(2):
            assert not rt.ob_start("_Static::m")
    assert transport.body == b"ABAB"
    assert [d.message for d in rt.diagnostics] == [
        "ob_start(): non-static method _Static::m() cannot be called statically",
        "ob_start(): Failed to create buffer"] * 2


class _Meta(type):
    def on_meta(cls) -> None: ...


class _Base:
    def method(self) -> None: ...

    @staticmethod
    def static() -> None: ...

    @classmethod
    def of_class(cls) -> None: ...


class _Derived(_Base, metaclass=_Meta):
    value = 1


@pytest.mark.clause("PERF-OB-9", "CALL-RESOLVE-1")
@pytest.mark.parametrize("name", ["method", "static", "of_class", "value", "on_meta", "__init__", "mro", "nothing"])
def test_a_classs_own_attribute_is_inspects(name: str) -> None:
    from phprt.engine.callables import _static_attribute

    assert _static_attribute(_Derived, name) is inspect.getattr_static(_Derived, name, None)


def _closing_over(suffix: str) -> Callable[[str], str]:
    return lambda buffer: "<" + buffer + suffix + ">"


@pytest.mark.clause("PERF-OB-9")
def test_a_closure_made_for_each_buffer_and_what_is_remembered_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # php -n: for ($i = 0; $i < 3; $i++) { ob_start(fn($b) => "<" . $b . $i . ">"); echo "x"; ob_end_flush(); }
    #   gives "<x0><x1><x2>" (tests/support/output.py's METHODS: a closure made for each of 100 buffers)
    made = _made_handlers(monkeypatch)
    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:
        for i in range(3):  # the same code and cell each time: the first closure's handler does the same
            rt.ob_start(lambda buffer: "<" + buffer + str(i) + ">")
            rt.echo("x")
            rt.ob_end_flush()
        assert made == ["Closure::__invoke"]
        for i in range(2):  # a closure with defaults, or an attribute, has a handler of its own
            rt.ob_start(lambda buffer, phase=0: buffer.upper())
            rt.echo("d")
            rt.ob_end_flush()
            marked = lambda buffer: buffer + "!"  # noqa: E731
            marked.mark = True  # type: ignore[attr-defined]
            rt.ob_start(marked)
            rt.echo("m")
            rt.ob_end_flush()
        assert len(made) == 5
        first = weakref.ref(_closing_over("0"))
        for i in range(200):  # a cell of its own each time: a handler each, the last 64 remembered
            rt.ob_start(_closing_over(str(i % 10)))
            rt.echo("c")
            rt.ob_end_flush()
        assert len(made) == 205 and rt._made_handlers is not None and len(rt._made_handlers) <= 64
        assert first() is None  # nothing holds the first of them
    assert transport.body == (b"<x0><x1><x2>" + b"Dm!" * 2 + b"".join(b"<c%d>" % (i % 10) for i in range(200)))


@pytest.mark.clause("PERF-OB-7", "PERF-OB-8")
def test_a_handler_named_in_the_script_file_follows_the_name(tmp_path: Path) -> None:
    # ob_start("up") called from the script file itself (its frame known by the request's namespace):
    # the function the name names at each call, as from anywhere else (PHP: function up($b, $p) {
    # return strtoupper($b); } ob_start("up"); echo "a"; ob_end_flush(); gives "A"); a name that
    # names nothing warns 'ob_start(): function "gone" not found or invalid function name'
    from phprt.engine.script import execute

    page = tmp_path / "page.py"
    page.write_text("from phprt.php import *\ndef up(b, p):\n    return b.upper()\n\n"
                    "for i in range(2):\n    ob_start('up'); echo('a'); ob_end_flush()\n"
                    "def up(b, p):\n    return '<' + b + '>'\n\n"
                    "ob_start('up'); echo('b'); ob_end_flush()\nob_start('gone')\n")
    transport = MemoryTransport(server={"REQUEST_METHOD": "GET", "SCRIPT_FILENAME": str(page)})
    runtime = execute(Runtime(transport, "cgi", ini={"display_errors": "0", "html_errors": "0"}), str(page))
    assert transport.body == b"AA<b>"
    assert [d.message for d in runtime.diagnostics] == [
        'ob_start(): function "gone" not found or invalid function name', "ob_start(): Failed to create buffer"]


@pytest.mark.clause("PERF-OB-2")
def test_ob_start_converts_other_arguments_as_before() -> None:
    # php -n -r 'ob_start(null, "4", 0x7fffffff + 2); $s = ob_get_status(); ob_start(null, -5);
    #   $t = ob_get_status(); ...' gives chunk_size 4, flags -2147483648 (a C int, the type bits
    #   cleared) and chunk_size 0
    with Runtime(transport=Transport()) as rt:
        assert rt.ob_start(None, "4", 0x7FFFFFFF + 2)
        status = rt.ob_get_status()
        assert (status["chunk_size"], status["flags"]) == (4, -2147483648)
        assert rt.ob_start(None, -5)
        assert rt.ob_get_status()["chunk_size"] == 0


@pytest.mark.clause("PERF-OB-2", "PERF-OB-1")
@pytest.mark.parametrize("parts", [["a"], [b"\xff"], ["a", "b"], ["é", "\udcff"], ["a", b"\xfe", "é"], [], ["\ud800x"]])
def test_a_buffers_text_is_its_bytes_decoded(parts: list[str | bytes]) -> None:
    handler = OutputHandler("default output handler", None, 0)
    handler.chunks[:] = parts
    expected = b"".join(as_bytes(chunk, "utf-8") for chunk in parts)
    assert handler.contents() == expected
    assert handler.text("utf-8") == expected.decode("utf-8", "surrogateescape")


@pytest.mark.clause("PERF-OB-2")
def test_unbuffered_output_sends_the_head_once_and_a_head_request_none_of_the_body() -> None:
    # REQUEST_METHOD=HEAD php-cgi -n with <?php echo "a"; echo "b"; writes the head and no body
    transport = MemoryTransport(server={"REQUEST_METHOD": "HEAD", "SERVER_PROTOCOL": "HTTP/1.1"})
    with Runtime(transport=transport, sapi="cgi", ini={"output_buffering": "0"}) as rt:
        rt.echo("a")
        rt.echo("b")
    assert [event[0] for event in transport.events].count("headers") == 1
    assert transport.body == b""
    transport = MemoryTransport()
    with Runtime(transport=transport, sapi="cgi", ini={"output_buffering": "0"}) as rt:
        rt.echo("a")
        rt.echo("b")
    assert [event[0] for event in transport.events].count("headers") == 1
    assert transport.body == b"ab"


@pytest.mark.clause("PERF-START-3")
def test_header_takes_plain_arguments_as_they_are_and_others_as_php_converts_them() -> None:
    # php-cgi -n: header("Location: /x", 1, "301"); header("X-A: 1"); header("x-a: 2", true);
    #   header("X-B: 3", false, 4294967297); gives http_response_code() 1 (a C int) and the lines
    #   X-Powered-By, Location: /x, x-a: 2, X-B: 3
    with Runtime(transport=MemoryTransport(), sapi="cgi") as rt:
        rt.header("Location: /x", 1, "301")
        rt.header("X-A: 1")
        rt.header("x-a: 2", True)
        rt.header("X-B: 3", False, 4294967297)
        assert rt.http_response_code() == 1
        assert rt.headers_list()[1:] == ["Location: /x", "x-a: 2", "X-B: 3"]


class _CountingLock:
    def __init__(self, inner: Any) -> None:
        self.inner, self.entered = inner, 0

    def __enter__(self) -> Any:
        self.entered += 1
        return self.inner.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        return self.inner.__exit__(*exc)


@pytest.mark.clause("PERF-START-3")
def test_a_request_without_a_time_limit_takes_no_lock_and_no_cpu_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    lock = _CountingLock(_WATCHDOG.lock)
    monkeypatch.setattr(_WATCHDOG, "lock", lock)
    with Runtime(transport=Transport()) as rt:
        rt.echo("x")
    assert lock.entered == 0 and rt._timer._clock_id is None
    with Runtime(transport=Transport(), sapi="cgi", ini={"max_execution_time": "30"}) as rt:
        assert rt._timer._clock_id is not None and rt._timer.remaining() is not None
    assert lock.entered == 2 and rt._timer.remaining() is None  # armed at the start, disarmed at the end


@pytest.mark.clause("PERF-START-3")
def test_no_stderr_flush_without_ini_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    flushed: list[int] = []

    class Stderr:
        def write(self, text: str) -> int:
            return len(text)

        def flush(self) -> None:
            flushed.append(1)

    monkeypatch.setattr(sys, "stderr", Stderr())
    for sapi in ("cli", "cli-server", "fpm"):
        with Runtime(transport=MemoryTransport(), sapi=sapi):
            pass
    assert flushed == []


@pytest.mark.clause("PERF-START-3")
def test_the_clis_head_is_one_and_empty() -> None:
    heads = []
    for _ in range(2):
        transport = MemoryTransport()
        with Runtime(transport=transport) as rt:
            rt.header("Content-Type: text/plain")
            rt.echo("x")
        heads.append(transport.head)
        assert (transport.status, transport.headers, rt.headers_list()) == (None, [], [])
    assert heads[0] is heads[1] and heads[0] is not None and heads[0].block() == b"\r\n"


@pytest.mark.clause("PERF-HEAD-1", "HDR-SERVER-1")
def test_php_s_heads_are_remembered_for_what_they_are_made_of() -> None:
    # php -n -S, expose_php=0: header("X-A: 1"); http_response_code(404); echo "x"; sends
    # "HTTP/1.1 404 Not Found\r\nHost: h:8\r\nDate: <date>\r\nConnection: close\r\nX-A: 1\r\n
    # Content-type: text/html; charset=UTF-8\r\n\r\n"
    from phprt.http import headers

    def queue(code: int = 404) -> headers.HeaderQueue:
        made = headers.HeaderQueue(lambda name: "", stores=True, response_code=code)
        made.lines[:] = ["X-A: 1", "Content-type: text/html; charset=UTF-8"]
        return made

    request = {"SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "h:8"}
    date = "Fri, 04 Dec 2026 19:00:00 GMT"
    first = headers.cli_server_head(queue(), request, date)
    assert headers.cli_server_head(queue(), dict(request), date) is first
    assert first.block() == (b"HTTP/1.1 404 Not Found\r\nHost: h:8\r\nDate: " + date.encode()
                             + b"\r\nConnection: close\r\nX-A: 1\r\nContent-type: text/html; charset=UTF-8\r\n\r\n")
    assert first == headers._cli_server_head(queue(), request, date)
    others = [headers.cli_server_head(queue(), request, "Fri, 04 Dec 2026 19:00:01 GMT"),
              headers.cli_server_head(queue(), {"SERVER_PROTOCOL": "HTTP/1.1"}, date),
              headers.cli_server_head(queue(), {**request, "SERVER_PROTOCOL": "HTTP/1.0"}, date),
              headers.cli_server_head(queue(200), request, date)]
    assert [head.lines[:2] for head in others] == [
        ("HTTP/1.1 404 Not Found", "Host: h:8"), ("HTTP/1.1 404 Not Found", "Date: " + date),
        ("HTTP/1.0 404 Not Found", "Host: h:8"), ("HTTP/1.1 200 OK", "Host: h:8")]
    assert others[0].lines[2] == "Date: Fri, 04 Dec 2026 19:00:01 GMT"
    assert len(headers._SERVER_HEADS) <= headers._SERVER_HEADS.size


@pytest.mark.clause("PERF-FRAME-1")
def test_output_started_at_names_the_scripts_line_when_run_as_main(tmp_path: Path) -> None:
    # php -n: echo "x"; (line 2) header("X-A: 1"); (line 3) warns "Cannot modify header information -
    # headers already sent by (output started at FILE:2)", and headers_sent($f, $l) gives FILE and 2
    import runpy

    from phprt.engine import frames

    script = tmp_path / "script.py"
    script.write_text("def main(rt, file, line):\n    rt.echo('x')\n    rt.header('X-A: 1')\n"
                      "    return rt.headers_sent(file, line)\n")
    main = runpy.run_path(str(script), run_name="__main__")["main"]
    file, line = phprt.Ref(None), phprt.Ref(None)
    with Runtime(transport=MemoryTransport(), ini={"display_errors": "0"}) as rt:
        assert main(rt, file, line)
    assert (file.value, line.value) == (str(script), 2)
    assert rt.diagnostics[0].message == f"Cannot modify header information - headers already sent by " \
                                        f"(output started at {script}:2)"
    here = sys._getframe()
    assert not frames.is_phprt(here) and frames.is_phprt(sys._getframe(0).f_back) is False
    assert frames._OTHER_CODE[id(here.f_code)] is here.f_code  # remembered, and held
    assert frames.is_phprt(here) is False and frames.script_frame() is here
    assert frames._last_other is here.f_code  # asked about first, the next time
    assert frames.is_phprt(here) is False and frames.is_phprt(sys._getframe(0)) is False
    phprt_frame = frames.__dict__["script_frame"].__code__
    assert id(phprt_frame) not in frames._PHPRT_CODE or frames._PHPRT_CODE[id(phprt_frame)] is phprt_frame


@pytest.mark.clause("PERF-OB-2")
def test_bytes_and_str_subclasses_written_into_a_buffer_keep_their_bytes() -> None:
    # php -n -r 'ob_start(); echo "ab"; echo "\xff", "c"; ob_start(); echo "x"; ob_end_flush();
    #   var_dump(ob_get_length(), bin2hex(ob_get_clean()));' gives int(5) and "6162ff6378"
    class Text(str):
        pass

    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:
        rt.ob_start()
        rt.echo(Text("ab"))
        rt.echo(b"\xff", "c")
        rt.ob_start()
        rt.echo(Text("x"))
        rt.ob_end_flush()
        assert rt.ob_get_length() == 5
        assert rt.ob_get_clean().encode("utf-8", "surrogateescape") == bytes.fromhex("6162ff6378")
        rt.ob_start()
        rt.echo(b"\xff", "c")
    assert transport.body == b"\xffc"


@pytest.mark.clause("PERF-OB-6")
@pytest.mark.parametrize("traced", [False, True])
def test_the_default_handler_flushed_cleaned_and_ended_is_not_run(traced: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # php -n: ob_start(); ob_start(); echo "a\xff"; echo "é"; ob_flush(); echo "b"; ob_clean();
    #   ob_start(); echo "c"; ob_end_flush(); $s = ob_get_status(true); -- each call true, the inner
    #   buffer "c", the outer "a\xffé" (61ffc3a9), the inner's flags 20592 (STARTED|PROCESSED set by
    #   its flush and clean), buffer_used 4 and 1. Then ob_start(null, 4); ob_start(); echo "abc";
    #   ob_flush(); -- the 4-byte buffer holds 3; echo "d"; ob_flush(); -- it reached 4 and ran: "abcd"
    #   is output, buffer_used 0, flags 20592.
    runs: list[str] = []
    run = OutputStack._run

    def counted(stack: OutputStack, handler: OutputHandler, op: int) -> tuple[int, bytes | str | None]:
        runs.append(f"{handler.level}:{op}")
        return run(stack, handler, op)

    monkeypatch.setattr(OutputStack, "_run", counted)
    transport = MemoryTransport()
    with Runtime(transport=transport, trace=traced) as rt:
        rt.ob_start()
        rt.ob_start()
        rt.echo(b"a\xff")
        rt.echo("é")
        assert rt.ob_flush() is True
        rt.echo("b")
        assert rt.ob_clean() is True
        rt.ob_start()
        rt.echo("c")
        assert rt.ob_end_flush() is True
        status = rt.ob_get_status(True)
        assert [status[1]["flags"], status[0]["buffer_used"], status[1]["buffer_used"]] == [20592, 4, 1]
        assert rt.ob_get_clean() == "c"
        assert rt.ob_get_clean().encode("utf-8", "surrogateescape").hex() == "61ffc3a9"
        # a traced stack sees every handler's run; else the default handler is not run
        assert runs == (["1:4", "1:2", "2:8", "1:10", "0:10"] if traced else [])  # FLUSH, CLEAN, FINAL, FINAL|CLEAN
        runs.clear()
        rt.ob_start(None, 4)
        rt.ob_start()
        rt.echo("abc")
        rt.ob_flush()
        assert rt.ob_get_status(True)[0]["buffer_used"] == 3
        assert runs == (["1:4"] if traced else [])  # the 3 bytes fit the room below: appended there
        rt.echo("d")
        rt.ob_flush()
        status = rt.ob_get_status(True)
        assert [status[0]["buffer_used"], status[0]["flags"]] == [0, 20592]
        assert runs[-1] == "0:0" and transport.body == b"abcd"  # a write that reached it: the handler below ran
        rt.ob_end_clean()
        rt.ob_end_clean()


@pytest.mark.clause("PERF-OB-6")
@pytest.mark.parametrize("traced", [False, True])
def test_a_default_handler_with_a_chunk_size_flushed_onto_one_without(traced: bool) -> None:
    # php -n: ob_start(); ob_start(null, 8); echo "abc"; var_dump(ob_flush()); echo "defgh";
    #   $a = ob_get_status(true); echo "xyz"; $b = ob_get_status(true); -- the flush leaves the
    #   chunk size's room whole: "bool(true)\n" (11 bytes) reaches it and runs the handler, "defgh"
    #   waits (used 5, flags 20592), "xyz" reaches 8 again: the inner buffer "", the outer
    #   "abcbool(true)\ndefghxyz" (22 bytes).
    with Runtime(transport=MemoryTransport(), trace=traced) as rt:
        rt.ob_start()
        rt.ob_start(None, 8)
        rt.echo("abc")
        rt.var_dump(rt.ob_flush())
        rt.echo("defgh")
        before = rt.ob_get_status(True)
        rt.echo("xyz")
        after = rt.ob_get_status(True)
        assert [before[1]["buffer_used"], before[1]["flags"], after[1]["buffer_used"], after[0]["buffer_used"]] == \
            [5, 20592, 0, 22]
        assert [rt.ob_get_clean(), rt.ob_get_clean()] == ["", "abcbool(true)\ndefghxyz"]


@pytest.mark.clause("PERF-OB-3")
def test_ob_starts_frame_shows_the_arguments_passed_in_phps_trace(tmp_path: Path) -> None:
    # php -n, for <?php \n function throw_($n, $s, $f, $l) { throw new Exception($s); } \n
    #   set_error_handler("throw_"); \n ob_start("nope"); -- "#1 FILE(4): ob_start('nope')"
    port = "from phprt.php import *\ndef throw(n, s, f, l): raise Exception(s)\nset_error_handler(throw)\nob_start('nope')\n"
    assert uncaught_output(tmp_path, port, "nope") == (
        '\nFatal error: Uncaught Exception: ob_start(): function "nope" not found or invalid function name'
        " in %s:2\nStack trace:\n#0 [internal function]: throw(2, 'ob_start(): fun...', '%t', 4)\n"
        "#1 %s(4): ob_start('nope')\n#2 {main}\n  thrown in %s on line 2\n")


@pytest.mark.clause("PERF-OB-3")
def test_ob_start_takes_its_parameters_by_name() -> None:
    # php -n: ob_start(chunk_size: 4096) gives chunk_size 4096, flags 112; ob_start(flags: 0) flags 0
    with Runtime(transport=Transport()) as rt:
        assert list(inspect.signature(rt.ob_start).parameters) == ["callback", "chunk_size", "flags"]
        assert rt.ob_start(chunk_size=4096)
        status = rt.ob_get_status()
        assert (status["chunk_size"], status["flags"]) == (4096, 112)
        rt.ob_end_clean()
        assert rt.ob_start(None, flags=0) and rt.ob_get_status()["flags"] == 0
        with pytest.raises(TypeError):
            rt.ob_start(size=1)


@pytest.mark.clause("PERF-CALL-2")
def test_a_two_argument_handler_is_called_as_it_is_and_others_through_their_callable() -> None:
    # php -n: function up($b,$p){return strtoupper($b);} function one($b){return "[$b]";}
    #   ob_start("up"); echo "a"; ob_end_flush(); ob_start("one"); echo "b"; ob_end_flush(); gives "A[b]"
    def one(buffer: str) -> str:
        return f"[{buffer}]"

    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:
        rt.ob_start(_up)
        rt.echo("a")
        rt.ob_end_flush()
        rt.ob_start(one)
        rt.echo("b")
        rt.ob_end_flush()
    assert transport.body == b"A[b]"
    from phprt.engine.callables import resolve_callable
    assert resolve_callable(_up, {}).taking(2) is _up
    assert resolve_callable(one, {}).taking(2) is not one


@pytest.mark.clause("PERF-START-2")
def test_the_next_request_after_one_ended_does_not_wake_the_watchdog(watchdog_wakes: list[int]) -> None:
    # A request arms a 300 s limit and ends; the watchdog, woken meanwhile, finds no timer and keeps
    # the round it planned: the next request's later deadline wakes no one, an earlier one does.
    woken = watchdog_wakes
    with Runtime(transport=Transport(), sapi="cgi", ini={"max_execution_time": "300"}) as rt:
        rt.set_time_limit(200)  # earlier than the round planned for 300 s: the watchdog plans for it
        time.sleep(0.05)
    with _WATCHDOG.lock:
        _WATCHDOG._changed.notify()  # the watchdog looks again now: no timer is armed
    time.sleep(0.05)
    woken.clear()
    for _ in range(3):
        with Runtime(transport=Transport(), sapi="cgi", ini={"max_execution_time": "300"}):
            pass
    assert woken == []
    with Runtime(transport=Transport(), sapi="cgi", ini={"max_execution_time": "300"}) as rt:
        rt.set_time_limit(1)  # earlier than the round planned: wakes it
        assert woken == [1]
        rt.set_time_limit(0)


@pytest.mark.clause("PERF-START-2")
def test_a_request_over_before_the_watchdog_looks_wakes_it_once(watchdog_wakes: list[int]) -> None:
    # The first deadline wakes the watchdog, which looks only once the request has ended (a
    # thread switch takes longer than it): it keeps the round planned for that deadline, so
    # the requests after it, with later deadlines, wake no one.
    woken = watchdog_wakes
    with Runtime(transport=Transport(), sapi="cgi", ini={"max_execution_time": "300"}):
        pass
    time.sleep(0.05)  # the watchdog looks: no timer is armed
    for _ in range(3):
        with Runtime(transport=Transport(), sapi="cgi", ini={"max_execution_time": "300"}):
            pass
    assert woken == [1]


def _same(buffer: str, phase: int) -> str:
    return buffer


@pytest.mark.clause("PERF-OB-3")
@pytest.mark.parametrize("charset", ["UTF-8", "ISO-8859-1", "UTF-16"])
def test_a_handlers_text_reaches_the_buffer_below_as_the_same_bytes(charset: str) -> None:
    # php -n: ob_start(); ob_start(function($b){return $b;}); echo "\xff\xfe", "é"; ob_end_flush();
    #   $s = ob_get_status(); ob_end_flush(); -- the outer buffer holds the same bytes ("buffer_used"
    #   counts them) and they reach the client unchanged
    transport = MemoryTransport()
    with Runtime(transport=transport, charset=charset, trace=True) as rt:
        rt.ob_start()
        rt.ob_start(_same)
        rt.echo(b"\xff\xfe", "é")
        rt.ob_end_flush()
        used = rt.ob_get_status()["buffer_used"]
        rt.ob_end_flush()
    encoded = "é".encode(charset)
    assert transport.body == b"\xff\xfe" + encoded and used == 2 + len(encoded)
    handler_events = [event for event in rt.trace.events if event.kind == "handler" and event.data["name"] == "_same"]
    assert [event.data["out"] for event in handler_events] == [2 + len(encoded)]


@pytest.mark.clause("PERF-CALL-3")
def test_phprt_php_calls_the_active_runtimes_method_with_what_was_passed(tmp_path: Path) -> None:
    # php -n, for <?php \n function h($n, $s, $f, $l) { throw new Exception($s); } \n set_error_handler("h"); \n
    #   user_error("x");  -- "#0 [internal function]: h(1024, 'x', FILE, 4)", "#1 FILE(4): user_error('x')"
    import phprt.php as php

    port = "from phprt.php import *\ndef h(n, s, f, l): raise Exception(s)\nset_error_handler('h')\nuser_error('x')\n"
    assert uncaught_output(tmp_path, port, "x") == (
        "\nFatal error: Uncaught Exception: x in %s:2\nStack trace:\n"
        "#0 [internal function]: h(1024, 'x', '%t', 4)\n#1 %s(4): user_error('x')\n#2 {main}\n"
        "  thrown in %s on line 2\n")
    with pytest.raises(RuntimeError, match="no phprt Runtime is active"):
        php.ob_get_clean()
    with pytest.raises(RuntimeError, match="no phprt Runtime is active"):
        php.ob_start(None, 4096)
    with Runtime(transport=Transport()) as rt:
        assert php.ob_start(chunk_size=4096) and php.ob_get_status()["chunk_size"] == 4096
        php.echo("a")
        rt.ob_get_length = lambda: rt.ob_get_level() + 6  # type: ignore[method-assign]
        assert php.ob_get_length() == 7  # an instance's own method is the one called
        del rt.ob_get_length
        with pytest.raises(TypeError, match=r"^ob_get_clean\(\) takes 0 positional arguments"):
            php.ob_get_clean(1)
        assert php.ob_get_clean() == "a"

        def broken(*args: Any) -> None:
            raise AttributeError("inside")
        rt.ini_set = broken  # type: ignore[method-assign]
        with pytest.raises(AttributeError, match="^inside$"):  # a method's own error passes on
            php.ini_set("precision", "14")


@pytest.mark.clause("PERF-CALL-5", "RT-ACTIVE-1")
@pytest.mark.parametrize("copy", ["built", "python"])
def test_phprt_php_echo_calls_the_echo_its_request_started_with(copy: str) -> None:
    import phprt.php as php

    echo = php.echo if copy == "built" else _python_copy("echo")
    with pytest.raises(RuntimeError, match="no phprt Runtime is active"):
        echo("x")
    outer_transport, inner_transport = MemoryTransport(), MemoryTransport()
    with Runtime(transport=outer_transport) as outer:
        echo("a", 1)
        outer.ob_start()
        echo("b")
        with Runtime(transport=inner_transport):
            echo("inner")  # the inner request's, while it runs
        echo("c")
        seen: list[Any] = []
        outer.echo = lambda *args: seen.append(args)  # type: ignore[method-assign]
        echo("d")  # set during the request: not the echo it started with
        assert seen == [] and outer.ob_get_clean() == "bcd"
        errors: list[BaseException] = []

        def elsewhere() -> None:
            try:
                echo("e")
            except RuntimeError as error:
                errors.append(error)
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        assert len(errors) == 1  # another thread is in no request
    assert outer_transport.body == b"a1" and inner_transport.body == b"inner"
    with pytest.raises(RuntimeError, match="no phprt Runtime is active"):
        echo("x")


@pytest.mark.clause("PERF-CALL-6", "PERF-CALL-5")
def test_phprt_php_echo_in_c_is_a_builtin_that_does_what_the_python_copy_does() -> None:
    import pickle

    import phprt.php as php

    if php._c_direct is None:
        pytest.skip("phprt/_dispatch.c is not compiled here: echo is a Python copy")
    copy = _python_copy("echo")
    assert type(php.echo) is BuiltinFunctionType and php.echo.__self__ is sys.modules["phprt._dispatch"]
    assert (php.echo.__name__, php.echo.__qualname__, php.echo.__module__, php.echo.__doc__) == (
        "echo", "echo", "phprt.php", copy.__doc__)
    assert str(inspect.signature(php.echo)) == "(*args, **kwargs)" and repr(php.echo) == "<built-in function echo>"
    assert pickle.loads(pickle.dumps(php.echo)) is php.echo

    def both(*args: Any, **kwargs: Any) -> tuple[str, Any]:
        outcome = _outcome(lambda: php.echo(*args, **kwargs))
        assert outcome == _outcome(lambda: copy(*args, **kwargs))
        return outcome

    assert "no phprt Runtime is active" in both("x")[1]
    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:  # a builtin echo, its C function called at once
        assert (type(rt.echo) is BuiltinFunctionType) == (output_functions._c_echo_into is not None)
        assert both("a", 1) == both("b") == ("returned", None)
        assert both("c", end="")[0] == "TypeError"  # a keyword: the echo's own call, and its error
        rt.ob_start()
        assert both("d", 2.5) == ("returned", None) and rt.ob_get_clean() == "d2.5d2.5"  # a float: its fallback
    assert transport.body == b"a1a1bb"
    seen: list[Any] = []
    plain = Runtime(transport=MemoryTransport())
    plain.echo = lambda *args, **kwargs: seen.append((args, kwargs))  # type: ignore[method-assign]
    with plain:  # the echo the request starts with is a Python callable: called as Python calls it
        assert both("e", 3, sep="-") == ("returned", None)
    assert seen == [(("e", 3), {"sep": "-"})] * 2


def _python_copy(name: str) -> Callable[..., Any]:
    # phprt.php's function ``name`` as PERF-CALL-3 makes it, whether the C one is built or not
    import phprt.php as php
    from phprt.engine.functions import FUNCTIONS

    entry = next(entry for entry in FUNCTIONS if entry.name == name)
    saved = php._c_function, php._c_direct
    php._c_function = php._c_direct = None
    try:
        return php._bind(entry)
    finally:
        php._c_function, php._c_direct = saved


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "returned", call()
    except Exception as error:  # noqa: BLE001 - the error itself is the outcome compared
        return type(error).__name__, str(error)


@pytest.mark.clause("PERF-CALL-4")
def test_phprt_php_functions_in_c_do_what_the_python_copies_do(tmp_path: Path) -> None:
    import phprt.php as php

    if php._c_function is None:
        pytest.skip("phprt/_dispatch.c is not compiled here: every function is a Python copy")
    # in C: the functions whose method's frame shows what the port passed; not header(), whose has defaults
    assert not isinstance(php.ob_get_clean, FunctionType) and not isinstance(php.echo, FunctionType)
    assert isinstance(php.header, FunctionType) and isinstance(php.user_error, FunctionType)
    assert (php.ob_start.__name__, php.ob_start.__qualname__, php.ob_start.__module__) == ("ob_start",) * 2 + (
        "phprt.php",)
    assert php.ob_start.__doc__ == _python_copy("ob_start").__doc__ and repr(php.ob_start) == "<function phprt.php.ob_start>"
    import pickle

    assert pickle.loads(pickle.dumps(php.echo)) is php.echo  # by name, as a Python function
    assert [str(inspect.signature(getattr(php, name))) for name in ("echo", "ob_get_clean")] == ["(*args, **kwargs)", "()"]

    def both(name: str, *args: Any, **kwargs: Any) -> tuple[str, Any]:
        c_outcome = _outcome(lambda: getattr(php, name)(*args, **kwargs))
        assert c_outcome == _outcome(lambda: _python_copy(name)(*args, **kwargs)), name
        return c_outcome

    assert both("ob_get_clean") == ("RuntimeError", both("ob_start", None, 4096)[1])  # no active Runtime
    assert "no phprt Runtime is active" in both("echo", "x")[1]
    with Runtime(transport=Transport()) as rt:
        assert both("ob_get_clean", 1)[0] == both("ob_get_clean", x=1)[0] == "TypeError"  # a function of none
        assert both("ob_start", chunk_size=4096) == ("returned", True)
        assert rt.ob_get_status()["chunk_size"] == 4096 and both("ob_get_level") == ("returned", 2)
        assert both("echo", "a", 1) == ("returned", None) and rt.ob_get_contents() == "a1a1"
        arguments = ["%s" * 12, *range(12)]  # more than the C call's own room: a list of its own
        assert both("sprintf", *arguments) == ("returned", "01234567891011")
        rt.sprintf = lambda *args: args  # type: ignore[method-assign]  # an instance's own method is the one called
        assert both("sprintf", "b", "c") == ("returned", ("b", "c"))
        del rt.sprintf

        def broken(*args: Any) -> None:
            raise AttributeError("inside")
        rt.ini_set = broken  # type: ignore[method-assign]
        assert both("ini_set", "precision", "14") == ("AttributeError", "inside")  # a method's own error passes on
        del rt.ini_set
        assert both("ini_set") == ("TypeError", "IniFunctions.ini_set() missing 2 required positional arguments: "
                                                 "'option' and 'value'")
        while rt.ob_get_level():
            rt.ob_end_clean()
    # PHP's trace reads the method's frame, which shows the same call (recorded: php -n, PHP 8.2)
    # <?php function h($b, $p) { throw new Exception("x"); } ob_start("h"); echo "b"; ob_end_flush();
    port = ("from phprt.php import *\ndef h(b, p): raise Exception('x')\nob_start(h)\necho('b')\n"
            "ob_end_flush()\n")
    expected = ("b\nFatal error: Uncaught Exception: x in %s:2\nStack trace:\n#0 [internal function]: h('b', 9)\n"
                "#1 %s(5): ob_end_flush()\n#2 {main}\n  thrown in %s on line 2\n")
    assert uncaught_output(tmp_path, port, "x") == expected
    saved = php.ob_end_flush
    php.ob_end_flush = _python_copy("ob_end_flush")
    try:
        assert uncaught_output(tmp_path, port, "x") == expected
    finally:
        php.ob_end_flush = saved


@pytest.mark.clause("PERF-HEAD-1")
@pytest.mark.parametrize("sapi", ["cgi", "fpm"])
def test_the_same_queue_gives_the_same_head_made_once(sapi: str) -> None:
    # php-cgi -n -d expose_php=0: header("X-A: 1"); http_response_code(404); echo "x"; sends
    # "Status: 404 Not Found\r\nX-A: 1\r\nContent-type: text/html; charset=UTF-8\r\n\r\nx"
    from phprt.http import headers

    def head(code: int, line: str = "X-A: 1") -> Any:
        transport = MemoryTransport()
        with Runtime(transport=transport, sapi=sapi, ini={"expose_php": "0"}) as rt:
            rt.header(line)
            rt.http_response_code(code)
            rt.echo("x")
        return transport.head

    first, again, other = head(404), head(404), head(200)
    assert first is again and other is not first
    assert first.block() == (b"Status: 404 Not Found\r\nX-A: 1\r\n"
                             b"Content-type: text/html; charset=UTF-8\r\n\r\n")
    assert first.block() is first.block()
    assert other.block() == b"X-A: 1\r\nContent-type: text/html; charset=UTF-8\r\n\r\n"
    assert (other.status, other.reason, first.status, first.reason) == (200, "OK", 404, "Not Found")
    fresh = headers._cgi_head  # made afresh, the head is equal
    queue = headers.HeaderQueue(lambda name: "", stores=True, response_code=404)
    queue.lines[:] = ["X-A: 1", "Content-type: text/html; charset=UTF-8"]
    assert fresh(queue) == first and headers.cgi_head(queue) is first
    big = head(200, "X-Big: " + "y" * 4096)  # too long to keep: made each time, the same bytes
    assert head(200, "X-Big: " + "y" * 4096) is not big and big.block().startswith(b"X-Big: yyy")
    assert len(headers._CGI_HEADS) <= headers._CGI_HEADS.size


@pytest.mark.clause("PERF-ECHO-3", "VAL-ECHO-1")
def test_ints_are_echoed_in_decimal_whatever_the_precision() -> None:
    # php -n -r 'ini_set("precision", "3"); echo 7, " ", 123456789, " ", 3.14159, " ", true, " ", -0, "|", PHP_INT_MAX;'
    # prints "7 123456789 3.14 1 0|9223372036854775807"
    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:
        rt.ini_set("precision", "3")
        rt.echo(7, " ", 123456789, " ", 3.14159, " ", True, " ", -0, "|", 9223372036854775807)
    assert transport.body == b"7 123456789 3.14 1 0|9223372036854775807"


@pytest.mark.clause("PERF-ECHO-4", "LIFE-CALLBACK-1")
@pytest.mark.parametrize("sapi", ["fpm", "cgi", "cli"])
def test_echo_of_several_values_stops_where_phps_does(sapi: str) -> None:
    # php -n and php-cgi -n: header_register_callback(function () { throw new Exception("cb"); });
    # try { echo "a", "b"; } catch (Exception $e) { echo "[", $e->getMessage(), "]"; } echo "c", 1, "\n";
    # print "a[cb]c1\n": the callback's exception, thrown by the first output, stops the echo after "a"
    def callback() -> None:
        raise Exception("cb")

    transport = MemoryTransport()
    with Runtime(transport=transport, sapi=sapi) as rt:
        rt.header_register_callback(callback)
        try:
            rt.echo("a", "b")
        except Exception as error:  # noqa: BLE001 - the script's catch
            rt.echo("[", str(error), "]")
        rt.echo("c", 1, "\n")
    assert transport.body == b"a[cb]c1\n"


@pytest.mark.clause("PERF-ECHO-4", "OUT-CHUNK-1")
@pytest.mark.parametrize("sapi", ["fpm", "cli"])
def test_a_buffer_with_a_chunk_size_gets_each_value_of_an_echo(sapi: str) -> None:
    # php -n: ob_start(function ($b, $p) { return "[$b]"; }, 2); echo "ab", "cd", 1; ob_end_flush();
    # prints "[ab][cd][1]"; into a buffer without one, the values are one write: "a1b", 3 bytes used
    transport = MemoryTransport()
    with Runtime(transport=transport, sapi=sapi) as rt:
        rt.ob_start(lambda buffer, phase: f"[{buffer}]", 2)
        rt.echo("ab", "cd", 1)
        rt.ob_end_flush()
        rt.ob_start()
        rt.echo("a", 1, "b")
        assert rt.ob_get_status()["buffer_used"] == 3 and rt.ob_get_clean() == "a1b"
    assert transport.body == b"[ab][cd][1]"


@pytest.mark.clause("PERF-START-4", "SESS-END-1")
def test_a_request_that_never_touched_its_session_ends_it_without_a_write() -> None:
    with Runtime(transport=MemoryTransport(), sapi="cgi") as untouched:
        untouched.echo("x")
    assert not {name for name in vars(untouched) if name.startswith("_session_") and name != "_session_function"}
    with Runtime(transport=MemoryTransport(), sapi="cgi") as named:  # session_id("abc") alone: undone at the end
        assert named.session_id("abc") == ""
        assert named.session_id() == "abc"
    assert named._session_id is None and named.session_status() == 1  # PHP_SESSION_NONE


class _Text(str):
    pass


class _Number(int):
    pass


@pytest.mark.clause("PERF-ECHO-4")
@pytest.mark.parametrize(("first", "more", "joined"), [
    ("<li>", ("Item ", 7, ": ", "49", "</li>\n"), "<li>Item 7: 49</li>\n"),
    (-12, (0, 10**30), "-12" + "0" + "1" + "0" * 30),
    ("", ("", ""), ""),
    ("é", ("€", 1), "é€1"),
    ("é", ("ÿ", "a"), "éÿa"), ("\U0001F600", ("a", 5, "é", "€"), "\U0001F600a5é€"),  # one byte a character; four
    ("a", (True,), None), ("a", (1.5,), None), ("a", (None,), None), (b"a", ("b",), None),
    ("a", (_Text("b"),), None), (_Number(1), ("b",), None),
    ("x" * 2040, ("é" * 6,), "x" * 2040 + "é" * 6),  # 2,046 characters: joined
    ("x" * 2040, ("é" * 7,), None),  # 2,047: written value by value
])
def test_join_text_in_c_is_the_python_one(first: Any, more: tuple[Any, ...], joined: str | None) -> None:
    from phprt.output import functions as output_functions

    assert output_functions._python_join_text(first, more, output_functions._JOINED_MAX) == joined
    if output_functions._c_join_text is None:
        pytest.skip("phprt.output._speedups is not compiled")
    assert output_functions._c_join_text(first, more, output_functions._JOINED_MAX) == joined


@pytest.mark.clause("PERF-ECHO-4")
def test_join_text_refuses_an_int_too_long_for_str_as_python_does() -> None:
    from phprt.output import functions as output_functions

    huge = 10 ** 5000  # past sys.get_int_max_str_digits(): str() raises ValueError
    joins = [output_functions._python_join_text]
    if output_functions._c_join_text is not None:
        joins.append(output_functions._c_join_text)
    for join in joins:
        with pytest.raises(ValueError, match="4300 digits"):
            join("a", (huge,), output_functions._JOINED_MAX)


@pytest.mark.clause("PERF-OB-2")
@pytest.mark.parametrize("traced", [False, True])
def test_the_state_the_output_functions_read_is_the_instances_own(traced: bool) -> None:
    # read at every ob_* call, write and handler start: held by the Runtime and its stack from the
    # start, as the class's defaults were, so that no read looks past the instance
    with Runtime(transport=MemoryTransport(), trace=traced) as rt:
        state = vars(rt)
        assert [name for name in ("_pending", "_made_handlers", "_implicit_flush", "_output_sent") if name not in state] == []
        assert (state["_pending"], state["_made_handlers"], state["_output_sent"]) == (None, None, False)
        assert state["_implicit_flush"] is True  # the CLI's implicit_flush=1, set at the start as before
        assert vars(rt._out).get("traced", "unset") is traced  # a traced stack's class says True
        rt.ob_start()
        rt.echo("a")
        assert rt.ob_get_clean() == "a"


@pytest.mark.clause("PERF-OB-2", "OUT-BYTES-1")
@pytest.mark.parametrize("charset", ["utf-8", "iso-8859-1"])
def test_a_user_handler_takes_the_buffers_text_as_its_bytes_decode(charset: str) -> None:
    # The handler's buffer is the script's string of the bytes PHP's handler would get: the
    # stack's text, as those bytes decode in the script's charset (undecodable bytes kept)
    seen: list[Any] = []

    def keep(buffer: Any, phase: int) -> str:
        seen.append(buffer)
        return buffer

    transport = MemoryTransport()
    sent = b""
    with Runtime(transport=transport, charset=charset) as rt:
        for writes in (["ab", "c"], ["a", "é"], [b"a\xff", "é"], [b"\xc3\xa9"]):
            rt.ob_start(keep)
            for data in writes:
                rt.echo(data)
            expected = b"".join(data if isinstance(data, bytes) else data.encode(charset) for data in writes)
            rt.ob_end_flush()
            assert seen[-1].__class__ is str and seen[-1] == expected.decode(charset, "surrogateescape")
            sent += expected
    assert transport.body == sent  # returned as given: the same bytes out
