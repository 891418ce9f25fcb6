"""The manual's user notes in examples/, served through WSGI, ASGI, FastCGI and nginx.

tests/frontends/test_server.py serves three of the examples over phprt's HTTP server and
compares with ``php -S``; this file serves the same three, in the same three
scenarios, through every other transport:

- WSGI: ``phprt.wsgi.WSGIApp`` under a threading ``wsgiref`` server, real sockets
  (tests/support/wsgi.py's ``serve``);
- ASGI: ``phprt.asgi.ASGIApp`` driven by tests/support/asgi.py's ``Exchange``, which
  plays an ASGI server (uvicorn's ``http.disconnect``) with real asyncio;
- FastCGI: ``phprt.fastcgi.FastCgiServer`` and tests/support/fastcgi.py's raw client,
  which sends what nginx sends; and nginx 1.22.1 itself in front of it
  (tests/support/nginx.py's ``Nginx``, README.md's server block).

WSGI and ASGI run the scripts as php-cgi (their default profile, WSGI-SAPI-1): the
expected values come from WSGI-ABORT-1 / ASGI-ABORT-1, WSGI-EARLY-1 and CONN-ABORT-1.
FastCGI runs them as PHP-FPM ("fpm"), and the expected values are what
``php-fpm8.2 -n`` (8.2.36) did with the PHP of each example (its docstring, the
work appending a line with microtime(true) to a log; the stop-button loop, which
has no PHP original, written out as in tests/frontends/test_server.py:

    function stopped() {
        global $step;
        logline("shutdown: connection_status()=" . connection_status() . " at step $step");
    }
    register_shutdown_function('stopped');
    for ($step = 1; $step < 6; $step++) {
        echo "Step $step done<br>\\n"; flush(); logline("step $step"); usleep(300000);
    }
    logline("finished");

), recorded by hand with ``-d auto_prepend_file=`` a shutdown function that logs
connection_status(), sleep() shortened to usleep(300000), a static pool of two
workers, and two clients: the raw FastCGI client of tests/support/fastcgi.py
(``nginx_params``, closing the connection to hang up) and nginx 1.22.1 with
README.md's server block (``.php`` for ``.py``) in front of the pool, on its unix
socket or on TCP (the client hanging up on nginx). Times are from the request:

- stop_button_loop.php, a client that hangs up once it has "Step 1 done<br>\\n"
  (at +0.001s): over a unix socket, raw or behind nginx, the log held "step 1" and
  "shutdown: connection_status()=1 at step 2" (step 2's flush() failed, +0.30s);
  over TCP, raw or behind nginx, "step 1", "step 2" and "... =1 at step 3" (+0.60s):
  the first send after the close is accepted (DEV-FCGI-PROTOCOL-1).
- stop_button_loop.php, a client that stays: a STDOUT record per step, 0.3 s
  apart, the head with the first ("X-Powered-By: PHP/8.2.36\\r\\nContent-type:
  text/html; charset=UTF-8\\r\\n\\r\\nStep 1 done<br>\\n"), then END_REQUEST; the log
  "step 1" .. "step 5", "finished", "shutdown: connection_status()=0 at step 6"
  (PHP's for loop leaves $step at 6; the port's range() leaves it at 5).
- close_connection_early.php, -d output_buffering=4096: STDOUT "X-Powered-By:
  PHP/8.2.36\\r\\nConnection: close\\r\\nContent-Length: 22\\r\\nContent-type: text/html;
  charset=UTF-8\\r\\n\\r\\nText the user will see" at +0.001s; the work ended at +0.301s;
  then "Text user will never see" and END_REQUEST together (+0.302s); the probe saw
  connection_status()=0. Behind nginx the client had the head (Content-Length: 22)
  and the 22 bytes at +0.001s.
- redirect_fastcgi_finish_request.php, -d output_buffering=4096: STDOUT "Status: 302
  Found\\r\\nX-Powered-By: PHP/8.2.36\\r\\nLocation: /thank-you.html\\r\\nConnection:
  close\\r\\nContent-Length: 0\\r\\nContent-type: text/html; charset=UTF-8\\r\\n\\r\\n" and
  END_REQUEST at +0.001s; the work logged at +0.301s; the probe saw 0. Behind nginx
  the client had "302 Found" with Location and Content-Length: 0 at +0.001s.

sleep() is shortened as tests/frontends/test_server.py's example_site does it, to 0.3 s, and
it first waits (bounded) at a gate the test opens once the client has what the
scenario is about: the whole response, or its hang-up. So "before the work ends"
is an order of two recorded moments, and "the script's next write after the
client left" does not depend on how fast the client was; no duration is measured.
"""

