"""Run a PHP script behind a real web server SAPI and observe what a client sees.

Two drivers for the conformance suite's PHP adapter and recorder, each starting a private server per call
(``-n``: no php.ini, so only PHP's built-in defaults plus ``ini`` apply; the
environment is ``os.environ`` plus ``PHPRT_RECORD`` taken from ``server``):

``run_cli_server``
    ``php -n -d... -S 127.0.0.1:PORT -t DIR`` (the built-in server, ``cli-server``
    SAPI). The client sends ``METHOD /case.php[?QUERY_STRING] HTTP/1.1`` with one
    header per ``HTTP_*`` key of ``server`` (``HTTP_ACCEPT_ENCODING`` becomes
    ``Accept-Encoding``) and no others, so no ``Host`` is echoed back unless
    given; ``REQUEST_URI`` and ``SERVER_PROTOCOL`` override the request line.
    ``stdout`` is the raw HTTP response read (its ``Date`` header varies).
    ``stderr`` is the server's log (stderr and stdout) after its "started" line,
    collected once the server logged ``Closing`` for the client, which it does
    after ``php_request_shutdown`` (shutdown functions, destructors) returned.
    Each log line's leading ``[Sat Nov 21 12:00:00 2026] `` is removed, and a
    ``127.0.0.1:PORT `` client address right after it becomes ``127.0.0.1:%d ``;
    lines without a timestamp (continuations of multi-line messages) are kept as
    they are. ``exit`` is None.

``run_fpm``
    ``php-fpm8.2 -n -d... -F -R -y CONF``: one static pool with one worker on a
    unix socket, ``clear_env = no``. The client speaks FastCGI: BEGIN_REQUEST
    (RESPONDER, flags 0), the standard CGI PARAMS updated by ``server``, empty
    PARAMS, empty STDIN. ``stdout``/``stderr`` are the FCGI_STDOUT/FCGI_STDERR
    contents read (CGI head, blank line, body / PHP's logged errors), ``exit``
    the END_REQUEST appStatus if one was read. The request counts as finished
    when the worker answers a ping request (``ping.path``) sent afterwards on a
    new connection: with one worker that happens only once the first request,
    including anything after fastcgi_finish_request() and shutdown functions,
    is over. (With ``clear_env = no`` the environment also shows in $_SERVER.
    Messages logged after the client left or after fastcgi_finish_request()
    reach only fpm's own log, which is not returned.)

``disconnect_after=N`` reads the response head through its blank line plus N
body bytes (stdout is cut exactly there), then closes the socket. ``events`` holds
``("headers", t)``, ``("body", nbytes, t)`` per chunk read, ``("end", t)`` when
the server ended the response (EOF / END_REQUEST; absent after a hang-up) and
``("done", t)`` when the request was seen to be finished, t in seconds since the
request was sent. A run that does not finish within ``timeout`` seconds raises
TimeoutError.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PHP = "php"
PHP_FPM = "php-fpm8.2"
#: An access-log line and the lines (no timestamp of their own) of the error message php -S
#: appends to it: the message is PHP's own log line already.
_ACCESS_CONTINUATION = re.compile(rb"^(\[[^\]\n]*\] 127\.0\.0\.1:\d+ .*\n)(?:[^\[\n].*\n)+", re.MULTILINE)
_TIMESTAMP = re.compile(rb"^\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\] (127\.0\.0\.1:\d+ )?", re.MULTILINE)
_PING = "/phprt-ping"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _environment(server: dict[str, str]) -> dict[str, str]:
    environment = dict(os.environ)
    if "PHPRT_RECORD" in server:
        environment["PHPRT_RECORD"] = server["PHPRT_RECORD"]
    return environment


def _start(command: list[str], log: Path, environment: dict[str, str]) -> subprocess.Popen[bytes]:
    with open(log, "wb") as sink:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
                                env=environment, start_new_session=True)


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=2)
            return
        except ProcessLookupError:
            process.wait()
            return
        except subprocess.TimeoutExpired:
            continue


def _poll(ready: Callable[[], object], deadline: float, what: str,
          process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until READY() is true; fail if PROCESS exits or the DEADLINE passes."""
    while not ready():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: server exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.005)


