"""phprt.wsgi behind the standard library's WSGI server: a threading ``wsgiref`` server on a
free loopback port, a raw socket client, what a MemoryTransport sends for the same request, and
the scripts and recordings both gateway test modules (WSGI and ASGI) use."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from phprt import MemoryTransport
from phprt.net.site import HttpRequest, ScriptCall
from phprt.php import (
    connection_aborted,
    connection_status,
    echo,
    fastcgi_finish_request,
    flush,
    header,
    http_response_code,
    ignore_user_abort,
    ob_end_flush,
    ob_start,
    register_shutdown_function,
    setcookie,
    usleep,
)
from phprt.wsgi import WSGIApp

from . import NETWORK

WAIT = 30.0  # seconds: generous bounds on every wait, never a measured expectation
WEB_PROFILES = ["cgi", "fpm", "cli-server", "apache2handler"]

#: A POST whose variables ``php -n -S`` (8.2.36) gave as RECORDED_VARIABLES, with index.php printing
#: json_encode() of $_GET, $_POST, $_COOKIE and php://input.
REQUEST = (b"POST /index.py/extra/path?a=1&b[]=2&b[]=x%20y HTTP/1.1\r\nHost: example.test:8765\r\nX-Custom: yes\r\n"
           b"Content-Type: application/x-www-form-urlencoded\r\nCookie: c=3; d=4\r\nContent-Length: 11\r\n\r\np=5&q[k]=6x")
RECORDED_VARIABLES = {"get": {"a": "1", "b": ["2", "x y"]}, "post": {"p": "5", "q": {"k": "6x"}},
                      "cookie": {"c": "3", "d": "4"}, "input": "p=5&q[k]=6x"}


# -- the server and the client ----------------------------------------------------------------


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128  # a hundred clients connect at once


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(app: WSGIApp) -> Iterator[int]:
    """``app`` behind wsgiref on a free loopback port; stopped, and its scripts ended, afterwards."""
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        thread.join(WAIT)
        server.server_close()
        assert app.join(WAIT), "a script was still running"


@contextmanager
def connect(port: int) -> Iterator[socket.socket]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    try:
        yield sock
    finally:
        sock.close()


def read_until(sock: socket.socket, data: bytes, marker: bytes) -> bytes:
    """Read from ``sock`` until ``data`` holds ``marker`` (or the peer closes)."""
    while marker not in data:
        piece = sock.recv(65536)
        if not piece:
            break
        data += piece
    return data


def read_to_end(sock: socket.socket, data: bytes = b"") -> bytes:
    while piece := sock.recv(65536):
        data += piece
    return data


def read_framed(sock: socket.socket) -> bytes:
    """One response read as its Content-Length frames it (to the end of the connection where it
    has none): a WSGI server keeps the connection until the script has ended."""
    data = read_until(sock, b"", b"\r\n\r\n")
    _, fields, body = split_response(data)
    lengths = [value for name, value in fields if name.lower() == "content-length"]
    if not lengths:
        return read_to_end(sock, data)
    while len(body) < int(lengths[-1]) and (piece := sock.recv(65536)):
        body += piece
        data += piece
    return data


def split_response(raw: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    """The status line, the header fields in order, and the body of a raw HTTP/1.0 response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = [(name, value.strip()) for name, _, value in (line.partition(":") for line in lines[1:])]
    return lines[0], fields, body


