"""Differential fuzzing: random but meaningful programs, run through PHP 8.2 and phprt (CONF-FUZZ-1).

    python -m phprt.conformance fuzz [--seed S] [--programs N] [--sapi cli,cgi,cli-server,fpm]
                                     [--no-time-limits] [-j N] [--save]

Each program is a conformance case (cases.py): a short script of calls over the output
layer (buffers with handlers, chunk sizes and flags, echo, every ob_* call, flushes),
headers, cookies and the response code, diagnostics, shutdown functions,
ignore_user_abort, exit, fastcgi_finish_request under FPM, time limits with a CPU spin
(CONF-FUZZ-2), a client that hangs up after N bytes (CONF-FUZZ-3) or, for the CLI, is gone
from the start, with an ini drawn from the directives that shape them. Programs are a
pure function of the seed, so a run is repeatable. A program on which phprt and PHP
disagree is run through PHP once more: a program PHP itself answers two ways is reported
as unstable, not as a divergence. A divergence is shrunk, by removing calls and ini
entries while it stays, to a minimal case; ``--save`` writes it into spec/cases/fuzz.toml
and PHP's observation into spec/recorded/fuzz.json, where the conformance suite then
replays it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import socket
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import phprt.php

from ..engine.functions import FUNCTIONS
from ..engine.timelimit import calls_script
from ..fastcgi import FastCgiServer
from ..net.logs import Log
from ..server import HttpServer
from . import library, run_phprt, servers
from .cases import BASE_INI, Case, find_spec
from .normalise import observation
from .render import CONSTANTS, render_python
from .run_php import php_version, run_php

SAPIS = ("cli", "cgi", "cli-server", "fpm")
_KEYS = ("stdout", "stderr", "results", "exit")
#: The time limit of a program that has one, and how long its spin lasts (CPU seconds): PHP's
#: ITIMER_PROF fires inside the spin (CONF-FUZZ-2).
TIME_LIMIT, SPIN = 1, 1.5
#: After a hang-up block's flush the script sleeps this long, so that the client has read its
#: bytes and hung up before the script writes again (CONF-FUZZ-3).
HANG_UP_WAIT = "usleep(300000)"

_HANDLERS = ("h_upper", "h_log", "h_len", "h_phase", "h_empty", "h_false", "h_true", "h_null", "h_void",
             "h_int", "h_array", "h_stringable", "h_false_start", "h_echo", "h_warn",
             "h_inspect", "h_status", "h_call_ob_start", "h_call_ob_flush", "h_call_ob_clean",
             "h_call_ob_end_flush", "h_call_ob_end_clean", "h_call_flush", "h_one", "c_upper", "c_arrow",
             "h_exit", "h_echo_exit", "h_call_ob_get_clean", "h_call_ob_get_flush", "h_call_rewrite", "h_fatal",
             "h_echo_false", "o_a.m", '[o_a, "m"]', '"A::s"', 'o_a')
_FLAGS = ("PHP_OUTPUT_HANDLER_STDFLAGS", "PHP_OUTPUT_HANDLER_CLEANABLE", "PHP_OUTPUT_HANDLER_FLUSHABLE",
          "PHP_OUTPUT_HANDLER_REMOVABLE", "PHP_OUTPUT_HANDLER_CLEANABLE | PHP_OUTPUT_HANDLER_REMOVABLE", "0")
_TEXT = ("a", "Hello", "<b>", "x\n", "", "äé", "0", "line one\nline two", '<a href="x.php">l</a>',
         '<form action="y.php"><input></form>')
_HEADERS = ("X-A: 1", "X-A: 2", "x-a: 3", "X-B: b", "Content-Type: text/plain", "Location: /elsewhere",
            "HTTP/1.1 404 Not Found", "Status: 201 Created", "X-Empty:", "Bad Header")
_QUERIES = ("ob_get_level()", "ob_get_length()", "ob_get_contents()", "ob_get_status()", "ob_get_status(True)",
            "ob_list_handlers()", "headers_list()", "headers_sent()", "http_response_code()",
            "connection_status()", "connection_aborted()", "error_get_last()")

Draw = Callable[[random.Random], str]


def _echo(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return f'echo("{rng.choice("xyz")}" * {rng.choice((100, 4095, 4096, 5000, 20000))})'
    return "echo(" + ", ".join(repr(rng.choice(_TEXT)) for _ in range(rng.randint(1, 3))) + ")"


def _ob_start(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.2:
        return "ob_start()"
    arguments = [rng.choice(_HANDLERS)]
    if roll > 0.5:
        arguments.append(str(rng.choice((0, 1, 2, 3, 10, 4096))))
        if roll > 0.8:
            arguments.append(rng.choice(_FLAGS))
    return f"ob_start({', '.join(arguments)})"


_OUTPUT: list[Draw] = [
    _echo, _echo, _echo, _ob_start, _ob_start,
    lambda rng: f"print({rng.choice(_TEXT)!r})",
    lambda rng: rng.choice(("ob_flush()", "ob_clean()", "ob_end_flush()", "ob_end_clean()", "ob_get_clean()",
                            "ob_get_flush()", "flush()", "ob_implicit_flush()", "ob_implicit_flush(False)")),
    lambda rng: rng.choice(_QUERIES),
    lambda rng: rng.choice(('output_add_rewrite_var("t", "1")', "output_reset_rewrite_vars()")),
]
#: Calls that print nothing and send nothing, whatever came before (a hang-up block's prelude).
_QUIET: list[Draw] = [
    lambda rng: f"header({rng.choice(_HEADERS[:-1])!r})",  # (a bad header warns, and the warning is output)
    lambda rng: f"header({rng.choice(_HEADERS[:-1])!r}, True, {rng.choice((301, 404, 500))})",
    lambda rng: rng.choice(('header_remove("X-A")', "header_remove()", 'setcookie("a", "b")',
                            'header("Set-Cookie: raw=1", False)')),
    lambda rng: f"http_response_code({rng.choice((200, 201, 404, 500))})",
    lambda rng: "header_register_callback(" + rng.choice(("hc_add", "hc_list", "hc_code")) + ")",
    lambda rng: f'register_shutdown_function("sd_log", "t{rng.randint(1, 9)}")',
    lambda rng: f'register_shutdown_function("sd_echo", "[S{rng.randint(1, 9)}]")',
    lambda rng: f"ignore_user_abort({rng.choice(('True', 'False'))})",
    lambda rng: f"ignore_user_abort({rng.choice(('True', 'False'))})",
    lambda rng: rng.choice(("set_error_handler(eh_log)", "set_error_handler(eh_false)")),
    lambda rng: rng.choice(_QUERIES),
]
_HTTP: list[Draw] = [
    lambda rng: f"header({rng.choice(_HEADERS)!r})",
    lambda rng: f"header({rng.choice(_HEADERS)!r}, False)",
    lambda rng: f"header({rng.choice(_HEADERS)!r}, True, {rng.choice((301, 404, 500))})",
    lambda rng: rng.choice(('header_remove("X-A")', "header_remove()", 'header_remove("Content-Type")')),
    lambda rng: f"http_response_code({rng.choice((200, 201, 404, 500, 999))})",
    lambda rng: rng.choice(('setcookie("a", "b")', 'setcookie("a", "b c", 0, "/")', 'setcookie("a")',
                            'setrawcookie("r", "v;w")', 'setcookie("", "x")',
                            'setcookie("o", "v", {"path": "/p", "secure": True, "samesite": "Lax"})',
                            'header("Set-Cookie: raw=1", False)')),
    # (not hc_echo or hc_exit: their output overwrites the body in flight in PHP, DEV-ALIAS-1)
    lambda rng: "header_register_callback(" + rng.choice(("hc_add", "hc_list", "hc_code", "hc_throw")) + ")",
]
_LIFE: list[Draw] = [
    lambda rng: f'register_shutdown_function("sd_log", "t{rng.randint(1, 9)}")',
    lambda rng: f'register_shutdown_function("sd_echo", "[S{rng.randint(1, 9)}]")',
    lambda rng: 'register_shutdown_function("sd_ob_end_flush")',
    lambda rng: rng.choice(('register_shutdown_function("sd_exit", "[X]")', 'register_shutdown_function("sd_throw")',
                            'register_shutdown_function("sd_register", "late")',
                            'register_shutdown_function("sd_error")')),
    lambda rng: rng.choice(("set_error_handler(eh_log)", "set_error_handler(eh_false)", "restore_error_handler()")),
    lambda rng: f"ignore_user_abort({rng.choice(('True', 'False'))})",
    lambda rng: rng.choice(('trigger_error("n", E_USER_NOTICE)', 'trigger_error("w", E_USER_WARNING)',
                            'trigger_error("d", E_USER_DEPRECATED)')),
    lambda rng: rng.choice(("error_reporting(E_ALL & ~E_USER_NOTICE)", 'ini_set("display_errors", "0")',
                            'ini_set("output_buffering", "0")', 'ini_set("implicit_flush", "1")')),
]
#: What spins past the time limit (CONF-FUZZ-2): the script, a shutdown function, an output
#: handler when it runs, a header callback when the headers go (each spins SPIN or 3 s).
_SPINS = (f"sd_spin({SPIN})", f'register_shutdown_function("sd_spin", {SPIN})', "ob_start(h_spin)",
          "header_register_callback(hc_spin)")


def _ini(rng: random.Random) -> dict[str, str]:
    ini: dict[str, str] = {}
    if rng.random() < 0.4:
        ini["output_buffering"] = rng.choice(("0", "1", "16", "4096", "On"))
    if rng.random() < 0.2:
        ini["implicit_flush"] = rng.choice(("0", "1"))
    if rng.random() < 0.2:
        ini["display_errors"] = rng.choice(("0", "1", "stderr"))
    if rng.random() < 0.1:
        ini["output_handler"] = "h_upper"
    return ini


def _calls(rng: random.Random, sapi: str, count: int) -> list[str]:
    kinds = _OUTPUT * 3 + _HTTP + _LIFE
    if sapi == "fpm":
        kinds.append(lambda _: "fastcgi_finish_request()")
    return [rng.choice(kinds)(rng) for _ in range(count)]


def hang_up_block(rng: random.Random) -> tuple[list[str], int]:
    """A client that hangs up after N body bytes, at a point fixed by the program (CONF-FUZZ-3):
    the script sends at least N bytes and flushes, then sleeps while the client reads them and
    hangs up; only the calls after the block write to a client that is gone."""
    after = rng.choice((1, 10, 100, 4096, 10000))
    return [f'echo("h" * {after + rng.choice((1, 50))})', "flush()", HANG_UP_WAIT], after


def program(rng: random.Random, sapi: str, number: int, time_limits: bool = True) -> Case:
    """One random program for ``sapi``: 1-14 calls, perhaps ending in exit(); a share of them
    with a time limit and a spin past it (if ``time_limits``) or, behind a server, a client
    that hangs up after N bytes."""
    calls = _calls(rng, sapi, rng.randint(1, 14))
    ini, server = _ini(rng), {}
    gone = sapi == "cli" and rng.random() < 0.1  # a reader gone before the first write
    disconnect_after = 0 if gone else None
    if sapi in ("cli-server", "fpm") and rng.random() < 0.12:
        # A quiet prelude, the hang-up, then the program: nothing reaches the client before the block.
        block, disconnect_after = hang_up_block(rng)
        prelude = [rng.choice(_QUIET)(rng) for _ in range(rng.randint(0, 4))]
        calls = prelude + block + calls
        ini = {key: value for key, value in ini.items() if key not in ("output_buffering", "output_handler", "implicit_flush")}
    if time_limits and rng.random() < 0.04:
        start = calls.index(HANG_UP_WAIT) + 1 if HANG_UP_WAIT in calls else 0  # after a hang-up block
        where = rng.randint(start, len(calls))
        if rng.random() < 0.5:
            ini["max_execution_time"] = str(TIME_LIMIT)
        else:
            calls.insert(where, f"set_time_limit({TIME_LIMIT})")
            where += 1
        calls.insert(rng.randint(where, len(calls)), rng.choice(_SPINS))
    if any("sd_ob_end_flush" in call for call in calls):
        # The library's Python sd_ob_end_flush records what ob_end_flush() throws, where PHP's
        # lets it propagate: no callback that throws beside it.
        calls = [call.replace("hc_throw", "hc_add") for call in calls]
    if rng.random() < 0.15:
        calls.append(rng.choice(('exit("bye")', "exit(3)", "exit()", 'uncaught("boom")')))
    if sapi in ("cgi", "cli-server") and disconnect_after is None and "output_handler" not in ini \
            and rng.random() < 0.15:  # a client taking gzip
        ini["zlib.output_compression"] = rng.choice(("1", "On", "64"))
        ini["display_errors"] = "0"  # a displayed notice names the script, whose path differs inside gzip
        server["HTTP_ACCEPT_ENCODING"] = "gzip"
        calls = [call.replace("eh_log", "eh_false") for call in calls]  # eh_log echoes the message, path and all
    return Case(id=f"fuzz-{sapi}-{number}", clauses=[], script="\n".join(calls) + "\n", source="fuzz",
                ini=ini, sapi=sapi, server=server, disconnect_after=disconnect_after)


def programs(seed: int, count: int, sapis: tuple[str, ...] = SAPIS, time_limits: bool = True) -> Iterator[Case]:
    """``count`` programs drawn from ``seed``, the SAPI profiles taken in turn."""
    rng = random.Random(seed)
    for number in range(count):
        yield program(rng, sapis[number % len(sapis)], number, time_limits)


def differs(case: Case, expected: dict[str, Any] | None = None) -> list[str]:
    """The observations (stdout, stderr, results, exit) on which phprt is not PHP; for a
    hang-up program also those of phprt's own server (``served stdout``, ...)."""
    expected = expected or run_php(case)
    actual = run_phprt.run_phprt(case)
    keys = [key for key in _KEYS if actual[key] != expected[key]]
    if case.sapi in ("cli-server", "fpm") and case.disconnect_after is not None:
        served = run_phprt_served(case)
        if any(served[key] != expected[key] for key in served):  # a real client's timing: ask twice
            again = run_phprt_served(case)
            keys += [f"served {key}" for key in served if served[key] != expected[key] and again[key] == served[key]]
    return keys


