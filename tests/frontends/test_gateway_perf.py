"""The gateways' fast paths keep the behaviour (spec/wsgi-asgi.md, WSGI-PERF-*, ASGI-PERF-1).

Each test checks what a fast path must still do -- the thread reused and clean, the
script waiting for a free thread, the head converted right however often it is
seen, one wake-up carrying the whole response, the client listened to once the
response is under way -- never how long anything took. Expected heads come from
``gateway_form`` (what the gateways handed their servers before the cache) and
from a MemoryTransport running the same script.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from phprt.asgi import ASGIApp, _Arrival, _Listener, _Shared, request_from_scope
from phprt.net.site import HttpRequest, ScriptCall
from phprt.php import connection_status, echo, flush, header, register_shutdown_function
from phprt.transports.gateway import HeadForms, ResponseChannel
from phprt.transports.heads import gateway_form
from phprt.transports.memory import MemoryTransport
from phprt.wsgi import WSGIApp, request_from_environ
from tests.support.asgi import Exchange, call, run, scope_for, take
from tests.support.wsgi import WAIT, Gate, ServerSide, get, page

VARIABLE: contextvars.ContextVar[str] = contextvars.ContextVar("VARIABLE", default="unset")


def environ_for(path: str = "/", **extra: Any) -> dict[str, Any]:
    environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
                               "SERVER_NAME": "test", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
                               "wsgi.input": io.BytesIO(b""), "wsgi.errors": io.StringIO(), **extra}
    return environ


def served(app: WSGIApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """One call of ``app``, its body read to the end, as a WSGI server makes it."""
    return ServerSide().call(app, environ)


# -- WSGI-THREAD-1, WSGI-PERF-1: where the scripts run ---------------------------------------------


def where_it_runs(seen: list[tuple[int, str]]) -> Callable[[], None]:
    """A script that notes its thread and what VARIABLE holds for it, then sets VARIABLE."""
    def script() -> None:
        seen.append((threading.get_ident(), VARIABLE.get()))
        VARIABLE.set("set by a script")
        echo("ok")

    return script


@pytest.mark.clause("WSGI-THREAD-1")
def test_a_wsgi_script_runs_in_the_servers_thread_in_a_clean_context() -> None:
    seen: list[tuple[int, str]] = []
    app = WSGIApp(where_it_runs(seen))
    VARIABLE.set("the server's")
    for _ in range(2):
        assert served(app, environ_for())[2] == b"ok"
    assert seen == [(threading.get_ident(), "unset")] * 2  # the calling thread; nothing set before (RT-ACTIVE-1)
    assert VARIABLE.get() == "the server's" and app.running == 0


def asgi_get(app: ASGIApp) -> bytes:
    return call(app, get("/")).body


@pytest.mark.clause("WSGI-PERF-1", "ASGI-THREAD-1")
def test_an_asgi_script_runs_in_a_reused_thread_in_a_clean_context() -> None:
    seen: list[tuple[int, str]] = []
    app = ASGIApp(where_it_runs(seen))
    for _ in range(2):
        assert asgi_get(app) == b"ok"
    (first, first_value), (second, second_value) = seen
    assert first != threading.get_ident() and second == first  # not the loop's thread; the same one again
    assert first_value == second_value == "unset"  # nothing the previous script set (RT-ACTIVE-1)
    assert app.scripts.threads == 1 and app.scripts.running == 0


@pytest.mark.clause("WSGI-PERF-1", "ASGI-THREAD-1")
def test_beyond_max_threads_a_script_waits_for_the_next_free_thread() -> None:
    gate, ran = Gate(), []

    def script() -> None:
        ran.append(threading.get_ident())
        if len(ran) == 1:
            gate.wait()
        echo(f"run {len(ran)}")

    app = ASGIApp(script)
    app.scripts.MAX_THREADS = 1

    async def main() -> list[bytes]:
        first = asyncio.ensure_future(Exchange(app, get("/")).run())
        while not ran:
            await asyncio.sleep(0.01)
        second = asyncio.ensure_future(Exchange(app, get("/")).run())
        while app.scripts.running < 2:
            await asyncio.sleep(0.01)
        assert len(ran) == 1  # the second waits: no thread is free
        gate.open()
        return [(await first).body, (await second).body]

    assert run(main()) == [b"run 1", b"run 2"] and gate.opened == [True]
    assert app.join(WAIT) and ran[0] == ran[1] and app.scripts.threads == 1


@pytest.mark.clause("WSGI-PERF-1")
def test_an_idle_thread_ends_and_a_closed_app_answers_500(capsys: pytest.CaptureFixture[str]) -> None:
    app = ASGIApp(page)
    app.scripts.IDLE_TIMEOUT = 0.05
    assert call(app, get("/")).start["status"] == 200
    deadline = time.monotonic() + WAIT
    while app.scripts.threads and time.monotonic() < deadline:
        time.sleep(0.01)
    assert app.scripts.threads == 0
    app.scripts.close()
    exchange = call(app, get("/"))
    assert (exchange.start["status"], exchange.body) == (500, b"")
    assert "closed" in capsys.readouterr().err


# -- WSGI-PERF-2: converted once ---------------------------------------------------------------


@pytest.mark.clause("WSGI-PERF-2", "WSGI-HEAD-1", "WSGI-EARLY-1")
def test_a_head_is_converted_once_and_each_distinct_head_right() -> None:
    heads = []
    for value in ("1", "2", "1", "3", "1"):
        def script(value: str = value) -> None:
            header(f"X-N: {value}")
            header("Content-Length: 2")
            echo("okTOO MUCH")

        transport = MemoryTransport()
        call = WSGIApp(script).site.answer(HttpRequest("GET", "/"))
        assert isinstance(call, ScriptCall)
        call.run(transport)
        assert transport.head is not None
        heads.append(transport.head)
    made: list[object] = []
    forms = HeadForms(lambda gateway: made.append(gateway) or gateway, size=2)
    results = [forms.of(head) for head in heads]
    for head, (gateway, length, form) in zip(heads, results):
        assert gateway == gateway_form(head) and form is gateway and length == 2
    assert results[0] is results[2]  # the same head again: converted once
    assert len(made) == 1 + 4  # INTERNAL_ERROR's, then "1", "2", "3" and "1" again once "3" pushed it out


@pytest.mark.clause("WSGI-PERF-2", "WSGI-REQUEST-1")
def test_header_names_are_the_same_from_the_second_environ_on() -> None:
    extra = {"HTTP_X_FOO_BAR": "a", "CONTENT_TYPE": "text/plain", "HTTP_CONTENT_TYPE": "dropped", "wsgi.x": "no"}
    first = request_from_environ(environ_for(**extra))
    second = request_from_environ(environ_for(**extra))
    assert first.headers == second.headers == (("X-Foo-Bar", "a"), ("Content-Type", "text/plain"))
    scope, _ = scope_for(b"GET / HTTP/1.1\r\nHost: test\r\nX-Foo: \xc3\xa9\r\nx-foo: 2\r\n\r\n")
    asgi = [request_from_scope(scope, b"").headers for _ in range(2)]
    assert asgi[0] == asgi[1] == (("host", "test"), ("x-foo", "\u00e9"), ("x-foo", "2"))


@pytest.mark.clause("WSGI-PERF-2", "WSGI-REQUEST-1")
def test_the_header_keys_kept_stay_bounded_and_every_environ_gets_all_of_its_own() -> None:
    from phprt import wsgi

    for n in range(300):  # more sequences of keys than are kept
        many = {f"HTTP_X_{n}_{i}": str(i) for i in range(3)}
        headers = [field for field in request_from_environ(environ_for(**many)).headers if field[0].startswith("X-")]
        assert headers == [(f"X-{n}-{i}", str(i)) for i in range(3)]
        assert len(wsgi._FIELD_KEYS) <= wsgi._FIELD_KEYS.size
    again = environ_for(HTTP_X_A="1", HTTP_X_B="")  # the same keys: the same fields, from the values given
    assert request_from_environ(again).headers == request_from_environ(again).headers
    assert ("X-A", "1") in request_from_environ(again).headers
    assert all(name != "X-B" for name, _ in request_from_environ(again).headers)


@pytest.mark.clause("WSGI-PERF-2", "WSGI-HEAD-1")
def test_responses_with_heads_alike_and_different_each_get_their_own() -> None:
    def script() -> None:
        header(f"X-N: {request_from_path()}")
        echo("body")

    def request_from_path() -> str:
        from phprt.php import _SERVER

        return str(_SERVER["REQUEST_URI"])

    app = WSGIApp(script)
    for path in ("/a", "/b", "/a"):
        status, fields, body = served(app, environ_for(path, RAW_URI=path))
        assert status == "200 OK" and ("X-N", path) in fields and body == b"body"
    assert app.join(WAIT)


# -- WSGI-PERF-3: one wake-up --------------------------------------------------------------------


def channel_for(script: Callable[[], None]) -> tuple[ScriptCall, ResponseChannel[Any]]:
    call = WSGIApp(script).site.answer(HttpRequest("GET", "/"))
    assert isinstance(call, ScriptCall)
    return call, ResponseChannel(HeadForms(lambda gateway: gateway))


@pytest.mark.clause("WSGI-PERF-3")
def test_a_script_that_ended_before_the_server_looked_costs_one_wake_up() -> None:
    call, channel = channel_for(page)
    wakes: list[int] = []
    channel.on_change(lambda: wakes.append(1))
    call.run(channel)
    channel.ended()
    assert len(wakes) == 1 and channel.script_ended
    expected = MemoryTransport()
    call.run(expected)
    assert expected.head is not None
    head, data, done = channel.poll() or (None, b"", False)
    assert head == gateway_form(expected.head) and data == expected.body and done


@pytest.mark.clause("WSGI-PERF-3", "WSGI-STREAM-1")
def test_each_look_rearms_one_wake_up() -> None:
    def script() -> None:
        echo("a")
        flush()
        echo("b")

    call, channel = channel_for(script)
    wakes: list[int] = []
    channel.on_change(lambda: wakes.append(1))
    pieces = []

    original = channel.write

    def write(data: bytes) -> bool:  # the server looks between the two writes
        delivered = original(data)
        taken = channel.poll()
        if taken is not None:
            pieces.append(taken[1])
        return delivered

    channel.write = write  # type: ignore[method-assign]
    call.run(channel)
    channel.ended()
    last = channel.poll()
    assert last is not None and last[2] and channel.script_ended
    assert pieces == [b"a", b"b"] and len(wakes) == 3  # the head, "b" after the first look, the end after the second


# -- WSGI-PERF-4: the lookup where the script runs ----------------------------------------------


@pytest.mark.clause("WSGI-PERF-4", "DOCROOT-MAP-1", "NET-STATIC-1", "NET-ERROR-1")
def test_a_document_roots_lookup_runs_in_the_scripts_thread(tmp_path: Path) -> None:
    (tmp_path / "index.py").write_text("import threading\nfrom phprt.php import *\necho(threading.get_ident())\n")
    (tmp_path / "file.txt").write_text("static\n")
    app = ASGIApp(str(tmp_path))
    looked_up: list[int] = []
    answer = app.site.answer

    def recording(request: HttpRequest) -> Any:
        looked_up.append(threading.get_ident())
        return answer(request)

    app.site.answer = recording  # type: ignore[method-assign]

    async def main(raw: bytes) -> tuple[Exchange, int]:
        return await Exchange(app, raw).run(), threading.get_ident()

    exchange, loop_thread = run(main(get("/")))
    assert app.join(WAIT)
    assert exchange.start["status"] == 200 and int(exchange.body) == looked_up[0] != loop_thread
    static, _ = run(main(get("/file.txt")))
    assert static.start["status"] == 200 and static.body == b"static\n"
    assert (b"content-length", b"7") in static.start["headers"]
    missing, _ = run(main(get("/nothing.txt")))
    assert missing.start["status"] == 404 and b"was not found on this server" in missing.body
    assert len(looked_up) == 3 and app.join(WAIT)


# -- ASGI-PERF-1: the client listened to when it matters -----------------------------------------


class Counting(Exchange):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.receives = 0

    async def receive(self) -> dict[str, Any]:
        self.receives += 1
        return await super().receive()


@pytest.mark.clause("ASGI-PERF-1", "ASGI-SEND-1")
def test_a_response_complete_at_the_first_look_needs_no_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Listener, "LISTEN_AFTER", 3600.0)
    app = ASGIApp(page)

    async def main() -> Counting:  # a HEAD request: complete with its head, whenever the loop looks
        return await Counting(app, get("/", "HEAD")).run()  # type: ignore[return-value]

    exchange = run(main())
    assert app.join(WAIT)
    assert exchange.receives == 1 and exchange.complete.is_set()  # the request's one message, no more
    assert exchange.start["status"] == 200 and exchange.body == b""


@pytest.mark.clause("ASGI-PERF-1", "ASGI-ABORT-1", "WSGI-ABORT-1")
def test_a_response_under_way_is_listened_to_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Listener, "LISTEN_AFTER", 3600.0)
    gate = Gate()

    def script() -> None:
        gate.probe()
        echo("first")
        flush()
        gate.wait()  # until the client has gone
        echo("second")
        flush()

    app = ASGIApp(script)

    async def main() -> Counting:
        exchange = Counting(app, get("/"))
        exchange.on_body = lambda ex: ex.hang_up() if ex.body and not ex.gone else None
        task = asyncio.create_task(exchange.run())
        while exchange.receives < 2 or not exchange.incoming.empty():  # the listener took the disconnect
            await asyncio.sleep(0.01)
        gate.open()
        await task
        return exchange

    exchange = run(main())
    assert app.join(WAIT)
    assert exchange.body == b"first" and not exchange.complete.is_set() and gate.status == [1]


@pytest.mark.clause("ASGI-PERF-1", "ASGI-ABORT-1")
def test_a_script_that_says_nothing_is_listened_to_after_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Listener, "LISTEN_AFTER", 0.01)
    gate = Gate()

    def script() -> None:
        gate.probe()
        gate.wait()  # until the client has gone
        echo("late")
        flush()

    app = ASGIApp(script)

    async def main() -> Counting:
        exchange = Counting(app, get("/"))
        task = asyncio.create_task(exchange.run())
        while exchange.receives < 1:
            await asyncio.sleep(0.01)
        exchange.hang_up()  # before any byte of the response
        while exchange.receives < 2 or not exchange.incoming.empty():
            await asyncio.sleep(0.01)
        gate.open()
        await task
        return exchange

    exchange = run(main())
    assert app.join(WAIT)
    assert exchange.messages == [] and gate.status == [1]


# -- WSGI-PERF-5: no condition variable, the head's wake-up with what follows it ----------------


def channel_of(script: Callable[[], None], sapi: str = "cgi", method: str = "GET") -> tuple[ScriptCall, ResponseChannel[Any]]:
    call = WSGIApp(script, sapi=sapi).site.answer(HttpRequest(method, "/"))
    assert isinstance(call, ScriptCall)
    return call, ResponseChannel(HeadForms(lambda gateway: gateway), sapi=sapi, method=method)


def wakes_after_head(channel: ResponseChannel[Any]) -> tuple[list[int], list[int]]:
    """The wake-ups of ``channel``, and how many there had been when each head arrived."""
    wakes: list[int] = []
    after_head: list[int] = []
    channel.on_change(lambda: wakes.append(1))
    original = channel.send_headers

    def send_headers(head: Any) -> None:
        original(head)
        after_head.append(len(wakes))

    channel.send_headers = send_headers  # type: ignore[method-assign]
    return wakes, after_head


@pytest.mark.clause("WSGI-PERF-5", "WSGI-PERF-3", "WSGI-HEAD-1")
def test_an_open_head_wakes_the_server_with_the_bytes_that_follow_it() -> None:
    seen: list[int] = []

    def script() -> None:
        header("X-A: 1")
        echo("first")
        seen.append(len(wakes))  # the head and "first": one wake-up
        echo("second")

    call, channel = channel_of(script)
    wakes, after_head = wakes_after_head(channel)
    call.run(channel)
    channel.ended()
    assert after_head == [0] and seen == [1] and len(wakes) == 1
    taken = channel.poll()
    assert taken is not None
    head, data, done = taken
    assert head is not None and (b"X-A", b"1") in head.fields and data == b"firstsecond" and done


@pytest.mark.clause("WSGI-PERF-5", "WSGI-EARLY-1")
def test_a_head_that_completes_the_response_wakes_the_server_at_once() -> None:
    seen: list[int] = []

    def script() -> None:
        echo("dropped")  # a HEAD request: the head leaves, no body may follow
        seen.append(len(wakes))

    call, channel = channel_of(script, method="HEAD")
    wakes, after_head = wakes_after_head(channel)
    call.run(channel)
    assert after_head == [1] and seen == [1]
    taken = channel.poll()
    assert taken is not None and taken[0] is not None and taken[1] == b"" and taken[2]


@pytest.mark.clause("WSGI-PERF-5", "WSGI-HEAD-1", "HDR-SENT-1")
def test_a_head_flushed_alone_wakes_the_server_at_the_flush() -> None:
    seen: list[tuple[int, int]] = []

    def script() -> None:
        header("X-Early: 1")
        flush()  # the built-in server's flush() sends the head, and nothing else
        seen.append((len(after_head), len(wakes)))

    call, channel = channel_of(script, sapi="cli-server")
    wakes, after_head = wakes_after_head(channel)
    call.run(channel)
    assert after_head == [0] and seen == [(1, 1)]


def script_thread(call: ScriptCall, channel: ResponseChannel[Any]) -> threading.Thread:
    def run_it() -> None:
        try:
            call.run(channel)
        finally:
            channel.ended()

    thread = threading.Thread(target=run_it, daemon=True)
    thread.start()
    return thread


@pytest.mark.clause("WSGI-PERF-5", "WSGI-STREAM-1")
def test_the_server_is_woken_by_the_scripts_next_change() -> None:
    gate = Gate()

    def script() -> None:
        echo("first")
        gate.wait()  # until the server has taken "first"
        echo("second")

    call, channel = channel_of(script)
    thread = script_thread(call, channel)
    head, data, done = take(channel)
    while not data and not done:  # the head may come before "first" (bounded: the script writes once)
        _, data, done = take(channel)
    assert head is not None and data == b"first" and not done
    gate.open()
    rest = b""
    while not done:  # "second", then the end
        _, piece, done = take(channel)
        rest += piece
    thread.join(WAIT)
    assert rest == b"second" and gate.opened == [True] and not thread.is_alive()
    assert channel.poll() == (None, b"", True)


@pytest.mark.clause("WSGI-PERF-5", "WSGI-STREAM-1", "WSGI-ABORT-1")
def test_a_write_waits_for_room_until_the_server_takes_or_the_client_leaves() -> None:
    steps: list[int] = []
    status: list[int] = []

    def script() -> None:
        register_shutdown_function(lambda: status.append(connection_status()))
        for step in range(400):  # 400 writes of 8 KiB: more than the 1 MiB a slow client may hold
            echo("x" * 8192)
            steps.append(step)

    call, channel = channel_of(script)
    thread = script_thread(call, channel)

    def writer_waits() -> None:
        deadline = time.monotonic() + WAIT  # a bound, not an expectation
        while channel._sleepers == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert channel._sleepers == 1  # the script's write waits for room

    writer_waits()
    first = len(steps)
    taken = channel.poll()  # room again: the write goes on
    assert taken is not None
    assert len(taken[1]) == first * 8192 == 1 << 20  # what waited: the 1 MiB a slow client may hold
    deadline = time.monotonic() + WAIT
    while len(steps) <= first + 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    writer_waits()  # and again, once another 1 MiB waits
    assert len(steps) > first
    channel.client_gone()  # the waiting write learns that the client has gone
    thread.join(WAIT)
    assert not thread.is_alive() and status == [1] and len(steps) < 400


# -- ASGI-PERF-2: one way into the loop for the wake-ups, one timer for the listeners ------------


@pytest.mark.clause("ASGI-PERF-2", "WSGI-PERF-3")
def test_wake_ups_that_come_together_reach_the_loop_by_one_call() -> None:
    async def main() -> tuple[int, list[bool]]:
        loop = asyncio.get_running_loop()
        shared = _Shared(loop)
        calls: list[Any] = []
        original = loop.call_soon_threadsafe

        def counting(*args: Any, **kwargs: Any) -> Any:
            calls.append(args)
            return original(*args, **kwargs)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        arrivals = [_Arrival(shared, loop.create_future()) for _ in range(3)]
        thread = threading.Thread(target=lambda: [arrival.wake() for arrival in arrivals])
        thread.start()
        thread.join(WAIT)
        await asyncio.gather(*(arrival.future for arrival in arrivals))
        arrivals[0].future = loop.create_future()  # a later wake-up calls again
        arrivals[0].wake()
        await arrivals[0].future
        return len(calls), [arrival.future.done() for arrival in arrivals]

    count, done = run(main())
    assert count == 2 and done == [True, True, True]


def echo_path() -> None:
    from phprt.php import _SERVER

    echo(_SERVER["REQUEST_URI"])


@pytest.mark.clause("ASGI-PERF-2", "ASGI-SEND-1", "WSGI-THREAD-1")
def test_concurrent_requests_on_one_loop_each_get_their_own_response() -> None:
    app = ASGIApp(echo_path)

    async def main() -> list[Exchange]:
        return list(await asyncio.gather(*(Exchange(app, get(f"/{index}")).run() for index in range(40))))

    exchanges = run(main())
    assert app.join(WAIT)
    assert [ex.body for ex in exchanges] == [f"/{index}".encode() for index in range(40)]
    assert all(ex.complete.is_set() for ex in exchanges)


@pytest.mark.clause("ASGI-PERF-2", "ASGI-PERF-1", "ASGI-ABORT-1")
def test_scripts_that_say_nothing_are_each_listened_to_by_one_shared_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Listener, "LISTEN_AFTER", 0.01)
    gates = [Gate(), Gate()]

    def script() -> None:
        from phprt.php import _SERVER

        gate = gates[int(_SERVER["REQUEST_URI"][1:])]
        gate.probe()
        gate.wait()  # until its client has gone
        echo("late")
        flush()

    app = ASGIApp(script)

    async def main() -> list[Counting]:
        exchanges = [Counting(app, get("/0")), Counting(app, get("/1"))]
        tasks = []
        for ex in exchanges:  # the second starts while the first's listener is still to start
            tasks.append(asyncio.create_task(ex.run()))
            while ex.receives < 1:
                await asyncio.sleep(0.001)
        for ex in exchanges:
            ex.hang_up()
        for ex in exchanges:
            while ex.receives < 2 or not ex.incoming.empty():
                await asyncio.sleep(0.01)
        for gate in gates:
            gate.open()
        await asyncio.gather(*tasks)
        return exchanges

    exchanges = run(main())
    assert app.join(WAIT)
    assert [ex.messages for ex in exchanges] == [[], []]
    assert [gate.status for gate in gates] == [[1], [1]]



@pytest.mark.clause("PERF-ECHO-4", "WSGI-STREAM-1", "WSGI-EARLY-1")
def test_an_echo_of_several_values_reaches_the_wsgi_server_whole_and_cut_at_the_length() -> None:
    # Each echo's values arrive as PHP writes them, one after the other; past a declared
    # Content-Length nothing more goes, as nginx in front of php-cgi takes no more (WSGI-EARLY-1)
    def joined() -> None:
        echo("head")  # the head goes; later echos go straight out
        for n in range(3):
            echo("a", n, "b")

    def cut() -> None:
        header("Content-Length: 5")
        echo("xy", 22, "z", "past the length")

    app = WSGIApp(joined)
    assert served(app, environ_for())[2] == b"heada0ba1ba2b"
    app = WSGIApp(cut)
    assert served(app, environ_for())[2] == b"xy22z"
    assert app.join(WAIT)