from __future__ import annotations

import http.client
import os
import runpy
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from phprt import php
from phprt.asgi import ASGIApp
from phprt.fastcgi import FastCgiServer
from phprt.wsgi import WSGIApp
from tests.support import EXAMPLES
from tests.support.asgi import Exchange, check_message_order
from tests.support.asgi import run as run_asgi
from tests.support.fastcgi import END, Client, fcgi_request, nginx_params
from tests.support.http import text_of, wait_for
from tests.support.nginx import Nginx, require_nginx
from tests.support.wsgi import connect, get, read_framed, read_to_end, read_until, serve, split_response

GATE = 10.0  # seconds a shortened sleep() waits for the test at most: a bound, never an expectation
SHORT = 300_000  # microseconds: every sleep() of an example, as in tests/frontends/test_server.py
OB_4096 = {"output_buffering": "4096"}  # what the php.ini files PHP ships set
STEPS = [f"Step {step} done<br>\n".encode() for step in range(1, 6)]
SEEN, NEVER_SEEN = b"Text the user will see", b"Text user will never see"
HUNG_UP_AT_2 = ["step 1", "shutdown: connection_status()=1 at step 2"]
ALL_STEPS = [*(f"step {step}" for step in range(1, 6)), "finished", "shutdown: connection_status()=0 at step 5"]
WORK = "work done after the redirect\n"
#: PHP-FPM's CGI heads as recorded, with phprt's X-Powered-By (DEV-POWERED-BY-1).
FPM_PAGE_HEAD = b"X-Powered-By: PHP/8.2 (phprt)\r\nContent-type: text/html; charset=UTF-8\r\n\r\n"
FPM_EARLY_HEAD = (b"X-Powered-By: PHP/8.2 (phprt)\r\nConnection: close\r\nContent-Length: 22\r\n"
                  b"Content-type: text/html; charset=UTF-8\r\n\r\n")
FPM_REDIRECT_HEAD = (b"Status: 302 Found\r\nX-Powered-By: PHP/8.2 (phprt)\r\nLocation: /thank-you.html\r\n"
                     b"Connection: close\r\nContent-Length: 0\r\nContent-type: text/html; charset=UTF-8\r\n\r\n")


# -- the examples as served scripts ----------------------------------------------------------


@dataclass
class Served:
    """One example as a target: a shutdown function registered first (as auto_prepend_file
    would) notes connection_status() in ``probe``; each sleep() of the example waits until
    ``gate`` is open, sleeps 0.3 s and notes (whether the gate opened, when it returned)."""

    name: str
    log: Path
    gate: threading.Event = field(default_factory=threading.Event)
    probe: list[int] = field(default_factory=list)
    slept: list[tuple[bool, float]] = field(default_factory=list)

    def script(self) -> None:
        php.register_shutdown_function(lambda: self.probe.append(php.connection_status()))
        runpy.run_path(str(EXAMPLES / self.name), run_name="__main__")

    def lines(self) -> list[str]:
        return text_of(self.log).splitlines()

    def work_ended(self) -> float:
        """When the example's (only) sleep() returned, having waited for an open gate."""
        assert [opened for opened, _ in self.slept] == [True], self.slept
        return self.slept[0][1]

    def wait_for_shutdown(self, count: int = 1) -> None:
        wait_for(lambda: len(self.probe) >= count and text_of(self.log).count("shutdown:") >= count,
                 "the example's shutdown functions")

    def reset(self, *, gate_open: bool) -> None:
        self.probe.clear()
        self.slept.clear()
        if self.log.exists():
            self.log.unlink()
        if gate_open:
            self.gate.set()
        else:
            self.gate.clear()


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[str], Served]:
    log = tmp_path / "example.log"
    monkeypatch.setenv("PHPRT_EXAMPLE_LOG", str(log))
    current: list[Served] = []

    def sleep(seconds: int) -> int:
        served = current[-1]
        opened = served.gate.wait(GATE)
        php.usleep(SHORT)
        served.slept.append((opened, time.monotonic()))
        return 0

    monkeypatch.setattr(php, "sleep", sleep)

    def make(name: str) -> Served:
        current.append(Served(name, log))
        return current[-1]

    return make