# -- phprt behind its own servers (CONF-FUZZ-3) -------------------------------------------

#: Each served script's results and the end of its request, by the script's path.
_SERVED: dict[str, tuple[list[dict[str, Any]], threading.Event]] = {}
#: The first line of a served script (where render_python has a comment): the names run_phprt
#: gives a case, taken from here, so that no line moves.
_PROLOGUE = "from phprt.conformance.fuzz import served_names as __n; globals().update(__n(__file__))"


def served_names(script: str) -> dict[str, Any]:
    """The names a case's Python rendering uses, for a script phprt's server runs: ``rt`` the
    request's Runtime, ``__r``/``__w`` recording into the list run_phprt_served reads."""
    results, ended = _SERVED[script]
    runtime = phprt.php.runtime()
    shutdown = runtime.shutdown

    def shutdown_then_tell() -> None:  # the request is over once its shutdown is
        try:
            shutdown()
        finally:
            ended.set()

    runtime.shutdown = shutdown_then_tell  # type: ignore[method-assign]
    recorder = run_phprt._Recorder(results)

    @calls_script
    def record(thunk: Any) -> None:
        with recorder:
            recorder(thunk())

    names: dict[str, Any] = {  # as run_phprt.run_phprt's
        "__r": record, "__w": recorder, "rt": runtime,
        "strtoupper": lambda s: s.translate(run_phprt._ASCII_UPPER),
        "strlen": lambda s: len(s.encode("utf-8", "surrogateescape")),
        "php_str": lambda v: "" if v is False else str(v), "raise_": run_phprt._raise,
        "stdClass": run_phprt.stdClass, "ErrorException": run_phprt.ErrorException, "Ref": phprt.Ref,
        "thread_time": time.thread_time, **{name: getattr(phprt, name) for name in CONSTANTS},
    }
    for _, python in getattr(library, "EXCEPTION_HANDLERS", []):
        exec(compile(python, script, "exec"), names)
    return names


