"""Issue 13, the serving loop's fast paths (NET-PERF-*): each keeps the behaviour it shortens.

Timing is never asserted; every wait is bounded.
"""

from __future__ import annotations

import http.client
import io
import select
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from phprt import MemoryTransport
from phprt.fastcgi import FastCgiServer
from phprt.net import listener, logs
from phprt.net.docroot import DocumentRoot, Refused
from phprt.net.runner import ScriptRunner
from phprt.net.site import HttpRequest, ScriptCall, Site
from phprt.server import HttpServer
from tests.support.fastcgi import STDOUT, Client, fcgi_request, nginx_params

HELLO = 'from phprt.php import *\necho("Hello")\n'


class _Counting(listener.Readable):
    """The loop's selector, counting the calls that change what it watches."""

    calls = 0
    idle_looks = 0

    def register(self, sock: socket.socket, what: Any) -> None:
        _Counting.calls += 1
        super().register(sock, what)

    def unregister(self, sock: socket.socket) -> None:
        _Counting.calls += 1
        super().unregister(sock)

    def ready(self, timeout: float) -> list[Any]:
        ready = super().ready(timeout)
        if timeout == 0 and not ready:
            _Counting.idle_looks += 1  # looked at once, for nothing
        return ready


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> type[_Counting]:
    monkeypatch.setattr(listener, "Readable", _Counting)  # the name the loop makes its selector by
    _Counting.calls = _Counting.idle_looks = 0
    return _Counting


def _pokes(server: Any) -> list[int]:
    # Counts the loop's wake-ups through its socket pair.
    count = [0]
    poke = server._poke

    def counted() -> None:
        count[0] += 1
        poke()

    server._poke = counted
    return count


@pytest.mark.clause("NET-PERF-1", "NET-LOOP-1")
def test_kept_alive_http_requests_cost_no_selector_call(tmp_path: Path, counting: type[_Counting]) -> None:
    (tmp_path / "hello.py").write_text(HELLO)
    with HttpServer(tmp_path, log=io.StringIO()) as server:
        pokes = _pokes(server)
        connection = http.client.HTTPConnection(*server.address, timeout=10)
        try:
            bodies = []
            for index in range(6):
                if index == 2:
                    before = counting.calls
                connection.request("GET", "/hello.py")
                bodies.append(connection.getresponse().read())
            assert bodies == [b"Hello"] * 6
            assert counting.calls == before  # four more requests, no register or unregister
            assert pokes[0] == 0
        finally:
            connection.close()


@pytest.mark.clause("NET-PERF-1", "NET-PERF-2", "FCGI-CONCURRENT-1")
def test_kept_fastcgi_requests_are_watched_through_one_registration(tmp_path: Path,
                                                                   counting: type[_Counting]) -> None:
    (tmp_path / "hello.py").write_text(HELLO)
    with FastCgiServer(tmp_path, "127.0.0.1:0") as server:
        pokes = _pokes(server)
        client = Client(server.address)
        try:
            for request_id in range(1, 7):
                if request_id == 3:
                    before = counting.calls
                client.send(fcgi_request(nginx_params(tmp_path, "/hello.py"), request_id=request_id, flags=1))
                assert client.read_end(request_id).stream(STDOUT, request_id).endswith(b"\r\n\r\nHello")
            assert counting.calls == before
            assert pokes[0] == 0  # each response ended in the loop's thread, which took the connection back
        finally:
            client.close()


