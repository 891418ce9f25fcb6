"""phprt.wsgi behind the standard library's WSGI server (spec/wsgi-asgi.md).

Every test serves a WSGIApp with ``wsgiref`` (a threading variant, as a real
deployment runs requests side by side) on a free loopback port and talks to it
with raw sockets or http.client. Expected values come from:

- a MemoryTransport running the same script under the same profile (what PHP
  sends, as every conformance case checks it), minus what PEP 3333 makes a
  gateway leave out and plus what the server adds (Date, Server);
- PHP 8.2.36 recordings: ``php -S``'s $_SERVER (spec/recorded/network-cli-server.json),
  its $_GET/$_POST/$_COOKIE for ``REQUEST`` below, php-cgi's output for a header
  callback that echoes, and what nginx 1.22.1 answers for PHP-FPM's invalid heads;
- PEP 3333 and RFC 9110 (hop-by-hop fields, the early end of a response).

Moments are compared in order only (the client had the whole response before the
script ended), never against a duration.
"""

from __future__ import annotations

import http.client
import io
import json
import threading
import time
from pathlib import Path
from typing import Any, Callable
from wsgiref.util import setup_testing_defaults

import pytest

from phprt.php import (
    _GET,
    connection_aborted,
    echo,
    fastcgi_finish_request,
    flush,
    header,
    header_register_callback,
    http_response_code,
    ignore_user_abort,
    runtime,
    trigger_error,
    usleep,
)
from phprt.transports.heads import HOP_BY_HOP
from phprt.wsgi import WSGIApp, request_from_environ
from tests.support import NETWORK, VOLATILE, uploads
from tests.support.wsgi import (
    INFO_AUTH_BODY,
    INFO_AUTH_PY,
    INFO_AUTH_REQUEST,
    RECORDED_VARIABLES,
    REQUEST,
    WAIT,
    WEB_PROFILES,
    Gate,
    ServerSide,
    blank_date,
    connect,
    cut_by_content_length,
    early_script,
    exchange,
    expected_response,
    finish_request,
    get,
    hop_by_hop,
    info_root,
    not_found,
    page,
    read_to_end,
    read_until,
    recorded_server,
    redirect,
    serve,
    split_response,
    without_server_fields,
    writer,
)

# -- the tests -----------------------------------------------------------------------------------


@pytest.mark.clause("WSGI-HEAD-1", "WSGI-STREAM-1", "WSGI-APP-1", "WSGI-SAPI-1")
@pytest.mark.parametrize("sapi", WEB_PROFILES)
@pytest.mark.parametrize("script", [page, not_found, redirect], ids=lambda f: f.__name__)
def test_a_client_gets_the_bytes_and_headers_php_sends(sapi: str, script: Callable[[], None]) -> None:
    app = WSGIApp(script, sapi=sapi)
    expected = expected_response(app)
    assert expected.head is not None
    fields = [(n, v) for n, v in expected.head.fields if n.lower() not in HOP_BY_HOP]
    with serve(app) as port:
        status, received, body = exchange(port, get("/"))
    assert status == f"HTTP/1.0 {expected.head.status} {expected.head.reason}"
    assert without_server_fields(received, fields) == blank_date(fields)
    assert body == expected.body


@pytest.mark.clause("WSGI-SAPI-1")
def test_the_default_profile_is_cgi() -> None:
    app = WSGIApp(page)
    expected = expected_response(WSGIApp(page, sapi="cgi"))
    with serve(app) as port:
        status, received, body = exchange(port, get("/"))
    assert without_server_fields(received, expected.headers) == expected.headers
    assert body == expected.body


@pytest.mark.clause("WSGI-SAPI-1")
@pytest.mark.parametrize("sapi", ["cli", "php"])
def test_a_profile_must_be_a_web_sapi(sapi: str) -> None:
    with pytest.raises(ValueError):
        WSGIApp(page, sapi=sapi)


@pytest.mark.clause("WSGI-SAPI-1", "WSGI-EARLY-1")
def test_fastcgi_finish_request_exists_under_the_default_profile() -> None:
    seen: list[object] = []

    def script() -> None:
        seen.append(runtime().function_exists("fastcgi_finish_request"))
        echo("x")

    with serve(WSGIApp(script)) as port:
        exchange(port, get("/"))
    assert seen == [True]