def whole_body(data: bytes) -> bool:
    """Whether DATA (a CGI or HTTP head, then body bytes) holds the whole body its Content-Length announces."""
    head, found, body = data.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


# -- WSGI: wsgiref, real sockets ----------------------------------------------------------------


@pytest.mark.clause("WSGI-ABORT-1", "WSGI-ITER-1", "CONN-ABORT-1", "EXAMPLES-1")
def test_wsgi_stop_button_loop_stops_at_a_later_write_or_runs_to_the_end(example) -> None:
    """php-cgi behind a web server learns of the client when its write fails, and the web
    server when its write to the client fails: wsgiref's first send after the client's
    close is accepted (TCP), its next one fails and closes the iterable (WSGI-ITER-1),
    and the script's next write or flush after that stops it (WSGI-ABORT-1). So the
    script writes step 2 (and perhaps step 3) to a client that has gone, and stops at
    step 3 or 4 -- before its end, with connection_status() 1 in its shutdown functions."""
    served = example("stop_button_loop.py")
    app = WSGIApp(served.script)
    with serve(app) as port:
        served.reset(gate_open=False)
        with connect(port) as sock:
            sock.sendall(get("/stop_button_loop.py"))
            data = read_until(sock, b"", STEPS[0])
        served.gate.set()  # the client has gone: the loop goes on to step 2
        assert split_response(data)[0] == "HTTP/1.0 200 OK" and data.endswith(STEPS[0])
        served.wait_for_shutdown()
        lines = served.lines()
        stopped = int(lines[-1].rpartition(" ")[2])
        assert stopped in (3, 4), lines
        assert lines == [*(f"step {step}" for step in range(1, stopped)),
                         f"shutdown: connection_status()=1 at step {stopped}"]
        assert served.probe == [1]
        assert app.join(GATE)

        served.reset(gate_open=True)  # a client that stays
        with connect(port) as sock:
            sock.sendall(get("/stop_button_loop.py"))
            status, _, body = split_response(read_to_end(sock))
        served.wait_for_shutdown()
    assert (status, body) == ("HTTP/1.0 200 OK", b"".join(STEPS))
    assert served.lines() == ALL_STEPS and served.probe == [0]


@pytest.mark.clause("WSGI-EARLY-1", "WSGI-HOP-1", "EXAMPLES-1")
def test_wsgi_close_connection_early_gives_the_client_its_22_bytes_before_the_work(example) -> None:
    """The body reaches the Content-Length of the head, so the client has all of it while
    the script sleeps; its last echo is dropped and succeeds."""
    served = example("close_connection_early.py")
    app = WSGIApp(served.script, ini=OB_4096)
    with serve(app) as port:
        with connect(port) as sock:
            sock.sendall(get("/close_connection_early.py"))
            status, fields, body = split_response(read_framed(sock))  # as its Content-Length says
            complete = time.monotonic()
        served.gate.set()
        assert app.join(GATE)
    assert (status, body) == ("HTTP/1.0 200 OK", SEEN)
    assert ("Content-Length", "22") in fields
    assert "connection" not in [name.lower() for name, _ in fields]  # hop-by-hop: wsgiref frames the response
    assert complete < served.work_ended()
    assert served.probe == [0]