def _recv(client: socket.socket, deadline: float, what: str) -> bytes:
    client.settimeout(max(deadline - time.monotonic(), 0.01))
    try:
        return client.recv(65536)
    except TimeoutError:
        raise TimeoutError(what) from None


class _Reader:
    """Collects a response's bytes, splitting head from body and timing them."""

    def __init__(self, disconnect_after: int | None, sent: float) -> None:
        self.data, self.head, self.limit, self.sent = b"", -1, disconnect_after, sent
        self.events: list[tuple[Any, ...]] = []

    def now(self) -> float:
        return round(time.monotonic() - self.sent, 4)

    def feed(self, chunk: bytes) -> bool:
        """Take CHUNK; True once the client should hang up (the data is cut there)."""
        body_before = max(len(self.data) - self.head, 0) if self.head >= 0 else 0
        self.data += chunk
        if self.head < 0:
            if self.data.startswith(b"\r\n"):  # an empty head: no field at all (header_remove())
                self.head = 2
            elif (end := self.data.find(b"\r\n\r\n")) >= 0:
                self.head = end + 4
            else:
                return False
            self.events.append(("headers", self.now()))
        stop = False
        if self.limit is not None and len(self.data) >= self.head + self.limit:
            self.data, stop = self.data[: self.head + self.limit], True
        if (body := len(self.data) - self.head - body_before) > 0:
            self.events.append(("body", body, self.now()))
        return stop


def run_cli_server(script: str, ini: dict[str, str], server: dict[str, str] | None = None,
                   disconnect_after: int | None = None, timeout: float = 30, php: str = PHP) -> dict[str, Any]:
    """Request SCRIPT from a fresh ``php -S`` built-in server (see the module docstring)."""
    server = server or {}
    deadline = time.monotonic() + timeout
    options = [f"-d{name}={value}" for name, value in ini.items()]
    query = server.get("QUERY_STRING", "")
    target = server.get("REQUEST_URI", "/" + os.path.basename(script) + (f"?{query}" if query else ""))
    head = f"{server.get('REQUEST_METHOD', 'GET')} {target} {server.get('SERVER_PROTOCOL', 'HTTP/1.1')}\r\n"
    for key, value in server.items():
        if key.startswith("HTTP_"):
            head += "-".join(part.capitalize() for part in key[5:].split("_")) + f": {value}\r\n"
    with tempfile.TemporaryDirectory(prefix="phprt-cli-server-") as tmp:
        log, process = Path(tmp, "server.log"), None
        try:
            for _ in range(5):  # the port may be taken between probing and binding
                port = _free_port()
                process = _start([php, "-n", *options, "-S", f"127.0.0.1:{port}", "-t", os.path.dirname(script)],
                                 log, _environment(server))
                _poll(lambda: b" started\n" in log.read_bytes() or process.poll() is not None,  # noqa: B023
                      deadline, "php -S start")
                if process.poll() is None:
                    break
            else:
                raise RuntimeError(f"php -S did not start: {log.read_bytes()!r}")
            offset = log.read_bytes().index(b" started\n") + len(b" started\n")
            with socket.create_connection(("127.0.0.1", port), timeout=max(deadline - time.monotonic(), 0.1)) as client:
                closing = f"127.0.0.1:{client.getsockname()[1]} Closing\n".encode()
                reader = _Reader(disconnect_after, time.monotonic())
                client.sendall(head.encode("latin-1") + b"\r\n")
                while True:
                    chunk = _recv(client, deadline, "php -S response")
                    if not chunk:
                        reader.events.append(("end", reader.now()))
                        break
                    if reader.feed(chunk):
                        break
            _poll(lambda: closing in log.read_bytes()[offset:], deadline, "php -S request end", process)
            reader.events.append(("done", reader.now()))
        finally:
            _stop(process)
        stderr = _ACCESS_CONTINUATION.sub(rb"\1", log.read_bytes()[offset:])
        stderr = _TIMESTAMP.sub(lambda m: b"127.0.0.1:%d " if m.group(1) else b"", stderr)
    return {"stdout": reader.data, "stderr": stderr, "exit": None, "events": reader.events}


def _record(kind: int, content: bytes = b"") -> bytes:
    padding = -len(content) % 8
    return struct.pack(">BBHHBx", 1, kind, 1, len(content), padding) + content + b"\0" * padding