@pytest.mark.clause("WSGI-HOP-1")
@pytest.mark.parametrize("sapi", ["cgi", "cli-server"])
def test_hop_by_hop_fields_are_not_passed_to_the_server(sapi: str) -> None:
    # wsgiref asserts on a hop-by-hop field: passing one would be a 500 here.
    with serve(WSGIApp(hop_by_hop, sapi=sapi)) as port:
        status, received, body = exchange(port, get("/"))
    assert status == "HTTP/1.0 200 OK"
    names = [name.lower() for name, _ in received]
    assert "x-ok" in names and body == b"body"
    hop = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
           "transfer-encoding", "upgrade"}  # PEP 3333 / wsgiref.util.is_hop_by_hop
    assert not hop & set(names)


@pytest.mark.clause("WSGI-STATUS-1")
@pytest.mark.parametrize("line", ["code:42", "code:100", "code:199", "code:1000", "Status: 42 Odd", "Foo Bar: x",
                                  "Foo\x01: x"])
def test_an_invalid_head_is_answered_502_as_nginx_answers_php_fpm(line: str) -> None:
    gate = Gate()

    def script() -> None:
        gate.probe()
        if line.startswith("code:"):
            http_response_code(int(line[5:]))
        else:
            header(line)
        echo("dropped")
        gate.end()

    with serve(WSGIApp(script)) as port:
        status, received, body = exchange(port, get("/"))
    assert status == "HTTP/1.0 502 Bad Gateway"
    assert ("Content-Length", "0") in received and body == b""
    assert gate.ended and gate.status == [0]  # the script ran on, and nobody hung up on it


@pytest.mark.clause("WSGI-STATUS-1")
@pytest.mark.parametrize("code", [299, 600, 999])
def test_any_three_digit_final_status_passes(code: int) -> None:
    def script() -> None:
        http_response_code(code)
        echo("x")

    with serve(WSGIApp(script)) as port:
        status, _, body = exchange(port, get("/"))
    assert status == f"HTTP/1.0 {code} " and body == b"x"


@pytest.mark.clause("WSGI-HEAD-2")
@pytest.mark.parametrize("sapi", ["cgi", "apache2handler"])
def test_a_second_head_is_body_bytes_where_the_sapi_writes_it_into_the_stream(sapi: str) -> None:
    # php-cgi -n (8.2.36) printed: <head>\r\n\r\nin-cb\n<the same head>\r\n\r\nbody\n
    def script() -> None:
        header_register_callback(lambda: echo("in-cb\n"))
        header("X-A: 1")
        echo("body\n")

    with serve(WSGIApp(script, sapi=sapi)) as port:
        _, received, body = exchange(port, get("/"))
    head = b"X-Powered-By: PHP/8.2 (phprt)\r\nX-A: 1\r\nContent-type: text/html; charset=UTF-8\r\n\r\n"
    assert ("X-A", "1") in received
    assert body == (b"in-cb\n" + head + b"body\n" if sapi == "cgi" else b"in-cb\nbody\n")


@pytest.mark.clause("WSGI-STREAM-1", "WSGI-THREAD-1")
@pytest.mark.parametrize("send", ["flush", "8 KiB"])
def test_the_client_reads_what_php_flushed_while_the_script_still_runs(send: str) -> None:
    gate = Gate()
    first = b"first|" if send == "flush" else b"x" * 8192

    def script() -> None:
        echo(first.decode())
        if send == "flush":
            flush()
        gate.wait()  # until the client has read the first part
        echo("second")
        gate.end()

    with serve(WSGIApp(script)) as port, connect(port) as sock:
        sock.sendall(get("/"))
        data = read_until(sock, b"", first)
        read_first = time.monotonic()
        gate.open()
        _, _, body = split_response(read_to_end(sock, data))
    assert body == first + b"second"
    assert gate.opened == [True] and read_first < gate.ended[0]


@pytest.mark.clause("WSGI-STREAM-1", "OUT-IMPLICIT-1")
def test_implicit_flush_sends_each_write_at_once() -> None:
    server, seen = ServerSide(), []

    def script() -> None:
        echo("a")
        seen.append(server.body)
        echo("b")
        seen.append(server.body)

    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    server.call(WSGIApp(script, ini={"implicit_flush": "1"}), environ)
    assert seen == [b"a", b"ab"] and server.written == [b"a", b"b"]


