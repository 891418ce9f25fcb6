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
from pathlib import Path
from typing import Any

import pytest

import phprt
from phprt import MemoryTransport, Runtime
from phprt.engine import ini as ini_module
from phprt.engine.callables import _accepted_positional
from phprt.engine.ini import configure, ini_bool, ini_integer
from phprt.engine.timelimit import _WATCHDOG
from phprt.output.stack import OutputHandler, as_bytes
from phprt.transports.base import Transport

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


@pytest.mark.clause("PERF-START-2")
def test_a_deadline_moved_earlier_wakes_the_watchdog() -> None:
    # A long limit first (the watchdog sleeps towards it), then 1 second: the spin stops.
    outcome: dict[str, object] = {}

    def request() -> None:
        transport = MemoryTransport()
        with Runtime(transport=transport, sapi="cgi", ini={"max_execution_time": "600", "display_errors": "0"}) as rt:
            time.sleep(0.05)  # let the watchdog settle on the 600 s deadline
            rt.set_time_limit(1)
            end = time.monotonic() + 20  # a safety net: the limit stops this after 1 s of CPU
            while time.monotonic() < end:
                pass
            outcome["spun out"] = True
        outcome["status"] = rt.exit_status

    thread = threading.Thread(target=request)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert outcome == {"status": 255}


@pytest.mark.clause("PERF-START-2")
def test_disarming_or_a_later_deadline_does_not_wake_the_watchdog(monkeypatch: pytest.MonkeyPatch) -> None:
    woken: list[int] = []
    condition = _WATCHDOG._changed
    notify = condition.notify
    monkeypatch.setattr(condition, "notify", lambda n=1: (woken.append(n), notify(n))[1])
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


@pytest.mark.clause("PERF-CALL-1")
@pytest.mark.parametrize("function", [_plain, _defaults, _varargs, _positional_only, _none, _wrapped,
                                      lambda b, p: b, _Handler().method, print, functools.partial(_plain, 1)])
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


@pytest.mark.clause("PERF-ECHO-2")
def test_echo_is_bound_once_per_top_buffer() -> None:
    with Runtime(transport=Transport()) as rt:
        rt.ob_start()
        bound = rt.__dict__["echo"]
        rt.echo("x")
        rt.ob_get_length()
        rt.ob_get_status()
        assert rt.__dict__["echo"] is bound
        rt.ob_start(None, 4)  # a chunk size: the slow path
        assert "echo" not in rt.__dict__
        rt.echo("abcdef")
        rt.ob_end_clean()
        assert rt.__dict__["echo"] is bound  # the same buffer again: the echo made for it
        rt.echo("y")
        # php -n -r 'ob_start(); echo "x"; ob_start(null, 4); echo "abcdef"; ob_end_clean(); echo "y";
        #   var_dump(ob_get_contents());' gives "xabcdefy" (the chunk size passed "abcdef" down)
        assert rt.ob_get_contents() == "xabcdefy"
        rt.ob_end_clean()
        assert "echo" not in rt.__dict__


@pytest.mark.clause("PERF-OB-1")
@pytest.mark.parametrize("encoding", ["utf-8", "latin-1", "utf-16", "ascii"])
def test_joined_contents_are_the_chunks_encoded_one_by_one(encoding: str) -> None:
    handler = OutputHandler("default output handler", None, 0)
    handler._encoding = encoding
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
    assert len(results) == 6 and all(result["phprt"] > 0 for result in results)
