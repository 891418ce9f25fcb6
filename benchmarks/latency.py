"""(9) From ``flush()`` / ``fastcgi_finish_request()`` in the script to the bytes at the client (issue 13).

The script takes a CLOCK_MONOTONIC stamp (PHP's ``hrtime(true)``, Python's
``time.monotonic_ns()``: the same clock, the same machine), echoes it and calls
``flush()`` (or ``fastcgi_finish_request()``), then sleeps 20 ms; a socket client takes
the same clock when the stamp has arrived (or, for fastcgi_finish_request(), when the
response is complete: END_REQUEST, or over HTTP the end its framing gives -- the
Content-Length reached, the last chunk, else the connection's close). The median over
sequential requests, one server process on each side: ``serve`` beside ``php -n -S`` over
HTTP, ``fastcgi`` beside php-fpm8.2 (pm = static, one child) with a FastCGI client of its
own (no web server in between), and the WSGI application under gunicorn (gthread, one
worker; ``wsgiref``'s threading server where gunicorn is absent) and the ASGI one under
uvicorn (where installed) beside them: flush() beside ``php -S``, fastcgi_finish_request()
beside php-fpm. "not measured" where php or php-fpm8.2 is absent.

    python3 -m benchmarks --only latency [--quick]
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import Result, benchmark, fastcgi_request, fastcgi_stdout, php_available
from benchmarks.gateways import WSGIREF, gateway_command, installed
from benchmarks.serve_fastcgi import PHP_FPM, php_fpm
from benchmarks.serve_http import ROOT, free_port, php_command, serve_command, server

SLEEP = 'usleep(20000)'
SCRIPTS = {
    "flush": ("from phprt.php import *\nimport time\necho(f\"{time.monotonic_ns()}\\n\")\nflush()\n"
              f"{SLEEP}\necho(\"end\\n\")\n",
              f"<?php\necho hrtime(true), \"\\n\";\nflush();\n{SLEEP};\necho \"end\\n\";\n"),
    "finish": ("from phprt.php import *\nimport time\necho(f\"{time.monotonic_ns()}\\n\")\n"
               f"fastcgi_finish_request()\n{SLEEP}\n",
               f"<?php\necho hrtime(true), \"\\n\";\nfastcgi_finish_request();\n{SLEEP};\n"),
}
STAMP = re.compile(rb"(?:^|\n)(\d{9,})\n")
TIMEOUT = 10.0


def _http_once(port: int, path: str, complete: bool = False) -> float:
    """Seconds from the script's stamp to its arrival at an HTTP client (or, with
    ``complete``, to the end of the response as its framing gives it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while (match := STAMP.search(data.partition(b"\r\n\r\n")[2])) is None:
            chunk = sock.recv(65536)
            if not chunk:
                raise RuntimeError(f"no stamp in the response: {data[:300]!r}")
            data += chunk
        arrived = time.monotonic_ns()
        while not _whole(data) and (chunk := sock.recv(65536)):
            data += chunk
        ended = time.monotonic_ns()
    return ((ended if complete else arrived) - int(match[1])) / 1e9


def _whole(response: bytes) -> bool:
    """Whether ``response`` is a whole HTTP/1.1 response by its framing: its Content-Length
    reached, or its last chunk there; one delimited by the close never is."""
    head, _, body = response.partition(b"\r\n\r\n")
    fields = {name.strip().lower(): value.strip() for name, _, value in
              (line.partition(b":") for line in head.split(b"\r\n")[1:])}
    if b"content-length" in fields:
        return len(body) >= int(fields[b"content-length"])
    return fields.get(b"transfer-encoding") == b"chunked" and body.endswith(b"0\r\n\r\n")


def _fastcgi_once(address: str, script: Path, complete: bool) -> float:
    """Seconds from the script's stamp to its arrival (or, with ``complete``, to
    END_REQUEST) at a FastCGI client."""
    host, _, port = address.rpartition(":")
    request = fastcgi_request({"SCRIPT_FILENAME": str(script), "REQUEST_METHOD": "GET", "SCRIPT_NAME": "/" + script.name,
                               "REQUEST_URI": "/" + script.name, "DOCUMENT_ROOT": str(script.parent),
                               "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1", "QUERY_STRING": ""})
    stdout, stamp, arrived = b"", None, 0
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        for content in fastcgi_stdout(sock):
            stdout += content
            if stamp is None and (match := STAMP.search(stdout.partition(b"\r\n\r\n")[2])) is not None:
                stamp, arrived = int(match[1]), time.monotonic_ns()
        ended = time.monotonic_ns()  # END_REQUEST has come
    if stamp is None:
        raise RuntimeError(f"no stamp in the response: {stdout[:300]!r}")
    return ((ended if complete else arrived) - stamp) / 1e9


