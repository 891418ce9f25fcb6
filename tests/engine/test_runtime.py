"""The Runtime's contract beyond what the recorded cases show."""

from __future__ import annotations

import sys
import threading

import pytest

from phprt import (
    E_USER_NOTICE,
    E_WARNING,
    PHP_OUTPUT_HANDLER_STDFLAGS,
    Bailout,
    Diagnostic,
    MemoryTransport,
    Runtime,
)


def cb_upper(buffer: str, phase: int) -> str:
    return buffer.upper()


@pytest.mark.clause("RT-PROFILE-1")
@pytest.mark.parametrize("sapi", ["cli", "cgi", "fpm", "cli-server", "apache2handler"])
def test_every_profile_runs_on_the_memory_transport(sapi: str) -> None:
    transport = MemoryTransport()
    with Runtime(transport=transport, sapi=sapi) as rt:
        rt.ob_start(cb_upper)
        rt.echo("hi")
    assert transport.body == b"HI"
    assert transport.finished


@pytest.mark.clause("RT-PROFILE-1")
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"sapi": "iis"}, "unknown SAPI 'iis'"),
        ({"ini": {"x": "a=b"}}, "ini x='a=b': PHP's ini parser reports a syntax error, unexpected '='"),
        ({"php_version": "7.4"}, "unsupported php_version '7.4'"),
    ],
)
def test_bad_construction_is_refused(arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Runtime(**arguments)


@pytest.mark.clause("RT-STARTUP-1", "RT-SHUTDOWN-1", "TRANSPORT-ORDER-1")
def test_startup_and_shutdown_order() -> None:
    transport = MemoryTransport()
    with Runtime(transport=transport, ini={"output_buffering": "1"}) as rt:
        assert rt.ob_get_level() == 1
        rt.echo("a", "b")
        assert transport.events == []  # still buffered: nothing, not even headers, has left
    # output_buffering keeps implicit_flush off (OUT-INI-3): no flush event.
    assert transport.events == [("headers", None, []), ("write", b"ab"), ("finish",)]


@pytest.mark.clause("RT-SHUTDOWN-1", "TRANSPORT-ORDER-1")
def test_headers_are_sent_at_the_end_without_output() -> None:
    transport = MemoryTransport()
    with Runtime(transport=transport, sapi="cgi", ini={"expose_php": "0", "default_mimetype": ""}):
        pass
    assert transport.events == [("headers", 200, []), ("finish",)]


@pytest.mark.clause("RT-SHUTDOWN-1", "DEV-UNCAUGHT-1")
def test_a_python_exception_leaves_after_the_request_ended() -> None:
    transport = MemoryTransport()
    with pytest.raises(KeyError):
        with Runtime(transport=transport, ini={"html_errors": "0"}) as rt:
            rt.ob_start()
            rt.echo("flushed")
            line = sys._getframe().f_lineno + 1
            raise KeyError("boom")
    where = f"{__file__}:{line}"
    assert transport.body.decode() == (
        f"flushed\nFatal error: Uncaught KeyError: 'boom' in {where}\nStack trace:\n#0 {{main}}\n"
        f"  thrown in {__file__} on line {line}\n"
    )
    assert transport.finished and rt.exit_status == 255


@pytest.mark.clause("DIAG-FATAL-1")
def test_a_fatal_error_is_a_bailout_the_block_absorbs() -> None:
    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:
        try:
            rt.trigger_error("stop", 256)
        except Exception:  # a ported script's catch-all must not swallow it
            pytest.fail("Bailout was caught as an Exception")
    assert rt.exit_status == 255
    assert issubclass(Bailout, BaseException) and not issubclass(Bailout, Exception)


@pytest.mark.clause("RT-ONCE-1")
def test_a_runtime_serves_one_request() -> None:
    rt = Runtime()
    with rt:
        pass
    with pytest.raises(RuntimeError, match="already started"):
        rt.__enter__()


@pytest.mark.clause("RT-ISOLATION-1")
def test_runtimes_in_threads_never_mix() -> None:
    results: dict[int, bytes] = {}
    barrier = threading.Barrier(8)

    def request(n: int) -> None:
        transport = MemoryTransport()
        with Runtime(transport=transport, ini={"precision": str(n + 2)}) as rt:
            rt.ob_start(cb_upper)
            barrier.wait()
            for _ in range(500):
                rt.echo(f"r{n}-")
            rt.ini_set("display_errors", "0")
            rt.echo(1 / 3)
            rt.ob_end_flush()
        results[n] = transport.body

    threads = [threading.Thread(target=request, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for n, body in results.items():
        assert body == (f"R{n}-" * 500).encode() + b"0." + b"3" * (n + 2)


@pytest.mark.clause("DIAG-RECORD-1", "DIAG-LOCATION-1")
def test_diagnostics_are_recorded_with_the_callers_line() -> None:
    with Runtime(ini={"display_errors": "0"}) as rt:
        line = sys._getframe().f_lineno + 1
        rt.echo([1])
        rt.trigger_error("mine")
    assert rt.diagnostics[0] == Diagnostic(E_WARNING, "Array to string conversion", __file__, line)
    assert rt.diagnostics[1] == Diagnostic(E_USER_NOTICE, "mine", __file__, line + 1)
    assert str(rt.diagnostics[1]) == f"Notice: mine in {__file__} on line {line + 1}"


@pytest.mark.clause("DIAG-LOG-1")
def test_error_log_file_gets_timestamped_lines(tmp_path) -> None:
    log = tmp_path / "php_errors.log"
    transport = MemoryTransport()
    with Runtime(transport=transport, ini={"log_errors": "1", "display_errors": "0", "error_log": str(log)}) as rt:
        rt.trigger_error("into the file")
    text = log.read_text()
    assert text.startswith("[") and text.endswith(f"UTC] PHP Notice:  into the file in {__file__} on line {rt.diagnostics[0].line}\n")
    assert transport.stderr == b""


@pytest.mark.clause("SAPI-DEFAULTS-1")
@pytest.mark.parametrize(
    ("sapi", "expected"),
    [
        ("cli", {"display_errors": "1", "html_errors": "0", "implicit_flush": "1", "output_buffering": "0"}),
        ("cgi", {"display_errors": "1", "html_errors": "1", "implicit_flush": "0", "output_buffering": "0"}),
        ("fpm", {"display_errors": "1", "html_errors": "1", "implicit_flush": "0", "output_buffering": "0"}),
        ("cli-server", {"display_errors": "1", "html_errors": "1", "implicit_flush": "0", "output_buffering": "0"}),
    ],
)
def test_sapi_defaults(sapi: str, expected: dict[str, str]) -> None:
    # Recorded with php -n / php-cgi -n / php-fpm -n / php -S (8.2.36): ini_get() of each.
    rt = Runtime(sapi=sapi)
    assert {name: rt.ini_get(name) for name in expected} == expected


@pytest.mark.clause("OUT-CALLBACK-8")
def test_a_handler_exception_leaves_the_stack_consistent() -> None:
    transport = MemoryTransport()

    def explode(buffer: str, phase: int) -> str:
        raise LookupError("handler failed")

    with Runtime(transport=transport) as rt:
        rt.ob_start()
        rt.ob_start(explode)
        rt.echo("raw")
        with pytest.raises(LookupError, match="handler failed"):
            rt.ob_end_flush()
        assert rt.ob_get_level() == 1
        assert rt.ob_get_contents() == "raw"
    assert transport.body == b"raw"


@pytest.mark.clause("OUT-START-5")
def test_a_refused_argument_leaves_the_stack_unchanged() -> None:
    with Runtime() as rt:
        with pytest.raises(TypeError, match=r"ob_start\(\): Argument #3 \(\$flags\) must be of type int, array given"):
            rt.ob_start(cb_upper, 0, [PHP_OUTPUT_HANDLER_STDFLAGS])
        assert rt.ob_get_level() == 0


@pytest.mark.clause("DEV-ARGCOUNT-1")
def test_too_many_arguments_is_pythons_type_error() -> None:
    with Runtime() as rt:
        with pytest.raises(TypeError, match="positional argument"):
            rt.ob_get_level(1)  # type: ignore[call-arg]


@pytest.mark.clause("DEV-OBJECT-STR-1", "VAL-ECHO-1")
def test_objects_convert_through_their_own_str() -> None:
    class Base:
        def __str__(self) -> str:
            return "base"

    class Child(Base):
        pass

    class Plain:
        pass

    from phprt import PhpError

    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:
        rt.echo(Child())
        with pytest.raises(PhpError, match="Object of class Plain could not be converted to string"):
            rt.echo(Plain())
    assert transport.body == b"base"


@pytest.mark.clause("DEV-EMPTY-ARRAY-1", "OUT-STATUS-1")
def test_status_without_buffers_is_an_empty_dict() -> None:
    with Runtime() as rt:
        assert rt.ob_get_status() == {} and rt.ob_get_status(True) == []


@pytest.mark.clause("CALL-NAME-1", "DEV-NAMES-1")
def test_python_callables_are_named_like_php() -> None:
    import functools

    class Shouter:
        def shout(self, buffer: str) -> str:
            return buffer.upper()

        def __call__(self, buffer: str) -> str:
            return buffer

    def make_closure():
        def inner(buffer: str) -> str:
            return buffer

        return inner

    with Runtime() as rt:
        for callback in (cb_upper, Shouter().shout, Shouter(), lambda b: b, make_closure(), functools.partial(cb_upper), "abc".upper):
            rt.ob_start(callback)
        assert rt.ob_list_handlers() == [
            "cb_upper", "Shouter::shout", "Shouter::__invoke", "Closure::__invoke",
            "Closure::__invoke", "Closure::__invoke", "str::upper",
        ]
        for _ in range(7):
            rt.ob_end_clean()


@pytest.mark.clause("OUT-BYTES-1")
def test_binary_output_round_trips_through_handlers() -> None:
    data = bytes(range(256))
    transport = MemoryTransport()
    seen: list[str] = []

    def keep(buffer: str, phase: int) -> str:
        seen.append(buffer)
        return buffer

    with Runtime(transport=transport) as rt:
        rt.ob_start(keep)
        rt.echo(data)
        assert rt.ob_get_length() == 256
        assert rt.ob_get_contents().encode("utf-8", "surrogateescape") == data
    assert transport.body == data
    assert seen[0].encode("utf-8", "surrogateescape") == data


@pytest.mark.clause("OUT-BYTES-1")
def test_another_charset_encodes_str_output() -> None:
    transport = MemoryTransport()
    with Runtime(transport=transport, charset="latin-1") as rt:
        rt.ob_start()
        rt.echo("é")
        assert rt.ob_get_length() == 1
    assert transport.body == b"\xe9"


@pytest.mark.clause("RT-ACTIVE-1")
def test_php_functions_use_the_active_runtime_of_each_thread() -> None:
    from phprt import php

    with pytest.raises(RuntimeError, match="no phprt Runtime is active"):
        php.echo("x")
    bodies: dict[str, bytes] = {}

    def request(name: str) -> None:
        transport = MemoryTransport()
        with Runtime(transport=transport):
            php.ob_start()
            for _ in range(200):
                php.echo(name)
            assert php.runtime().ob_get_length() == 200 * len(name)
        bodies[name] = transport.body

    threads = [threading.Thread(target=request, args=(name,)) for name in ("a", "bb", "ccc")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert bodies == {"a": b"a" * 200, "bb": b"bb" * 200, "ccc": b"ccc" * 200}
    assert "print" not in php.__all__ and "echo" in php.__all__


@pytest.mark.clause("RT-ACTIVE-1")
def test_php_functions_use_the_active_runtime_of_each_task() -> None:
    import asyncio

    from phprt import php

    async def request(name: str) -> bytes:
        transport = MemoryTransport()
        with Runtime(transport=transport):
            php.ob_start()
            for _ in range(3):
                php.echo(name)
                await asyncio.sleep(0)
        return transport.body

    async def both() -> list[bytes]:
        return await asyncio.gather(request("x"), request("y"))

    assert asyncio.run(both()) == [b"xxx", b"yyy"]
