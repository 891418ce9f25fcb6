"""The fault suite: a client that leaves at every byte offset of the response, or mid-request
(NET-FAULT-1, CONN-ABORT-1, SAPI-ABORT-1, LIFE-SHUTDOWN-1).

The scripts are the examples (examples/*.py, the ports of the "Connection handling" user
notes) and tests/scripts/faults/probe.py and probe_ignored.py (output in steps and a shutdown
function that logs connection_status(); the second with ignore_user_abort(true), logging the
end of its work). Each is served by phprt's HTTP server (``python -m phprt serve``,
``phprt.server.HttpServer``; cli-server profile), its FastCGI responder
(``phprt.fastcgi.FastCgiServer``; fpm profile) spoken to in raw FastCGI over TCP as nginx
speaks it, and nginx 1.22 in front of that responder on a unix socket where nginx is installed.
Servers live for a whole test; each run is one fresh connection.

**Gates.** Every sleep() of a script is a gate: the script stops there until the test opens
it. A shutdown function registered before the script (as auto_prepend_file would) stops at
one more gate, then logs ``probe`` and connection_status(), and registers a last shutdown
function that logs ``late`` and connection_status() again. The client hangs up only while the
script waits at a gate, and the script goes on only once the server has seen the hang-up (HTTP:
the server's end of the TCP connection has left ESTABLISHED; FastCGI: the request's transport
says aborted, or it had finished), so the writes before and after the hang-up are fixed and
each run has one right answer, whatever the machine's speed.

**Offsets.** A run without hang-up gives the whole response (length L) and how many bytes the
client can have at each gate. A fault run for offset N (0 <= N <= L) reads N bytes and hangs
up at the first gate at which N bytes are there -- or, past the last gate, as soon as it has
N bytes, racing the server's last writes (then the script's shutdown functions have already
seen everything they will see). Two ways of hanging up: ``fin``, a normal close() after
reading everything that arrived (a close with unread bytes would be an RST on Linux), and
``rst``, SO_LINGER {1, 0} and close(). Over HTTP the test reads the server socket's TCP state to
know which of the two the server saw. Every offset, both ways, for probe.py, hello.py and
connection_constants.py (ours, and the examples that do not sleep); for probe_ignored.py and the
examples that sleep, the offsets at the boundaries (0, the end of the head, each chunk's or
record's start, the bytes there at each gate, L; each with its neighbours) and 8 more drawn with
a fixed seed per script; behind nginx, for every script, 0, the end of the head, the bytes at
each gate and L (with neighbours) and 3 drawn offsets. Besides, every script hangs up once at
each of its gates, both ways, even at a gate that adds no byte to the one before. Scripts run
as ``__main__``, each compiled once per test.

**Expected values** are PHP 8.2.36's, recorded by tests/scripts/faults/record.py (the same
scripts in PHP, the same gates, the same hang-ups) from ``php -n -S`` and ``php-fpm8.2 -n`` on a
unix socket: tests/scripts/faults/recorded.json, the log of each run, line for line. The HTTP
server is compared with php -S for the same way of hanging up, the FastCGI responder -- over
TCP, FIN or RST, and behind nginx -- with PHP-FPM on its unix socket (phprt notices a closed
web server as PHP-FPM does there, DEV-FCGI-PROTOCOL-1). Where phprt differs on purpose, the
table ``HTTP_DEVIATIONS`` names the clause. After a run without hang-up the log must be PHP's
run without hang-up.

Every run must show the shutdown functions run exactly once (one script started, one
``probe`` line, the script's own shutdown lines as PHP logged them), the script's work done
where it ignores aborts (its log lines), and the server still serving. After each test the
servers are shut down and no file descriptor or thread may be left over.

Mid-request faults: the client sends part of a form POST (cut after each byte of its head and
body, but the last) and hangs up, FIN and RST; no script may run, the server must close every
such connection and go on serving. The recorder did the same to php -S and PHP-FPM (its
``mid-request`` entry): php -S ran the script for none of its 264 cuts; PHP-FPM ran none cut
before the end of PARAMS, and ran it for every cut inside STDIN, with the body cut short (``ran:
0 bytes, []`` ... ``ran: 19 bytes, {"order":"1001","item":"boo"}``), where phprt's responder
runs a script only once STDIN has ended (FCGI-BEGIN-1).
"""