@pytest.mark.clause("NET-PERF-8", "NET-LOOP-1")
@pytest.mark.parametrize("kind", ["http", "fastcgi"])
def test_a_loop_that_answered_a_request_waits_for_the_next_without_a_look_for_nothing(
        tmp_path: Path, counting: type[_Counting], kind: str) -> None:
    (tmp_path / "hello.py").write_text(HELLO)
    server: Any = HttpServer(tmp_path, log=io.StringIO()) if kind == "http" else FastCgiServer(tmp_path, "127.0.0.1:0")
    server.RELIEF = 60.0  # no relief thread takes the loop over a slow request on a busy machine
    with server:
        if kind == "http":
            connection = http.client.HTTPConnection(*server.address, timeout=10)

            def answer(index: int) -> bytes:
                connection.request("GET", "/hello.py")
                return connection.getresponse().read()
        else:
            client = Client(server.address)

            def answer(index: int) -> bytes:
                client.send(fcgi_request(nginx_params(tmp_path, "/hello.py"), request_id=index, flags=1))
                return client.read_end(index).stream(STDOUT, index).rpartition(b"\r\n\r\n")[2]
        try:
            bodies = [answer(1), answer(2)]
            before = counting.idle_looks
            bodies += [answer(index) for index in range(3, 9)]
            assert bodies == [b"Hello"] * 8
            assert counting.idle_looks == before  # six more requests, each waited for in the selector
        finally:
            connection.close() if kind == "http" else client.close()


@pytest.mark.clause("NET-PERF-2", "FCGI-FINISH-1", "NET-LOOP-1")
def test_the_next_request_is_read_while_a_finished_response_s_script_goes_on(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "hello.py").write_text(HELLO)
    (root / "gate.py").write_text(
        "import os, time\nfrom phprt.php import *\necho('first')\nfastcgi_finish_request()\n"
        "deadline = time.monotonic() + 10\n"
        "while not os.path.exists(_GET['gate']) and time.monotonic() < deadline:\n    time.sleep(0.01)\n")
    gate = tmp_path / "open"
    with FastCgiServer(root, "127.0.0.1:0") as server:
        client = Client(server.address)
        try:
            client.send(fcgi_request(nginx_params(root, "/gate.py", query=f"gate={gate}"), request_id=1, flags=1))
            assert client.read_end(1).stream(STDOUT, 1).endswith(b"first")
            # The script still runs in the thread that answered it; the connection is taken back
            # by the relief thread, without a wake-up, and its next request answered.
            client.send(fcgi_request(nginx_params(root, "/hello.py"), request_id=2, flags=1))
            assert client.read_end(2).stream(STDOUT, 2).endswith(b"Hello")
            assert not gate.exists() and server.runner.running >= 1  # the first script still waits
        finally:
            gate.write_text("")
            client.close()


@pytest.mark.clause("NET-PERF-3", "DOCROOT-MAP-1", "DOCROOT-REALPATH-1")
def test_a_remembered_url_path_still_sees_the_file_system_change(tmp_path: Path) -> None:
    root = DocumentRoot(tmp_path)
    with pytest.raises(Refused):
        root.resolve("/page/more")
    (tmp_path / "page.py").write_text(HELLO)
    found = root.resolve("/page/more")
    assert (found.path.name, found.script_name, found.path_info) == ("page.py", "/page.py", "/more")
    (tmp_path / "page.py").unlink()
    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "index.py").write_text(HELLO)
    found = root.resolve("/page/more")
    assert (found.script_name, found.path_info) == ("/page/index.py", "/more")
    (tmp_path / "page" / "index.py").unlink()
    for _ in range(2):  # a refusal remembered is raised afresh, with its status
        with pytest.raises(Refused) as missing:
            root.resolve("/page/more")
        assert missing.value.status == 404
        with pytest.raises(Refused) as bad:
            root.resolve("/a%2fb")
        assert bad.value.status == 400
        with pytest.raises(Refused) as outside:
            root.resolve("/../x.py")
        assert outside.value.status == 404


@pytest.mark.clause("NET-PERF-3", "NET-SERVER-1")
def test_header_keys_remembered_give_the_same_server_array(tmp_path: Path) -> None:
    site = Site(tmp_path)
    headers = (("X-Many", "1"), ("Content-Type", "text/plain"), ("x-many", "2"), ("Set-Cookie", "a"),
               ("set-cookie", "b"))
    request = HttpRequest("GET", "/x?a+b", headers=headers, client=("127.0.0.1", 5), local=("127.0.0.1", 80))
    first, second = (site.server_variables(request, None) for _ in range(2))
    for server in (first, second):
        assert [key for key in server if key.startswith(("HTTP_", "CONTENT"))] == [
            "HTTP_X_MANY", "CONTENT_TYPE", "HTTP_CONTENT_TYPE", "HTTP_SET_COOKIE"]
        assert (server["HTTP_X_MANY"], server["HTTP_SET_COOKIE"]) == ("1, 2", "b")
        assert (server["QUERY_STRING"], server["argv"], server["argc"]) == ("a+b", ["a", "b"], 2)


