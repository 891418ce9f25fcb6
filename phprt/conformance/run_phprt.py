"""Run a case through phprt in this process and observe it (the ``phprt`` adapter).

The case's Python rendering runs against a Runtime on a MemoryTransport (a CgiTransport
for a "cgi" case), with the handler library's names and PHP's constants in scope; the
observations are made as run_php makes PHP's.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
import weakref
from types import CodeType
from typing import Any

import phprt
from phprt import CgiTransport, MemoryTransport, Ref, Runtime
from phprt.engine.timelimit import calls_script
from phprt.engine.uncaught import php_class_name

from .cases import BASE_INI, Case
from .library import EXCEPTION_HANDLERS
from .normalise import observation
from .render import CONSTANTS, render_python

#: The path phprt's rendering runs under: as long as run_php's PHP script path.
PYTHON_PATH = "/phprt-conformance/case.py"
#: Writes the built-in server still accepts after its client hung up (TCP); PHP-FPM's
#: unix socket fails the first one.
LOST_WRITES = {"cli-server": 1}
#: The request the servers.py client makes, as phprt's transport reports it.
SERVER_DEFAULTS = {
    "cli-server": {"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1"},
    "fpm": {"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1"},
}


class ErrorException(Exception):
    """The conformance library's stand-in for PHP's ErrorException."""


class stdClass:  # noqa: N801 - PHP's name
    """An object without a string conversion."""


def _encode(value: Any) -> Any:
    if isinstance(value, (str, bytes)):
        data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return {"bytes": data.hex()}
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()} if value else []
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if callable(value) and hasattr(value, "__name__"):
        return value.__name__  # a callable a case named by its PHP name
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return {"float": phprt.engine.values.format_float(value)}
    return value


class _FastCgiClient(MemoryTransport):
    """PHP-FPM's client (servers.run_fpm) reads the FCGI_STDERR records sent before it hung
    up, and none after."""

    def write_stderr(self, data: bytes) -> None:
        if not self.client_gone:
            super().write_stderr(data)


def _raise(exception: BaseException) -> Any:
    try:
        raise exception
    finally:  # this frame, in the traceback, holds no reference back to it
        del exception


class _Recorder:
    """``with __w: __w(call)``: records the call's value, or the class and message of the
    exception it threw (PHP's ``try { __r(call); } catch ...``), on the script's own line."""

    def __init__(self, results: list[dict[str, Any]]) -> None:
        self.results = results

    def __call__(self, value: Any) -> None:
        self.results.append({"value": _encode(value)})

    def __enter__(self) -> None:
        pass

    def __exit__(self, kind: Any, exception: BaseException | None, tb: Any) -> bool:
        if not isinstance(exception, Exception):
            return False
        self.results.append({"throw": php_class_name(exception), "message": _encode(str(exception))})
        return True


def run_phprt(case: Case, php_version: str = "8.2", released: list[weakref.ref[Runtime]] | None = None,
              ) -> dict[str, Any]:
    """Run the case through phprt, under the version profile PHP_VERSION (VER-PROFILE-1), on a
    MemoryTransport and observe it. With ``released``, the Runtime is then disposed of, as a
    server disposes of it, the case's namespace emptied, and a weak reference to the Runtime
    appended: dead once this returns, unless the request left a cycle through it (PERF-RELEASE-1)."""
    results: list[dict[str, Any]] = []

    @calls_script  # the case's code it calls is the script's: its time limit may stop it there
    def record(thunk: Any) -> None:  # the handler library's __r(lambda: ...)
        with recorder:
            recorder(thunk())

    recorder = _Recorder(results)
    stdout, stderr = io.BytesIO(), io.BytesIO()
    transport: MemoryTransport | CgiTransport
    if case.sapi == "cgi":
        transport = CgiTransport(stdout, stderr, environ=case.server)
    else:
        server = {**SERVER_DEFAULTS.get(case.sapi, {}), **case.server}
        client = _FastCgiClient if case.sapi == "fpm" else MemoryTransport
        transport = client(case.disconnect_after, server, lost_writes=LOST_WRITES.get(case.sapi, 0))
    ini_file = None
    if case.ini_file:
        with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as file:
            file.write(case.ini_file)
        ini_file = file.name
    try:
        runtime = Runtime(transport=transport, sapi=case.sapi, ini={**BASE_INI, **case.ini}, ini_file=ini_file,
                          php_version=php_version)
    finally:
        if ini_file is not None:
            os.unlink(ini_file)
    namespace: dict[str, Any] = {
        "__name__": "phprt_conformance_case", "__r": record, "__w": recorder, "rt": runtime,
        "strtoupper": lambda s: s.translate(_ASCII_UPPER), "strlen": lambda s: len(s.encode("utf-8", "surrogateescape")),
        "php_str": lambda v: "" if v is False else str(v), "raise_": _raise,
        "stdClass": stdClass, "ErrorException": ErrorException, "Ref": Ref, "thread_time": time.thread_time,
        **{name: getattr(phprt, name) for name in CONSTANTS},
        "E_ALL": runtime.version.e_all,  # PHP's E_ALL is the version's (VER-E-ALL-1)
    }
    for _, python in EXCEPTION_HANDLERS:  # each on the first line, as in the PHP rendering
        exec(compile(python, PYTHON_PATH, "exec"), namespace)
    code = compile(render_python(case), PYTHON_PATH, "exec")
    try:
        with runtime:
            _execute(code, namespace)
    except (Exception, phprt.StartupFailed):  # reported by the Runtime as PHP reports it / no script ran
        pass
    status: int | None = runtime.exit_status
    if released is not None:
        runtime.dispose()
        namespace.clear()
        released.append(weakref.ref(runtime))
    if isinstance(transport, MemoryTransport):
        if case.sapi in ("cli-server", "fpm") and transport.head is not None:
            stdout.write(transport.head.block())
        stdout.write(transport.body)
        stderr.write(transport.stderr)
        if case.sapi == "cli-server":
            status = None  # the server's process goes on
        elif case.sapi == "fpm":  # PHP-FPM's END_REQUEST says 0, if the client stayed to read it
            status = None if transport.client_gone else 0
    return observation(case.sapi, stdout.getvalue(), stderr.getvalue(), results, status, PYTHON_PATH, ini_file)


@calls_script
def _execute(code: CodeType, namespace: dict[str, Any]) -> None:
    """Run the case's code: the script, which its time limit may interrupt (TIME-*), though
    this module is phprt's own code, which the time limit never interrupts."""
    exec(code, namespace)


_ASCII_UPPER = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}
