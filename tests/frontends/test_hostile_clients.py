"""Hostile clients against both servers (spec/security.md): slow, idle, huge and malformed.

Every test talks to a real server on 127.0.0.1 with short configured timeouts (fractions
of a second) and generous safety timeouts; nothing measures speed, and every loop is
bounded. ``benchmarks/hostile_clients.py`` measures at scale what these check: a normal
request's latency among 300 slow clients, the peak memory of eight 64 MiB uploads, 3,000
idle FastCGI connections. What PHP does is quoted where a test compares with it: ``php -n
-S`` and ``php-fpm8.2 -n`` 8.2.36, recorded by hand with a raw socket client.
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from phprt.fastcgi import FastCgiServer
from phprt.server import HttpServer
from tests.support import ROOT, uploads
from tests.support.fastcgi import (
    BEGIN,
    END,
    PARAMS,
    STDIN,
    STDOUT,
    Client,
    exchange,
    fcgi_request,
    nginx_params,
    pairs,
    record,
)
from tests.support.http import (
    TIMEOUT,
    ask,
    assert_still_serving,
    connect,
    get,
    log_of,
    read_reply,
    read_to_eof,
    wait_for,
)

HEAD = b"GET /hello.py HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"a" * 4000


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    (root / "hello.py").write_text("from phprt.php import *\necho('hello')\n")
    (root / "token.py").write_text("from phprt.php import *\necho('token=' + _GET['t'] + ' ' + runtime().input.decode())\n")
    (root / "digest.py").write_text(
        "import hashlib\nfrom phprt.php import *\nbody = runtime().input\n"
        "echo(str(len(body)), ' ', hashlib.sha256(body).hexdigest())\n")
    # php -S's in.php: echo "post=", count($_POST), " input=", strlen($in), " cl=", $_SERVER['CONTENT_LENGTH'] ?? '-', "\n";
    (root / "in.py").write_text(
        "from phprt.php import *\ninput = runtime().input\n"
        "echo('post=', len(_POST), ' input=', len(input), ' cl=', _SERVER.get('CONTENT_LENGTH', '-'), '\\n')\n")
    return root


def gate_script(root: Path, tmp_path: Path) -> Path:
    """gate.py?n=N notes that it started (started-N), waits for the file ``open``, then
    answers with N and its body's length."""
    (root / "gate.py").write_text(
        "import os, time\nfrom phprt.php import *\n"
        f"n = _GET['n']\nopen(os.path.join({str(tmp_path)!r}, 'started-' + n), 'w').close()\n"
        f"for _ in range(2000):\n    if os.path.exists(os.path.join({str(tmp_path)!r}, 'open')):\n        break\n"
        "    time.sleep(0.01)\n"
        "echo(n, ' ', len(runtime().input))\n")
    return tmp_path / "open"


@pytest.fixture
def make_fcgi() -> Iterator[Callable[..., FastCgiServer]]:
    servers: list[FastCgiServer] = []

    def make(target: Any, **options: Any) -> FastCgiServer:
        server = FastCgiServer(target, "127.0.0.1:0", **options)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.shutdown()


def closed_or_answered(sock: socket.socket) -> bytes:
    """What the server sends before it closes (b"" for a close without a word)."""
    sock.settimeout(TIMEOUT)
    try:
        return read_to_eof(sock)
    except ConnectionResetError:
        return b""


def quiet(sock: socket.socket, seconds: float) -> bool:
    """Whether nothing arrives on ``sock`` for ``seconds`` (a bounded wait, not a measurement)."""
    return not select.select([sock], [], [], seconds)[0]


# -- HTTP: slow clients ---------------------------------------------------------------------------


@pytest.mark.clause("SERVE-SLOW-1", "DEV-HOSTILE-1")
def test_slow_clients_hold_no_thread_and_a_normal_request_is_answered_meanwhile(make_server, docroot) -> None:
    """php -S reads its clients in one event loop too: a connection that sent half a head
    did not delay another request (answered at once); it was still open, unanswered, 20 s later."""
    server = make_server(docroot)
    before = threading.active_count()
    tricklers = [connect(server) for _ in range(300)]  # the 300 slowloris clients
    try:
        for index in range(3):  # every connection sends a few bytes of its head, a byte at a time
            for sock in tricklers:
                sock.send(HEAD[index:index + 1])
        wait_for(lambda: log_of(server).count("Accepted") == 300, "the server to accept them all")
        assert threading.active_count() <= before  # 300 slow connections, not one thread more
        reply = ask(server, get("/hello.py", "HTTP/1.1", "Connection: close"))
        assert (reply.status, reply.body) == (200, b"hello")
        assert all(quiet(sock, 0) for sock in tricklers)  # and they are still waited for
    finally:
        for sock in tricklers:
            sock.close()