from __future__ import annotations

import builtins
import io
import json
import os
import random
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from phprt import php
from phprt.fastcgi import FastCgiServer
from phprt.net.runner import ScriptRunner
from phprt.server import HttpServer
from tests.support import EXAMPLES, ROOT
from tests.support.fastcgi import fcgi_request, nginx_params
from tests.support.http import wait_for
from tests.support.nginx import Nginx, require_nginx

FAULTS = ROOT / "tests" / "scripts" / "faults"
RECORDED: dict[str, Any] = json.loads((FAULTS / "recorded.json").read_text())
BOUND = 20.0  # seconds any one wait may take at most: a safety net, never an expectation
QUIET = 0.03  # seconds without data after which a gate's bytes are taken as all there (shapes offsets only)
NGINX_QUIET = 0.05

#: Every script of the suite, and the output_buffering it runs with (as recorded).
SCRIPTS = {name: RECORDED["output_buffering"][name] for name in RECORDED["cli-server"]}
#: The scripts run at every offset: ours, and the examples that do not sleep.
EVERY_OFFSET = ("probe", "hello", "connection_constants")
SAMPLED = tuple(name for name in SCRIPTS if name not in EVERY_OFFSET)

#: Where the HTTP server differs from php -S on purpose: (script, gate, how) -> the hang-up
#: whose recorded lines it gives instead, and why.
HTTP_DEVIATIONS: dict[tuple[str, str, str], tuple[str, str]] = {
    ("close_connection_early", "1", "rst"): (
        "fin", "DEV-SERVE-CONNECTION-1, SERVE-FRAME-2: 'Text user will never see' lies past Content-Length: 22; "
               "php -S writes it to the reset connection and the script is aborted, phprt drops it"),
    ("close_connection_content_encoding_none", "1", "rst"): (
        "fin", "DEV-SERVE-CONNECTION-1, SERVE-FRAME-2: the last echo lies past Content-Length: 18; php -S writes "
               "it to the reset connection (connection_aborted() 1), phprt drops it"),
}
#: php -S has no fastcgi_finish_request() (a fatal error); phprt's HTTP server offers it and
#: then behaves as PHP-FPM, the script writing nothing after it (DEV-FINISH-1).
HTTP_AS_FPM = {"redirect_fastcgi_finish_request": "DEV-FINISH-1"}


def expected(transport: str, script: str, gate: str, how: str) -> list[str]:
    """PHP's log for SCRIPT when the client hung up at GATE ("none": never), HOW ("fin", "rst")."""
    if transport == "http" and script not in HTTP_AS_FPM:
        entry = RECORDED["cli-server"][script]
        if gate == "none":
            return list(entry["none"])
        how = HTTP_DEVIATIONS.get((script, gate, how), (how, ""))[0]
        return list(entry[gate][how])
    entry = RECORDED["fpm"][script]
    return list(entry["none"] if gate == "none" else entry[gate]["close"])


def script_path(name: str) -> Path:
    return FAULTS / f"{name}.py" if name.startswith("probe") else EXAMPLES / f"{name}.py"


# -- the scripts, with gates -------------------------------------------------------------------