@pytest.mark.clause("NET-PERF-4", "SERVE-LOG-1")
def test_the_log_stamp_is_ctime_s_for_every_instant(monkeypatch: pytest.MonkeyPatch) -> None:
    for instant in (1_800_000_000.2, 1_800_000_000.9, 1_800_000_001.0, 1_799_999_999.5, 1_800_000_001.7):
        monkeypatch.setattr(time, "time", lambda instant=instant: instant)
        assert logs.ctime_stamp() == f"[{time.ctime(instant)}] "


@pytest.mark.clause("NET-PERF-5", "NET-RUNNER-1", "FCGI-CONCURRENT-1")
def test_a_waiting_submit_and_join_are_woken_when_a_script_ends() -> None:
    runner = ScriptRunner(1)
    gate, order = threading.Event(), []

    def first() -> None:
        order.append("first")
        gate.wait(10)

    def second() -> None:
        order.append("second")

    runner.submit(ScriptCall(first, {}, b"", "cli-server"), MemoryTransport())
    tickets = []
    waiter = threading.Thread(target=lambda: tickets.append(
        runner.submit(ScriptCall(second, {}, b"", "cli-server"), MemoryTransport())))
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive() and order == ["first"]  # the submit waits for the one slot
    gate.set()
    waiter.join(10)
    assert tickets and tickets[0].wait(10) is not None
    assert runner.join(10) and runner.running == 0 and order == ["first", "second"]
    assert runner.close(10)


