"""Issue 13, serving: reused workers, the realpath cache, serve --workers.

Timing is never asserted; every wait is bounded.
"""

from __future__ import annotations

import contextvars
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Callable

import pytest

from phprt import MemoryTransport
from phprt.engine.runtime import ACTIVE
from phprt.net.docroot import DocumentRoot, Refused
from phprt.net.pool import WorkerPool
from phprt.net.runner import ScriptRunner
from phprt.net.site import ScriptCall

ROOT = Path(__file__).resolve().parents[2]
MARK: contextvars.ContextVar[str] = contextvars.ContextVar("MARK", default="clean")


@pytest.mark.clause("NET-POOL-1", "NET-RUNTIME-1")
def test_a_reused_thread_starts_each_job_with_an_empty_context() -> None:
    pool = WorkerPool(1, name="phprt-test-pool", idle_timeout=5.0)
    seen: list[tuple[int, str]] = []
    done = threading.Event()

    def first() -> None:
        seen.append((threading.get_ident(), MARK.get()))
        MARK.set("left by the first job")

    def second() -> None:
        seen.append((threading.get_ident(), MARK.get()))
        done.set()

    pool.submit(first)
    pool.submit(second)  # one thread: it waits in the queue for the same thread
    assert done.wait(10)
    assert pool.close(10)
    assert seen[0][0] == seen[1][0] and [mark for _, mark in seen] == ["clean", "clean"]


@pytest.mark.clause("NET-RUNNER-1", "NET-RUNTIME-1")
def test_a_runner_thread_runs_script_after_script_each_with_only_its_own_runtime() -> None:
    runner = ScriptRunner(1)
    seen: list[tuple[int, bool, int]] = []
    gate = threading.Event()

    def script() -> None:
        runtime = ACTIVE.get()
        seen.append((threading.get_ident(), runtime is not None, id(runtime)))
        gate.wait(10)

    tickets = [runner.submit(ScriptCall(script, {}, b"", "cli"), MemoryTransport())]
    waiter = threading.Thread(target=lambda: tickets.append(runner.submit(ScriptCall(script, {}, b"", "cli"),
                                                                          MemoryTransport())))
    waiter.start()
    gate.set()
    waiter.join(10)
    for ticket in tickets:
        outcome = ticket.wait(10)
        assert outcome is not None and outcome.error is None
    assert runner.close(10)
    assert len(seen) == 2 and all(active for _, active, _ in seen) and seen[0][2] != seen[1][2]


@pytest.mark.clause("NET-POOL-1")
def test_a_closed_pool_takes_no_job_and_its_threads_end() -> None:
    pool = WorkerPool(2, name="phprt-test-pool", idle_timeout=5.0)
    ran = threading.Event()
    pool.submit(ran.set)
    assert ran.wait(10)
    assert pool.close(10) and pool.threads == 0
    with pytest.raises(RuntimeError):
        pool.submit(ran.set)


@pytest.mark.clause("DOCROOT-REALPATH-1", "DOCROOT-REFUSE-1")
def test_the_real_path_is_remembered_for_the_ttl_as_php_realpath_cache(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "real.py").write_text("")
    (outside / "other.py").write_text("")
    (root / "link.py").symlink_to(root / "real.py")
    cached, fresh = DocumentRoot(root), DocumentRoot(root, realpath_ttl=0)
    assert cached.resolve("/link.py").path == fresh.resolve("/link.py").path == root.resolve() / "real.py"
    (root / "link.py").unlink()
    (root / "link.py").symlink_to(outside / "other.py")
    assert cached.resolve("/link.py").path == root.resolve() / "real.py"  # within realpath_cache_ttl
    with pytest.raises(Refused):
        fresh.resolve("/link.py")  # no cache: the link now leaves the root


@pytest.mark.clause("NET-POOL-1")
def test_a_job_past_the_pool_s_size_waits_for_a_free_thread_and_an_idle_thread_ends() -> None:
    pool = WorkerPool(1, name="phprt-test-pool", idle_timeout=0.05)
    gate, order = threading.Event(), []
    pool.submit(lambda: (gate.wait(10), order.append(("first", threading.get_ident()))))
    done = threading.Event()
    pool.submit(lambda: (order.append(("second", threading.get_ident())), done.set()))
    assert pool.threads == 1  # the second job is queued, not given a thread of its own
    gate.set()
    assert done.wait(10)
    assert [name for name, _ in order] == ["first", "second"] and order[0][1] == order[1][1]
    deadline = time.monotonic() + 10
    while pool.threads and time.monotonic() < deadline:  # idle past idle_timeout: the thread ends
        time.sleep(0.01)
    assert pool.threads == 0
    pool.close(10)


