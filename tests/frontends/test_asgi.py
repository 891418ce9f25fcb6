"""phprt.asgi spoken to as an ASGI server speaks to it (spec/wsgi-asgi.md).

``Exchange`` plays the server's side of one ``http`` call with real asyncio: it
hands the app a scope built from a raw HTTP request, feeds ``receive()`` the body
and, as uvicorn does, ``http.disconnect`` once the response is complete (or when
the client hangs up), and records every message ``send()`` gets. Nothing of phprt
is replaced. Expected values come from a MemoryTransport running the same script
under the same profile, from ``php -S``'s recordings (see tests/frontends/test_wsgi.py), and
from the ASGI HTTP specification (message order, lowercased names).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from phprt.asgi import ASGIApp, request_from_scope
from phprt.php import _GET, echo, flush, header, http_response_code, trigger_error, usleep
from phprt.transports.heads import HOP_BY_HOP
from phprt.wsgi import WSGIApp
from tests.support import NETWORK, VOLATILE, uploads
from tests.support.asgi import Exchange, call, check_message_order, run, scope_for
from tests.support.wsgi import (
    INFO_AUTH_BODY,
    INFO_AUTH_PY,
    INFO_AUTH_REQUEST,
    RECORDED_VARIABLES,
    REQUEST,
    WAIT,
    WEB_PROFILES,
    Gate,
    cut_by_content_length,
    early_script,
    expected_response,
    finish_request,
    get,
    hop_by_hop,
    info_root,
    not_found,
    page,
    recorded_server,
    redirect,
    writer,
)

# -- the tests -----------------------------------------------------------------------------------


@pytest.mark.clause("ASGI-SEND-1", "WSGI-HEAD-1", "WSGI-HOP-1", "WSGI-APP-1")
@pytest.mark.parametrize("sapi", WEB_PROFILES)
@pytest.mark.parametrize("script", [page, not_found, redirect, hop_by_hop], ids=lambda f: f.__name__)
def test_the_messages_carry_the_bytes_and_headers_php_sends(sapi: str, script: Callable[[], None]) -> None:
    app = ASGIApp(script, sapi=sapi)
    expected = expected_response(WSGIApp(script, sapi=sapi), get("/"))
    assert expected.head is not None
    exchange = call(app, get("/"))
    check_message_order(exchange.messages)
    fields = [(n.lower().encode(), v.encode()) for n, v in expected.head.fields if n.lower() not in HOP_BY_HOP]
    received = [(n, b"%date%" if n == b"date" else v) for n, v in exchange.start["headers"]]
    assert exchange.start["status"] == expected.head.status
    assert received == [(n, b"%date%" if n == b"date" else v) for n, v in fields]
    assert exchange.body == expected.body


@pytest.mark.clause("WSGI-SAPI-1", "WSGI-STATUS-1", "WSGI-HEAD-2")
def test_the_default_profile_the_502_and_the_second_head_are_those_of_the_wsgi_app() -> None:
    def callback_script() -> None:
        from phprt.php import header_register_callback

        header_register_callback(lambda: echo("in-cb\n"))
        header("X-A: 1")
        echo("body\n")

    exchange = call(ASGIApp(callback_script), get("/"))
    head = b"X-Powered-By: PHP/8.2 (phprt)\r\nX-A: 1\r\nContent-type: text/html; charset=UTF-8\r\n\r\n"
    assert exchange.body == b"in-cb\n" + head + b"body\n"  # php-cgi's bytes: "cgi" is the default

    def invalid() -> None:
        http_response_code(42)
        echo("dropped")

    exchange = call(ASGIApp(invalid), get("/"))
    assert exchange.start == {"type": "http.response.start", "status": 502, "headers": [(b"content-length", b"0")]}
    assert exchange.body == b""


@pytest.mark.clause("ASGI-THREAD-1", "WSGI-THREAD-1")
def test_the_event_loop_keeps_running_while_a_script_spins_and_sleeps() -> None:
    moments: list[float] = []

    def script() -> None:
        moments.append(time.monotonic())
        until = time.monotonic() + 0.4
        while time.monotonic() < until:  # CPU-bound
            pass
        usleep(400000)  # and asleep
        moments.append(time.monotonic())
        echo("done")

    ticks: list[float] = []

    async def main() -> Exchange:
        app = ASGIApp(script)
        task = asyncio.create_task(Exchange(app, get("/")).run())
        while not task.done():
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)
        return await task

    exchange = run(main())
    assert exchange.body == b"done"
    during = [tick for tick in ticks if moments[0] < tick < moments[1]]
    assert len(during) >= 5  # the loop went round while the script ran (about 80 times, unhindered)


@pytest.mark.clause("ASGI-THREAD-1", "WSGI-STREAM-1")
def test_output_is_sent_as_it_is_written() -> None:
    gate = Gate()

    def script() -> None:
        echo("first|")
        gate.wait()  # until the server was handed "first|"
        echo("second")
        gate.end()

    def opened(exchange: Exchange) -> None:
        if b"first|" in exchange.body:
            gate.open()

    async def main() -> Exchange:
        exchange = Exchange(ASGIApp(script), get("/"))
        exchange.on_body = opened
        return await exchange.run()

    exchange = run(main())
    check_message_order(exchange.messages)
    assert exchange.body == b"first|second" and gate.opened == [True]
    first = next(t for t, m in exchange.sent if m.get("body") == b"first|")
    assert first < gate.ended[0]


@pytest.mark.clause("PERF-ECHO-4", "ASGI-SEND-1")
def test_an_echo_of_several_values_reaches_the_asgi_server_as_php_writes_them() -> None:
    def script() -> None:
        echo("head|")  # the head goes; later echos go straight out
        for n in range(3):
            echo("a", n, "b", True, 2.5)  # a bool and a float: written value by value

    exchange = run(Exchange(ASGIApp(script), get("/")).run())
    check_message_order(exchange.messages)
    assert exchange.body == b"head|a0b12.5a1b12.5a2b12.5"


@pytest.mark.clause("ASGI-SEND-1", "WSGI-HEAD-1")
def test_the_head_is_sent_when_php_sends_it() -> None:
    gate = Gate()

    def script() -> None:
        header("X-Early: 1")
        flush()  # "cli-server" sends the headers here
        gate.wait()
        echo("body")

    def started(exchange: Exchange) -> None:
        gate.open()

    async def main() -> Exchange:
        exchange = Exchange(ASGIApp(script, sapi="cli-server"), get("/"))
        exchange.on_body = started
        return await exchange.run()

    exchange = run(main())
    assert exchange.messages[1] == {"type": "http.response.body", "body": b"", "more_body": True}
    assert (b"x-early", b"1") in exchange.start["headers"] and gate.opened == [True]


@pytest.mark.clause("WSGI-EARLY-1", "ASGI-SEND-1")
@pytest.mark.parametrize("finish", [cut_by_content_length, finish_request], ids=["content-length", "fastcgi_finish_request"])
@pytest.mark.parametrize("sapi", ["cgi", "fpm"])
def test_the_response_ends_before_the_script_does(finish: Callable[[], None], sapi: str) -> None:
    gate = Gate()

    async def main() -> Exchange:
        exchange = Exchange(ASGIApp(early_script(gate, finish), sapi=sapi), get("/"))
        task = asyncio.create_task(exchange.run())
        await asyncio.to_thread(exchange.complete.wait, WAIT)
        gate.open()
        return await task

    exchange = run(main())
    check_message_order(exchange.messages)
    assert exchange.body == b"ok" and gate.opened == [True] and gate.status == [0]
    completed = exchange.sent[-1][0]
    assert completed < gate.ended[0] <= exchange.returned  # complete before the script ended; returned after


@pytest.mark.clause("WSGI-EARLY-1")
def test_a_head_request_ends_with_its_head() -> None:
    exchange = call(ASGIApp(page), get("/", "HEAD"))
    check_message_order(exchange.messages)
    assert exchange.start["status"] == 200 and exchange.body == b""


@pytest.mark.clause("ASGI-ABORT-1", "WSGI-ABORT-1")
@pytest.mark.parametrize("ignore", [False, True], ids=["stops", "ignore_user_abort"])
@pytest.mark.parametrize("signal", ["http.disconnect", "send raises OSError"])
def test_a_client_that_hangs_up_is_an_aborted_connection(ignore: bool, signal: str) -> None:
    gate, steps = Gate(), []

    async def main() -> Exchange:
        exchange = Exchange(ASGIApp(writer(gate, steps, ignore)), get("/"), raise_when_gone=signal != "http.disconnect")
        exchange.on_body = lambda ex: ex.hang_up() if len(ex.body) >= 8192 and not ex.gone else None
        return await exchange.run()

    exchange = run(main())
    assert not exchange.complete.is_set()  # no final message went to a client that had gone
    if ignore:
        assert len(steps) == 400 and gate.status == [1, 1]
    else:
        assert len(steps) < 400 and gate.status == [1]


@pytest.mark.clause("ASGI-ABORT-1")
def test_a_cancelled_call_counts_as_the_client_gone() -> None:
    gate, steps = Gate(), []
    app = ASGIApp(writer(gate, steps, False))

    async def main() -> None:
        task = asyncio.create_task(Exchange(app, get("/")).run())
        while not steps:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert app.join(WAIT) and len(steps) < 400 and gate.status == [1]


@pytest.mark.clause("WSGI-THREAD-1", "ASGI-THREAD-1")
def test_a_hundred_concurrent_requests_each_get_their_own_response() -> None:
    def script() -> None:
        n = _GET["n"]
        header(f"X-N: {n}")
        usleep(20000)
        echo(f"<{n}>" * 50)

    app = ASGIApp(script)

    async def main() -> list[Exchange]:
        return list(await asyncio.gather(*(Exchange(app, get(f"/?n={n}")).run() for n in range(100))))

    exchanges = run(main())
    assert app.join(WAIT)
    for n, exchange in enumerate(exchanges):
        assert (b"x-n", str(n).encode()) in exchange.start["headers"]
        assert exchange.body == f"<{n}>".encode() * 50


@pytest.mark.clause("ASGI-SCOPE-1")
def test_lifespan_startup_and_shutdown_once_the_scripts_have_ended() -> None:
    gate = Gate()
    app = ASGIApp(early_script(gate, finish_request))

    async def main() -> list[tuple[float, dict[str, Any]]]:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        replies: list[tuple[float, dict[str, Any]]] = []

        async def reply(message: dict[str, Any]) -> None:
            replies.append((time.monotonic(), message))

        lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, reply))
        await inbox.put({"type": "lifespan.startup"})
        exchange = Exchange(app, get("/"))
        request = asyncio.create_task(exchange.run())
        await asyncio.to_thread(exchange.complete.wait, WAIT)  # the script runs on after its response
        await inbox.put({"type": "lifespan.shutdown"})
        await asyncio.sleep(0.05)
        gate.open()
        await request
        await lifespan
        return replies

    replies = run(main())
    assert [m for _, m in replies] == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]
    assert replies[1][0] >= gate.ended[0]


@pytest.mark.clause("ASGI-SCOPE-1")
def test_lifespan_shutdown_waits_no_longer_than_shutdown_timeout() -> None:
    gate = Gate()
    app = ASGIApp(early_script(gate, finish_request), shutdown_timeout=0.2)

    async def main() -> bool:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        replies: list[dict[str, Any]] = []

        async def reply(message: dict[str, Any]) -> None:
            replies.append(message)

        lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, reply))
        await inbox.put({"type": "lifespan.startup"})
        exchange = Exchange(app, get("/"))
        request = asyncio.create_task(exchange.run())
        await asyncio.to_thread(exchange.complete.wait, WAIT)
        await inbox.put({"type": "lifespan.shutdown"})
        await lifespan  # the script still waits at its gate
        still_running = app.scripts.running == 1 and replies[-1] == {"type": "lifespan.shutdown.complete"}
        gate.open()
        await request
        return still_running

    assert run(main()) is True


@pytest.mark.clause("ASGI-SCOPE-1")
def test_other_scopes_are_refused() -> None:
    received: list[Any] = []

    async def receive() -> dict[str, Any]:
        received.append("receive")
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        received.append(message)

    with pytest.raises(ValueError):
        run(ASGIApp(page)({"type": "websocket", "path": "/"}, receive, send))
    assert received == []


@pytest.mark.clause("ASGI-REQUEST-1")
def test_the_body_is_read_whole_before_the_script_starts(tmp_path: Path) -> None:
    exchange = call(ASGIApp(info_root(tmp_path)), REQUEST, pieces=4)
    assert json.loads(exchange.body) == RECORDED_VARIABLES


@pytest.mark.clause("PERF-UPLOAD-2", "ASGI-REQUEST-1")
def test_an_upload_past_body_buffer_waits_in_a_file_and_is_parsed_as_it_is_read(tmp_path: Path) -> None:
    (tmp_path / "upload.py").write_text(uploads.SCRIPT)
    app = ASGIApp(tmp_path, ini=uploads.INI)
    body, content = uploads.upload(4 << 20)
    exchange = Exchange(app, b"POST /upload.py HTTP/1.1\r\nHost: t\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                        % (uploads.CONTENT_TYPE.encode(), len(body)) + body, pieces=64)
    with uploads.traced():
        run(exchange.run())
    assert app.join(WAIT)
    report, _, peak = exchange.body.rpartition(b" ")
    assert report + b" " == uploads.expected(content)
    assert int(peak) < len(content) // 2, peak  # under 1 MiB; held in memory, the body alone took 4 MiB


@pytest.mark.clause("ASGI-REQUEST-1")
def test_a_client_that_leaves_before_its_request_is_complete_runs_nothing() -> None:
    ran: list[bool] = []
    app = ASGIApp(lambda: ran.append(True))

    async def main() -> Exchange:
        exchange = Exchange(app, b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12345")
        exchange.incoming = asyncio.Queue()
        exchange.incoming.put_nowait({"type": "http.request", "body": b"12345", "more_body": True})
        exchange.incoming.put_nowait({"type": "http.disconnect"})
        return await exchange.run()

    exchange = run(main())
    assert app.join(WAIT) and exchange.sent == [] and ran == []


@pytest.mark.clause("ASGI-REQUEST-1", "NET-SERVER-1")
def test_server_variables_are_php_s_in_php_s_order(tmp_path: Path) -> None:
    root = info_root(tmp_path)
    request = NETWORK["requests"]["post-with-path-info"].replace("info.php", "info.py").encode("latin-1")
    exchange = call(ASGIApp(root), request)
    got = [line.partition("=")[::2] for line in exchange.body.decode().splitlines()]
    expected = list(recorded_server(root).items())
    assert [(k, v) for k, v in got if k not in VOLATILE] == [(k, v) for k, v in expected if k not in VOLATILE]
    assert dict(got)["REMOTE_PORT"] == '"40000"'


@pytest.mark.clause("ASGI-REQUEST-1", "DEV-ASGI-QUERY-1")
def test_the_request_is_rebuilt_from_the_scope() -> None:
    scope, _ = scope_for(b"GET /a%2Fb%7E?x=%41 HTTP/1.1\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n")
    request = request_from_scope(scope, b"")
    assert request.target == "/a%2Fb%7E?x=%41"  # raw_path, not the decoded path
    assert request.headers == (("x-dup", "1"), ("x-dup", "2"))
    assert (request.protocol, request.client, request.local, request.server_name) == (
        "HTTP/1.1", ("127.0.0.1", 40000), ("127.0.0.1", 8765), "127.0.0.1")
    del scope["raw_path"]
    scope["path"] = "/caf\u00e9 x"
    assert request_from_scope(scope, b"").target == "/caf%C3%A9%20x?x=%41"
    scope.update(http_version="2", query_string=b"", client=None, server=["/run/sock", None])
    request = request_from_scope(scope, b"")
    assert (request.target, request.protocol, request.client, request.local) == (
        "/caf%C3%A9%20x", "HTTP/2.0", ("", 0), ("/run/sock", 0))  # "/x?" would read as "/x" too


@pytest.mark.clause("WSGI-APP-1")
def test_static_files_and_error_pages(tmp_path: Path) -> None:
    root = info_root(tmp_path)
    (root / "index.py").unlink()  # as in the recording: no index for /missing to fall back to
    app = ASGIApp(root)
    exchange = call(app, get("/style.css"))
    assert exchange.start["status"] == 200 and exchange.body == b"body{}\n"
    assert (b"content-type", b"text/css; charset=UTF-8") in exchange.start["headers"]
    exchange = call(app, get("/style.css", "HEAD"))
    assert exchange.body == b"" and (b"content-length", b"7") in exchange.start["headers"]
    exchange = call(app, get("/missing?x=<b>"))
    recorded = NETWORK["responses"]["missing"].encode("latin-1")
    assert exchange.start["status"] == 404 and exchange.body == recorded.partition(b"\r\n\r\n")[2]
    exchange = call(app, get("/missing.css", "HEAD"))  # php -S makes no page for HEAD (recorded: head-missing)
    assert exchange.start["status"] == 404 and exchange.body == b"" and (b"content-length", b"0") in exchange.start["headers"]


@pytest.mark.clause("WSGI-ERRORS-1")
def test_php_s_stderr_goes_to_the_process_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    def script() -> None:
        trigger_error("to the log")

    call(ASGIApp(script, ini={"log_errors": "1", "display_errors": "0"}), get("/"))
    assert f"PHP Notice:  to the log in {__file__} on line " in capsys.readouterr().err


@pytest.mark.clause("ASGI-REQUEST-1")
def test_a_body_over_max_body_is_413_at_once_and_runs_nothing() -> None:
    ran: list[bool] = []
    app = ASGIApp(lambda: ran.append(True), max_body=10)
    exchange = call(app, b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\n" + b"x" * 11)
    assert exchange.start["status"] == 413 and b"<title>413 Request Entity Too Large</title>" in exchange.body
    assert call(app, b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\n" + b"x" * 10).start["status"] == 200
    assert ran == [True]


@pytest.mark.clause("NET-STATIC-1", "ASGI-SEND-1")
def test_a_large_static_file_is_sent_in_pieces(tmp_path: Path) -> None:
    root = info_root(tmp_path)
    data = bytes(range(256)) * 1200  # 300 KiB
    (root / "big.bin").write_bytes(data)
    exchange = call(ASGIApp(root), get("/big.bin"))
    check_message_order(exchange.messages)
    assert len(exchange.messages) > 2 and exchange.body == data
    assert (b"content-length", str(len(data)).encode()) in exchange.start["headers"]


@pytest.mark.clause("NET-SERVER-1", "DOCROOT-MAP-1", "ASGI-REQUEST-1")
def test_a_script_sees_path_info_and_php_auth_as_under_php_s(tmp_path: Path) -> None:
    """Recorded from php -S (path-info-trailing-slash, auth-basic, proxy-header)."""
    (tmp_path / "info.py").write_text(INFO_AUTH_PY)
    exchange = call(ASGIApp(tmp_path), INFO_AUTH_REQUEST)
    assert exchange.start["status"] == 200 and exchange.body == INFO_AUTH_BODY