def run_phprt_served(case: Case, timeout: float = 30) -> dict[str, Any]:
    """Run a "cli-server" or "fpm" case through phprt's HTTP server or FastCGI responder in
    this process, with the client servers.py has for PHP, and observe it: for FastCGI all four
    observations, for HTTP what the script saw (``results``), since the bytes are framed
    otherwise (a chunked body, SERVE-FRAME-1) and the log is phprt's."""
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="recp-", dir="/tmp") as root:  # as long as run_php's path
        script = os.path.join(root, "case.py")
        Path(script).write_text(_PROLOGUE + "\n" + render_python(case).split("\n", 1)[1])
        results: list[dict[str, Any]] = []
        ended = threading.Event()
        _SERVED[script] = (results, ended)
        ini = {**BASE_INI, **case.ini}
        try:
            if case.sapi == "cli-server":
                stdout, stderr, status = _http_exchange(script, ini, case, deadline), None, None
            else:
                stdout, stderr, status = _fastcgi_exchange(root, script, ini, case, deadline)
            if not ended.wait(max(deadline - time.monotonic(), 0.01)):
                raise TimeoutError(f"{case.id}: phprt's server did not end the request")
        finally:
            del _SERVED[script]
        seen = observation(case.sapi, stdout, stderr or b"", results, status, script)
    if case.sapi == "cli-server":  # its framing (chunked, SERVE-FRAME-1) and log are not php -S's
        return {"results": seen["results"]}
    return seen