@pytest.mark.clause("NET-PERF-7", "DOCROOT-MAP-1", "RT-SCRIPT-2", "NET-STATIC-1")
def test_a_served_script_is_asked_about_once_and_a_change_is_still_seen(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    script = tmp_path / "page.py"
    script.write_text("print('one', end='')\n")
    (tmp_path / "a.txt").write_text("12345")
    site = Site(tmp_path, sapi="cli-server")

    def run(target: str) -> bytes:
        call = site.answer(HttpRequest("GET", target))
        assert isinstance(call, ScriptCall)
        transport = MemoryTransport()
        call.run(transport)
        return transport.body

    assert run("/page.py") == b"one"
    real_stat = os.stat
    asked: list[str] = []

    def counting_stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        asked.append(os.fspath(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", counting_stat)
    assert run("/page.py") == b"one"
    assert asked.count(str(script)) == 1
    script.write_text("print('two, changed', end='')\n")
    assert run("/page.py") == b"two, changed"
    static = site.answer(HttpRequest("GET", "/a.txt"))
    assert not isinstance(static, ScriptCall)
    assert ("Content-Length", "5") in static.headers and b"".join(static.chunks()) == b"12345"


def _close_unserved(server: Any) -> None:
    # A server whose loop never ran: what it accepted, its selector and its listening socket.
    for connection in [*server._ready, *server._waiting]:
        server._close(connection)
    server._selector.close()
    server.listener.close()


@pytest.mark.clause("NET-PERF-9", "FCGI-CONCURRENT-1", "SERVE-CONCURRENT-1")
@pytest.mark.parametrize("kind", ["http", "fastcgi"])
def test_a_request_sent_with_the_connection_is_read_as_it_is_accepted(tmp_path: Path, kind: str) -> None:
    # A client sends its request as it connects (nginx to a FastCGI responder does): the loop
    # reads it in the turn that accepts the connection, and it is ready to run at once.
    (tmp_path / "hello.py").write_text(HELLO)
    server: Any = HttpServer(tmp_path, log=io.StringIO()) if kind == "http" else FastCgiServer(tmp_path, "127.0.0.1:0")
    server._selector = listener.Readable()  # the loop's own, without the loop
    client = socket.create_connection(server.address, timeout=10)
    try:
        if kind == "http":
            client.sendall(b"GET /hello.py HTTP/1.1\r\nHost: x\r\n\r\n")
        else:
            client.sendall(fcgi_request(nginx_params(tmp_path, "/hello.py")))
        deadline = time.monotonic() + 10
        while not server._ready and time.monotonic() < deadline:  # once the connection is there to accept
            server._accept()
        assert len(server._ready) == 1 and not server._waiting
    finally:
        client.close()
        _close_unserved(server)


@pytest.mark.clause("NET-PERF-9")
def test_the_loop_s_selector_keeps_selectors_rules() -> None:
    readable = listener.Readable()
    first, second = socket.socketpair()
    try:
        readable.register(first, "first")
        with pytest.raises(KeyError):
            readable.register(first, "again")
        assert readable.ready(0) == []
        second.send(b"x")
        assert readable.ready(1) == ["first"]
        with pytest.raises(KeyError):
            readable.unregister(second)
        first.close()
        readable.unregister(first)  # closed since it was registered
        with pytest.raises(KeyError):
            readable.unregister(first)
        assert readable.ready(0) == []
    finally:
        first.close()
        second.close()
        readable.close()


def _queued(server: Any) -> socket.socket:
    # A client whose connection waits in the server's listen queue (nothing accepts it yet).
    client = socket.create_connection(server.address, timeout=10)
    select.select([server.listener], [], [], 10)
    return client


@pytest.mark.clause("NET-PERF-10", "SERVE-WORKERS-1", "FCGI-WORKERS-1")
@pytest.mark.parametrize("kind", ["http", "fastcgi"])
def test_a_spare_takes_a_connection_that_waits_still_at_its_next_look(tmp_path: Path, kind: str) -> None:
    server: Any = HttpServer(tmp_path, log=io.StringIO()) if kind == "http" else FastCgiServer(tmp_path, "127.0.0.1:0")
    server._selector = listener.Readable()  # the loop's own, without the loop
    server.join_pool(spare=True)
    clients = [_queued(server)]

    def looks(count: int) -> None:
        for _ in range(count):
            server._accept()  # a look that takes nothing, and no looking for SPARE_LOOK
            assert not server._room() and server._next_check <= server._paused_until  # the loop wakes for the next
            server._paused_until = 0.0
            server._sighted -= server.SPARE_LOOK  # as if the loop had waited for it
            assert server._room()

    try:
        looks(server.SPARE_LOOKS - 1)
        assert server._held() == 0
        server._accept()  # the connection waits still at the last look in a row: taken, and served
        assert server._held() == 1 and len(server._waiting) == 1
        clients.append(_queued(server))
        looks(server.SPARE_LOOKS - 2)
        server._sighted -= server.SPARE_LOOK  # a look that comes late: the queue was empty at the one due
        looks(1)
        server._accept()
        assert server._held() == 1 and not server._room()  # not the last look in a row: nothing taken
    finally:
        for client in clients:
            client.close()
        _close_unserved(server)


@pytest.mark.clause("NET-PERF-10", "FCGI-CONCURRENT-1", "SERVE-CONCURRENT-1")
@pytest.mark.parametrize("kind", ["http", "fastcgi"])
def test_a_worker_of_a_pool_with_spares_takes_nothing_while_it_runs_all_it_may(tmp_path: Path, kind: str) -> None:
    server: Any = (HttpServer(tmp_path, log=io.StringIO(), max_requests=2) if kind == "http"
                   else FastCgiServer(tmp_path, "127.0.0.1:0", max_requests=2))
    server._selector = listener.Readable()
    client = _queued(server)
    try:
        server._running.update({object(): None, object(): None})  # two requests run
        assert server._room()  # alone, a worker holds connections that wait for a slot (FCGI-CONCURRENT-1)
        server.join_pool(spare=False)
        assert not server._room()  # in the pool, they wait in the queue for another worker
        server._running.popitem()
        assert server._room()
        server._ready.append(object())  # and one ready to run: as many as may run
        assert not server._room()
        server._ready.clear()
        server._running.clear()
        server._accept()  # no spare: a waiting connection is taken at the first look
        assert server._held() == 1
    finally:
        client.close()
        _close_unserved(server)
