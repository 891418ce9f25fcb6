"""The HTTP server, ``python -m phprt serve`` (spec/http-server.md, SERVE-*).

Every test talks to a real server over loopback sockets: http.client for what a
well-behaved client sees, raw sockets for the bytes, hang-ups and hostile input.
Servers listen on port 0 and are shut down by the fixture. Expected values come
from RFC 9110/9112, from MemoryTransport under the same SAPI profile (which the
conformance cases check against PHP) and from ``php -S`` (PHP 8.2.36, ``php -n
-S 127.0.0.1:PORT``, recorded by hand with a raw socket client; each test's
docstring quotes what it did). Nothing measures speed: a test that checks that a
response was complete before the script ended records both moments and compares
their order.
"""

from __future__ import annotations

import http.client
import io
import os
import queue
import random
import re
import runpy
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

import phprt.php as php
from phprt import MemoryTransport, Runtime
from phprt.engine.script import execute
from phprt.net.http11 import (
    CLOSED,
    NEED_DATA,
    BodyEncoder,
    HttpError,
    Limits,
    Request,
    RequestHead,
    RequestParser,
    plan_response,
    render_head,
)
from phprt.net.listener import host_port
from phprt.net.site import HttpRequest, Site
from phprt.server import HttpServer
from tests.support import EXAMPLES, NETWORK, ROOT, add_escapes, unused_modules_probe
from tests.support.http import (
    TIMEOUT,
    ask,
    assert_still_serving,
    connect,
    exchange,
    get,
    log_of,
    read_reply,
    read_to_eof,
    text_of,
    wait_for,
)

STAMP = re.compile(r"^\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\] ")


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "hello.py").write_text("from phprt.php import *\necho('hello')\n")
    (root / "input.py").write_text("from phprt.php import *\necho(runtime().input)\n")
    (root / "style.css").write_text("body{}\n")
    (root / "sub" / "page.py").write_text("from phprt.php import *\necho('page')\n")
    add_escapes(root, "TOPSECRET")
    return root


# -- the I/O-free core ---------------------------------------------------------------------------


def parse_all(data: bytes, limits: Limits | None = None, step: int = 0) -> list[object]:
    """Every event of DATA, fed whole or STEP bytes at a time, then EOF."""
    parser, events = RequestParser(limits), []
    pieces = [data[i:i + step] for i in range(0, len(data), step)] if step else [data]
    for piece in [*pieces, None]:
        if piece is None:
            parser.feed_eof()
        else:
            parser.feed(piece)
        for _ in range(100):
            event = parser.next_event()
            if event is NEED_DATA:
                break
            events.append(event)
            if isinstance(event, Request):
                parser.next_request()
            if event is CLOSED:
                return events
    return events


@pytest.mark.clause("SERVE-PARSE-1", "SERVE-CHUNKED-1", "SERVE-KEEP-1")
@pytest.mark.parametrize("step", [0, 1, 7])
def test_parser_gives_the_same_requests_whatever_the_packet_boundaries(step: int) -> None:
    data = (b"\r\nPOST /a?b=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-Long:  v  w \r\n\r\n"
            b"3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: dropped\r\n\r\n"
            b"GET http://h/x/y?z HTTP/1.0\nConnection: keep-alive\n\n"
            b"PUT /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\nhello")
    events = parse_all(data, step=step)
    heads = [event for event in events if isinstance(event, RequestHead)]
    requests = [event for event in events if isinstance(event, Request)]
    assert events[-1] is CLOSED and len(heads) == len(requests) == 3
    first, second, third = requests
    assert (first.head.method, first.head.target, first.head.chunked, first.body) == ("POST", "/a?b=1", True, b"abc0123456789abcdef")
    assert first.head.headers == (("Host", "h"), ("Transfer-Encoding", "chunked"), ("X-Long", "v  w "))
    assert (second.head.target, second.head.sent_target, second.head.version) == ("/x/y?z", "http://h/x/y?z", (1, 0))
    assert second.head.persistent and first.head.persistent
    assert (third.head.content_length, third.body) == (5, b"hello")