class _PatientRunner(ScriptRunner):
    IDLE_TIMEOUT = 60.0  # the test never depends on how fast the machine is


@pytest.mark.clause("NET-RUNNER-1")
def test_a_runner_runs_a_script_in_its_own_thread_and_its_end_is_its_ticket_not_its_thread() -> None:
    runner = _PatientRunner(name="phprt-test-script")
    seen: list[tuple[str, int, int]] = []
    ended: list[str] = []

    def script() -> None:
        seen.append((threading.current_thread().name, threading.get_ident(), runner.running))

    first = runner.submit(ScriptCall(script, {}, b"", "cgi"), MemoryTransport(), done=lambda o: ended.append("one"))
    assert (outcome := first.wait(10)) is not None and outcome.error is None and outcome.runtime is not None
    assert ended == ["one"] and runner.running == 0
    threads = [thread for thread in threading.enumerate() if thread.name == "phprt-test-script"]
    assert len(threads) == 1 and threads[0].is_alive()  # ended its script, kept for the next
    outcomes: list[object] = []
    runner.pool.submit(lambda: outcomes.append(runner.run(ScriptCall(script, {}, b"", "cgi"), MemoryTransport(),
                                                          done=lambda o: ended.append("two"))))
    assert runner.join(10)
    deadline = time.monotonic() + 10
    while not outcomes and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ended == ["one", "two"] and len(outcomes) == 1
    assert [(name, running) for name, _, running in seen] == [("phprt-test-script", 1)] * 2
    assert seen[0][1] == seen[1][1]  # the same thread ran both scripts
    assert runner.close(10)


@pytest.mark.clause("SERVE-WORKERS-1")
def test_serve_refuses_fewer_than_one_worker(tmp_path: Path) -> None:
    from phprt.server import serve

    with pytest.raises(ValueError, match="--workers"):
        serve(tmp_path, "127.0.0.1:0", workers=0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
        return body


@pytest.mark.clause("SERVE-WORKERS-1", "SERVE-CLI-1")
def test_serve_workers_forks_processes_that_share_the_socket_and_stop_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "index.py").write_text('from phprt.php import *\necho("hello")\n')
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "phprt", "serve", "--workers", "2", "--listen",
                                f"127.0.0.1:{port}", str(tmp_path)], cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                bodies = [_get(f"http://127.0.0.1:{port}/") for _ in range(4)]
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert bodies == [b"hello"] * 4
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        assert len(children) == 2
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(20)
    assert status == 0


@pytest.mark.clause("SERVE-WORKERS-1", "NET-PERF-10")
def test_serve_workers_beyond_the_cpus_take_the_connections_the_others_leave_waiting(tmp_path: Path) -> None:
    # On one CPU, two of the three workers are spares; each answers one request at a time, so
    # the connections the busy worker leaves waiting in the queue are taken by the spares.
    import os
    from concurrent.futures import ThreadPoolExecutor

    (tmp_path / "pid.py").write_text("from phprt.php import *\nimport os\nusleep(100000)\necho(os.getpid())\n")
    port = _free_port()
    cpu = sorted(os.sched_getaffinity(0))[:1]
    process = subprocess.Popen([sys.executable, "-m", "phprt", "serve", "--workers", "3", "--max-requests", "1",
                                "--listen", f"127.0.0.1:{port}", str(tmp_path)], cwd=ROOT, stderr=subprocess.DEVNULL,
                               preexec_fn=lambda: os.sched_setaffinity(0, cpu))
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                _get(f"http://127.0.0.1:{port}/pid.py")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        children = {int(pid) for pid in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()}

        def pid(_: int) -> int:  # the request sent with the connection, as nginx sends one
            with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
                sock.sendall(b"GET /pid.py HTTP/1.0\r\nHost: x\r\n\r\n")
                response = b""
                while chunk := sock.recv(65536):
                    response += chunk
            return int(response.partition(b"\r\n\r\n")[2])

        pids: set[int] = set()
        for _ in range(5):  # batches of 8 until a spare has answered (each leaves some 700 ms of queue)
            with ThreadPoolExecutor(max_workers=8) as pool:
                pids.update(pool.map(pid, range(8)))
            if len(pids) > 1:
                break
        assert len(pids) > 1 and pids <= children
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(20)
    assert status == 0