class Harness:
    """The script's side: runs the script the request names with the probes, stops it at its
    gates; and the test's side: watches the gates and opens them."""

    def __init__(self, log: Path, workdir: Path) -> None:
        self.log, self.workdir = log, workdir
        self.code: dict[str, Any] = {}
        self.cond = threading.Condition()
        self.runners: list[ScriptRunner] = []  # the servers' runners, which say when a script has ended
        self.reset()

    def reset(self) -> None:
        with self.cond:
            self.arrived: list[Any] = []  # the transport, once per gate reached
            self.opened = 0  # gates below this index are open
            self.all_open = False
            self.threads: list[threading.Thread] = []  # the threads that started a script
            self.stuck = False  # a gate gave up waiting
        if self.log.exists():
            self.log.unlink()
        if not (self.workdir / "file.ini").exists():
            (self.workdir / "file.ini").write_text("[x]\n")

    # the script's side

    def target(self) -> None:
        with self.cond:
            self.threads.append(threading.current_thread())
            self.cond.notify_all()
        name = php.runtime().server["REQUEST_URI"].strip("/").removesuffix(".py")
        php.register_shutdown_function(self._first_probe)
        path = script_path(name)
        if name not in self.code:  # compiled once: runpy.run_path would compile it for every run
            self.code[name] = compile(path.read_text(), str(path), "exec")
        exec(self.code[name], {"__name__": "__main__", "__file__": str(path), "__builtins__": builtins})

    def sleep(self, seconds: int) -> int:
        self.gate()
        return 0

    def gate(self) -> None:
        transport = php.runtime().transport
        with self.cond:
            index = len(self.arrived)
            self.arrived.append(transport)
            self.cond.notify_all()
            if not self.cond.wait_for(lambda: self.all_open or self.opened > index, BOUND):
                self.stuck = True

    def _first_probe(self) -> None:
        self.gate()
        self._line(f"probe {php.connection_status()}")
        php.register_shutdown_function(self._late_probe)

    def _late_probe(self) -> None:
        self._line(f"late {php.connection_status()}")

    def _line(self, line: str) -> None:
        with open(self.log, "a") as log:
            log.write(line + "\n")

    # the test's side

    def wait_gate(self, gate: int) -> Any:
        """The transport once the script waits at GATE (1-based); None if it ended first."""
        deadline = time.monotonic() + BOUND
        with self.cond:
            while len(self.arrived) < gate:
                if self.threads and not self.running():
                    return None
                if time.monotonic() > deadline:
                    raise AssertionError(f"the script never reached gate {gate}")
                self.cond.wait(0.005)
            return self.arrived[gate - 1]

    def open(self, gate: int) -> None:
        with self.cond:
            self.opened = gate
            self.cond.notify_all()

    def open_all(self) -> None:
        with self.cond:
            self.all_open = True
            self.cond.notify_all()

    def running(self) -> bool:
        """Whether a script still runs in a server's runner."""
        return any(runner.running for runner in self.runners)

    def wait_end(self) -> None:
        """Wait until the script has ended (its Runtime, shutdown functions included), as
        its server's runner says (ScriptRunner.join)."""
        deadline = time.monotonic() + BOUND
        with self.cond:
            self.cond.wait_for(lambda: self.threads, BOUND)
        for runner in self.runners:
            assert runner.join(max(deadline - time.monotonic(), 0.01)), "the script did not end"

    def lines(self) -> list[str]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        # error_log()'s lines (close_connection_original.py) carry php_log_err()'s stamp (EXAMPLES-LOG-1)
        lines = [line.split(" UTC] ", 1)[1] if line.startswith("[") and " UTC] " in line else line for line in lines]
        if not (self.workdir / "file.ini").exists():
            lines.append("file.ini removed")
        return lines


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Harness:
    log, workdir = tmp_path / "example.log", tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.setenv("PHPRT_EXAMPLE_LOG", str(log))
    monkeypatch.chdir(workdir)  # shutdown_abort_cleanup.py's getcwd(), where its file.ini is
    made = Harness(log, workdir)
    monkeypatch.setattr(php, "sleep", made.sleep)
    return made


# -- nothing left behind ---------------------------------------------------------------------------


#: Threads phprt starts once per process and keeps: the time limit's watcher.
PROCESS_THREADS = ("phprt-time-limit",)


def _descriptors() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture
def no_leaks() -> Iterator[Callable[[], None]]:
    """``check()``, called once the servers are shut down: no thread and no file descriptor
    more than before the test, waiting (bounded) for threads that are ending."""
    threads, descriptors = set(threading.enumerate()), _descriptors()

    def check() -> None:
        deadline = time.monotonic() + BOUND
        while True:
            extra = [thread for thread in threading.enumerate()
                     if thread not in threads and thread.name not in PROCESS_THREADS]
            now = _descriptors()
            if (not extra and len(now) <= len(descriptors)) or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert not extra, f"threads left behind: {extra}"
        new = sorted((int(fd), _describe(fd)) for fd in now - descriptors)
        assert len(now) <= len(descriptors), f"{len(now) - len(descriptors)} file descriptors left behind: {new}"

    yield check


