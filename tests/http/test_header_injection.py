"""No value a script passes can take the head apart, on any transport (HDR-HEADER-2,
HDR-DEFAULT-3, DEV-HEADER-BYTES-1, VAL-BYTES-1).

Each script queues a hostile header (CR, LF, NUL, a lone surrogate such as the
``"\\udc0d"`` that ``json.loads`` makes of ``"\\udc0d"``, a status line, a cookie, a
default mimetype) and then, as the shutdown function, echoes text shaped like
header lines. PHP refuses every CR/LF/NUL header with a warning (recorded in
spec/cases/headers.toml); phprt refuses a str that no PHP string could hold
(DEV-HEADER-BYTES-1) the same way. On every transport the client must get a
complete head without any injected field, and the shutdown function's text in
the body, where it belongs.
"""

from __future__ import annotations

import io
import os
import socket
from pathlib import Path
from typing import Iterator

import pytest

from phprt import MemoryTransport, Runtime
from phprt.asgi import ASGIApp
from phprt.engine.script import execute
from phprt.fastcgi import FastCgiServer
from phprt.server import HttpServer
from phprt.transports import CgiTransport
from phprt.wsgi import WSGIApp
from tests.support.asgi import call as asgi_call
from tests.support.asgi import get as asgi_get
from tests.support.fastcgi import exchange as fcgi_exchange
from tests.support.fastcgi import fcgi_request, nginx_params
from tests.support.wsgi import exchange as wsgi_exchange
from tests.support.wsgi import get as wsgi_get
from tests.support.wsgi import serve as wsgi_serve

PREFIX = """from phprt.php import *
class Str:
    def __str__(self): return "X: a\\r\\nX-Injected: yes"
register_shutdown_function(lambda: echo("X-Injected: yes\\r\\nSet-Cookie: pwned=1\\r\\n\\r\\nOWNED"))
"""
HOSTILE = [
    'header("X: a\\udc0d")',
    'header("X: a\\udc0a")',
    'header("X: \\ud800")',
    'header("X: a\\r\\nSet-Cookie: pwned=1")',
    'header("X: a\\nX-Injected: yes")',
    'header("X: a\\rX-Injected: yes")',
    'header("X: a\\0X-Injected: yes")',
    'header(b"X: a\\r\\nX-Injected: yes")',
    'header(Str())',
    'header("HTTP/1.1 200 OK\\r\\nX-Injected: yes")',
    'header("HTTP/1.1 404 \\udc0d")',
    'header("Location: /a\\r\\nX-Injected: yes")',
    'header("Location: /\\udc0d")',
    'setrawcookie("a", "b\\udc0d")',
    'setcookie("a\\udc0d", "b")',
    'setcookie("a", "\\udc0d\\r\\n")',
    'ini_set("default_mimetype", "text/html\\r\\nX-Injected: yes")',
    'ini_set("default_charset", "\\udc0d")',
    'header_register_callback(lambda: header("X: \\udc0d"))',
]
TRANSPORTS = ["memory", "cgi", "serve-1.0", "serve-1.1", "fastcgi", "wsgi", "asgi"]
WAIT = 30.0


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = Path(os.path.realpath(tmp_path_factory.mktemp("hostile")))
    for index, call in enumerate(HOSTILE):
        (directory / f"h{index}.py").write_text(PREFIX + call + "\n")
    return directory


@pytest.fixture(scope="module")
def servers(root: Path) -> Iterator[tuple[HttpServer, FastCgiServer]]:
    with HttpServer(root, log=io.StringIO()) as http_server, FastCgiServer(root, "127.0.0.1:0") as fastcgi:
        yield http_server, fastcgi


def _response(transport: str, root: Path, name: str, servers: tuple[HttpServer, FastCgiServer]) -> tuple[bytes, bytes]:
    """The head and the body the client received."""
    path = root / name
    if transport == "memory":
        memory = MemoryTransport()
        execute(Runtime(memory, sapi="cgi"), path)
        return b"".join(f"{line}\r\n".encode("utf-8", "surrogateescape") for line in memory.head.lines), memory.body
    if transport == "cgi":
        out = io.BytesIO()
        execute(Runtime(CgiTransport(stdout=out, stderr=io.BytesIO(), environ={}), sapi="cgi"), path)
        head, _, body = out.getvalue().partition(b"\r\n\r\n")
        return head, body
    if transport.startswith("serve"):
        with socket.create_connection(servers[0].address, timeout=WAIT) as sock:
            sock.sendall(f"GET /{name} HTTP/{transport[-3:]}\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if b"Transfer-Encoding: chunked" in head:
            body = _unchunk(body)
        return head, body
    if transport == "fastcgi":
        reply = fcgi_exchange(servers[1].address, fcgi_request(nginx_params(root, f"/{name}")))
        head, _, body = reply.stdout.partition(b"\r\n\r\n")
        return head, body
    if transport == "wsgi":
        app = WSGIApp(root)
        with wsgi_serve(app) as port:
            status, fields, body = wsgi_exchange(port, wsgi_get(f"/{name}"))
        return (status + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields)).encode("latin-1"), body
    exchange = asgi_call(ASGIApp(root), asgi_get(f"/{name}"))
    start = next(m for m in exchange.messages if m["type"] == "http.response.start")
    return b"".join(k + b": " + v + b"\r\n" for k, v in start["headers"]), exchange.body


def _unchunk(data: bytes) -> bytes:
    body = b""
    while data:
        size, _, data = data.partition(b"\r\n")
        length = int(size, 16)
        if not length:
            break
        body, data = body + data[:length], data[length + 2 :]
    return body


@pytest.mark.clause("HDR-HEADER-2")
@pytest.mark.clause("DEV-HEADER-BYTES-1")
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("index", range(len(HOSTILE)), ids=[call[:40] for call in HOSTILE])
def test_no_header_value_can_break_the_head(index: int, transport: str, root: Path,
                                            servers: tuple[HttpServer, FastCgiServer]) -> None:
    head, body = _response(transport, root, f"h{index}.py", servers)
    lines = head.split(b"\r\n")
    assert not any(b"Injected" in line or b"pwned" in line for line in lines), head
    assert any(line.lower().startswith(b"content-type:") for line in lines), head
    assert body.endswith(b"X-Injected: yes\r\nSet-Cookie: pwned=1\r\n\r\nOWNED"), body


@pytest.mark.clause("VAL-BYTES-1")
def test_any_str_is_output_as_bytes_and_counted_as_such() -> None:
    transport = MemoryTransport()
    with Runtime(transport, sapi="cli", ini={"display_errors": "1"}) as rt:
        rt.ob_start()
        rt.echo("a\udc0d", "\udcff", "\ud800b")
        length = rt.ob_get_length()
        rt.ob_end_flush()
        rt.trigger_error("bad \udc0a")
    assert length == 1 + 3 + 1 + 3 + 1
    assert transport.body.startswith(b"a\xed\xb0\x8d\xff\xed\xa0\x80b\nNotice: bad \xed\xb0\x8a in ")
    latin = MemoryTransport()
    with Runtime(latin, sapi="cli", charset="latin-1") as rt:
        rt.echo("\u20ac \xe9")
    assert latin.body == b"? \xe9"