@pytest.mark.clause("SERVE-PARSE-1", "SERVE-PARSE-2", "SERVE-SMUGGLE-1", "SERVE-LIMIT-1")
@pytest.mark.parametrize(("data", "status"), [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
    (b"GET / HTTP/2.0\r\n\r\n", 505),
    (b"GET /" + b"a" * 100 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: h\r\nX: " + b"a" * 200 + b"\r\n\r\n", 431),
    (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n", 413),
    (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + b"a" * 1024 + b"\r\n", 413),
    (b"GET / HTTP/1.1\r\nHost: h\r\n", 400),  # then the end of the stream
])
def test_parser_refuses_with_a_status(data: bytes, status: int) -> None:
    limits = Limits(request_line=64, header_section=128, body=1000)
    with pytest.raises(HttpError) as refused:
        parse_all(data, limits, step=3)
    assert refused.value.status == status


@pytest.mark.clause("SERVE-FRAME-1", "SERVE-KEEP-1", "SERVE-HEAD-1")
def test_framing_and_head_follow_the_request_and_the_script() -> None:
    def head(version: tuple[int, int] = (1, 1), method: str = "GET", *headers: tuple[str, str]) -> RequestHead:
        return RequestHead(method, "/", "/", version, f"HTTP/{version[0]}.{version[1]}", headers)

    own = ["Date: d", "Connection: close", "X-A: 1"]
    cases = [  # request, status, lines, expected (mode, length, persistent)
        (head(), 200, own, ("chunked", None, True)),
        (head(), 200, [*own, "Content-Length: 3"], ("length", 3, True)),
        (head(), 200, [*own, "Content-Length: 3", "Connection: close"], ("length", 3, False)),
        (head(), 200, [*own, "Content-Length: x"], ("close", None, False)),
        (head(), 200, [*own, "Transfer-Encoding: chunked"], ("verbatim", None, False)),
        (head(), 304, own, ("none", None, True)),
        (head(method="HEAD"), 200, own, ("none", None, True)),
        (head((1, 0)), 200, own, ("close", None, False)),
        (head((1, 0)), 200, [*own, "Content-Length: 3"], ("length", 3, False)),
        (head((1, 0), "GET", ("Connection", "Keep-Alive")), 200, [*own, "Content-Length: 3"], ("length", 3, True)),
        (head((1, 1), "GET", ("Connection", "close")), 200, own, ("chunked", None, False)),
    ]
    for request, status, lines, expected in cases:
        framing = plan_response(request, status, lines, own_close=1)
        assert (framing.mode, framing.length, framing.persistent) == expected, (request, lines)
    kept = plan_response(head((1, 0), "GET", ("Connection", "keep-alive")), 200, [*own, "Content-Length: 3"], own_close=1)
    assert render_head(head((1, 0)), 200, "OK", [*own, "Content-Length: 3"], kept, own_close=1) == (
        b"HTTP/1.0 200 OK\r\nDate: d\r\nX-A: 1\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n")
    chunked = plan_response(head(), 200, own, own_close=1)
    assert render_head(head(), 404, "Nope", own, chunked, own_close=1) == (
        b"HTTP/1.1 404 Nope\r\nDate: d\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
    encoder = BodyEncoder(plan_response(head(), 200, ["Content-Length: 4"]))
    assert (encoder.encode(b"ab"), encoder.encode(b"cdef"), encoder.complete, encoder.encode(b"g")) == (b"ab", b"cd", True, b"")


# -- HTTP/1.1 and HTTP/1.0 -----------------------------------------------------------------------


@pytest.mark.clause("SERVE-KEEP-1", "SERVE-FRAME-1", "SERVE-HEAD-2", "DEV-SERVE-CONNECTION-1")
def test_http11_client_keeps_one_connection_for_scripts_files_and_errors(make_server, docroot) -> None:
    """php -S: every response has "Connection: close" and the connection ends after it."""
    server = make_server(docroot)
    conn = http.client.HTTPConnection(*server.address, timeout=TIMEOUT)
    answers = []
    for path in ("/hello.py", "/style.css", "/missing", "/sub/page.py"):
        conn.request("GET", path)
        response = conn.getresponse()
        answers.append((response.status, response.getheader("Transfer-Encoding"), response.getheader("Connection"),
                        response.getheader("Content-Length"), response.read()))
        assert not response.will_close
    conn.close()
    assert answers[0] == (200, "chunked", None, None, b"hello")
    assert answers[1] == (200, None, None, "7", b"body{}\n")
    assert answers[2][:4] == (404, None, None, str(len(answers[2][4])))
    assert answers[3] == (200, "chunked", None, None, b"page")
    wait_for(lambda: "Closing" in log_of(server), "the connection to close")
    assert log_of(server).count(" Accepted") == 1


@pytest.mark.clause("NET-ERROR-1", "SERVE-PARSE-1")
def test_the_404_page_escapes_the_target_as_php_s_does(make_server, docroot) -> None:
    """php -S (recorded): ENT_QUOTES, so ' is &#039;, and no double encoding: an entity stays one."""
    reply = ask(make_server(docroot), NETWORK["requests"]["missing-with-entities"].encode("latin-1"))
    recorded = NETWORK["responses"]["missing-with-entities"].encode("latin-1").partition(b"\r\n\r\n")[2]
    assert reply.status == 404 and reply.body == recorded
    assert b"/a&#039;b&amp;c&lt;d&gt;&quot;e&#039;f&copy;&amp;foo;" in reply.body


@pytest.mark.clause("DOCROOT-MAP-1", "NET-SERVER-1")
@pytest.mark.parametrize(("path", "path_info"), [("/info.py/", "/"), ("/info.py/x/.", "/x/"), ("/info.py/x", "/x")])
def test_a_slash_at_the_path_s_end_stays_at_path_info_s_end(make_server, tmp_path, path: str, path_info: str) -> None:
    """Recorded from php -S: /info.php/ has PATH_INFO "/", /info.php/x/. has "/x/"."""
    (tmp_path / "info.py").write_text("from phprt.php import *\necho(_SERVER['PATH_INFO'], ' ', _SERVER['PHP_SELF'])\n")
    reply = ask(make_server(tmp_path), get(path))
    assert reply.status == 200 and reply.body == f"{path_info} /info.py{path_info}".encode()


@pytest.mark.clause("NET-SERVER-1")
def test_authorization_gives_php_auth_and_a_proxy_header_gives_no_http_proxy(make_server, tmp_path) -> None:
    """Recorded from php -S (auth-basic, proxy-header): PHP_AUTH_USER/PW after the HTTP_* entries; no HTTP_PROXY."""
    (tmp_path / "auth.py").write_text("from phprt.php import *\n"
                                      "echo(','.join(k for k in _SERVER if k.startswith(('HTTP_', 'PHP_AUTH'))), ' ',"
                                      " _SERVER.get('PHP_AUTH_USER'), ':', _SERVER.get('PHP_AUTH_PW'))\n")
    reply = ask(make_server(tmp_path), get("/auth.py", "HTTP/1.1", "Authorization: basic dXNlcjpwYXNz", "Proxy: http://evil"))
    assert reply.status == 200 and reply.body == b"HTTP_HOST,HTTP_AUTHORIZATION,PHP_AUTH_USER,PHP_AUTH_PW user:pass"


@pytest.mark.clause("SERVE-PARSE-2", "NET-SERVER-1", "REQ-COOKIE-1")
def test_a_field_value_keeps_its_trailing_blanks_as_under_php_s(make_server, tmp_path) -> None:
    """Recorded from php -S (trailing-blanks): leading blanks go, trailing ones stay, in every HTTP_*
    and CONTENT_* entry; json_encode($_COOKIE), json_encode($_POST) of that request under ``php -n -S``
    8.2.36: {"c":"1 ","d":"2  "}{"k":"v"}."""
    (tmp_path / "info.py").write_text(
        "import json\nfrom phprt.php import *\n"
        "for k, v in _SERVER.items():\n    if k.startswith(('HTTP_', 'CONTENT_')): echo(k, '=', json.dumps(v), '\\n')\n"
        "echo(*(json.dumps(dict(array), separators=(',', ':')) for array in (_COOKIE, _POST)))\n")
    reply = ask(make_server(tmp_path), NETWORK["requests"]["trailing-blanks"].encode("latin-1").replace(b".php", b".py"))
    recorded = NETWORK["responses"]["trailing-blanks"].partition("\r\n\r\n")[2].splitlines()
    expected = [line for line in recorded if line.startswith(("HTTP_", "CONTENT_"))]
    assert reply.status == 200
    assert reply.body.decode() == "\n".join(expected) + '\n{"c":"1 ","d":"2  "}{"k":"v"}'


@pytest.mark.clause("NET-ERROR-1", "NET-STATIC-1")
@pytest.mark.parametrize("name", ["head-missing", "put-missing", "delete-no-index"])
def test_head_gets_an_empty_error_page_and_put_a_405_for_a_missing_file_as_from_php_s(make_server, tmp_path,
                                                                                      name: str) -> None:
    server = make_server(tmp_path)
    raw = NETWORK["requests"][name].encode("latin-1")
    reply = ask(server, raw, head_request=raw.startswith(b"HEAD"))
    head, _, body = NETWORK["responses"][name].encode("latin-1").partition(b"\r\n\r\n")
    status_line, *fields = [line.decode() for line in head.split(b"\r\n") if not line.startswith((b"Date", b"Connection"))]
    assert (reply.status_line, [line for line in reply.lines if not line.startswith(("Date", "Connection"))],
            reply.body) == (status_line, fields, body)
    method, target = raw.split(b" ")[:2]
    wait_for(lambda: f"[{reply.status}]: {method.decode()} {target.decode()} - No such file or directory" in log_of(server),
             "the log line")


@pytest.mark.clause("SERVE-KEEP-1", "SERVE-FRAME-1", "SERVE-HEAD-1", "SERVE-PARSE-1")
def test_http10_client_gets_php_s_response_and_keep_alive_only_when_it_asks(make_server, docroot) -> None:
    """php -S, ``GET /status.php HTTP/1.0``: ``HTTP/1.0 200 OK``, Date, ``Connection: close``,
    X-Powered-By, Content-type, then the body and the end of the connection."""
    server = make_server(docroot)
    data = exchange(server, get("/hello.py", "HTTP/1.0"))
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.0 200 OK" and lines[2:] == [
        "Connection: close", "X-Powered-By: PHP/8.2 (phprt)", "Content-type: text/html; charset=UTF-8"]
    assert lines[1].startswith("Date: ") and body == b"hello"
    # With keep-alive, a file (it has a Content-Length) keeps the connection; a script without one cannot.
    with connect(server) as sock, sock.makefile("rb") as fp:
        for _ in range(2):
            sock.sendall(get("/style.css", "HTTP/1.0", "Connection: keep-alive"))
            reply = read_reply(fp)
            assert (reply.status_line, reply.body) == ("HTTP/1.0 200 OK", b"body{}\n")
            assert reply.values("connection") == ["keep-alive"] and reply.lines[-1] == "Connection: keep-alive"
        sock.sendall(get("/hello.py", "HTTP/1.0", "Connection: keep-alive"))
        reply = read_reply(fp)  # delimited by the end of the connection
        assert reply.values("connection") == ["close"] and not reply.values("transfer-encoding")
        assert reply.body == b"hello"


@pytest.mark.clause("SERVE-FRAME-1", "SERVE-KEEP-1")
def test_head_request_gets_no_body_and_the_connection_goes_on(make_server, docroot) -> None:
    server = make_server(docroot)
    with connect(server) as sock, sock.makefile("rb") as fp:
        sock.sendall(get("/hello.py", method="HEAD") + get("/style.css", method="HEAD") + get("/hello.py"))
        script, static = read_reply(fp, head_request=True), read_reply(fp, head_request=True)
        assert script.status == 200 and not script.values("transfer-encoding") and not script.values("content-length")
        assert static.values("content-length") == ["7"]
        assert read_reply(fp).body == b"hello"  # nothing of the HEAD answers was taken for a body


@pytest.mark.clause("SERVE-KEEP-1")
def test_pipelined_requests_are_answered_in_order(make_server) -> None:
    def script() -> None:
        php.usleep(random.randint(0, 20_000))
        php.echo(php.runtime().server["REQUEST_URI"])

    server = make_server(script)
    with connect(server) as sock, sock.makefile("rb") as fp:
        sock.sendall(b"".join(get(f"/n{index}") for index in range(10)) + get("/last", "HTTP/1.1", "Connection: close"))
        bodies = [read_reply(fp).body for _ in range(11)]
        assert fp.read() == b""
    assert bodies == [f"/n{index}".encode() for index in range(10)] + [b"/last"]


@pytest.mark.clause("SERVE-RUN-1", "NET-RUNTIME-1")
def test_a_script_runs_in_the_server_s_runner_and_the_next_request_waits_for_its_end(make_server) -> None:
    events: list[str] = []

    def script() -> None:
        uri = php.runtime().server["REQUEST_URI"]
        events.append(f"{uri} {threading.current_thread().name} {server.runner.running}")
        php.register_shutdown_function(lambda: events.append(f"{uri} ended"))
        php.echo(uri)

    server = make_server(script)
    with connect(server) as sock, sock.makefile("rb") as fp:
        sock.sendall(get("/a") + get("/b", "HTTP/1.1", "Connection: close"))
        assert [read_reply(fp).body for _ in range(2)] == [b"/a", b"/b"]
    # In the thread that runs the server's loop (NET-LOOP-1): the one start() made, here.
    assert events == ["/a phprt-http-accept 1", "/a ended", "/b phprt-http-accept 1", "/b ended"]


# -- the head and the body match the Runtime's -----------------------------------------------------


def _script_cases() -> dict[str, Callable[[], None]]:
    def plain() -> None:
        php.header("X-Test: one")
        php.header("X-Test: two", False)
        php.setcookie("c", "v w")
        php.echo("body ", 42)

    def teapot() -> None:
        php.header("HTTP/1.1 418 I'm a teapot")
        php.echo("short and stout")

    def pieces() -> None:
        php.ob_start(None, 4)
        for word in ("alpha", "b", "gamma", "d"):
            php.echo(word)
        php.flush()
        php.ob_end_flush()

    def silent() -> None:
        php.http_response_code(201)

    def sized() -> None:
        php.header("Content-Length: 3")
        php.echo("abc")

    def redirect() -> None:
        php.header("Location: /elsewhere")

    def fatal() -> None:
        php.echo("before")
        raise ValueError("boom")

    return {"plain": plain, "teapot": teapot, "pieces": pieces, "silent": silent, "sized": sized,
            "redirect": redirect, "fatal": fatal}


@pytest.mark.clause("SERVE-HEAD-1", "SERVE-FRAME-1", "SERVE-RUN-1")
@pytest.mark.parametrize("name", sorted(_script_cases()))
@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"])
def test_client_receives_what_memory_transport_records(make_server, name: str, version: str) -> None:
    """The same script under the same profile: the status line, every header line and the
    body bytes a client reads are MemoryTransport's, except Date's time, php -S's own
    "Connection: close" (gone on a kept connection) and the framing lines of SERVE-HEAD-1."""
    script = _script_cases()[name]
    server = make_server(script)
    request = HttpRequest("GET", "/x?y=1", version, (("Host", "test"),))
    memory = MemoryTransport()
    memory.server = server.site.server_variables(request, None)
    execute(Runtime(transport=memory, sapi="cli-server", capture_print=True), script)
    assert memory.head is not None

    reply = ask(server, get("/x?y=1", version, *(["Host: test"] if version == "HTTP/1.0" else [])))
    expected = [line for line in memory.head.lines[1:] if not line.startswith("Date: ")]
    received = [line for line in reply.lines if not line.startswith("Date: ")]
    has_length = any(line.lower().startswith("content-length:") for line in expected)
    if version == "HTTP/1.1":  # kept: php -S's own line goes, a body without length is chunked
        expected.remove("Connection: close")
        if not has_length and memory.head.status not in (204, 304):
            expected.append("Transfer-Encoding: chunked")
    assert reply.status_line == memory.head.lines[0].replace("HTTP/1.1", version)
    assert received == expected
    assert reply.body == memory.body
    if reply.chunks is not None:  # each write is one chunk
        assert reply.chunks == memory.chunks


@pytest.mark.clause("SERVE-HEAD-1", "DEV-SERVE-STATUS-1")
def test_status_line_keeps_the_script_s_code_and_reason_in_the_request_s_version(make_server) -> None:
    """php -S (HTTP/1.1 requests): ``header("HTTP/1.0 404 Nope")`` gave ``HTTP/1.0 404 Nope``;
    ``http_response_code(42)`` gave ``HTTP/1.1 42 Unknown Status Code`` and logged ``[42]``;
    ``header("HTTP/1.1 abc")`` gave ``HTTP/1.1 abc``."""
    def script() -> None:
        query = php.runtime().server["QUERY_STRING"]
        if query == "nope":
            php.header("HTTP/1.0 404 Nope")
        elif query == "code":
            php.http_response_code(42)
        elif query == "abc":
            php.header("HTTP/1.1 abc")
        php.echo("body")

    server = make_server(script)
    assert ask(server, get("/?nope")).status_line == "HTTP/1.1 404 Nope"
    assert ask(server, get("/?nope", "HTTP/1.0")).status_line == "HTTP/1.0 404 Nope"
    reply = ask(server, get("/?code"))
    assert (reply.status_line, reply.body) == ("HTTP/1.1 500 Internal Server Error", b"body")
    assert ask(server, get("/?abc")).status_line == "HTTP/1.1 200 "
    wait_for(lambda: "[42]: GET /?code" in log_of(server), "the log line")


# -- many at once ------------------------------------------------------------------------------------


@pytest.mark.clause("SERVE-CONCURRENT-1", "SERVE-RUN-1", "NET-RUNTIME-1")
def test_a_hundred_concurrent_requests_each_get_their_own_response(make_server) -> None:
    lock, running, peak = threading.Lock(), [0], [0]

    def script() -> None:
        ident = php.runtime().server["QUERY_STRING"]
        php.header(f"X-Ident: {ident}")
        php.ini_set("precision", str(5 + int(ident) % 10))
        php.register_shutdown_function(lambda: php.echo(f" end {ident}"))
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        php.echo(f"start {ident}")
        php.usleep(200_000)
        php.echo(f" precision {php.ini_get('precision')}")
        with lock:
            running[0] -= 1

    server = make_server(script)
    results: dict[int, tuple[int, str | None, bytes]] = {}
    barrier = threading.Barrier(100, timeout=TIMEOUT)

    def client(ident: int) -> None:
        conn = http.client.HTTPConnection(*server.address, timeout=TIMEOUT)
        try:
            barrier.wait()
            conn.request("GET", f"/?{ident}")
            response = conn.getresponse()
            results[ident] = (response.status, response.getheader("X-Ident"), response.read())
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(ident,)) for ident in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    assert len(results) == 100
    for ident, result in results.items():
        assert result == (200, str(ident), f"start {ident} precision {5 + ident % 10} end {ident}".encode())
    assert peak[0] > 1


@pytest.mark.clause("SERVE-CONCURRENT-1", "SERVE-SLOW-1")
def test_requests_past_max_requests_wait_for_a_thread(make_server, docroot, tmp_path) -> None:
    gate, started = tmp_path / "open", tmp_path / "started"
    (docroot / "gate.py").write_text(
        "import os, time\nfrom phprt.php import *\n"
        f"open({str(started)!r}, 'w').close()\n"
        f"while not os.path.exists({str(gate)!r}):\n    time.sleep(0.01)\necho('through')\n")
    server = make_server(docroot, max_requests=1)
    with connect(server) as first, connect(server) as second, connect(server) as waiting:
        waiting.sendall(b"GET /hello.py HTTP/1.1\r\n")  # its request has not arrived: it holds no thread
        first.sendall(get("/gate.py", "HTTP/1.1", "Connection: close"))
        wait_for(started.exists, "gate.py to start")
        second.sendall(get("/style.css", "HTTP/1.1", "Connection: close"))
        second.settimeout(0.3)
        with pytest.raises(TimeoutError):  # the one thread runs gate.py
            second.recv(1)
        gate.write_text("")
        assert read_to_eof(first).endswith(b"through\r\n0\r\n\r\n")
        second.settimeout(TIMEOUT)
        assert read_to_eof(second).endswith(b"body{}\n")
        waiting.sendall(b"Host: test\r\nConnection: close\r\n\r\n")
        assert read_to_eof(waiting).endswith(b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n")


# -- honouring what the script says ------------------------------------------------------------------


@pytest.mark.clause("SERVE-EARLY-1", "SERVE-FRAME-2", "DEV-SERVE-CONNECTION-1")
def test_content_length_and_connection_close_end_the_response_while_the_script_goes_on(make_server) -> None:
    """php -S, the note's script with sleep(2): the head and the 22 promised bytes at +0.0s,
    then "Text user will never see" and the end of the connection at +2.0s."""
    ended: list[float] = []
    statuses: list[int] = []

    def script() -> None:
        php.register_shutdown_function(lambda: statuses.append(php.connection_status()))
        php.header("Connection: close")
        php.ob_start()
        php.echo("Text the user will see")
        php.header(f"Content-Length: {php.ob_get_length()}")
        php.ob_end_flush()
        php.flush()
        php.usleep(500_000)
        php.echo("Text user will never see")
        ended.append(time.monotonic())

    server = make_server(script)
    with connect(server) as sock:
        sock.sendall(get("/"))
        data = read_to_eof(sock)
        complete = time.monotonic()
    wait_for(lambda: statuses, "the script to end")
    head, _, body = data.partition(b"\r\n\r\n")
    assert body == b"Text the user will see"
    assert b"\r\nContent-Length: 22\r\n" in head and head.count(b"Connection: close") == 2
    assert complete < ended[0]  # the client had it all, and the end of the stream, before the script ended
    assert statuses == [0]  # the bytes past the length were dropped, not an abort


@pytest.mark.clause("SERVE-FRAME-2", "SERVE-KEEP-1")
def test_bytes_past_content_length_never_reach_the_next_response(make_server) -> None:
    def script() -> None:
        uri = php.runtime().server["REQUEST_URI"]
        if uri == "/long":
            php.header("Content-Length: 5")
            php.echo("hello")
            php.flush()
            php.echo(" world, and more")
        elif uri == "/short":
            php.header("Content-Length: 10")
            php.echo("short")
        else:
            php.echo("next")

    server = make_server(script)
    conn = http.client.HTTPConnection(*server.address, timeout=TIMEOUT)
    conn.request("GET", "/long")
    assert conn.getresponse().read() == b"hello"
    conn.request("GET", "/next")
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, b"next")
    conn.close()
    with connect(server) as sock:  # short of its length: the connection ends after what was sent
        sock.sendall(get("/short"))
        assert read_to_eof(sock).endswith(b"\r\n\r\nshort")


@pytest.mark.clause("SERVE-ABORT-1", "CONN-ABORT-1", "SAPI-ABORT-1")
def test_client_hanging_up_is_seen_at_the_second_write_and_the_shutdown_function_sees_aborted(make_server) -> None:
    """The cli-server case ``server-abort-second-write`` (spec/cases/lifecycle.toml) recorded
    from php -S: the first write after the client left is accepted and lost, the next stops
    the script, and the shutdown function sees connection_status() 1."""
    hung_up, writes, seen = threading.Event(), [], []

    def script() -> None:
        php.register_shutdown_function(lambda: seen.append((php.connection_status(), list(writes))))
        for index in range(1, 20):
            php.echo(f"piece {index}\n")
            php.flush()
            writes.append(index)
            if index == 1:
                hung_up.wait(TIMEOUT)
            php.usleep(100_000)

    server = make_server(script)
    with connect(server) as sock, sock.makefile("rb") as fp:
        sock.sendall(get("/"))
        for _ in range(100):  # the head, then the first chunk
            if fp.readline() == b"\r\n":
                break
        assert fp.readline() == b"8\r\n" and fp.readline() == b"piece 1\n" and fp.readline() == b"\r\n"
    hung_up.set()
    wait_for(lambda: seen, "the shutdown function")
    assert seen == [(1, [1, 2])]


@pytest.mark.clause("SERVE-ABORT-1", "CONN-ABORT-2")
def test_client_hanging_up_with_ignore_user_abort_lets_the_script_finish(make_server) -> None:
    hung_up, seen = threading.Event(), []

    def script() -> None:
        php.ignore_user_abort(True)
        php.register_shutdown_function(lambda: seen.append((php.connection_status(), php.connection_aborted())))
        php.echo("first")
        php.flush()
        hung_up.wait(TIMEOUT)
        for _ in range(5):
            php.usleep(50_000)
            php.echo("more")
        seen.append("end of script")

    server = make_server(script)
    with connect(server) as sock:
        sock.sendall(get("/"))
        data = b""
        while not data.endswith(b"first\r\n"):
            data += sock.recv(1)
    hung_up.set()
    wait_for(lambda: len(seen) == 2, "the end of the script")
    assert seen == ["end of script", (1, 1)]


@pytest.mark.clause("SERVE-TIMEOUT-1", "SERVE-ABORT-1")
def test_client_that_stops_reading_is_gone_after_write_timeout(make_server) -> None:
    seen, writes = [], []

    def script() -> None:
        php.register_shutdown_function(lambda: seen.append(php.connection_status()))
        for _ in range(256):
            php.echo(b"x" * (1 << 20))
            writes.append(1)

    server = make_server(script, write_timeout=0.5)
    with connect(server) as sock:
        sock.sendall(get("/"))
        wait_for(lambda: seen, "the script to be stopped")
    assert seen == [1] and len(writes) < 256


@pytest.mark.clause("SERVE-FINISH-1", "DEV-FINISH-1")
def test_fastcgi_finish_request_completes_the_response_and_the_connection_is_reused_after(make_server) -> None:
    """php -S has no fastcgi_finish_request(): "Call to undefined function fastcgi_finish_request()"."""
    ended: list[float] = []

    def script() -> None:
        if php.runtime().server["REQUEST_URI"] == "/after":
            php.echo(f"after {len(ended)}")
            return
        php.echo("done")
        assert php.fastcgi_finish_request() is True
        php.echo("dropped")
        php.usleep(500_000)
        ended.append(time.monotonic())

    server = make_server(script)
    conn = http.client.HTTPConnection(*server.address, timeout=TIMEOUT)
    conn.request("GET", "/")
    response = conn.getresponse()
    assert response.read() == b"done" and not response.will_close
    complete = time.monotonic()
    conn.request("GET", "/after")  # the same connection, once the first script has ended
    assert conn.getresponse().read() == b"after 1"
    conn.close()
    assert complete < ended[0]


# -- the manual's user notes -------------------------------------------------------------------------


@pytest.fixture
def example_site(monkeypatch, tmp_path) -> Callable[[str], tuple[Callable[[], None], Path, list[Any], list[Any]]]:
    """An example run as a script that a prepended shutdown function watches (as
    auto_prepend_file), with sleep() shortened to 0.3 s and leaving its end time."""
    log = tmp_path / "example.log"
    monkeypatch.setenv("PHPRT_EXAMPLE_LOG", str(log))
    slept: list[float] = []

    def sleep(seconds: int) -> int:
        php.usleep(300_000)
        slept.append(time.monotonic())
        return 0

    monkeypatch.setattr(php, "sleep", sleep)

    def make(name: str) -> tuple[Callable[[], None], Path, list[Any], list[Any]]:
        probe: list[Any] = []

        def prepended() -> None:
            php.register_shutdown_function(lambda: probe.append(php.connection_status()))
            runpy.run_path(str(EXAMPLES / name), run_name="__main__")

        return prepended, log, probe, slept

    return make


@pytest.mark.clause("SERVE-ABORT-1", "CONN-ABORT-1")
def test_stop_button_loop_stops_at_the_second_step_after_the_client_left(make_server, example_site) -> None:
    """php -S, the loop in PHP (usleep(300000) for sleep(1)) and a client that read "Step 1
    done<br>\\n" and hung up: the log held "step 1", "step 2" and "shutdown:
    connection_status()=1 at step 3"."""
    script, log, probe, _ = example_site("stop_button_loop.py")
    server = make_server(script)
    with connect(server) as sock:
        sock.sendall(get("/stop_button_loop.py"))
        data = b""
        while not data.endswith(b"Step 1 done<br>\n\r\n"):
            data += sock.recv(1)
    wait_for(lambda: "shutdown:" in text_of(log), "the shutdown functions")
    assert log.read_text().splitlines() == ["step 1", "step 2", "shutdown: connection_status()=1 at step 3"]
    assert probe == [1]
    conn = http.client.HTTPConnection(*server.address, timeout=TIMEOUT)  # a client that stays
    conn.request("GET", "/stop_button_loop.py")
    body = conn.getresponse().read()
    conn.close()
    assert body == b"".join(f"Step {step} done<br>\n".encode() for step in range(1, 6))
    wait_for(lambda: text_of(log).count("shutdown:") == 2, "the second request's end")
    assert log.read_text().splitlines()[3:] == [*(f"step {step}" for step in range(1, 6)), "finished",
                                                "shutdown: connection_status()=0 at step 5"]


@pytest.mark.clause("SERVE-EARLY-1", "DEV-SERVE-CONNECTION-1")
def test_close_connection_early_gives_the_client_its_22_bytes_before_the_work(make_server, example_site) -> None:
    """php -S -d output_buffering=4096, the note's script with sleep(1) and a shutdown function:
    http.client-like reading got the head and the 22 bytes at once but the end of the
    connection only after the sleep; a client that hung up after the 22 bytes did not stop the
    script (its one later write was accepted and lost): "after last echo", then
    connection_status()=0."""
    script, _, probe, slept = example_site("close_connection_early.py")
    server = make_server(script, ini={"output_buffering": "4096"})
    conn = http.client.HTTPConnection(*server.address, timeout=TIMEOUT)
    conn.request("GET", "/close_connection_early.py")
    response = conn.getresponse()
    assert (response.getheader("Content-Length"), response.read()) == ("22", b"Text the user will see")
    conn.close()
    wait_for(lambda: probe, "the first script to end")
    with connect(server) as sock:
        sock.sendall(get("/close_connection_early.py"))
        data = read_to_eof(sock)
        complete = time.monotonic()
    wait_for(lambda: len(probe) == 2, "the second script to end")
    assert data.endswith(b"\r\n\r\nText the user will see")
    assert complete < slept[1] and probe == [0, 0]
    with connect(server) as sock:  # a client that hangs up at once
        sock.sendall(get("/close_connection_early.py"))
        data = b""
        while not data.endswith(b"Text the user will see"):
            data += sock.recv(1)
    wait_for(lambda: len(probe) == 3, "the script to end")
    assert probe[2] == 0


@pytest.mark.clause("SERVE-FINISH-1", "SERVE-EARLY-1", "DEV-FINISH-1")
def test_redirect_with_fastcgi_finish_request_reaches_the_client_before_the_work(make_server, example_site) -> None:
    """php -S -d output_buffering=4096, the note's script with sleep(1): the 302 head, then
    "Fatal error: Uncaught Error: Call to undefined function fastcgi_finish_request()" past
    its Content-Length 0, the end of the connection, and no work done."""
    script, log, probe, slept = example_site("redirect_fastcgi_finish_request.py")
    server = make_server(script, ini={"output_buffering": "4096"})
    with connect(server) as sock:
        sock.sendall(get("/redirect_fastcgi_finish_request.py"))
        data = read_to_eof(sock)
        complete = time.monotonic()
    wait_for(lambda: probe, "the script to end")
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 302 Found\r\n") and b"\r\nLocation: /thank-you.html\r\n" in head
    assert b"\r\nContent-Length: 0\r\n" in head and body == b""
    assert complete < slept[0]
    assert log.read_text() == "work done after the redirect\n" and probe == [0]
    conn = http.client.HTTPConnection(*server.address, timeout=TIMEOUT)
    conn.request("GET", "/redirect_fastcgi_finish_request.py")
    response = conn.getresponse()
    assert (response.status, response.getheader("Location"), response.read()) == (302, "/thank-you.html", b"")
    conn.close()
    wait_for(lambda: len(probe) == 2, "the second script to end")
    with connect(server) as sock:  # a client that leaves as soon as it has the head
        sock.sendall(get("/redirect_fastcgi_finish_request.py"))
        data = b""
        while not data.endswith(b"\r\n\r\n"):
            data += sock.recv(1)
    wait_for(lambda: len(probe) == 3, "the third script to end")
    assert log.read_text() == "work done after the redirect\n" * 3 and probe == [0, 0, 0]


# -- hostile and malformed requests ------------------------------------------------------------------

MALFORMED = [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n", 400),
    (b"GET  / HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    (b"GET / HTTP/1.x\r\nHost: t\r\n\r\n", 400),
    (b"GET /\r\n\r\n", 400),
    (b"G(T / HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    (b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    (b"GET example.com/ HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    (b"GET ftp://example.com/ HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
    (b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501),
    (b"GET / HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: t\r\nNo colon here\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: t\r\nX-Bare: a\rb\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: t\r\nX-Nul: a\x00b\r\n\r\n", 400),
    # request smuggling (RFC 9112 6.3)
    (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc", 400),
    (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +3\r\n\r\nabc", 400),
    (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 4\r\n\r\nabcd", 400),
    (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", 400),
    # limits
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: t\r\n" + b"X-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: t\r\n" + b"".join(b"X-%d: v\r\n" % n for n in range(101)) + b"\r\n", 431),
    (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000000\r\n\r\n", 413),
    (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 67108865\r\n\r\n", 413),
    (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + b"a" * 5000 + b"\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4000001\r\n", 413),
    # the end of the stream in the middle of a request
    (b"GET / HTTP/1.1\r\nHost: t\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc", 400),
]


@pytest.mark.clause("SERVE-PARSE-1", "SERVE-PARSE-2", "SERVE-SMUGGLE-1", "SERVE-LIMIT-1", "SERVE-REFUSE-1",
                    "DEV-SERVE-STRICT-1")
def test_malformed_and_hostile_requests_are_refused_and_the_server_goes_on(make_server) -> None:
    """php -S closes the connection without an answer on what it cannot parse (its log:
    "Invalid request (Unexpected EOF)" for ``GARBAGE``), answers 501 to an unknown method,
    and runs the script for two different Content-Lengths."""
    calls = []

    def script() -> None:
        calls.append(php.runtime().server["REQUEST_URI"])
        php.echo("hello")

    server = make_server(script)
    for data, status in MALFORMED:
        with connect(server) as sock, sock.makefile("rb") as fp:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            reply = read_reply(fp)
            assert reply.status == status, data[:80]
            assert reply.values("connection") == ["close"] and b"<title>%d " % status in reply.body
            assert fp.read() == b""  # and the connection is closed
    assert calls == []
    assert_still_serving(server, "/", b"hello")
    assert log_of(server).count("Invalid request (") == len(MALFORMED)


@pytest.mark.clause("SERVE-PARSE-1", "SERVE-PARSE-2", "SERVE-SMUGGLE-1", "DEV-SERVE-STRICT-1")
def test_tolerated_spellings_are_served(make_server) -> None:
    """Empty lines before a request, bare LF line ends, a repeated identical Content-Length and
    an absolute-form target are accepted (RFC 9112 2.2, 6.3, 3.2.2); any token is a method."""
    seen = []

    def script() -> None:
        server = php.runtime().server
        seen.append((server["REQUEST_METHOD"], server["REQUEST_URI"], server.get("HTTP_HOST"), php.runtime().transport.input))
        php.echo("ok")

    server = make_server(script)
    replies = [
        ask(server, b"\r\n\r\nGET /a HTTP/1.1\r\nHost: t\r\n\r\n"),
        ask(server, b"GET /b HTTP/1.1\nHost: t\n\n"),
        ask(server, b"PUT /c HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc"),
        ask(server, b"GET http://example.com/d?e HTTP/1.1\r\nHost: other\r\n\r\n"),
        ask(server, b"PURGE /f HTTP/1.1\r\nHost: t\r\n\r\n"),
        ask(server, b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n"),
        ask(server, b"get /g HTTP/1.1\r\nHost: t\r\n\r\n"),  # php -S: 501 and no answer (DEV-SERVE-STRICT-1)
    ]
    assert [reply.status for reply in replies] == [200] * 7
    assert seen == [("GET", "/a", "t", b""), ("GET", "/b", "t", b""), ("PUT", "/c", "t", b"abc"),
                    ("GET", "/d?e", "other", b""), ("PURGE", "/f", "t", b""), ("OPTIONS", "*", "t", b""),
                    ("get", "/g", "t", b"")]


TRAVERSALS = [
    "/../secret.txt", "/%2e%2e/secret.txt", "/.%2e/secret.txt", "/%2E%2E/secret.txt", "/..%2fsecret.txt",
    "/%2e%2e%2fsecret.txt", "/..%5csecret.txt", "/..\\secret.txt", "/sub/..\\..\\secret.txt", "//../secret.txt",
    "/sub/../../secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt", "/link.txt", "/link.py", "/linkdir/leak.txt",
    "/%00", "/hello.py%00.txt", "/secret.py", "/../secret.py", "http://test/../secret.txt",
    "http://test/%2e%2e/secret.py", "/%2fetc/passwd", "//etc/passwd", "/sub/..%2f..%2fsecret.txt",
]


@pytest.mark.clause("DOCROOT-REFUSE-1", "SERVE-PARSE-1")
@pytest.mark.parametrize("target", TRAVERSALS)
def test_no_spelling_of_a_path_reaches_outside_the_document_root(make_server, docroot, target: str) -> None:
    server = make_server(docroot)
    data = exchange(server, f"GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode("latin-1"))
    status = int(data.split(b" ", 2)[1])
    assert status in (400, 404) and b"TOPSECRET" not in data
    assert_still_serving(server)


@pytest.mark.clause("SERVE-PARSE-1")
def test_a_raw_nul_or_control_byte_in_the_target_is_refused(make_server, docroot) -> None:
    server = make_server(docroot)
    for target in (b"/hello.py\x00", b"/a\x7fb", b"/a\tb"):
        data = exchange(server, b"GET " + target + b" HTTP/1.1\r\nHost: t\r\n\r\n")
        assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert_still_serving(server)


@pytest.mark.clause("SERVE-PARSE-1", "SERVE-REFUSE-1")
def test_random_garbage_never_stops_the_server(make_server, docroot) -> None:
    server = make_server(docroot, read_timeout=2.0)
    generator = random.Random(20261121)
    valid = get("/hello.py", "HTTP/1.1", "Content-Length: 3") + b"abc"
    for round_ in range(60):
        if round_ % 2:
            data = bytearray(valid)
            for _ in range(generator.randint(1, 6)):
                data[generator.randrange(len(data))] = generator.randrange(256)
            payload = bytes(data)
        else:
            payload = bytes(generator.randrange(256) for _ in range(generator.randint(1, 300)))
        reply = exchange(server, payload)
        assert reply == b"" or reply.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")) or reply == b"<reset>"
    assert_still_serving(server)


@pytest.mark.clause("SERVE-TIMEOUT-1")
def test_a_connection_that_never_sends_a_request_waits_idle_timeout_not_read_timeout(make_server, docroot) -> None:
    server = make_server(docroot, read_timeout=3600.0, idle_timeout=0.5)
    with connect(server) as silent:
        assert read_to_eof(silent) == b""  # closed without a word, long before an hour
    assert_still_serving(server)


@pytest.mark.clause("SERVE-TIMEOUT-1", "SERVE-REFUSE-1")
def test_slow_and_idle_clients_are_timed_out_while_others_are_served(make_server, docroot) -> None:
    server = make_server(docroot, read_timeout=1.0, idle_timeout=0.5)
    with connect(server) as stalled, connect(server) as slowloris, connect(server) as idle:
        stalled.sendall(b"GET /hello.py HTTP/1.1\r\nHost: t\r\n")
        idle.sendall(get("/hello.py"))
        with idle.makefile("rb") as fp:
            assert read_reply(fp).body == b"hello"
        assert_still_serving(server)  # meanwhile, everyone else is served
        for byte in b"GET /hello.py HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 500:  # a byte every 20 ms
            if select.select([slowloris], [], [], 0)[0]:  # the server answered
                break
            slowloris.send(bytes([byte]))
            time.sleep(0.02)
        assert read_to_eof(stalled).startswith(b"HTTP/1.1 408 Request Timeout\r\n")
        assert read_to_eof(slowloris).startswith(b"HTTP/1.1 408 Request Timeout\r\n")
        assert read_to_eof(idle) == b""  # a kept connection nobody uses is closed without a word
    assert_still_serving(server)


@pytest.mark.clause("SERVE-CHUNKED-1", "REQ-POST-7")
def test_chunked_request_body_reaches_the_script_decoded(make_server, docroot) -> None:
    """php -S, a chunked ``a=b`` POST: CONTENT_LENGTH unset, HTTP_TRANSFER_ENCODING "chunked",
    php://input "a=b"; $_POST empty without a Content-Type, ["a" => "b"] with the form type."""
    server = make_server(docroot)
    body = b"".join(b"%x;n=v\r\n%s\r\n" % (len(part), part) for part in (b"a=b", b"&c=" + b"d" * 300))
    reply = ask(server, b"POST /input.py HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                + body + b"0\r\nX-Trailer: t\r\n\r\n")
    assert reply.body == b"a=b&c=" + b"d" * 300
    seen = []

    def script() -> None:
        rt = php.runtime()
        seen.append({k: v for k, v in rt.server.items() if k.startswith(("HTTP_", "CONTENT_"))})
        seen.append((rt.post, rt.input))

    server = make_server(script)
    ask(server, b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\na=b\r\n0\r\n\r\n")
    ask(server, b"POST / HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n3\r\na=b\r\n0\r\n\r\n")
    form = {"HTTP_HOST": "t", "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "HTTP_CONTENT_TYPE": "application/x-www-form-urlencoded", "HTTP_TRANSFER_ENCODING": "chunked"}
    assert seen == [{"HTTP_HOST": "t", "HTTP_TRANSFER_ENCODING": "chunked"}, ({}, b"a=b"), form, ({"a": "b"}, b"a=b")]


@pytest.mark.clause("SERVE-CONTINUE-1", "DEV-SERVE-STRICT-1")
def test_expect_100_continue_is_answered_before_the_body_is_read(make_server, docroot) -> None:
    """php -S sends nothing until the body arrives (a client waiting for 100 Continue waited
    the whole second our recording client waited)."""
    server = make_server(docroot, limits=Limits(body=1000))
    with connect(server) as sock, sock.makefile("rb") as fp:
        sock.sendall(b"POST /input.py HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        assert fp.readline() == b"HTTP/1.1 100 Continue\r\n" and fp.readline() == b"\r\n"
        sock.sendall(b"hello")
        assert read_reply(fp).body == b"hello"
    with connect(server) as sock, sock.makefile("rb") as fp:
        sock.sendall(b"POST /input.py HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n")
        assert read_reply(fp).status == 413


# -- the log and the command line ------------------------------------------------------------------


@pytest.mark.clause("SERVE-LOG-1")
def test_log_lines_are_php_s(make_server, docroot) -> None:
    """php -S: ``127.0.0.1:43154 [200]: POST /info.php/x?q=1``; ``[200]: GET /info.php?e=1 -
    Uncaught Exception: boom in /tmp/phps/info.php:3\\nStack trace:\\n#0 {main}\\n  thrown in
    /tmp/phps/info.php on line 3``; ``[404]: GET /nope - No such file or directory``;
    ``Invalid request (Unexpected EOF)``; each connection between ``Accepted`` and ``Closing``."""
    (docroot / "boom.py").write_text("from phprt.php import *\nraise Exception('boom')\n")
    (docroot / "warn.py").write_text("from phprt.php import *\ntrigger_error('careful', E_USER_WARNING)\n")
    server = make_server(docroot, ini={"log_errors": "1", "display_errors": "0"})
    conn = http.client.HTTPConnection(*server.address, timeout=TIMEOUT)
    conn.request("POST", "/hello.py/x?q=1", body=b"a=b", headers={"Content-Type": "application/x-www-form-urlencoded"})
    conn.getresponse().read()
    conn.request("GET", "/boom.py")
    conn.getresponse().read()
    conn.request("GET", "/nope")
    conn.getresponse().read()
    conn.request("GET", "/warn.py")
    conn.getresponse().read()
    conn.close()
    wait_for(lambda: "Closing" in log_of(server), "the first connection to close")
    exchange(server, b"GARBAGE\r\n\r\n")
    wait_for(lambda: log_of(server).count("Closing") == 2, "the second connection to close")
    lines = log_of(server).splitlines()
    port = server.address[1]
    assert lines[0][STAMP.match(lines[0]).end():] == f"PHP 8.2 Development Server (phprt) (http://127.0.0.1:{port}) started"  # type: ignore[union-attr]
    stamped = [line for line in lines if STAMP.match(line)]
    messages = [STAMP.sub("", line) for line in stamped[1:]]
    client = messages[0].split(" ")[0]
    assert re.fullmatch(r"127\.0\.0\.1:\d+", client)
    boom, warn = os.path.realpath(docroot / "boom.py"), os.path.realpath(docroot / "warn.py")
    uncaught = f"Uncaught Exception: boom in {boom}:2"
    assert messages[:9] == [
        f"{client} Accepted",
        f"{client} [200]: POST /hello.py/x?q=1",
        f"PHP Fatal error:  {uncaught}",  # log_errors, as php -S logs it
        f"{client} [500]: GET /boom.py - {uncaught}",  # display_errors=0 made it a 500
        f"{client} [404]: GET /nope - No such file or directory",
        f"PHP Warning:  careful in {warn} on line 2",
        f"{client} [200]: GET /warn.py",
        f"{client} Closing",
        messages[8],
    ]
    for line in stamped[3:5]:  # each multi-line message is written whole, after one timestamp
        assert lines[lines.index(line) + 1:lines.index(line) + 4] == ["Stack trace:", "#0 {main}", f"  thrown in {boom} on line 2"]
    garbage = messages[8].split(" ")[0]
    assert messages[8:] == [f"{garbage} Accepted", f"{garbage} Invalid request (Malformed request line)",
                            f"{garbage} Closing"]
    displayed = make_server(docroot)  # display_errors on: the code stays 200, as php -S logged it
    ask(displayed, get("/boom.py", "HTTP/1.1", "Connection: close"))
    wait_for(lambda: "Closing" in log_of(displayed), "the request to end")
    assert f"[200]: GET /boom.py - {uncaught}\n" in log_of(displayed)


def _start_cli(args: list[str]) -> tuple[subprocess.Popen[bytes], queue.Queue[bytes]]:
    process = subprocess.Popen([sys.executable, "-m", "phprt", "serve", *args], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: queue.Queue[bytes] = queue.Queue()

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)
        lines.put(b"")

    threading.Thread(target=pump, daemon=True).start()
    return process, lines


def _started_port(lines: queue.Queue[bytes]) -> int:
    # php -S's first line: ``[time] PHP 8.2 Development Server (phprt) (http://ADDRESS) started``
    started = lines.get(timeout=TIMEOUT).decode()
    match = re.fullmatch(r"\[.+\] PHP 8\.2 Development Server \(phprt\) \(http://127\.0\.0\.1:(\d+)\) started\n", started)
    assert match, started
    return int(match[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(TIMEOUT)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


@pytest.mark.clause("SERVE-CLI-1", "SERVE-LOG-1", "NET-CLI-1")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_command_line_serves_until_ctrl_c_and_exits_cleanly(docroot, sig: int) -> None:
    process, lines = _start_cli([str(docroot), "--listen", "127.0.0.1:0"])
    try:
        conn = http.client.HTTPConnection("127.0.0.1", _started_port(lines), timeout=TIMEOUT)
        conn.request("GET", "/hello.py")
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"hello")
        conn.close()
        logged = [lines.get(timeout=TIMEOUT).decode() for _ in range(3)]
        assert [STAMP.sub("", line).split(" ", 1)[1] for line in logged] == [
            "Accepted\n", "[200]: GET /hello.py\n", "Closing\n"]
        process.send_signal(sig)
        assert process.wait(TIMEOUT) == 0
        rest = b"".join(iter(lambda: lines.get(timeout=TIMEOUT), b""))
        assert b"Traceback" not in rest and b"Error" not in rest
    finally:
        _stop(process)


@pytest.mark.clause("SERVE-CLI-1")
def test_command_line_reports_an_address_it_cannot_listen_on(docroot) -> None:
    """php -S on a taken port: ``Failed to listen on 127.0.0.1:PORT (reason: Address already in use)``, status 1."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        process, lines = _start_cli([str(docroot), "--listen", f"127.0.0.1:{port}"])
        try:
            assert process.wait(TIMEOUT) == 1
            line = lines.get(timeout=TIMEOUT).decode()
            assert STAMP.sub("", line) == f"Failed to listen on 127.0.0.1:{port} (reason: Address already in use)\n"
        finally:
            _stop(process)
    assert host_port("[::1]:80") == ("::1", 80) and host_port("localhost:0") == ("localhost", 0)
    for bad in ("8000", "host:", "host:http", ":80", "host:70000"):
        with pytest.raises(ValueError):
            host_port(bad)


@pytest.mark.clause("SERVE-CLI-1", "SERVE-RUN-1")
def test_shutdown_ends_idle_connections_and_a_script_s_system_exit_ends_only_its_request(docroot) -> None:
    (docroot / "quit.py").write_text("import sys\nsys.exit(3)\n")
    stream = io.StringIO()
    with HttpServer(Site(docroot), log=stream) as server:
        assert server.url == f"http://127.0.0.1:{server.address[1]}"
        reply = ask(server, get("/quit.py"))
        assert reply.status == 200  # the Runtime had sent its head when the script ended its thread
        assert_still_serving(server)
        idle = connect(server)
        idle.sendall(get("/hello.py"))
        with idle.makefile("rb") as fp:
            assert read_reply(fp).body == b"hello"
    try:
        assert read_to_eof(idle) == b""  # the kept connection was ended by the shutdown
    finally:
        idle.close()
    assert "SystemExit" in stream.getvalue()


@pytest.mark.clause("SERVE-HEAD-1", "SAPI-HEAD-1")
@pytest.mark.parametrize("sapi", ["cgi", "fpm", "apache2handler"])
def test_other_profiles_get_a_status_line_date_and_their_header_lines(make_server, sapi: str) -> None:
    def script() -> None:
        php.header("HTTP/1.1 404 Not Found")
        php.header("X-Profile: yes")
        php.echo("missing")

    memory = MemoryTransport()
    memory.server = {"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1"}
    execute(Runtime(transport=memory, sapi=sapi, capture_print=True), script)
    server = make_server(script, sapi=sapi)
    reply = ask(server, get("/"))
    assert reply.status_line == "HTTP/1.1 404 Not Found"
    assert reply.lines[0].startswith("Date: ") and reply.lines[-1] == "Transfer-Encoding: chunked"
    assert [tuple(line.split(": ", 1)) for line in reply.lines[1:-1]] == memory.headers
    assert not any(line.lower().startswith("status:") for line in reply.lines) and reply.body == b"missing"


@pytest.mark.clause("SERVE-RUN-1")
def test_a_path_the_file_system_refuses_is_answered_and_the_server_goes_on(make_server, docroot) -> None:
    server = make_server(docroot)
    reply = ask(server, get("/" + "a" * 5000))  # longer than a file name may be
    assert reply.status == 404
    assert_still_serving(server)


@pytest.mark.clause("SERVE-HEAD-1", "HDR-CALLBACK-1")
def test_a_second_head_from_a_header_callback_is_body_bytes_as_php_s_writes_it(make_server) -> None:
    """php -S, ``header_register_callback(function () { echo "from callback"; }); echo "body";``:
    the head, then ``from callback``, the same head again, and ``body``."""
    def script() -> None:
        php.header_register_callback(lambda: php.echo("from callback"))
        php.echo("body")

    server = make_server(script)
    reply = ask(server, get("/", "HTTP/1.1", "Connection: close"))
    first, _, rest = reply.body.partition(b"HTTP/1.1 200 OK\r\n")
    assert first == b"from callback" and rest.endswith(b"\r\n\r\nbody")
    again = [line.decode() for line in rest.split(b"\r\n")[:-2]]
    first_head = [line for line in reply.lines if line != "Transfer-Encoding: chunked"]
    assert [line for line in again if not line.startswith("Date: ")] == [
        line for line in first_head if not line.startswith("Date: ")]


@pytest.mark.clause("NET-STATIC-1")
def test_a_large_static_file_arrives_whole_in_pieces(make_server, docroot) -> None:
    data = bytes(range(256)) * 1200  # 300 KiB: several pieces
    (docroot / "big.bin").write_bytes(data)
    server = make_server(docroot)
    conn = http.client.HTTPConnection(*server.address, timeout=TIMEOUT)
    conn.request("GET", "/big.bin")
    response = conn.getresponse()
    assert (response.status, response.getheader("Content-Length"), response.read()) == (200, str(len(data)), data)
    conn.request("HEAD", "/big.bin")
    response = conn.getresponse()
    assert (response.getheader("Content-Length"), response.read()) == (str(len(data)), b"")
    conn.close()



@pytest.mark.clause("PERF-IMPORT-1", "SERVE-CLI-1")
def test_the_command_serves_without_the_modules_only_some_requests_use(tmp_path: Path) -> None:
    # as tests/frontends/test_fastcgi.py's for `python -m phprt fastcgi`
    expected = unused_modules_probe(tmp_path)
    process, lines = _start_cli([str(tmp_path), "--listen", "127.0.0.1:0"])
    try:
        conn = http.client.HTTPConnection("127.0.0.1", _started_port(lines), timeout=TIMEOUT)
        conn.request("GET", "/modules.py")
        response = conn.getresponse()
        assert (response.status, response.read().decode()) == (200, expected)
        conn.close()
    finally:
        _stop(process)