@pytest.mark.clause("WSGI-EARLY-1", "DEV-FINISH-1", "EXAMPLES-1")
def test_wsgi_redirect_with_fastcgi_finish_request_reaches_the_client_before_the_work(example) -> None:
    """Content-Length: 0 completes the response with its head (WSGI-EARLY-1), and
    fastcgi_finish_request(), which every network transport offers (DEV-FINISH-1),
    returns; the work is done afterwards."""
    served = example("redirect_fastcgi_finish_request.py")
    app = WSGIApp(served.script, ini=OB_4096)
    with serve(app) as port:
        with connect(port) as sock:
            sock.sendall(get("/redirect_fastcgi_finish_request.py"))
            status, fields, body = split_response(read_framed(sock))
            complete = time.monotonic()
        assert text_of(served.log) == ""  # not yet: the work waits at the gate
        served.gate.set()
        assert app.join(GATE)
    assert (status, body) == ("HTTP/1.0 302 Found", b"")
    assert ("Location", "/thank-you.html") in fields and ("Content-Length", "0") in fields
    assert complete < served.work_ended()
    assert text_of(served.log) == WORK and served.probe == [0]


# -- ASGI: the asyncio harness ------------------------------------------------------------------


def _asgi(app: ASGIApp, target: str, prepare: Callable[[Exchange], None]) -> Exchange:
    """One ASGI call of ``app`` for ``target``, ``prepare``d; it returns when the script has ended."""

    async def main() -> Exchange:
        exchange = Exchange(app, get(target))
        prepare(exchange)
        return await exchange.run()

    exchange: Exchange = run_asgi(main())
    assert app.join(GATE)
    return exchange


@pytest.mark.clause("ASGI-ABORT-1", "WSGI-ABORT-1", "CONN-ABORT-1", "EXAMPLES-1")
def test_asgi_stop_button_loop_stops_at_the_first_write_after_the_disconnect(example) -> None:
    """http.disconnect before the response is complete is the client gone, and the
    script's next write fails (ASGI-ABORT-1): step 2's echo, as php-cgi's first write
    after its reader closed. A client that stays gets the five steps."""
    served = example("stop_button_loop.py")
    app = ASGIApp(served.script)

    def hang_up_after_step_1(exchange: Exchange) -> None:
        if STEPS[0] in exchange.body and not exchange.gone:
            exchange.hang_up()  # http.disconnect, as uvicorn sends it when the socket closes
            served.gate.set()

    served.reset(gate_open=False)
    exchange = _asgi(app, "/stop_button_loop.py", lambda ex: setattr(ex, "on_body", hang_up_after_step_1))
    served.wait_for_shutdown()
    assert exchange.start["status"] == 200 and exchange.body == STEPS[0]
    assert not exchange.complete.is_set()  # no final message to a client that has gone
    assert served.lines() == HUNG_UP_AT_2 and served.probe == [1]

    served.reset(gate_open=True)
    exchange = _asgi(app, "/stop_button_loop.py", lambda ex: None)
    served.wait_for_shutdown()
    check_message_order(exchange.messages)
    assert exchange.body == b"".join(STEPS)
    assert served.lines() == ALL_STEPS and served.probe == [0]