def _length(n: int) -> bytes:
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def _fastcgi_request(params: dict[str, str]) -> bytes:
    pairs = b""
    for name, value in params.items():
        key, val = name.encode("latin-1"), value.encode("utf-8", "surrogateescape")
        pairs += _length(len(key)) + _length(len(val)) + key + val
    return (_record(1, struct.pack(">HB5x", 1, 0)) + _record(4, pairs) + _record(4) + _record(5))


def _accepting(path: str) -> bool:
    """Whether a unix socket listens (php-fpm binds the path before it listens)."""
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def _fastcgi_exchange(path: str, params: dict[str, str], reader: _Reader, deadline: float) -> tuple[bytes, int | None]:
    """Send one request; feed FCGI_STDOUT to READER; return FCGI_STDERR and appStatus."""
    stderr, status, buffer = b"", None, b""
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(max(deadline - time.monotonic(), 0.01))
        client.connect(path)
        reader.sent = time.monotonic()
        client.sendall(_fastcgi_request(params))
        while True:
            chunk = _recv(client, deadline, "php-fpm response")
            if not chunk:
                return stderr, status
            buffer += chunk
            while len(buffer) >= 8:
                _, kind, _, length, padding = struct.unpack(">BBHHBx", buffer[:8])
                if len(buffer) < 8 + length + padding:
                    break
                content, buffer = buffer[8: 8 + length], buffer[8 + length + padding:]
                if kind == 6 and content and reader.feed(content):
                    return stderr, status
                if kind == 7:
                    stderr += content
                if kind == 3:
                    status = struct.unpack(">i", content[:4])[0]
                    reader.events.append(("end", reader.now()))
                    return stderr, status


def run_fpm(script: str, ini: dict[str, str], server: dict[str, str] | None = None,
            disconnect_after: int | None = None, timeout: float = 30, fpm: str = PHP_FPM) -> dict[str, Any]:
    """Request SCRIPT from a fresh php-fpm pool over FastCGI (see the module docstring)."""
    server = server or {}
    deadline = time.monotonic() + timeout
    root, name = os.path.split(script)
    query = server.get("QUERY_STRING", "")
    params = {
        "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": "GET",
        "SCRIPT_FILENAME": script, "SCRIPT_NAME": f"/{name}", "REQUEST_URI": f"/{name}" + (f"?{query}" if query else ""),
        "QUERY_STRING": query, "DOCUMENT_ROOT": root, "SERVER_NAME": "localhost", "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1", "CONTENT_LENGTH": "0",
        **{key: value for key, value in server.items() if key != "PHPRT_RECORD"},
    }
    with tempfile.TemporaryDirectory(prefix="phprt-fpm-") as tmp:
        sock, log, conf = f"{tmp}/fpm.sock", Path(tmp, "fpm.log"), Path(tmp, "fpm.conf")
        conf.write_text(
            f"[global]\npid = {tmp}/fpm.pid\nerror_log = {log}\ndaemonize = no\n\n"
            f"[phprt]\nlisten = {sock}\npm = static\npm.max_children = 1\nclear_env = no\n"
            f"catch_workers_output = yes\ndecorate_workers_output = no\nping.path = {_PING}\n"
        )
        options = [f"-d{key}={value}" for key, value in ini.items()]
        process = None
        try:
            process = _start([fpm, "-n", *options, "-F", "-R", "-y", str(conf)],
                             Path(tmp, "master.out"), _environment(server))
            _poll(lambda: _accepting(sock), deadline, "php-fpm start", process)
            reader = _Reader(disconnect_after, time.monotonic())
            stderr, status = _fastcgi_exchange(sock, params, reader, deadline)
            ping = _Reader(None, time.monotonic())
            _fastcgi_exchange(sock, {**params, "SCRIPT_NAME": _PING, "REQUEST_URI": _PING}, ping, deadline)
            if b"pong" not in ping.data:
                raise RuntimeError(f"php-fpm ping failed: {ping.data!r}")
            reader.events.append(("done", reader.now()))
        finally:
            _stop(process)
    return {"stdout": reader.data, "stderr": stderr, "exit": status, "events": reader.events}