def test_the_serve_benchmarks_register_and_say_not_measured_without_wrk(monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks import serve_http
    from benchmarks.common import REGISTRY

    assert REGISTRY["serve_http"] is serve_http.serve_vs_php_s
    monkeypatch.setattr(serve_http, "wrk_available", lambda: False)
    results = serve_http.serve_vs_php_s(True)
    assert results and all(result.baseline is None and result.ratio is None for result in results)


@pytest.mark.clause("SERVE-NEXT-1", "SERVE-KEEP-1")
def test_pipelined_requests_on_a_kept_connection_are_answered_by_the_thread_that_answered_the_first() -> None:
    import io

    from phprt import php
    from phprt.server import HttpServer
    from tests.support.http import connect, get, read_reply

    threads: list[int] = []

    def script() -> None:
        threads.append(threading.get_ident())
        php.echo(php.runtime().server["REQUEST_URI"])

    with HttpServer(script, log=io.StringIO()) as server, connect(server) as sock, sock.makefile("rb") as fp:
        sock.sendall(get("/a") + get("/b") + get("/c", "HTTP/1.1", "Connection: close"))  # one write: all there
        assert [read_reply(fp).body for _ in range(3)] == [b"/a", b"/b", b"/c"]
    assert len(threads) == 3 and len(set(threads)) == 1


@pytest.mark.clause("SERVE-NEXT-1", "SERVE-TIMEOUT-1")
def test_a_next_request_sent_in_pieces_is_still_answered_once_whole() -> None:
    import io

    from phprt import php
    from phprt.server import HttpServer
    from tests.support.http import connect, get, read_reply

    def script() -> None:
        php.echo(php.runtime().server["REQUEST_URI"])

    with HttpServer(script, log=io.StringIO()) as server, connect(server) as sock, sock.makefile("rb") as fp:
        sock.sendall(get("/a"))
        assert read_reply(fp).body == b"/a"
        request = get("/b", "HTTP/1.1", "Connection: close")
        sock.sendall(request[:10])
        time.sleep(0.05)  # not a timing assertion: the loop reads the first piece alone
        sock.sendall(request[10:])
        assert read_reply(fp).body == b"/b"


# -- NET-LOOP-1: requests answered in the loop's thread, relieved when one runs long ---------------


@pytest.mark.clause("NET-LOOP-1", "SERVE-RUN-1")
def test_short_requests_are_answered_one_after_another_in_the_thread_that_runs_the_loop(make_server) -> None:
    from phprt import php
    from tests.support.http import ask, get

    names: list[str] = []

    def script() -> None:
        names.append(threading.current_thread().name)
        php.echo("ok")

    server = make_server(script)
    replies = [ask(server, get("/", "HTTP/1.1", "Connection: close")) for _ in range(5)]
    assert [reply.body for reply in replies] == [b"ok"] * 5
    assert names == ["phprt-http-accept"] * 5  # the thread start() made runs the loop, and the scripts


@pytest.mark.clause("NET-LOOP-1", "SERVE-CONCURRENT-1")
def test_a_request_that_blocks_hands_the_loop_over_and_the_others_are_answered_meanwhile(make_server) -> None:
    from phprt import php
    from tests.support.http import TIMEOUT, ask, connect, get, read_reply

    release, threads = threading.Event(), {}

    def script() -> None:
        uri = php.runtime().server["REQUEST_URI"]
        threads[uri] = threading.current_thread().name
        if uri == "/block":
            release.wait(TIMEOUT)  # bounded: the test sets it once the other request is answered
        php.echo(uri)

    server = make_server(script)
    with connect(server) as blocked, blocked.makefile("rb") as fp:
        blocked.sendall(get("/block", "HTTP/1.1", "Connection: close"))
        other = ask(server, get("/other", "HTTP/1.1", "Connection: close"))
        assert other.body == b"/other" and not release.is_set()  # answered while /block still runs
        release.set()
        assert read_reply(fp).body == b"/block"
    assert threads["/block"] != threads["/other"] and threads["/other"] == "phprt-http-relief"


# -- SERVE-SEND-1: the head with the body's first piece -------------------------------------------


class _Sends:
    """A stand-in for a connection: what each send was."""

    gone = False
    write_closed = False

    def __init__(self) -> None:
        self.sends: list[bytes] = []

    def send(self, data: bytes) -> bool:
        self.sends.append(data)
        return True

    def reset_seen(self) -> bool:
        return False

    def hold_small_writes(self, hold: bool) -> None:
        self.holding = hold

    def shut_write(self) -> None:
        self.write_closed = True


@pytest.mark.clause("SERVE-SEND-1")
def test_the_head_goes_with_the_first_piece_and_the_last_chunk_alone() -> None:
    from phprt import php
    from phprt.engine.runtime import Runtime
    from phprt.net.http11 import RequestHead
    from phprt.transports.http import HttpTransport

    channel = _Sends()
    transport = HttpTransport(channel, RequestHead("GET", "/", "/", (1, 1), "HTTP/1.1", ()))  # type: ignore[arg-type]
    with Runtime(transport=transport, sapi="cli-server"):
        php.echo("one")
        assert len(channel.sends) == 1 and channel.sends[0].startswith(b"HTTP/1.1 200 OK\r\n")
        assert channel.sends[0].endswith(b"\r\n\r\n3\r\none\r\n")
        php.echo("two")
        assert channel.sends[1:] == [b"3\r\ntwo\r\n"]
    transport.finish()
    assert channel.sends[2:] == [b"0\r\n\r\n"]


@pytest.mark.clause("SERVE-SEND-1", "SERVE-ABORT-1")
def test_a_client_gone_before_the_head_stops_the_script_at_its_first_write(make_server) -> None:
    """Recorded from php -S: a client that sent its request and hung up before any output; the
    script (usleep, then five echo+flush, counting) ends at the first echo: the shutdown
    function sees connection_status() 1 and a count of 0."""
    from phprt import php
    from tests.support.http import TIMEOUT, connect, get, wait_for

    hung_up, seen, count = threading.Event(), [], [0]

    def script() -> None:
        php.register_shutdown_function(lambda: seen.append((php.connection_status(), count[0])))
        hung_up.wait(TIMEOUT)
        for index in range(5):
            php.echo(f"piece {index}\n")
            php.flush()
            count[0] += 1
            php.usleep(50_000)

    server = make_server(script)
    with connect(server) as sock:
        sock.sendall(get("/"))
        wait_for(lambda: server.runner.running, "the script to start")
    hung_up.set()
    wait_for(lambda: seen, "the shutdown function")
    assert seen == [(1, 0)]


@pytest.mark.clause("NET-PERF-6", "NET-POOL-1")
def test_a_job_goes_to_the_thread_idle_most_recently() -> None:
    pool = WorkerPool(4, name="phprt-test-pool", idle_timeout=10.0)
    ran: list[int] = []
    gates = [threading.Event() for _ in range(2)]

    def until(condition: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + 10
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.005)
        return condition()

    try:
        for gate in gates:  # two threads, both busy
            pool.submit(lambda gate=gate: (ran.append(threading.get_ident()), gate.wait(10)))  # type: ignore[misc]
        assert until(lambda: len(ran) == 2) and pool.threads == 2
        for count, gate in enumerate(gates, 1):  # the first goes idle, then the second
            gate.set()
            assert until(lambda: len(pool._idle) == count)  # noqa: B023
        last = threading.Event()
        pool.submit(lambda: (ran.append(threading.get_ident()), last.set()))
        assert last.wait(10)
        assert ran[2] == ran[1] and pool.threads == 2  # the one idle last; no new thread
    finally:
        for gate in gates:
            gate.set()
        assert pool.close(10)


@pytest.mark.clause("NET-PERF-6", "NET-POOL-1")
def test_done_is_called_once_the_thread_is_free() -> None:
    pool = WorkerPool(4, name="phprt-test-pool", idle_timeout=10.0)
    ran: list[int] = []
    finished = threading.Event()
    try:
        pool.submit(lambda: ran.append(threading.get_ident()),
                    lambda: pool.submit(lambda: (ran.append(threading.get_ident()), finished.set())))
        assert finished.wait(10)
        assert ran[0] == ran[1] and pool.threads == 1  # the job submitted from done took the freed thread
    finally:
        assert pool.close(10)


@pytest.mark.clause("NET-POOL-2")
def test_a_job_beyond_the_running_ones_runs_next_in_the_thread_that_ends_first() -> None:
    # running=1: the second job waits for the first and runs in its thread; no second thread starts
    pool = WorkerPool(4, name="phprt-test-pool", idle_timeout=10.0, running=1, relief=60.0)
    gate, done = threading.Event(), threading.Event()
    seen: list[int] = []

    def first() -> None:
        seen.append(threading.get_ident())
        assert gate.wait(10)

    def second() -> None:
        seen.append(threading.get_ident())
        done.set()

    pool.submit(first)
    pool.submit(second)
    assert pool.threads == 1  # the second waits, with no thread of its own
    gate.set()
    assert done.wait(10)
    assert seen[0] == seen[1] and pool.threads == 1
    assert pool.close(10)


@pytest.mark.clause("NET-POOL-2")
def test_a_job_waiting_on_blocked_ones_gets_a_thread_after_the_relief() -> None:
    # The running job blocks until the waiting one has run: only the relief can let it run.
    pool = WorkerPool(4, name="phprt-test-pool", idle_timeout=10.0, running=1, relief=0.01)
    released = threading.Event()
    seen: list[int] = []

    def blocked() -> None:
        seen.append(threading.get_ident())
        assert released.wait(10)

    def waiting() -> None:
        seen.append(threading.get_ident())
        released.set()

    pool.submit(blocked)
    pool.submit(waiting)
    assert released.wait(10)
    assert len(seen) == 2 and seen[0] != seen[1] and pool.threads == 2
    assert pool.close(10)
    with pytest.raises(ValueError):
        WorkerPool(2, name="phprt-test-pool", running=0)


@pytest.mark.clause("NET-POOL-2", "ASGI-THREAD-1")
def test_a_gateways_sleeping_scripts_do_not_keep_the_others_waiting(tmp_path: Path) -> None:
    # Through ASGIApp's script threads: 4 scripts that each wait for all 4 to have started can
    # only end if the 2 running ones are relieved: each gets a thread of its own.
    from phprt.asgi import ASGIApp
    from phprt.transports.gateway import ResponseChannel
    from tests.support.asgi import take

    started = threading.Barrier(4, timeout=10)
    app = ASGIApp(lambda: (started.wait(), print("ok", end="")))
    channels = [ResponseChannel() for _ in range(4)]
    for channel in channels:
        app.scripts.submit(ScriptCall(app.site.script, {"REQUEST_METHOD": "GET"}, b"", "cgi"), channel)
    bodies = []
    for channel in channels:
        taken = b""
        while True:
            _, data, done = take(channel)
            taken += data
            if done:
                break
        bodies.append(taken)
    assert bodies == [b"ok"] * 4 and app.join(10)
    app.scripts.close()


@pytest.mark.clause("SERVE-SEND-2", "SERVE-SEND-1")
def test_small_writes_gather_from_the_third_until_a_flush_or_the_end() -> None:
    from phprt import php
    from phprt.engine.runtime import Runtime
    from phprt.net.http11 import RequestHead
    from phprt.net.listener import Link
    from phprt.transports.http import HttpTransport

    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    sock, _ = listener.accept()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the server accepts it
    listener.close()

    def nodelay() -> int:
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)

    try:
        channel = Link(sock, 5.0)
        channel.in_loop = False  # a request's thread sends
        transport = HttpTransport(channel, RequestHead("GET", "/", "/", (1, 1), "HTTP/1.1", ()))
        seen = []
        with Runtime(transport=transport, sapi="cli-server"):
            for word in ("a", "b", "c", "d"):
                php.echo(word)
                seen.append(nodelay())
            php.flush()
            seen.append(nodelay())
            for word in ("e", "f", "g"):
                php.echo(word)
            seen.append(nodelay())
        transport.finish()
        seen.append(nodelay())
        assert seen == [1, 0, 0, 0, 1, 0, 1]  # held once two writes went; a flush and the end push
        client.settimeout(5.0)
        received = b""
        while not received.endswith(b"0\r\n\r\n"):
            received += client.recv(65536)
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Transfer-Encoding: chunked" in head
        assert body == b"".join(b"1\r\n%s\r\n" % bytes([word]) for word in b"abcdefg") + b"0\r\n\r\n"
    finally:
        client.close()
        sock.close()


@pytest.mark.clause("SERVE-SEND-2", "SERVE-KEEP-1", "PERF-ECHO-4")
def test_a_page_of_many_echos_and_the_next_response_arrive_whole_through_serve(make_server) -> None:
    # Through the server: many small writes gather, a flush pushes them, the end pushes the rest,
    # and the connection's next response starts by sending at once again.
    from phprt import php
    from tests.support.http import connect, read_reply

    def page() -> None:
        for i in range(50):
            php.echo("<li>", i, "</li>")
            if i == 25:
                php.flush()

    server = make_server(page)
    expected = b"".join(b"<li>%d</li>" % i for i in range(50))
    with connect(server) as sock, sock.makefile("rb") as fp:
        for _ in range(2):  # two requests on one kept connection
            sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            reply = read_reply(fp)
            assert reply.status == 200 and reply.body == expected