@pytest.mark.clause("WSGI-STREAM-1", "WSGI-ITER-1", "WSGI-THREAD-1")
def test_output_is_held_until_php_flushes_or_8_kib_wait() -> None:
    server, seen = ServerSide(), []

    def script() -> None:
        seen.append(threading.get_ident())
        echo("a")
        echo("b" * 8000)
        seen.append(len(server.written))  # 8,001 bytes held
        echo("c" * 191)
        seen.append(server.body)  # 8,192: they went
        echo("d")
        flush()
        seen.append(server.body)
        echo("e")

    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    status, fields, body = server.call(WSGIApp(script), environ)
    assert seen == [threading.get_ident(), 0, b"a" + b"b" * 8000 + b"c" * 191, b"a" + b"b" * 8000 + b"c" * 191 + b"d"]
    assert status == "200 OK" and body.endswith(b"de") and ("Content-Length", "8194") not in fields


@pytest.mark.clause("WSGI-HEAD-1")
def test_the_head_goes_out_when_php_sends_it() -> None:
    # Under "cli-server" flush() sends the headers; wsgiref writes a head on the empty piece after it.
    gate = Gate()

    def script() -> None:
        header("X-Early: 1")
        flush()
        gate.wait()
        echo("body")

    with serve(WSGIApp(script, sapi="cli-server")) as port, connect(port) as sock:
        sock.sendall(get("/"))
        data = read_until(sock, b"", b"\r\n\r\n")
        gate.open()
        data = read_to_end(sock, data)
    assert b"X-Early: 1" in data.partition(b"\r\n\r\n")[0]
    assert data.endswith(b"\r\n\r\nbody") and gate.opened == [True]