def _describe(fd: str) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return "?"


# -- the three ways in -------------------------------------------------------------------------------


def _tcp_state(sock: socket.socket) -> int:
    try:
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
    except OSError:
        return _CLOSE


_ESTABLISHED, _FIN_WAIT1, _FIN_WAIT2, _CLOSE, _CLOSE_WAIT = 1, 4, 5, 7, 8


def server_end(client: socket.socket) -> socket.socket | None:
    """A duplicate of the server's end of CLIENT's TCP connection, found among this process's
    descriptors (the servers run in this process); close it at once after use."""
    mine, peer = client.getsockname(), client.getpeername()
    for name in os.listdir("/proc/self/fd"):
        try:
            if not os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                continue
            candidate = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue
        try:
            if candidate.family == client.family and candidate.getpeername() == mine \
                    and candidate.getsockname() == peer:
                return candidate
        except OSError:
            pass
        candidate.close()
    return None


def hang_up(sock: socket.socket, how: str) -> None:
    if how == "rst":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@dataclass
class Way:
    """How a test reaches the scripts: its connection, its request, its framing, and how
    it knows that the server has seen a hang-up."""

    transport: str  # "http", "fastcgi" or "nginx"
    address: Any
    quiet: float = QUIET

    def connect(self) -> socket.socket:
        family = socket.AF_UNIX if isinstance(self.address, str) else socket.AF_INET
        sock = socket.socket(family)
        sock.settimeout(BOUND)
        sock.connect(self.address)
        return sock

    def request(self, name: str) -> bytes:
        if self.transport == "fastcgi":
            return fcgi_request(nginx_params(ROOT, f"/{name}.py"))
        return f"GET /{name}.py HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()

    def complete(self, data: bytes) -> bool:
        return _fcgi_complete(data) if self.transport == "fastcgi" else _http_complete(data)

    def read_at_gate(self, sock: socket.socket, data: bytearray, size: int) -> None:
        """Read, while the script waits at a gate, until DATA holds SIZE bytes. phprt sent
        them before the script stopped; nginx may hold some back until more comes from
        upstream (its output is postponed), so behind nginx this reads what comes until
        ``quiet`` seconds pass without data -- its hang-ups are the same, FIN or RST, at
        any offset, so only the gate decides what the script sees."""
        if self.transport != "nginx":
            _read_to(sock, data, size)
            return
        while len(data) < size:
            before = len(data)
            sock.settimeout(self.quiet)
            try:
                chunk = sock.recv(size - len(data))
            except TimeoutError:
                chunk = b""
            finally:
                sock.settimeout(BOUND)
            data += chunk
            if len(data) == before:
                return

    def frames(self, data: bytes) -> set[int]:
        """Where the head ends and each chunk or record starts."""
        return _fcgi_frames(data) if self.transport == "fastcgi" else _http_frames(data)

    def hang_up(self, sock: socket.socket, how: str, transport: Any) -> str:
        """Hang up while the script waits at a gate; return once the server has seen it, and
        the way it saw it ("fin", "rst"; "close" for FastCGI, where both are a closed web server)."""
        if self.transport != "http":
            hang_up(sock, how)
            wait_for(lambda: transport.aborted or transport.finished,
                     "the FastCGI responder to see the hang-up", interval=0.001)
            return "close"
        end = server_end(sock)
        assert end is not None, "the server's end of the connection is not open"
        try:
            before = _tcp_state(end)
            hang_up(sock, how)
            waiting = (_ESTABLISHED, _FIN_WAIT1, _FIN_WAIT2)
            wait_for(lambda: _tcp_state(end) not in waiting,
                     "the HTTP server's socket to see the hang-up", interval=0.001)
            after = _tcp_state(end)
        finally:
            end.close()
        if before != _ESTABLISHED:  # the server had shut its side: both end the same way
            return how
        return "fin" if after == _CLOSE_WAIT else "rst"