def _http_exchange(script: str, ini: dict[str, str], case: Case, deadline: float) -> bytes:
    head = f"GET /{os.path.basename(script)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # (phprt's server requires one)
    head += "".join("-".join(part.capitalize() for part in key[5:].split("_")) + f": {value}\r\n"
                    for key, value in case.server.items() if key.startswith("HTTP_"))
    with HttpServer(os.path.dirname(script), ini=ini, log=io.StringIO()) as server, \
            socket.create_connection(server.address, timeout=max(deadline - time.monotonic(), 0.1)) as client:
        reader = servers._Reader(case.disconnect_after, time.monotonic())
        client.sendall(head.encode("latin-1") + b"\r\n")
        while chunk := servers._recv(client, deadline, "phprt serve response"):
            if reader.feed(chunk):
                break
        client.close()
        _SERVED[script][1].wait(max(deadline - time.monotonic(), 0.01))
    return reader.data


def _fastcgi_exchange(root: str, script: str, ini: dict[str, str], case: Case,
                      deadline: float) -> tuple[bytes, bytes, int | None]:
    name = os.path.basename(script)
    params = {"GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": "GET",
              "SCRIPT_FILENAME": script, "SCRIPT_NAME": f"/{name}", "REQUEST_URI": f"/{name}", "QUERY_STRING": "",
              "DOCUMENT_ROOT": root, "SERVER_NAME": "localhost", "SERVER_PORT": "80", "REMOTE_ADDR": "127.0.0.1",
              "CONTENT_LENGTH": "0", **case.server}
    server = FastCgiServer(root, os.path.join(root, "fcgi.sock"), ini=ini)
    server.log = Log(io.StringIO())
    with server:
        reader = servers._Reader(case.disconnect_after, time.monotonic())
        stderr, status = servers._fastcgi_exchange(os.path.join(root, "fcgi.sock"), params, reader, deadline)
        _SERVED[script][1].wait(max(deadline - time.monotonic(), 0.01))
    return reader.data, stderr, status