def framed_response(port: int, method: str = "GET") -> tuple[int, str | None, bytes]:
    """The status, Content-Length and body of a response read as its framing says, not to the
    connection's end: the server keeps the connection until the script has ended."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    try:
        connection.request(method, "/")
        response = connection.getresponse()
        return response.status, response.getheader("Content-Length"), response.read()
    finally:
        connection.close()


@pytest.mark.clause("WSGI-EARLY-1", "WSGI-ITER-1", "DEV-FINISH-1")
@pytest.mark.parametrize("finish", [cut_by_content_length, finish_request], ids=["content-length", "fastcgi_finish_request"])
@pytest.mark.parametrize("sapi", WEB_PROFILES)
def test_the_response_ends_before_the_script_does(finish: Callable[[], None], sapi: str) -> None:
    gate = Gate()
    with serve(WSGIApp(early_script(gate, finish), sapi=sapi)) as port:
        status, length, body = framed_response(port)
        client_done = time.monotonic()
        gate.open()
    assert (status, length, body) == (200, "2", b"ok")  # fastcgi_finish_request(): the length of all there was
    assert gate.opened == [True] and client_done < gate.ended[0]
    assert gate.status == [0]  # nothing the script did afterwards counted as an abort


@pytest.mark.clause("DEV-WSGI-EARLY-1", "WSGI-EARLY-1")
def test_a_response_under_way_ends_with_the_script() -> None:
    # once part of a body without a declared length went out, a WSGI application has no way
    # to end it before it returns
    def script() -> None:
        echo("a")
        flush()
        echo("b")
        fastcgi_finish_request()
        echo("dropped")

    with serve(WSGIApp(script)) as port:
        status, length, body = framed_response(port)
    assert (status, length, body) == (200, None, b"ab")


@pytest.mark.clause("WSGI-EARLY-1")
@pytest.mark.parametrize("kind", ["HEAD", "204", "304"])
def test_a_response_without_a_body_ends_with_its_head(kind: str) -> None:
    gate = Gate()

    def script() -> None:
        gate.probe()
        if kind != "HEAD":
            http_response_code(int(kind))
        echo("x")
        gate.wait()
        gate.end()

    with serve(WSGIApp(script)) as port:
        status, length, body = framed_response(port, "HEAD" if kind == "HEAD" else "GET")
        client_done = time.monotonic()
        gate.open()
    assert (status, length, body) == (200 if kind == "HEAD" else int(kind), None, b"")
    assert gate.opened == [True] and client_done < gate.ended[0] and gate.status == [0]


@pytest.mark.clause("WSGI-ABORT-1", "WSGI-ITER-1")
@pytest.mark.parametrize("ignore", [False, True], ids=["stops", "ignore_user_abort"])
def test_a_client_that_hangs_up_is_an_aborted_connection(ignore: bool) -> None:
    gate, steps = Gate(), []
    with serve(WSGIApp(writer(gate, steps, ignore))) as port:
        with connect(port) as sock:
            sock.sendall(get("/"))
            read_until(sock, b"", b"\r\n\r\nxxxx")
        # the socket is closed: wsgiref's next writes fail and it closes the iterable
    if ignore:
        assert len(steps) == 400 and gate.status == [1, 1]  # ran to its end; connection_aborted(), then the probe
    else:
        assert len(steps) < 400 and gate.status == [1]  # stopped at a write; the shutdown function saw 1


#: What nginx 1.22.1 passed on from php-fpm8.2 for a PHP script that sent these
#: Content-Length lines (header(), the second with replace=false) and echoed
#: "abcdefgh" (recorded): the body cut at the last field's length where that is a
#: decimal number alone, else the whole body.
NGINX_CONTENT_LENGTH = [
    (["Content-Length: 3"], b"abc"),
    (["Content-Length: 03"], b"abc"),
    (["Content-Length: 3, 3"], b"abcdefgh"),
    (["Content-Length: \uff13"], b"abcdefgh"),  # FULLWIDTH DIGIT THREE
    (["Content-Length: \u00b2"], b"abcdefgh"),  # SUPERSCRIPT TWO
    (["Content-Length: x"], b"abcdefgh"),
    (["Content-Length: 3", "Content-Length: 3"], b"abc"),
    (["Content-Length: 3", "Content-Length: 5"], b"abcde"),
]


@pytest.mark.clause("WSGI-EARLY-1")
@pytest.mark.parametrize(("lines", "body"), NGINX_CONTENT_LENGTH, ids=[repr(lines) for lines, _ in NGINX_CONTENT_LENGTH])
def test_a_declared_content_length_is_read_as_nginx_reads_php_fpms(lines: list[str], body: bytes) -> None:
    def script() -> None:
        for index, line in enumerate(lines):
            header(line, index == 0)
        echo("abcdefgh")

    app = WSGIApp(script)
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    _, fields, got = ServerSide().call(app, environ)
    assert got == body
    # the script's own fields, none added beside them
    assert [value for name, value in fields if name == "Content-Length"] == [
        line[16:].encode().decode("latin-1") for line in lines]  # WSGI's native strings


@pytest.mark.clause("WSGI-ITER-1", "WSGI-THREAD-1", "WSGI-EARLY-1")
def test_the_head_goes_by_start_response_and_a_whole_body_with_its_length() -> None:
    server, seen = ServerSide(), []

    def script() -> None:
        seen.append((threading.get_ident(), runtime() is not None))
        header("X-A: 1")
        echo("h\u00e9llo")

    app = WSGIApp(script)
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    status, fields, body = server.call(app, environ)
    assert seen == [(threading.get_ident(), True)]  # in the server's thread
    assert status == "200 OK" and ("X-A", "1") in fields and body == "h\u00e9llo".encode()
    assert fields[-1] == ("Content-Length", "6") and server.written == [body]  # by write(), once
    assert app.running == 0 and app.join(0)


@pytest.mark.clause("WSGI-ITER-1", "WSGI-ABORT-1")
@pytest.mark.parametrize("ignore", [False, True], ids=["stops", "ignore_user_abort"])
def test_a_write_the_server_fails_is_the_client_leaving(ignore: bool) -> None:
    server, gate, steps = ServerSide(), Gate(), []

    def script() -> None:
        gate.probe()
        ignore_user_abort(ignore)
        for step in range(3):
            echo(f"{step}")
            flush()
            steps.append((step, connection_aborted()))
            server.fail = True

    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    _, _, body = server.call(WSGIApp(script), environ)
    # under "cgi" a flush notices nothing (SAPI-ABORT-1): the write after it does
    assert body == b"0" and gate.status == [1]
    assert steps == ([(0, 0), (1, 0), (2, 1)] if ignore else [(0, 0), (1, 0)])


@pytest.mark.clause("WSGI-THREAD-1", "WSGI-APP-1")
def test_a_hundred_concurrent_requests_each_get_their_own_response() -> None:
    def script() -> None:
        n = _GET["n"]
        header(f"X-N: {n}")
        usleep(20000)  # the requests overlap
        echo(f"<{n}>" * 50)

    app = WSGIApp(script)
    results: dict[int, tuple[int, str | None, bytes]] = {}

    def client(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        try:
            connection.request("GET", f"/?n={n}")
            response = connection.getresponse()
            results[n] = (response.status, response.getheader("X-N"), response.read())
        finally:
            connection.close()

    with serve(app) as port:
        threads = [threading.Thread(target=client, args=(n,)) for n in range(100)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
    assert results == {n: (200, str(n), f"<{n}>".encode() * 50) for n in range(100)}


@pytest.mark.clause("WSGI-REQUEST-1", "DEV-WSGI-ENVIRON-1")
def test_server_variables_are_php_s_as_far_as_the_environ_carries_them(tmp_path: Path) -> None:
    root = info_root(tmp_path)
    request = NETWORK["requests"]["post-with-path-info"].replace("info.php", "info.py").encode("latin-1")
    with serve(WSGIApp(root)) as port:
        _, _, body = exchange(port, request)
    got = dict(line.partition("=")[::2] for line in body.decode().splitlines())
    expected = recorded_server(root)
    lost = VOLATILE | {"SERVER_NAME"}  # DEV-WSGI-ENVIRON-1: wsgiref's SERVER_NAME is the host's name
    assert {k: v for k, v in got.items() if k not in lost} == {k: v for k, v in expected.items() if k not in lost}
    assert got["REMOTE_PORT"] == '"0"'  # wsgiref gives none


@pytest.mark.clause("WSGI-REQUEST-1")
def test_get_post_and_cookie_are_php_s(tmp_path: Path) -> None:
    with serve(WSGIApp(info_root(tmp_path))) as port:
        status, _, body = exchange(port, REQUEST)
    assert status == "HTTP/1.0 200 OK" and json.loads(body) == RECORDED_VARIABLES


@pytest.mark.clause("WSGI-REQUEST-1")
def test_the_target_is_the_raw_one_where_the_server_gives_it() -> None:
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO="/a/b~c", QUERY_STRING="x=%41", SCRIPT_NAME="/mount", REMOTE_ADDR="127.0.0.1", REMOTE_PORT="5000")
    assert request_from_environ(environ).target == "/mount/a/b~c?x=%41"
    environ["PATH_INFO"] = "/caf\u00c3\u00a9 x"  # PEP 3333: the decoded path's bytes as latin-1
    assert request_from_environ(environ).target == "/mount/caf%C3%A9%20x?x=%41"
    environ["RAW_URI"] = "/mount/a%2Fb%7E?x=%41"  # gunicorn
    assert request_from_environ(environ).target == "/mount/a%2Fb%7E?x=%41"
    del environ["RAW_URI"]
    environ["REQUEST_URI"] = "/uwsgi%20path"  # uWSGI
    request = request_from_environ(environ)
    assert request.target == "/uwsgi%20path" and request.client == ("127.0.0.1", 5000)


@pytest.mark.clause("WSGI-REQUEST-1")
def test_the_body_is_read_to_its_length_or_to_the_end_of_a_terminated_stream() -> None:
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    environ.update({"wsgi.input": io.BytesIO(b"abcdef"), "CONTENT_LENGTH": "4", "HTTP_X_Y_Z": "v"})
    request = request_from_environ(environ)
    assert request.body == b"abcd" and ("X-Y-Z", "v") in request.headers
    environ.update({"wsgi.input": io.BytesIO(b"chunked body"), "CONTENT_LENGTH": "", "wsgi.input_terminated": True})
    assert request_from_environ(environ).body == b"chunked body"


@pytest.mark.clause("WSGI-APP-1")
def test_static_files_and_error_pages_are_served_as_phprt_serve_serves_them(tmp_path: Path) -> None:
    root = info_root(tmp_path)
    (root / "index.py").unlink()  # as in the recording: no index for /missing to fall back to
    with serve(WSGIApp(root)) as port:
        status, fields, body = exchange(port, get("/style.css"))
        assert (status, body) == ("HTTP/1.0 200 OK", b"body{}\n")
        assert ("Content-Type", "text/css; charset=UTF-8") in fields
        status, fields, body = exchange(port, get("/style.css", "HEAD"))
        assert (status, body) == ("HTTP/1.0 200 OK", b"") and ("Content-Length", "7") in fields
        status, _, body = exchange(port, get("/missing?x=<b>"))
        head_status, head_fields, head_body = exchange(port, get("/missing.css", "HEAD"))
    recorded = NETWORK["responses"]["missing"].encode("latin-1")
    assert status == "HTTP/1.0 404 Not Found" and body == recorded.partition(b"\r\n\r\n")[2]
    # php -S makes no page for HEAD (recorded: head-missing)
    assert (head_status, head_body) == ("HTTP/1.0 404 Not Found", b"") and ("Content-Length", "0") in head_fields


@pytest.mark.clause("WSGI-ERRORS-1")
def test_php_s_stderr_goes_to_wsgi_errors() -> None:
    def script() -> None:
        trigger_error("to the log")

    app = WSGIApp(script, ini={"log_errors": "1", "display_errors": "0"})
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    errors = io.StringIO()
    environ["wsgi.errors"] = errors
    assert ServerSide().call(app, environ)[2] == b""
    assert f"PHP Notice:  to the log in {__file__} on line " in errors.getvalue()


@pytest.mark.clause("PERF-UPLOAD-2", "WSGI-REQUEST-1")
def test_an_upload_past_body_buffer_is_parsed_as_it_is_read_from_wsgi_input(tmp_path: Path) -> None:
    (tmp_path / "upload.py").write_text(uploads.SCRIPT)
    body, content = uploads.upload(4 << 20)
    request = (b"POST /upload.py HTTP/1.1\r\nHost: t\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
               % (uploads.CONTENT_TYPE.encode(), len(body))) + body
    with serve(WSGIApp(tmp_path, ini=uploads.INI)) as port, uploads.traced():
        status, _, reply = exchange(port, request)
    report, _, peak = reply.rpartition(b" ")
    assert status == "HTTP/1.0 200 OK" and report + b" " == uploads.expected(content)
    assert int(peak) < len(content) // 2, peak  # under 1 MiB; read whole, the body alone took 4 MiB


@pytest.mark.clause("WSGI-REQUEST-1")
def test_a_body_over_max_body_is_413_and_runs_nothing() -> None:
    ran: list[bool] = []
    with serve(WSGIApp(lambda: ran.append(True), max_body=10)) as port:
        status, _, body = exchange(port, b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\n" + b"x" * 11)
        assert status == "HTTP/1.0 413 Request Entity Too Large" and b"<title>413 Request Entity Too Large</title>" in body
        status, _, _ = exchange(port, b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\n" + b"x" * 10)
        assert status == "HTTP/1.0 200 OK"
    assert ran == [True]


@pytest.mark.clause("NET-STATIC-1")
def test_a_large_static_file_arrives_whole(tmp_path: Path) -> None:
    root = info_root(tmp_path)
    data = bytes(range(256)) * 1200  # 300 KiB
    (root / "big.bin").write_bytes(data)
    with serve(WSGIApp(root)) as port:
        status, fields, body = exchange(port, get("/big.bin"))
    assert (status, body) == ("HTTP/1.0 200 OK", data) and ("Content-Length", str(len(data))) in fields


@pytest.mark.clause("NET-SERVER-1", "DOCROOT-MAP-1", "WSGI-REQUEST-1")
def test_a_script_sees_path_info_and_php_auth_as_under_php_s(tmp_path: Path) -> None:
    """Recorded from php -S (path-info-trailing-slash, auth-basic, proxy-header)."""
    (tmp_path / "info.py").write_text(INFO_AUTH_PY)
    with serve(WSGIApp(tmp_path)) as port:
        status, _, body = exchange(port, INFO_AUTH_REQUEST)
    assert (status, body) == ("HTTP/1.0 200 OK", INFO_AUTH_BODY)