@pytest.mark.clause("ASGI-ABORT-1", "CONN-ABORT-1")
def test_asgi_stop_button_loop_when_send_raises_stops_at_step_2_or_3(example) -> None:
    """The other signal of ASGI-ABORT-1: a send() that raises OSError. The server learns
    of the client when it sends step 2, after the script wrote it; the script's flush()
    right after, or its next echo, fails: it stops at step 2 or 3."""
    served = example("stop_button_loop.py")
    app = ASGIApp(served.script)

    def hang_up_after_step_1(exchange: Exchange) -> None:
        if STEPS[0] in exchange.body and not exchange.gone:
            exchange.hang_up()  # the next send() raises
            served.gate.set()

    def prepare(exchange: Exchange) -> None:
        exchange.raise_when_gone = True
        exchange.on_body = hang_up_after_step_1

    served.reset(gate_open=False)
    exchange = _asgi(app, "/stop_button_loop.py", prepare)
    served.wait_for_shutdown()
    assert exchange.body == STEPS[0] and not exchange.complete.is_set()
    lines = served.lines()
    stopped = int(lines[-1].rpartition(" ")[2])
    assert stopped in (2, 3), lines
    assert lines == [*(f"step {step}" for step in range(1, stopped)),
                     f"shutdown: connection_status()=1 at step {stopped}"]
    assert served.probe == [1]


@pytest.mark.clause("WSGI-EARLY-1", "ASGI-SEND-1", "EXAMPLES-1")
def test_asgi_close_connection_early_completes_the_response_before_the_work(example) -> None:
    """The last body message (more_body false) goes out when the body reaches the
    Content-Length, while the script sleeps; the call returns when the script ends."""
    served = example("close_connection_early.py")
    app = ASGIApp(served.script, ini=OB_4096)
    exchange = _asgi(app, "/close_connection_early.py", lambda ex: setattr(served, "gate", ex.complete))
    check_message_order(exchange.messages)
    assert exchange.start["status"] == 200 and exchange.body == SEEN
    assert (b"content-length", b"22") in exchange.start["headers"]
    assert b"connection" not in [name for name, _ in exchange.start["headers"]]
    completed = exchange.sent[-1][0]
    assert completed < served.work_ended() <= exchange.returned
    assert served.probe == [0]


@pytest.mark.clause("WSGI-EARLY-1", "ASGI-SEND-1", "DEV-FINISH-1", "EXAMPLES-1")
def test_asgi_redirect_with_fastcgi_finish_request_reaches_the_client_before_the_work(example) -> None:
    served = example("redirect_fastcgi_finish_request.py")
    app = ASGIApp(served.script, ini=OB_4096)
    exchange = _asgi(app, "/redirect_fastcgi_finish_request.py", lambda ex: setattr(served, "gate", ex.complete))
    check_message_order(exchange.messages)
    assert exchange.start["status"] == 302 and exchange.body == b""
    assert (b"location", b"/thank-you.html") in exchange.start["headers"]
    assert (b"content-length", b"0") in exchange.start["headers"]
    completed = exchange.sent[-1][0]
    assert completed < served.work_ended() <= exchange.returned
    assert text_of(served.log) == WORK and served.probe == [0]


# -- FastCGI: the raw client, as nginx speaks to PHP-FPM ------------------------------------------


@pytest.fixture
def fastcgi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., FastCgiServer]]:
    """FastCgiServer(target, listen="tcp" or "unix", ini=...), running; stopped afterwards."""
    servers: list[FastCgiServer] = []

    def start(target: Callable[[], None], listen: str = "tcp", ini: dict[str, str] | None = None) -> FastCgiServer:
        address = str(tmp_path_factory.mktemp("sock") / "phprt.sock") if listen == "unix" else "127.0.0.1:0"
        server = FastCgiServer(target, address, ini=ini)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.shutdown()  # and close(): a unix socket's file goes too


def _fcgi_get(server: FastCgiServer, name: str) -> Client:
    client = Client(server.address)
    client.send(fcgi_request(nginx_params(EXAMPLES, f"/{name}")))
    return client