def confirmed(case: Case) -> list[str]:
    """The observations on which phprt differs from two runs of PHP that agree with each other;
    none where PHP's two runs disagree (a race in PHP is no divergence)."""
    first = run_php(case)
    keys = differs(case, first)
    if keys and run_php(case) != first:
        return []
    return keys


def _pinned(calls: list[str]) -> set[int]:
    """The hang-up block's lines, which shrinking keeps: without them a hang-up is a race."""
    if HANG_UP_WAIT not in calls:
        return set()
    wait = calls.index(HANG_UP_WAIT)
    return {wait - 2, wait - 1, wait}


def shrink(case: Case, diverges: Callable[[Case], object] = confirmed) -> Case:
    """The smallest program found, by removing calls and ini entries, that still diverges
    (ddmin-like); a hang-up block stays whole."""
    calls = case.calls
    chunk = max(1, len(calls) // 2)
    while chunk >= 1:
        start = 0
        while start < len(calls):
            if _pinned(calls) & set(range(start, start + chunk)):
                start += chunk
                continue
            trial = calls[:start] + calls[start + chunk:]
            candidate = replace(case, script="\n".join(trial) + "\n")
            if trial and diverges(candidate):
                calls, case = trial, candidate
            else:
                start += chunk
        chunk //= 2
    for name in list(case.ini):
        candidate = replace(case, ini={k: v for k, v in case.ini.items() if k != name})
        if diverges(candidate):
            case = candidate
    return case


def clauses_of(case: Case) -> list[str]:
    """The clauses the functions a program calls cite (from the registry, RT-REGISTRY-1)."""
    cited = {entry.name: entry.clauses for entry in FUNCTIONS}
    found: list[str] = []
    for line in case.calls:
        for clause in cited.get(line.split("(", 1)[0].strip(), ()):
            if not clause.endswith("*") and clause not in found:  # a family (OUT-START-*) is no one clause
                found.append(clause)
    return found or ["CONF-FUZZ-1"]


def save(case: Case, name: str, cases: Path | None = None, recordings: Path | None = None,
         clauses: list[str] | None = None) -> Case:
    """Append ``case`` to spec/cases/fuzz.toml as ``name`` and record PHP's observation in
    spec/recorded/fuzz.json (or in the directories given); it cites CONF-FUZZ-1 and
    ``clauses``, by default those of the functions it calls."""
    cases = cases or find_spec() / "cases"
    recordings = recordings or find_spec() / "recorded"
    cited = ["CONF-FUZZ-1", *(clauses if clauses is not None else clauses_of(case))]
    case = replace(case, id=name, clauses=list(dict.fromkeys(cited)))
    path = cases / "fuzz.toml"
    text = path.read_text() if path.exists() else (
        "# Programs the differential fuzzer (phprt/conformance/fuzz.py) found phprt and PHP 8.2\n"
        "# to disagree on, shrunk. Expected results: spec/recorded/fuzz.json.\n")
    entry = [f'\n[[case]]\nid = "{case.id}"', f"clauses = {json.dumps(case.clauses)}"]
    if case.sapi != "cli":
        entry.append(f'sapi = "{case.sapi}"')
    for key in ("ini", "server"):
        if getattr(case, key):
            pairs = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in getattr(case, key).items())
            entry.append(f"{key} = {{ {pairs} }}")
    if case.disconnect_after is not None:
        entry.append(f"disconnect_after = {case.disconnect_after}")
    entry.append("script = '''\n" + case.script.strip("\n") + "\n'''")
    path.write_text(text + "\n".join(entry) + "\n")
    recorded_path = recordings / "fuzz.json"
    document: dict[str, Any] = json.loads(recorded_path.read_text()) if recorded_path.exists() else {"cases": {}}
    document.update(php=php_version(), recorder="python -m phprt.conformance fuzz --save", cases=document["cases"])
    document["cases"][case.id] = {"digest": case.digest(), **run_php(case)}
    recorded_path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    return case