def _median(once: Callable[[], float], runs: int) -> float:
    once()  # the first request compiles the script: not measured
    return statistics.median(once() for _ in range(runs))


@benchmark("latency")
def flush_to_client(quick: bool) -> list[Result]:
    runs = 10 if quick else 200
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as name:
        base = Path(name)
        py, php = base / "py", base / "php"
        py.mkdir()
        php.mkdir()
        for kind, (python_script, php_script) in SCRIPTS.items():
            (py / f"{kind}.py").write_text(python_script)
            (php / f"{kind}.php").write_text(php_script)
        # serve vs php -S: flush() (php -S has no fastcgi_finish_request()).
        port = free_port()
        with server(serve_command(py, port, 1), port):
            ours = _median(lambda: _http_once(port, "/flush.py"), runs)
        php_s = None
        if php_available():
            port = free_port()
            with server(php_command(php, port), port):
                php_s = _median(lambda: _http_once(port, "/flush.php"), runs)
        results.append(Result.of("flush() -> client, serve", ours * 1e6, php_s and php_s * 1e6, "us", "php -n -S"))
        # fastcgi vs php-fpm: flush() and fastcgi_finish_request().
        port = free_port()
        with server([sys.executable, "-m", "phprt", "fastcgi", "--listen", f"127.0.0.1:{port}", "--workers", "1",
                     str(py)], port):
            address = f"127.0.0.1:{port}"
            mine = {kind: _median(lambda kind=kind: _fastcgi_once(address, py / f"{kind}.py", kind == "finish"), runs)
                    for kind in SCRIPTS}
        fpm: dict[str, float] = {}
        if PHP_FPM:
            (base / "fpm").mkdir()
            with php_fpm(base / "fpm", 1) as address:
                fpm = {kind: _median(lambda kind=kind: _fastcgi_once(address, php / f"{kind}.php", kind == "finish"),
                                     runs) for kind in SCRIPTS}
        for kind, label in (("flush", "flush() -> client, fastcgi"),
                            ("finish", "fastcgi_finish_request() -> complete, fastcgi")):
            theirs = fpm.get(kind)
            results.append(Result.of(label, mine[kind] * 1e6, theirs and theirs * 1e6, "us", "php-fpm8.2"))
        # The WSGI and ASGI applications on their servers, beside php -S and php-fpm.
        (base / "apps.py").write_text(f"from phprt.asgi import ASGIApp\nfrom phprt.wsgi import WSGIApp\n"
                                      f"wsgi = WSGIApp({str(py)!r})\nasgi = ASGIApp({str(py)!r})\n")
        (base / "wsgiref_server.py").write_text(WSGIREF)
        env = {"PYTHONPATH": os.pathsep.join([str(base), str(ROOT), os.environ.get("PYTHONPATH", "")])}
        gateways = [("WSGI", "gunicorn" if installed("gunicorn") else "wsgiref", "wsgi")]
        if installed("uvicorn"):
            gateways.append(("ASGI", "uvicorn", "asgi"))
        for kind, server_name, app in gateways:
            port = free_port()
            with server(gateway_command(server_name, app, port), port, env, cwd=base):
                flushed = _median(lambda: _http_once(port, "/flush.py"), runs)
                finished = _median(lambda: _http_once(port, "/finish.py", complete=True), runs)
            results.append(Result.of(f"flush() -> client, {kind} ({server_name})", flushed * 1e6,
                                     php_s and php_s * 1e6, "us", "php -n -S"))
            theirs = fpm.get("finish")
            results.append(Result.of(f"fastcgi_finish_request() -> complete, {kind} ({server_name})", finished * 1e6,
                                     theirs and theirs * 1e6, "us", "php-fpm8.2"))
    return results


__all__ = ["flush_to_client"]