@pytest.mark.clause("FCGI-ABORT-1", "SAPI-FPM-1", "CONN-ABORT-1", "DEV-FCGI-PROTOCOL-1", "EXAMPLES-1")
@pytest.mark.parametrize("listen", ["unix", "tcp"])
def test_fastcgi_stop_button_loop_stops_at_the_flush_after_the_web_server_closed(example, fastcgi,
                                                                                listen: str) -> None:
    """PHP-FPM noticed the closed connection at step 2's flush() on a unix socket and at
    step 3's over TCP, where its first send after the close was accepted; phprt reads
    the connection while the script runs and fails the next flush at once on both, as
    PHP-FPM on a unix socket (DEV-FCGI-PROTOCOL-1)."""
    served = example("stop_button_loop.py")
    server = fastcgi(served.script, listen)
    served.reset(gate_open=False)
    client = _fcgi_get(server, "stop_button_loop.py")
    try:
        reply = client.read_until(lambda r: STEPS[0] in r.stdout)
    finally:
        client.close()  # the web server hangs up
    served.gate.set()
    served.wait_for_shutdown()
    assert reply.stdout == FPM_PAGE_HEAD + STEPS[0]  # flush() sent the record buffer (SAPI-FPM-1)
    assert served.lines() == HUNG_UP_AT_2 and served.probe == [1]


@pytest.mark.clause("FCGI-STDOUT-1", "FCGI-END-1", "SAPI-FPM-1", "EXAMPLES-1")
def test_fastcgi_stop_button_loop_sends_a_record_per_step_while_the_web_server_stays(example, fastcgi) -> None:
    served = example("stop_button_loop.py")
    server = fastcgi(served.script)
    served.reset(gate_open=False)
    client = _fcgi_get(server, "stop_button_loop.py")
    try:
        first = client.read_until(lambda r: STEPS[0] in r.stdout)  # step 1's flush(), before its sleep
        assert first.stdout == FPM_PAGE_HEAD + STEPS[0] and first.end() is None
        served.gate.set()
        reply = client.read_end()
    finally:
        client.close()
    served.wait_for_shutdown()
    assert reply.stdout == FPM_PAGE_HEAD + b"".join(STEPS) and reply.end() == (0, 0)
    assert served.lines() == ALL_STEPS and served.probe == [0]


@pytest.mark.clause("SAPI-FPM-1", "FCGI-STDOUT-1", "EXAMPLES-1")
def test_fastcgi_close_connection_early_gives_the_web_server_its_22_bytes_before_the_work(example,
                                                                                         fastcgi) -> None:
    """As PHP-FPM: flush() sends the head and the 22 bytes; the last echo stays in the
    record buffer until the request ends, and END_REQUEST follows the work."""
    served = example("close_connection_early.py")
    server = fastcgi(served.script, ini=OB_4096)
    client = _fcgi_get(server, "close_connection_early.py")
    try:
        early = client.read_until(lambda r: whole_body(r.stdout))
        complete = time.monotonic()
        served.gate.set()
        reply = client.read_end()
    finally:
        client.close()
    wait_for(lambda: served.probe, "the script's end")
    assert early.stdout == FPM_EARLY_HEAD + SEEN and early.end() is None
    assert reply.stdout == FPM_EARLY_HEAD + SEEN + NEVER_SEEN and reply.end() == (0, 0)
    assert complete < served.work_ended()
    assert served.probe == [0]


@pytest.mark.clause("FCGI-FINISH-1", "FPM-FINISH-1", "FPM-FINISH-2", "EXAMPLES-1")
def test_fastcgi_redirect_with_fastcgi_finish_request_ends_the_request_before_the_work(example, fastcgi) -> None:
    served = example("redirect_fastcgi_finish_request.py")
    server = fastcgi(served.script, ini=OB_4096)
    client = _fcgi_get(server, "redirect_fastcgi_finish_request.py")
    try:
        reply = client.read_end()  # END_REQUEST, and the connection closed (no KEEP_CONN)
        complete = time.monotonic()
        assert text_of(served.log) == ""  # not yet: the work waits at the gate
        served.gate.set()
    finally:
        client.close()
    wait_for(lambda: served.probe, "the script's end")
    assert reply.stdout == FPM_REDIRECT_HEAD and reply.end() == (0, 0)
    assert [kind for kind, _, _ in reply.records][-1] == END
    assert complete < served.work_ended()
    assert text_of(served.log) == WORK and served.probe == [0]