def _http_complete(data: bytes) -> bool:
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    head, body = data[:end].lower().split(b"\r\n"), data[end + 4:]
    if b"transfer-encoding: chunked" in head:
        position = 0
        while True:
            line_end = body.find(b"\r\n", position)
            if line_end < 0:
                return False
            size = int(body[position:line_end].split(b";")[0], 16)
            position = line_end + 2 + size + 2
            if size == 0:
                return len(body) >= position
            if position > len(body):
                return False
    for line in head:
        if line.startswith(b"content-length:"):
            return len(body) >= int(line.partition(b":")[2])
    return False  # delimited by the end of the connection


def _http_frames(data: bytes) -> set[int]:
    end = data.find(b"\r\n\r\n") + 4
    frames = {end}
    if b"transfer-encoding: chunked" in data[:end].lower():
        position = end
        while (line_end := data.find(b"\r\n", position)) >= 0:
            frames.add(position)
            size = int(data[position:line_end].split(b";")[0], 16)
            if size == 0:
                break
            position = line_end + 2 + size + 2
    return frames


def _fcgi_records(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(start, type, content length) of each whole record."""
    position = 0
    while position + 8 <= len(data):
        _, kind, _, length, padding = struct.unpack(">BBHHBx", data[position:position + 8])
        if position + 8 + length + padding > len(data):
            return
        yield position, kind, length
        position += 8 + length + padding


def _fcgi_complete(data: bytes) -> bool:
    return any(kind == 3 for _, kind, _ in _fcgi_records(data))


def _fcgi_frames(data: bytes) -> set[int]:
    frames = {start for start, _, _ in _fcgi_records(data)}
    head = data.find(b"\r\n\r\n")
    return frames | ({head + 4} if head >= 0 else set())


# -- the runs ---------------------------------------------------------------------------------------


def _read_to(sock: socket.socket, data: bytearray, size: int) -> None:
    """Read until DATA holds SIZE bytes (the server has sent them, or is sending them)."""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise AssertionError(f"the connection ended at byte {len(data)} of {size}")
        data += chunk


def _read_quiet(sock: socket.socket, data: bytearray, quiet: float) -> bool:
    """Read what arrives until QUIET seconds pass without data; whether the stream ended."""
    sock.settimeout(quiet)
    try:
        while chunk := sock.recv(65536):
            data += chunk
        return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    finally:
        sock.settimeout(BOUND)


def _drain(sock: socket.socket, data: bytearray) -> None:
    """Read, without waiting, what has arrived."""
    sock.setblocking(False)
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (BlockingIOError, ConnectionResetError):
        pass
    finally:
        sock.settimeout(BOUND)


@dataclass
class Reference:
    """A run without hang-up: the whole response and the bytes there at each gate."""

    response: bytes
    at_gate: list[int] = field(default_factory=list)


def reference_run(way: Way, harness: Harness, name: str) -> Reference:
    """The script with a client that stays to the end; its log must be PHP's."""
    harness.reset()
    data = bytearray()
    with way.connect() as sock:
        sock.sendall(way.request(name))
        at_gate, ended = [], False
        for gate in range(1, 100):
            if harness.wait_gate(gate) is None:
                break
            if not ended:
                ended = _read_quiet(sock, data, way.quiet)
            at_gate.append(len(data))
            harness.open(gate)
        deadline = time.monotonic() + BOUND
        while not ended and not way.complete(bytes(data)):
            assert time.monotonic() < deadline, "the response never ended"
            ended = _read_quiet(sock, data, way.quiet)
    harness.wait_end()
    assert not harness.stuck, "a gate was never opened"
    assert harness.lines() == expected(way.transport, name, "none", ""), f"{name}: the run without hang-up"
    assert len(harness.threads) == 1
    return Reference(bytes(data), at_gate)


@dataclass
class Outcome:
    gate: str  # where the client hung up: "1", "2", ... or "none" (after the last gate)
    seen: str  # how the server saw it hang up
    lines: list[str]
    scripts: int  # scripts started


def fault_run(way: Way, harness: Harness, name: str, reference: Reference, offset: int, how: str,
              at: int | None = None) -> Outcome:
    """Read OFFSET bytes and hang up HOW, at the first gate where they are there (or at gate AT)."""
    harness.reset()
    data = bytearray()
    sock = way.connect()
    gate_seen, seen = "none", how
    try:
        sock.sendall(way.request(name))
        for gate, there in enumerate(reference.at_gate, 1):
            transport = harness.wait_gate(gate)
            assert transport is not None, f"the script ended before gate {gate}"
            if (offset <= there and at is None) or gate == at:
                way.read_at_gate(sock, data, offset)
                if how == "fin":  # nothing unread, so that close() sends FIN
                    way.read_at_gate(sock, data, there)
                    _drain(sock, data)
                seen, gate_seen = way.hang_up(sock, how, transport), str(gate)
                harness.open_all()
                break
            way.read_at_gate(sock, data, there)
            harness.open(gate)
        else:
            _read_to(sock, data, offset)
            if how == "fin":
                _drain(sock, data)
            hang_up(sock, how)
    finally:
        sock.close()
        harness.open_all()
    harness.wait_end()
    assert not harness.stuck, "a gate was never opened"
    if way.transport != "http":
        seen = "close"
    return Outcome(gate_seen, seen, harness.lines(), len(harness.threads))


def offsets_for(way: Way, name: str, reference: Reference, sample: int) -> list[int]:
    """Every offset of the scripts in EVERY_OFFSET; else the boundaries -- 0, the end of the
    head, L, the bytes there at each gate and (but behind nginx) each chunk's or record's
    start, each with its neighbours -- and SAMPLE offsets drawn with a seed per script."""
    length = len(reference.response)
    if name in EVERY_OFFSET and way.transport != "nginx":
        return list(range(length + 1))
    frames = way.frames(reference.response)
    marks = {0, length, min(frames), *reference.at_gate, *(frames if way.transport != "nginx" else ())}
    chosen = {mark + step for mark in marks for step in (-1, 0, 1)}
    chosen.update(random.Random(f"{way.transport}:{name}").sample(range(length + 1), min(sample, length + 1)))
    return sorted(offset for offset in chosen if 0 <= offset <= length)


def check_offsets(way: Way, harness: Harness, names: tuple[str, ...], sample: int = 8) -> int:
    """Every chosen offset of every script, both ways; the number of runs. Failures are
    collected (up to 20) and reported together."""
    failures: list[str] = []
    runs = 0
    for name in names:
        reference = reference_run(way, harness, name)
        # each gate at least once, even one that adds no byte to the one before
        cases = [(there, gate) for gate, there in enumerate(reference.at_gate, 1)]
        cases += [(offset, None) for offset in offsets_for(way, name, reference, sample)]
        for offset, at in cases:
            for how in ("fin", "rst"):
                if len(failures) >= 20:
                    break
                outcome = fault_run(way, harness, name, reference, offset, how, at)
                runs += 1
                want = expected(way.transport, name, outcome.gate, outcome.seen)
                if outcome.lines != want or outcome.scripts != 1:
                    failures.append(f"{name} offset {offset} {how} (hung up at gate {outcome.gate}, seen as "
                                    f"{outcome.seen}): {outcome.scripts} script(s), log {outcome.lines}, PHP {want}")
    assert not failures, f"{len(failures)} of {runs} runs differ from PHP (the first 20):\n" + "\n".join(failures)
    return runs


# -- the servers ------------------------------------------------------------------------------------


@pytest.fixture
def http_way(harness: Harness, no_leaks: Callable[[], None]) -> Iterator[Callable[[str], Way]]:
    """An HttpServer per output_buffering value (as php -S was run for the recording)."""
    servers: dict[str, HttpServer] = {}

    def way(ob: str) -> Way:
        if ob not in servers:
            servers[ob] = HttpServer(harness.target, ini={"output_buffering": ob, "error_log": str(harness.log)},
                                      log=io.StringIO()).start()
            harness.runners.append(servers[ob].runner)
        return Way("http", servers[ob].address)

    yield way
    for server in servers.values():
        server.shutdown()
    no_leaks()


@pytest.fixture
def fastcgi_way(harness: Harness, no_leaks: Callable[[], None]) -> Iterator[Callable[[str], Way]]:
    servers: dict[str, FastCgiServer] = {}

    def way(ob: str) -> Way:
        if ob not in servers:
            servers[ob] = FastCgiServer(harness.target, "127.0.0.1:0",
                                         ini={"output_buffering": ob, "error_log": str(harness.log)}).start()
            harness.runners.append(servers[ob].runner)
        return Way("fastcgi", servers[ob].address)

    yield way
    for server in servers.values():
        server.shutdown()
    no_leaks()


def _by_buffering(names: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(SCRIPTS[name], []).append(name)
    return [(ob, tuple(group)) for ob, group in sorted(groups.items())]


# -- the tests ---------------------------------------------------------------------------------------


@pytest.mark.clause("NET-FAULT-1", "SERVE-ABORT-1", "CONN-ABORT-1", "CONN-ABORT-2", "SAPI-ABORT-1",
                    "LIFE-SHUTDOWN-1", "EXAMPLES-1")
def test_http_client_leaving_at_every_offset_of_the_small_scripts(harness, http_way) -> None:
    """probe.py, hello.py and connection_constants.py over the HTTP server: every offset, FIN
    and RST, against php -S."""
    for ob, names in _by_buffering(EVERY_OFFSET):
        check_offsets(http_way(ob), harness, names)


@pytest.mark.clause("NET-FAULT-1", "SERVE-ABORT-1", "SERVE-EARLY-1", "SERVE-FRAME-2", "DEV-SERVE-CONNECTION-1",
                    "DEV-FINISH-1", "CONN-ABORT-1", "CONN-ABORT-2", "LIFE-SHUTDOWN-1", "EXAMPLES-1")
def test_http_client_leaving_the_sleeping_examples(harness, http_way) -> None:
    """probe_ignored.py and the examples that sleep, over the HTTP server: the boundary offsets
    and 8 drawn ones (seeded), FIN and RST, against php -S (HTTP_DEVIATIONS, HTTP_AS_FPM)."""
    for ob, names in _by_buffering(SAMPLED):
        check_offsets(http_way(ob), harness, names)


@pytest.mark.clause("NET-FAULT-1", "FCGI-ABORT-1", "SAPI-FPM-1", "DEV-FCGI-PROTOCOL-1", "CONN-ABORT-1",
                    "CONN-ABORT-2", "LIFE-SHUTDOWN-1", "EXAMPLES-1")
def test_fastcgi_web_server_leaving_at_every_offset_of_the_small_scripts(harness, fastcgi_way) -> None:
    """The same three scripts in raw FastCGI over TCP: every offset of the record stream, FIN
    and RST, against PHP-FPM on its unix socket."""
    for ob, names in _by_buffering(EVERY_OFFSET):
        check_offsets(fastcgi_way(ob), harness, names)


@pytest.mark.clause("NET-FAULT-1", "FCGI-ABORT-1", "FCGI-FINISH-1", "FPM-FINISH-2", "SAPI-FPM-1",
                    "DEV-FCGI-PROTOCOL-1", "CONN-ABORT-2", "LIFE-SHUTDOWN-1", "EXAMPLES-1")
def test_fastcgi_web_server_leaving_the_sleeping_examples(harness, fastcgi_way) -> None:
    """probe_ignored.py and the examples that sleep in raw FastCGI: the boundary offsets and 8
    drawn ones, FIN and RST, against PHP-FPM."""
    for ob, names in _by_buffering(SAMPLED):
        check_offsets(fastcgi_way(ob), harness, names)


@pytest.mark.clause("NET-FAULT-1", "FCGI-NGINX-1", "FCGI-ABORT-1", "CONN-ABORT-1", "LIFE-SHUTDOWN-1")
def test_nginx_client_leaving_every_script(harness, no_leaks, tmp_path_factory) -> None:
    """Every script behind nginx (README.md's server block, the responder on a unix socket):
    the boundary offsets of nginx's response and 3 drawn ones, FIN and RST. nginx closes its
    FastCGI connection when its client leaves, so the script sees what it sees under PHP-FPM
    when the web server closes (as recorded behind nginx in tests/examples/test_examples_served.py)."""
    require_nginx()

    root = Path(os.path.realpath(tmp_path_factory.mktemp("nginx-root")))
    for name in SCRIPTS:
        (root / f"{name}.py").write_text("# served by the fault suite's callable\n")
    running: list[tuple[FastCgiServer, Any]] = []
    try:
        for ob, names in _by_buffering(tuple(SCRIPTS)):
            tmp = Path(os.path.realpath(tmp_path_factory.mktemp(f"nginx-{ob}")))
            server = FastCgiServer(harness.target, str(tmp / "phprt.sock"),
                                   ini={"output_buffering": ob, "error_log": str(harness.log)}).start()
            harness.runners.append(server.runner)
            nginx = Nginx(tmp, root, [f"unix:{server.address}"])
            running.append((server, nginx))
            check_offsets(Way("nginx", ("127.0.0.1", nginx.port), NGINX_QUIET), harness, names, sample=3)
    finally:
        for server, nginx in running:
            nginx.stop()
            server.shutdown()
    no_leaks()


# -- mid-request ----------------------------------------------------------------------------------------

BODY = b"order=1001&item=book"
HTTP_POST = (b"POST /probe.py HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             b"Content-Length: %d\r\n\r\n" % len(BODY)) + BODY


def _fcgi_post() -> bytes:
    params = nginx_params(ROOT, "/probe.py", method="POST", CONTENT_TYPE="application/x-www-form-urlencoded",
                          CONTENT_LENGTH=str(len(BODY)))
    return fcgi_request(params, BODY)


def _server_ends(address: Any) -> int:
    """How many connections to ADDRESS the server (in this process) still holds open."""
    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            if not os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                continue
            candidate = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue
        with candidate:
            try:
                if candidate.getsockname() == address and candidate.getpeername():
                    count += 1
            except OSError:
                pass
    return count


def _cut_requests(way: Way, harness: Harness, request: bytes) -> int:
    """Send each proper prefix of REQUEST and hang up, FIN and RST; wait until the server has
    closed all those connections: no script may have run. Then the whole request runs once.
    Returns the number of cut requests."""
    harness.reset()
    cuts = 0
    for cut in range(len(request)):
        for how in ("fin", "rst"):
            with way.connect() as sock:
                sock.sendall(request[:cut])
                hang_up(sock, how)
            cuts += 1
    wait_for(lambda: _server_ends(way.address) == 0, "the server to close the connections cut short", interval=0.001)
    assert not harness.threads, f"{len(harness.threads)} script(s) ran for a request cut short"
    harness.open_all()
    with way.connect() as sock:  # the server still serves
        sock.sendall(request)
        data = bytearray()
        deadline = time.monotonic() + BOUND
        while not way.complete(bytes(data)):
            assert time.monotonic() < deadline, "no response"
            if _read_quiet(sock, data, way.quiet):
                break
        assert way.complete(bytes(data)), bytes(data)
    harness.wait_end()
    assert len(harness.threads) == 1
    return cuts


@pytest.mark.clause("NET-FAULT-1", "SERVE-PARSE-1", "SERVE-REFUSE-1")
def test_http_client_leaving_mid_request_runs_no_script(harness, http_way) -> None:
    """Every cut of a POST over the HTTP server, FIN and RST: php -S ran no script."""
    assert RECORDED["mid-request"]["cli-server"]["ran"] == {}  # what php -S did
    assert _cut_requests(http_way("0"), harness, HTTP_POST) == 2 * len(HTTP_POST)


@pytest.mark.clause("NET-FAULT-1", "FCGI-BEGIN-1", "FCGI-MALFORMED-1", "DEV-FCGI-BODY-1")
def test_fastcgi_web_server_leaving_mid_request_runs_no_script(harness, fastcgi_way) -> None:
    """Every cut of a POST's records (BEGIN_REQUEST, PARAMS, STDIN), FIN and RST: phprt runs
    the script only once STDIN has ended (FCGI-BEGIN-1); PHP-FPM also ran it, with what had
    arrived of the body, when only STDIN was cut (the module docstring)."""
    request = _fcgi_post()
    assert _cut_requests(fastcgi_way("0"), harness, request) == 2 * len(request)
