"""The live view in the servers (TRACE-LIVE-1), with real clients: http.client for the HTTP
server, a socket that hangs up for the STOP button, FastCGI records for the responder."""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path
from typing import Any, Callable

import pytest

from phprt.fastcgi import FastCgiServer
from phprt.server import HttpServer
from phprt.trace.live import PREFIX, TraceLog, enable
from tests.support.fastcgi import exchange, fcgi_request, nginx_params
from tests.support.http import wait_for

PAGE = '''\
from phprt.php import *
header("X-Step: 1")
echo("hello")
'''
LOOP = '''\
from phprt.php import *
for step in range(200):  # bounded: about 10 s at most
    echo(f"step {step}\\n" + " " * 4096)
    flush()
    usleep(50000)
'''


def _get(server: HttpServer, path: str) -> tuple[int, dict[str, str], bytes]:
    host, port = server.address[0], server.address[1]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    (tmp_path / "page.py").write_text(PAGE)
    (tmp_path / "loop.py").write_text(LOOP)
    return tmp_path


@pytest.mark.clause("TRACE-LIVE-1")
def test_off_by_default(make_server: Callable[..., HttpServer], docroot: Path) -> None:
    server = make_server(docroot)
    status, _, _ = _get(server, PREFIX)
    assert status == 404  # the path is the document root's, which has nothing there


@pytest.mark.clause("TRACE-LIVE-1")
def test_http_server_keeps_the_last_requests(make_server: Callable[..., HttpServer], docroot: Path) -> None:
    server = make_server(docroot)
    log = enable(server, 2)
    assert isinstance(log, TraceLog)
    for _ in range(3):
        status, headers, body = _get(server, "/page.py")
        assert (status, headers["X-Step"], body) == (200, "1", b"hello")
    status, headers, index = _get(server, PREFIX)
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert f'href="{PREFIX}3"'.encode() in index and f'href="{PREFIX}2"'.encode() in index
    assert f'href="{PREFIX}1"'.encode() not in index  # only the last 2 are kept
    status, _, page = _get(server, PREFIX + "3")
    assert status == 200 and page.startswith(b"<!DOCTYPE html>") and b'"kind": "headers-sent"' in page
    status, headers, document = _get(server, PREFIX + "3.json")
    trace = json.loads(document)
    assert headers["Content-Type"].startswith("application/json")
    assert trace["format"] == "phprt-trace" and trace["meta"]["uri"] == "/page.py"
    kinds = [event["kind"] for event in trace["events"]]
    assert kinds[0] == "request-start" and kinds[-1] == "request-end" and "transport-write" in kinds
    assert _get(server, PREFIX + "1")[0] == 404  # no longer kept
    assert len(log.traces()) == 2  # the live view's own pages are not traced


@pytest.mark.clause("TRACE-LIVE-1")
def test_stop_button(make_server: Callable[..., HttpServer], docroot: Path) -> None:
    server = make_server(docroot)
    log = enable(server)
    with socket.create_connection(server.address[:2], timeout=10) as sock:
        sock.sendall(b"GET /loop.py HTTP/1.1\r\nHost: test\r\n\r\n")
        received = b""
        while b"step 0" not in received and len(received) < 1 << 20:  # bounded; recv has a 10 s timeout
            piece = sock.recv(65536)
            assert piece, "the server closed the connection"
            received += piece
    # the browser's STOP: the script learns it at a later write (CONN-ABORT-1)
    wait_for(lambda: log.traces(), "the request to end")
    trace = log.traces()[0][1]
    abort = next(event for event in trace.events if event.kind == "client-abort")
    assert abort.status == 1 and abort.op in ("echo", "flush")
    assert trace.events[-1].data["connection_status"] == 1


@pytest.mark.clause("TRACE-LIVE-1")
def test_fastcgi_responder(docroot: Path) -> None:
    with FastCgiServer(docroot, "127.0.0.1:0") as running:
        log = enable(running, 5)
        reply = exchange(running.address, fcgi_request(nginx_params(docroot, "/page.py")))
        assert reply.stdout.endswith(b"hello")
        wait_for(lambda: log.traces(), "the request to end")  # END_REQUEST may precede the request's end
        params: Any = nginx_params(docroot, "/_phprt/trace/1.json")
        reply = exchange(running.address, fcgi_request(params))
        head, _, body = reply.stdout.partition(b"\r\n\r\n")
        assert b"application/json" in head
        trace = json.loads(body)
        assert trace["sapi"] == "fpm-fcgi" and trace["meta"]["uri"] == "/page.py"
        index = exchange(running.address, fcgi_request(nginx_params(docroot, "/_phprt/trace/"))).stdout
        assert f'href="{PREFIX}1"'.encode() in index