@dataclass
class Run:
    """What a run found: the programs tried, the divergences (each shrunk), the programs PHP
    answered two ways."""

    tried: int = 0
    divergences: list[tuple[Case, list[str], Case]] = field(default_factory=list)
    unstable: list[Case] = field(default_factory=list)


def _observed(cases: Iterator[Case], jobs: int) -> Iterator[tuple[Case, dict[str, Any]]]:
    """Each case with PHP's observation, ``jobs`` PHP runs at a time ahead of the caller."""
    with ThreadPoolExecutor(jobs) as pool:
        ahead: deque[tuple[Case, Future[dict[str, Any]]]] = deque()
        for case in cases:
            ahead.append((case, pool.submit(run_php, case)))
            if len(ahead) > 2 * jobs:
                first, future = ahead.popleft()
                yield first, future.result()
        while ahead:
            first, future = ahead.popleft()
            yield first, future.result()


def fuzz(seed: int, count: int, sapis: tuple[str, ...] = SAPIS, time_limits: bool = True,
         report: Callable[[str], object] = print, jobs: int = 1) -> Run:
    """Run ``count`` programs of ``seed`` through PHP (``jobs`` at a time) and phprt (one at
    a time, in this thread: its time limits need the main thread); shrink each divergence."""
    run = Run()
    for case, expected in _observed(programs(seed, count, sapis, time_limits), jobs):
        run.tried += 1
        if run.tried % 500 == 0:
            report(f"# {run.tried} programs tried: {len(run.divergences)} divergence(s), {len(run.unstable)} unstable")
        keys = differs(case, expected)
        if not keys:
            continue
        if run_php(case) != expected:
            run.unstable.append(case)
            report(f"# {case.id} (seed {seed}): PHP answered two ways; not counted")
            continue
        small = shrink(case)
        run.divergences.append((case, keys, small))
        report(f"# {case.id} (seed {seed}): differs in {', '.join(keys)}; shrunk to {len(small.calls)} call(s), "
               f"sapi {small.sapi}, ini {small.ini}, disconnect_after {small.disconnect_after}\n{small.script}")
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m phprt.conformance fuzz",
                                     description="Differential fuzzing of phprt against live PHP 8.2 (CONF-FUZZ-1).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--programs", type=int, default=200)
    parser.add_argument("--sapi", default=",".join(SAPIS), help="comma-separated SAPI profiles to draw from")
    parser.add_argument("--no-time-limits", dest="time_limits", action="store_false",
                        help="no programs with a time limit (each costs a CPU second)")
    parser.add_argument("--save", action="store_true", help="save each shrunk divergence into spec/cases/fuzz.toml")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="PHP runs at once, ahead of phprt's (default: 2)")
    args = parser.parse_args(argv)
    sapis = tuple(args.sapi.split(","))
    if unknown := [sapi for sapi in sapis if sapi not in SAPIS]:
        parser.error(f"unknown SAPI profile(s): {', '.join(unknown)} (choose from {', '.join(SAPIS)})")
    run = fuzz(args.seed, args.programs, sapis, args.time_limits, jobs=max(args.jobs, 1))
    if args.save:
        for case, _, small in run.divergences:
            save(small, f"fuzz-{args.seed}-{case.id.rsplit('-', 1)[1]}")
    print(f"{run.tried} programs, seed {args.seed}, SAPIs {', '.join(sapis)}: {len(run.divergences)} divergence(s), "
          f"{len(run.unstable)} unstable in PHP")
    return 1 if run.divergences else 0


if __name__ == "__main__":
    sys.exit(main())