@pytest.mark.clause("SERVE-SLOW-1")
def test_past_max_connections_the_connection_that_waited_longest_makes_room(make_server, docroot) -> None:
    server = make_server(docroot, max_connections=8)
    tricklers = [connect(server) for _ in range(8)]
    try:
        for sock in tricklers:
            sock.send(HEAD[:10])
        wait_for(lambda: log_of(server).count("Accepted") == 8, "the server to accept them")
        reply = ask(server, get("/hello.py", "HTTP/1.1", "Connection: close"))
        assert (reply.status, reply.body) == (200, b"hello")  # it took the place of the oldest one
        assert closed_or_answered(tricklers[0]) == b""  # closed without a word
        assert "Closed to make room (max_connections 8)" in log_of(server)
        more = [connect(server) for _ in range(30)]  # a flood that keeps coming back
        try:
            for sock in more:
                sock.send(HEAD[:10])
            for _ in range(3):
                assert ask(server, get("/hello.py", "HTTP/1.1", "Connection: close")).body == b"hello"
        finally:
            for sock in more:
                sock.close()
    finally:
        for sock in tricklers:
            sock.close()


@pytest.mark.clause("SERVE-TIMEOUT-1", "SERVE-REFUSE-1")
def test_a_head_that_keeps_trickling_is_cut_off_at_header_timeout(make_server, docroot) -> None:
    server = make_server(docroot, idle_timeout=60.0, header_timeout=0.5, read_timeout=60.0)
    with connect(server) as slow:
        answered = False
        for byte in HEAD[:1000]:  # a byte every 20 ms, never a whole head
            if not quiet(slow, 0):
                answered = True
                break
            slow.send(bytes([byte]))
            time.sleep(0.02)
        assert answered
        assert closed_or_answered(slow).startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert "Invalid request (Request timeout)" in log_of(server)
    assert_still_serving(server)


@pytest.mark.clause("SERVE-TIMEOUT-1", "SERVE-SLOW-1")
def test_a_body_that_keeps_trickling_is_cut_off_at_read_timeout(make_server, docroot) -> None:
    server = make_server(docroot, read_timeout=0.5)
    before = threading.active_count()
    with connect(server) as slow:
        slow.sendall(b"POST /digest.py HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")
        answered = False
        for _ in range(1000):
            if not quiet(slow, 0):
                answered = True
                break
            slow.send(b"x")
            assert threading.active_count() <= before  # its head arrived, its request did not: no thread
            time.sleep(0.02)
        assert answered
        assert closed_or_answered(slow).startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert_still_serving(server)


# -- HTTP: large bodies --------------------------------------------------------------------------