def exchange(port: int, request: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    with connect(port) as sock:
        sock.sendall(request)
        return split_response(read_to_end(sock))


def get(path: str, method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode()


class ServerSide:
    """A WSGI server's side of calls of an application, in memory: what ``start_response`` was
    given, what ``write()`` was given and then what the iterable yielded; a write raises as one to a
    client that has gone once ``fail`` is set."""

    def __init__(self) -> None:
        self.started: list[tuple[str, list[tuple[str, str]]]] = []
        self.written: list[bytes] = []
        self.fail = False

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        self.started.append((status, headers))
        return self.write

    def write(self, data: bytes) -> None:
        if self.fail:
            raise BrokenPipeError(32, "Broken pipe")
        self.written.append(data)

    @property
    def body(self) -> bytes:
        return b"".join(self.written)

    def call(self, app: WSGIApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        """One call of ``app``: the status, the fields and the body the client got."""
        result = app(environ, self.start_response)
        self.written.extend(result)
        getattr(result, "close", lambda: None)()
        assert len(self.started) == 1
        return self.started[0][0], self.started[0][1], self.body


def expected_response(app: WSGIApp, raw_request: bytes = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n") -> MemoryTransport:
    """What PHP sends for the request, on a MemoryTransport under the app's profile."""
    head, _, body = raw_request.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    method, target, protocol = lines[0].split(" ")
    headers = tuple((name, value.strip()) for name, _, value in (line.partition(":") for line in lines[1:]))
    call = app.site.answer(HttpRequest(method, target, protocol, headers, body, ("127.0.0.1", 1), ("127.0.0.1", 2)))
    assert isinstance(call, ScriptCall)
    transport = MemoryTransport()
    call.run(transport)
    return transport


def without_server_fields(fields: list[tuple[str, str]], expected: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The fields a client received, without those wsgiref adds (Date, Server, and Content-Length
    for a response whose iterable ended before any body) and with any Date's value blanked."""
    names = {name.lower() for name, _ in expected}
    kept = [(n, v) for n, v in fields if n.lower() not in ("date", "server", "content-length") or n.lower() in names]
    return [(n, "%date%" if n.lower() == "date" else v) for n, v in kept]


def blank_date(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(n, "%date%" if n.lower() == "date" else v) for n, v in fields]


# -- the scripts ---------------------------------------------------------------------------------


#: A script printing PATH_INFO, PHP_AUTH_USER:PHP_AUTH_PW and whether HTTP_PROXY is set; the request
#: that php -S answers "/ user:pass no HTTP_PROXY" (recorded: path-info-trailing-slash, auth-basic,
#: proxy-header).
INFO_AUTH_PY = ("from phprt.php import *\n"
                "echo(_SERVER.get('PATH_INFO'), ' ', _SERVER.get('PHP_AUTH_USER'), ':',"
                " _SERVER.get('PHP_AUTH_PW'), ' ', 'HTTP_PROXY' if 'HTTP_PROXY' in _SERVER else 'no HTTP_PROXY')\n")
INFO_AUTH_REQUEST = b"GET /info.py/ HTTP/1.1\r\nHost: test\r\nAuthorization: basic dXNlcjpwYXNz\r\nProxy: http://evil\r\n\r\n"
INFO_AUTH_BODY = b"/ user:pass no HTTP_PROXY"


def page() -> None:
    header("X-A: 1")
    setcookie("c", "v w")
    echo("h\u00e9llo\n")
    ob_start()
    echo("buffered ")
    ob_end_flush()
    echo([1, 2])  # Warning: Array to string conversion, displayed as HTML


def not_found() -> None:
    http_response_code(404)
    header("Content-Type: text/plain")
    echo("nope")


def redirect() -> None:
    header("Location: /elsewhere")


def hop_by_hop() -> None:
    for line in ("Connection: close", "Keep-Alive: timeout=5", "Transfer-Encoding: identity", "Upgrade: h2c",
                 "TE: trailers", "Trailers: X", "Proxy-Authenticate: Basic", "Proxy-Authorization: x", "X-Ok: 1"):
        header(line)
    echo("body")


class Gate:
    """A script waits at the gate until the test opens it; it notes whether it was opened
    (rather than timed out) and when it ended."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.opened: list[bool] = []
        self.ended: list[float] = []
        self.status: list[int] = []

    def wait(self) -> None:
        self.opened.append(self.event.wait(WAIT))

    def open(self) -> None:
        self.event.set()

    def end(self) -> None:
        self.ended.append(time.monotonic())

    def probe(self) -> None:
        """Register a shutdown function that notes connection_status()."""
        register_shutdown_function(lambda: self.status.append(connection_status()))


def early_script(gate: Gate, finish: Callable[[], None]) -> Callable[[], None]:
    def script() -> None:
        gate.probe()
        finish()
        gate.wait()  # until the client has the whole response
        echo("dropped")
        gate.end()

    return script


def cut_by_content_length() -> None:
    header("Content-Length: 2")
    echo("okTOO MUCH")
    flush()  # PHP-FPM's records go out here; php-cgi wrote at once


def finish_request() -> None:
    echo("ok")
    fastcgi_finish_request()


def writer(gate: Gate, steps: list[int], ignore: bool) -> Callable[[], None]:
    def script() -> None:
        gate.probe()
        if ignore:
            ignore_user_abort(True)
        for step in range(400):  # bounded: 400 writes of 8 KiB, 2 ms apart
            echo("x" * 8192)
            steps.append(step)
            usleep(2000)
        gate.status.append(connection_aborted())

    return script


def info_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    (root / "info.py").write_text(
        "import json\nfrom phprt.php import *\n"
        "for k, v in _SERVER.items():\n"
        "    echo(k, '=', json.dumps(v, separators=(',', ':')), '\\n')\n"
    )
    (root / "index.py").write_text(
        "import json\nfrom phprt.php import *\n"
        "def php(a):\n"
        "    if isinstance(a, dict):\n"
        "        return list(map(php, a.values())) if list(a) == list(range(len(a))) else {str(k): php(v) for k, v in a.items()}\n"
        "    return a\n"
        "echo(json.dumps({'get': php(dict(_GET)), 'post': php(dict(_POST)), 'cookie': php(dict(_COOKIE)),"
        " 'input': runtime().input.decode()}))\n"
    )
    (root / "style.css").write_text("body{}\n")
    return root


def recorded_server(root: Path) -> dict[str, str]:
    """``php -S``'s $_SERVER for the recorded POST, .php read as .py, the root as ``root``."""
    response = NETWORK["responses"]["post-with-path-info"].replace("%root%", str(root.resolve()))
    body = response.partition("\r\n\r\n")[2].replace("info.php", "info.py")
    return dict(line.partition("=")[::2] for line in body.splitlines())