# -- nginx in front of the FastCGI responder --------------------------------------------------------


@pytest.fixture
def nginx_in_front(fastcgi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    """nginx with README.md's server block, root examples/, in front of a FastCgiServer for
    ``target`` on a unix socket (PHP-FPM's usual listen); skipped where nginx is absent."""
    require_nginx()
    running: list[Any] = []

    def start(target: Callable[[], None], ini: dict[str, str] | None = None) -> Any:
        server = fastcgi(target, "unix", ini)
        tmp = Path(os.path.realpath(tmp_path_factory.mktemp("nginx")))
        running.append(Nginx(tmp, Path(os.path.realpath(EXAMPLES)), [f"unix:{server.address}"]))
        return running[-1]

    yield start
    for nginx in running:
        nginx.stop()


@pytest.mark.clause("FCGI-NGINX-1", "FCGI-ABORT-1", "CONN-ABORT-1", "EXAMPLES-1")
def test_nginx_stop_button_loop_stops_at_the_flush_after_the_client_left(example, nginx_in_front) -> None:
    """nginx 1.22.1 closed its connection to PHP-FPM when the client hung up; PHP-FPM on
    a unix socket stopped at step 2's flush(). A client that stays gets every step."""
    served = example("stop_button_loop.py")
    nginx = nginx_in_front(served.script)
    served.reset(gate_open=False)
    sock = socket.create_connection(("127.0.0.1", nginx.port), timeout=GATE)
    try:
        sock.sendall(b"GET /stop_button_loop.py HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = read_until(sock, b"", STEPS[0])
    finally:
        sock.close()
    served.gate.set()
    served.wait_for_shutdown()
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and STEPS[0] in data
    assert served.lines() == HUNG_UP_AT_2 and served.probe == [1]

    served.reset(gate_open=True)
    response, body = nginx.get("/stop_button_loop.py")
    served.wait_for_shutdown()
    assert (response.status, body) == (200, b"".join(STEPS))
    assert served.lines() == ALL_STEPS and served.probe == [0]


@pytest.mark.clause("FCGI-NGINX-1", "SAPI-FPM-1", "EXAMPLES-1")
def test_nginx_close_connection_early_gives_the_client_its_22_bytes_before_the_work(example,
                                                                                   nginx_in_front) -> None:
    served = example("close_connection_early.py")
    nginx = nginx_in_front(served.script, OB_4096)
    sock = socket.create_connection(("127.0.0.1", nginx.port), timeout=GATE)
    try:
        sock.sendall(b"GET /close_connection_early.py HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = b""
        while not whole_body(data):
            piece = sock.recv(65536)
            assert piece, "nginx closed before the whole body"
            data += piece
        complete = time.monotonic()
        served.gate.set()
    finally:
        sock.close()
    wait_for(lambda: served.probe, "the script's end")
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\nContent-Length: 22\r\n" in head and body == SEEN
    assert complete < served.work_ended()
    assert served.probe == [0]


@pytest.mark.clause("FCGI-NGINX-1", "FCGI-FINISH-1", "FPM-FINISH-1", "EXAMPLES-1")
def test_nginx_redirect_with_fastcgi_finish_request_reaches_the_client_before_the_work(example,
                                                                                      nginx_in_front) -> None:
    served = example("redirect_fastcgi_finish_request.py")
    nginx = nginx_in_front(served.script, OB_4096)
    connection = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=GATE)
    try:
        connection.request("GET", "/redirect_fastcgi_finish_request.py")
        response = connection.getresponse()
        body = response.read()
        complete = time.monotonic()
        assert text_of(served.log) == ""  # not yet: the work waits at the gate
        served.gate.set()
    finally:
        connection.close()
    wait_for(lambda: served.probe, "the script's end")
    assert (response.status, response.getheader("Location"), response.getheader("Content-Length"), body) == (
        302, "/thank-you.html", "0", b"")
    assert complete < served.work_ended()
    assert text_of(served.log) == WORK and served.probe == [0]