@pytest.mark.clause("SERVE-BODY-1", "SERVE-CHUNKED-1")
def test_a_body_past_body_buffer_reaches_the_script_whole(make_server, docroot) -> None:
    body = bytes(range(256)) * 1200  # 300 KiB, 300 times body_buffer
    expected = b"%d %s" % (len(body), hashlib.sha256(body).hexdigest().encode())
    server = make_server(docroot, body_buffer=1024)
    reply = ask(server, b"POST /digest.py HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    assert reply.body == expected
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7000]), body[i:i + 7000]) for i in range(0, len(body), 7000))
    reply = ask(server, b"POST /digest.py HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
    assert reply.body == expected


def temporary_files() -> set[str]:
    """What this process's descriptors of temporary files without a name (a spooled body's,
    an upload's) point to: other tests' servers may close their sockets meanwhile."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.endswith(" (deleted)"):
            found.add(f"{fd} {target}")
    return found


@pytest.mark.clause("PERF-UPLOAD-2", "SERVE-BODY-1")
def test_an_upload_on_disk_is_parsed_as_it_is_read_never_whole_in_memory(make_server, docroot) -> None:
    (docroot / "upload.py").write_text(uploads.SCRIPT)
    server = make_server(docroot, ini=uploads.INI)
    body, content = uploads.upload(4 << 20)
    request = (b"POST /upload.py HTTP/1.1\r\nHost: t\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
               b"Connection: close\r\n\r\n" % (uploads.CONTENT_TYPE.encode(), len(body))) + body
    files = temporary_files()
    with uploads.traced():
        reply = ask(server, request)
    report, _, peak = reply.body.rpartition(b" ")
    assert report + b" " == uploads.expected(content)
    assert int(peak) < len(content) // 2, peak  # under 1 MiB; read back whole, the body alone took 4 MiB
    wait_for(lambda: temporary_files() <= files, "the body's file to close")


@pytest.mark.clause("SERVE-BODY-1")
def test_a_post_over_post_max_size_is_php_s_and_php_input_has_it_all(make_server, docroot) -> None:
    """php -n -d post_max_size=1K -S, in.php (the docroot fixture): a 4000-byte form gave the
    warning below and "post=0 input=4000 cl=4000"; a 5058-byte multipart form the warning
    without "PHP Request Startup: " and "post=0 input=5058 cl=5058"."""
    server = make_server(docroot, ini={"post_max_size": "1K"}, body_buffer=1024)
    form = b"a=1&" * 1000
    reply = ask(server, b"POST /in.py HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                        b"Content-Length: 4000\r\nConnection: close\r\n\r\n" + form)
    assert reply.body == (b"<br />\n<b>Warning</b>:  PHP Request Startup: POST Content-Length of 4000 bytes exceeds the "
                          b"limit of 1024 bytes in <b>Unknown</b> on line <b>0</b><br />\npost=0 input=4000 cl=4000\n")
    multipart = b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n" + b"x" * 5000 + b"\r\n--b--\r\n"
    reply = ask(server, b"POST /in.py HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(multipart) + multipart)
    assert reply.body == (b"<br />\n<b>Warning</b>:  POST Content-Length of 5058 bytes exceeds the limit of 1024 bytes "
                          b"in <b>Unknown</b> on line <b>0</b><br />\npost=0 input=5058 cl=5058\n")


@pytest.mark.clause("SERVE-BODY-1", "SERVE-CONCURRENT-1")
def test_bodies_read_back_from_disk_wait_for_body_memory(make_server, docroot, tmp_path) -> None:
    gate = gate_script(docroot, tmp_path)
    server = make_server(docroot, body_buffer=1024, body_memory=64 * 1024)
    body = b"x" * 50_000  # on disk while it arrives; two of them do not fit in body_memory
    first, second = connect(server), connect(server)
    try:
        first.sendall(b"POST /gate.py?n=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 50000\r\nConnection: close\r\n\r\n" + body)
        wait_for((tmp_path / "started-1").exists, "the first script")
        second.sendall(b"POST /gate.py?n=2 HTTP/1.1\r\nHost: t\r\nContent-Length: 50000\r\nConnection: close\r\n\r\n" + body)
        assert ask(server, get("/hello.py", "HTTP/1.1", "Connection: close")).body == b"hello"  # a small one goes ahead
        assert quiet(second, 0.3) and not (tmp_path / "started-2").exists()  # the second waits for memory
        gate.write_text("")
        with first.makefile("rb") as fp:
            assert read_reply(fp).body == b"1 50000"
        with second.makefile("rb") as fp:
            assert read_reply(fp).body == b"2 50000"
    finally:
        first.close()
        second.close()


# -- HTTP: everything at once ----------------------------------------------------------------------


def _hostile(server: HttpServer, payload: bytes, *, half_close: bool) -> bytes:
    with connect(server) as sock:
        try:
            sock.sendall(payload)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            return b""
        return closed_or_answered(sock)


HOSTILE = [  # (payload, half-close after it, the statuses it may get; b"" is a close without a word)
    (b"", False, {b""}),  # connects and says nothing
    (HEAD[:50], False, {b"408"}),  # half a head, then silence
    (b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hello.py HTTP/1.1\r\nHost: t\r\n\r\n", False, {b"400"}),
    (b"POST /token.py?t=smuggled HTTP/1.1\r\nHost: t\r\nContent-Length: 999999999999\r\n\r\n", False, {b"413"}),
    (b"POST /token.py?t=x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc", True, {b"400"}),  # body cut short
    (b"POST /token.py?t=x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc", False, {b"408"}),  # body never ends
    (b"POST /token.py?t=x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n", False, {b"100"}),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(200), False, {b"408"}),  # a TLS hello: no line end
    (b"\r\n" * 5000, False, {b""}),  # empty lines only
    (b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n", True, {b"400", b"404"}),
    (b"GET /hello.py HTTP/1.1\r\nHost: t\r\n" + b"X: y\r\n" * 200 + b"\r\n", False, {b"431"}),
]


@pytest.mark.clause("SERVE-SLOW-1", "SERVE-TIMEOUT-1", "SERVE-REFUSE-1", "SERVE-SMUGGLE-1", "SERVE-LIMIT-1")
def test_hostile_clients_at_once_never_stop_the_server_nor_cross_another_s_answer(make_server, docroot) -> None:
    server = make_server(docroot, idle_timeout=0.5, header_timeout=0.7, read_timeout=0.7, max_connections=64)
    results: dict[int, bytes] = {}

    def hostile(index: int) -> None:
        payload, half_close, _ = HOSTILE[index % len(HOSTILE)]
        results[index] = _hostile(server, payload, half_close=half_close)

    def normal(token: int) -> None:
        body = b"body-%d" % token
        reply = ask(server, b"POST /token.py?t=%d HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                    % (token, len(body)) + body)
        results[1000 + token] = reply.body

    threads = [threading.Thread(target=hostile, args=(index,)) for index in range(3 * len(HOSTILE))]
    threads += [threading.Thread(target=normal, args=(token,)) for token in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    assert not any(thread.is_alive() for thread in threads)
    for token in range(20):  # each got its own answer, and only its own
        assert results[1000 + token] == b"token=%d body-%d" % (token, token)
    for index in range(3 * len(HOSTILE)):
        answer = results[index]
        statuses = re.findall(rb"^HTTP/1\.1 (\d{3}) ", answer, re.MULTILINE)
        expected = HOSTILE[index % len(HOSTILE)][2]
        assert (statuses[0] if statuses else b"") in expected, (index, answer[:200])
        assert b"token=" not in answer and b"TOPSECRET" not in answer
    assert_still_serving(server)


# -- HTTP: the command line ------------------------------------------------------------------------


def _serve(docroot: Path, *args: str) -> tuple[subprocess.Popen[bytes], int, queue.Queue[bytes]]:
    process = subprocess.Popen([sys.executable, "-m", "phprt", "serve", str(docroot), "--listen", "127.0.0.1:0", *args],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lines: queue.Queue[bytes] = queue.Queue()

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    started = lines.get(timeout=TIMEOUT).decode()
    match = re.search(r"http://127\.0\.0\.1:(\d+)\) started", started)
    assert match, started
    return process, int(match[1]), lines


@pytest.mark.clause("SERVE-CLI-2")
def test_the_command_line_sets_the_limits_and_timeouts(docroot) -> None:
    process, port, _ = _serve(docroot, "--header-timeout", "0.5", "--idle-timeout", "30", "--max-body", "1K",
                              "--max-connections", "4", "--max-requests", "2", "--body-buffer", "1K",
                              "--body-memory", "1M", "--read-timeout", "30", "--write-timeout", "5")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as slow:
            slow.sendall(HEAD[:30])
            assert closed_or_answered(slow).startswith(b"HTTP/1.1 408 ")  # --header-timeout
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as big:
            big.sendall(b"POST /digest.py HTTP/1.1\r\nHost: t\r\nContent-Length: 1025\r\n\r\n")
            assert closed_or_answered(big).startswith(b"HTTP/1.1 413 ")  # --max-body
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as fine, fine.makefile("rb") as fp:
            fine.sendall(b"POST /digest.py HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n" + b"y" * 1024)
            assert read_reply(fp).body == b"1024 " + hashlib.sha256(b"y" * 1024).hexdigest().encode()
    finally:
        process.terminate()
        process.wait(TIMEOUT)
        if process.stderr is not None:
            process.stderr.close()


# -- FastCGI ---------------------------------------------------------------------------------------


@pytest.mark.clause("FCGI-TIMEOUT-1", "FCGI-LIMIT-1", "DEV-HOSTILE-1")
def test_idle_connections_hold_no_thread_and_close_after_idle_timeout(make_fcgi, docroot) -> None:
    """php-fpm8.2 -n with one static child: a connection that sent five bytes of a
    BEGIN_REQUEST held the child, and another request waited until it was closed."""
    server = make_fcgi(docroot, idle_timeout=0.5, read_timeout=60.0)
    before = threading.active_count()
    idle = [Client(server.address) for _ in range(40)]
    try:
        for client in idle[:20]:
            client.send(record(BEGIN, bytes(8))[:5])  # half a record: a request has begun, read_timeout applies
        reply = exchange(server.address, fcgi_request(nginx_params(docroot, "/hello.py")))
        assert reply.stdout.endswith(b"hello") and reply.end() == (0, 0)
        # forty idle or slow connections, and not one thread more once that request's threads ended
        wait_for(lambda: threading.active_count() <= before, "the request's threads to end")
        for client in idle[20:]:
            assert client.read_eof().records == []  # closed without a word after idle_timeout
        assert all(quiet(client.sock, 0) for client in idle[:20])  # the half records are still waited for
    finally:
        for client in idle:
            client.close()


@pytest.mark.clause("FCGI-TIMEOUT-1")
def test_a_request_that_does_not_arrive_in_read_timeout_is_closed(make_fcgi, docroot) -> None:
    server = make_fcgi(docroot, idle_timeout=60.0, read_timeout=0.5)
    half, trickle = Client(server.address), Client(server.address)
    try:
        half.send(record(BEGIN, bytes(8))[:5])
        params = nginx_params(docroot, "/digest.py", method="POST", CONTENT_LENGTH="100000")
        trickle.send(record(BEGIN, b"\x00\x01" + bytes(6)) + record(PARAMS, pairs(params)) + record(PARAMS))
        for _ in range(500):  # a STDIN record every 20 ms, never the last
            try:
                trickle.send(record(STDIN, b"x" * 100))
            except OSError:
                break  # closed
            if not quiet(trickle.sock, 0.02):
                break
        assert trickle.read_eof().records == [] and half.read_eof().records == []
        assert exchange(server.address, fcgi_request(nginx_params(docroot, "/hello.py"))).stdout.endswith(b"hello")
    finally:
        half.close()
        trickle.close()


@pytest.mark.clause("FCGI-LIMIT-1")
def test_past_max_connections_the_connection_idle_longest_makes_room(make_fcgi, docroot) -> None:
    server = make_fcgi(docroot, max_connections=4)
    idle = [Client(server.address) for _ in range(4)]
    try:
        for client in idle:  # each served a request and is kept, as nginx keeps them
            client.send(fcgi_request(nginx_params(docroot, "/hello.py"), flags=1))
            client.read_end()
        reply = exchange(server.address, fcgi_request(nginx_params(docroot, "/hello.py")))
        assert reply.stdout.endswith(b"hello")
        closed, _, _ = select.select([client.sock for client in idle], [], [], TIMEOUT)
        assert len(closed) == 1  # one made room: the one idle longest (idle[0], unless its thread was slow)
        survivors = [client for client in idle if client.sock not in closed]
        assert [client for client in idle if client.sock in closed][0].read_eof().eof
        for client in survivors:  # the others still serve
            client.send(fcgi_request(nginx_params(docroot, "/hello.py"), request_id=2, flags=1))
            assert client.read_end(2).stream(STDOUT, 2).endswith(b"hello")
    finally:
        for client in idle:
            client.close()


@pytest.mark.clause("FCGI-LIMIT-1", "FCGI-MALFORMED-1", "FCGI-BEGIN-1")
def test_stdin_is_spooled_past_body_buffer_and_closed_past_max_body(make_fcgi, docroot) -> None:
    server = make_fcgi(docroot, body_buffer=1024, max_body=300_000)
    body = bytes(range(256)) * 1000
    params = nginx_params(docroot, "/digest.py", method="POST", CONTENT_LENGTH=str(len(body)))
    stdin = b"".join(record(STDIN, body[i:i + 60000]) for i in range(0, len(body), 60000))
    data = record(BEGIN, b"\x00\x01" + bytes(6)) + record(PARAMS, pairs(params)) + record(PARAMS) + stdin + record(STDIN)
    reply = exchange(server.address, data)
    assert reply.stdout.endswith(b"%d %s" % (len(body), hashlib.sha256(body).hexdigest().encode()))
    client = Client(server.address)
    try:
        try:
            client.send(data[: -len(record(STDIN))] + record(STDIN, b"x" * 50_000) + record(STDIN))  # 306,000 bytes
        except OSError:
            pass  # already closed
        reply = client.read_eof()
        assert reply.eof and reply.records == []
    finally:
        client.close()
    assert exchange(server.address, fcgi_request(nginx_params(docroot, "/hello.py"))).stdout.endswith(b"hello")


@pytest.mark.clause("PERF-UPLOAD-2", "FCGI-LIMIT-1")
def test_an_upload_in_stdin_on_disk_is_parsed_as_it_is_read_never_whole_in_memory(make_fcgi, docroot) -> None:
    (docroot / "upload.py").write_text(uploads.SCRIPT)
    server = make_fcgi(docroot, ini=uploads.INI)
    body, content = uploads.upload(4 << 20)
    params = nginx_params(docroot, "/upload.py", method="POST", CONTENT_TYPE=uploads.CONTENT_TYPE,
                          CONTENT_LENGTH=str(len(body)))
    stdin = b"".join(record(STDIN, body[i:i + 65535]) for i in range(0, len(body), 65535))
    data = record(BEGIN, b"\x00\x01" + bytes(6)) + record(PARAMS, pairs(params)) + record(PARAMS) + stdin + record(STDIN)
    files = temporary_files()
    with uploads.traced():
        reply = exchange(server.address, data)
    report, _, peak = reply.stdout.partition(b"\r\n\r\n")[2].rpartition(b" ")
    assert report + b" " == uploads.expected(content)
    assert int(peak) < len(content) // 2, peak  # under 1 MiB; read back whole, STDIN alone took 4 MiB
    wait_for(lambda: temporary_files() <= files, "STDIN's file to close")


@pytest.mark.clause("FCGI-LIMIT-1", "FCGI-CONCURRENT-1")
def test_stdin_read_back_waits_for_body_memory(make_fcgi, docroot, tmp_path) -> None:
    gate = gate_script(docroot, tmp_path)
    server = make_fcgi(docroot, body_buffer=1024, body_memory=64 * 1024)

    def request(n: int) -> bytes:
        params = nginx_params(docroot, "/gate.py", method="POST", query=f"n={n}", CONTENT_LENGTH="50000")
        return (record(BEGIN, b"\x00\x01" + bytes(6)) + record(PARAMS, pairs(params)) + record(PARAMS)
                + record(STDIN, b"x" * 50_000) + record(STDIN))

    first, second = Client(server.address), Client(server.address)
    try:
        first.send(request(1))
        wait_for((tmp_path / "started-1").exists, "the first script")
        second.send(request(2))
        assert exchange(server.address, fcgi_request(nginx_params(docroot, "/hello.py"))).stdout.endswith(b"hello")
        assert second.quiet_for(0.3).records == [] and not (tmp_path / "started-2").exists()
        gate.write_text("")
        assert first.read_end().stdout.endswith(b"1 50000")
        assert second.read_end().stdout.endswith(b"2 50000")
    finally:
        first.close()
        second.close()


@pytest.mark.clause("FCGI-LIMIT-1", "FCGI-TIMEOUT-1")
def test_the_fastcgi_command_line_sets_the_limits_and_timeouts(docroot, tmp_path) -> None:
    path = tmp_path / "fcgi.sock"
    process = subprocess.Popen(
        [sys.executable, "-m", "phprt", "fastcgi", str(docroot), "--listen", str(path), "--idle-timeout", "0.5",
         "--read-timeout", "0.5", "--max-connections", "8", "--listen-backlog", "16", "--max-children", "2",
         "--max-body", "1K", "--body-buffer", "512", "--body-memory", "1M", "--write-timeout", "5"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(path.exists, "the socket")
        idle = Client(str(path))
        try:
            assert idle.read_eof().records == []  # --idle-timeout
        finally:
            idle.close()
        params = nginx_params(docroot, "/digest.py", method="POST", CONTENT_LENGTH="1025")
        over = record(BEGIN, b"\x00\x01" + bytes(6)) + record(PARAMS, pairs(params)) + record(PARAMS)
        reply = exchange_or_eof(str(path), over + record(STDIN, b"z" * 1025) + record(STDIN))
        assert reply == []  # --max-body
        reply_records = exchange(str(path), fcgi_request(nginx_params(docroot, "/digest.py", method="POST",
                                                                      CONTENT_LENGTH="1024"), b"z" * 1024))
        assert reply_records.stdout.endswith(b"1024 " + hashlib.sha256(b"z" * 1024).hexdigest().encode())
    finally:
        process.terminate()
        process.wait(TIMEOUT)


def exchange_or_eof(address: Any, payload: bytes) -> list[tuple[int, int, bytes]]:
    """The records the server sends before it closes the connection."""
    client = Client(address)
    try:
        try:
            client.send(payload)
        except OSError:
            pass
        reply = client.read_eof()
        assert reply.eof and not any(kind == END for kind, _, _ in reply.records)
        return reply.records
    finally:
        client.close()
