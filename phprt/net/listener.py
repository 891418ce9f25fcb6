"""What the HTTP server and the FastCGI responder share: a listening socket, one
loop that reads every connection while its request arrives, and a thread for
each request that has arrived.

``Listener`` accepts connections and reads them in a selector loop, without a
thread of their own, so a client that sends slowly, or nothing, costs the
server a socket and a few buffers, not a thread (SERVE-SLOW-1, FCGI-LIMIT-1).
What a connection says is its ``Link`` subclass's business: the loop hands it
the bytes and it answers with a ``Step`` -- wait for more, run the request that
has arrived, close, or linger. A request that has arrived is served in a
thread of its own (SERVE-CONCURRENT-1, FCGI-CONCURRENT-1), at most
``max_requests`` at once -- with ``inline``, in the loop's own thread, which
hands the loop to a relief thread when the request runs long (NET-LOOP-1);
then the connection comes back to the loop. The
loop holds at most ``max_connections`` connections: a new one pushes out the
one that has waited longest for its request. A body larger than a ``Spool``
keeps in memory is on disk until its request runs, and the bodies read back
for running requests take at most ``body_memory`` bytes at once
(SERVE-BODY-1, FCGI-LIMIT-1). ``stop()`` ends the loop and closes the
connections it holds; ``shutdown()`` also gives running requests a grace
period. ``serve_until_signalled`` runs one in the foreground until SIGINT or
SIGTERM (SERVE-CLI-1, FCGI-WORKERS-1).
"""

from __future__ import annotations

import _socket
import enum
import errno
import math
import os
import re
import select
import selectors
import signal
import socket
import stat
import sys
import threading
import time
from collections import deque
from types import FrameType
from typing import Any, Callable, Generic, Optional, Self, TypeVar, Union

from .logs import Log
from .pool import WorkerPool

__all__ = ["STOP_SIGNALS", "Heard", "Link", "Listener", "Step", "bind", "byte_size", "host_port", "parse_address", "send_now",
           "serve_until_signalled", "serve_workers", "stop_on_signals"]

#: The signals that stop a server.
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})

#: How long a closing connection keeps reading what its peer still sends, so that
#: the answer is not destroyed by a reset (a lingering close), and how much of it.
LINGER = 2.0
LINGER_BYTES = 1 << 20
#: What the loop reads from a connection at a time.
_READ = 65536
#: At most this many connections are accepted before the loop reads the others.
_ACCEPT_BATCH = 64

#: A socket's family as the int it is: ``socket.socket.family`` converts it to an IntEnum at
#: every read, which costs more than the rest of a connection's bookkeeping (NET-PERF-9).
_family = _socket.socket.family.__get__

_Handler = Union[Callable[[int, Optional[FrameType]], Any], int, signal.Handlers, None]


def host_port(listen: str, expected: str = "HOST:PORT") -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as (host, port); port 0 picks a free one."""
    host, colon, port = listen.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"--listen expects {expected}, not {listen!r}")
    return host, int(port)


def parse_address(listen: str | tuple[str, int]) -> tuple[int, Any]:
    """(family, address) for (host, port), ``HOST:PORT``, ``[::1]:PORT``, or a unix
    socket path (anything with a ``/``, or ``unix:PATH``) (FCGI-LISTEN-1)."""
    if isinstance(listen, tuple):
        host, port = listen[0], int(listen[1])
    elif listen.startswith("unix:"):
        return socket.AF_UNIX, listen[5:]
    elif "/" in listen:
        return socket.AF_UNIX, listen
    else:
        host, port = host_port(listen, "HOST:PORT or a socket path")
    return (socket.AF_INET6 if ":" in host else socket.AF_INET), (host, port)


def bind(listen: str | tuple[str, int], *, backlog: int, socket_mode: int = 0o660) -> tuple[socket.socket, str | None]:
    """A socket listening on ``listen``, as ``parse_address`` reads it, and the path
    of the unix socket it made, if it did, with ``socket_mode`` (FCGI-LISTEN-1); a
    host is looked up as a passive address (port 0: a free port)."""
    family, address = parse_address(listen)
    if family == socket.AF_UNIX:
        return _bind_unix(address, socket_mode, backlog), address
    host, port = address
    family, _, _, _, sockaddr = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                   flags=socket.AI_PASSIVE)[0]
    return socket.create_server(sockaddr[:2], family=family, backlog=backlog), None


def _bind_unix(path: str, mode: int, backlog: int) -> socket.socket:
    # A socket file left by a server that is gone is replaced; a live one or another file is not.
    if os.path.lexists(path):
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise OSError(f"{path} exists and is not a socket")
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(path)
            except OSError:
                os.unlink(path)
            else:
                raise OSError(f"{path} is in use by another server")
    # Bound and listening under a temporary name first: the path appears only once a
    # client that finds it can connect.
    staging = f"{path}.{os.getpid()}~"
    listener = socket.socket(socket.AF_UNIX)
    try:
        previous = os.umask(0o777 & ~mode)
        try:
            listener.bind(staging)
        finally:
            os.umask(previous)
        os.chmod(staging, mode)
        listener.listen(backlog)
        os.replace(staging, path)
    except BaseException:
        listener.close()
        if os.path.lexists(staging):
            os.unlink(staging)
        raise
    return listener


def byte_size(text: str) -> int:
    """A size as the command line takes it: bytes, or with PHP's ``K``, ``M`` or ``G`` suffix (``64M``)."""
    match = re.fullmatch(r"\s*(\d+)\s*([kKmMgG]?)\s*", text)
    if match is None:
        raise ValueError(f"expected a size such as 65536, 64K or 64M, not {text!r}")
    return int(match[1]) << {"": 0, "k": 10, "m": 20, "g": 30}[match[2].lower()]


def send_now(sock: socket.socket, data: bytes) -> bool:
    """Write ``data`` without waiting, as the loop writes (its sockets' descriptors are
    non-blocking); whether all of it went."""
    view = memoryview(data)
    while view:
        try:
            sent = os.write(sock.fileno(), view)
        except OSError:  # full (BlockingIOError), or the peer is gone
            return False
        view = view[sent:]
    return True


class Heard(enum.Enum):
    """What the loop does next with a running request's connection it watches (``Link.heard``)."""

    WATCH = "watch"  # go on reading it while its request runs
    STOP = "stop"  # read it no more until its thread gives it back
    BUSY = "busy"  # what was read waits with the connection: offer it again shortly


class Step(enum.Enum):
    """What happens to a connection next."""

    WAIT = "wait"  # the loop reads it until its request has arrived
    RUN = "run"  # its request has arrived: serve it in a thread
    CLOSE = "close"  # close it now
    LINGER = "linger"  # shut this side, read what still comes for up to LINGER seconds, then close


class Link:
    """An accepted connection, as ``Listener`` keeps it. A server's connection
    subclasses it: the loop calls ``received`` with what arrived (``b""`` for the
    end of the stream), ``resume`` when the connection comes back from its thread,
    ``expired`` once ``deadline`` (a ``time.monotonic()`` value) has passed, and
    ``close`` when it closes the connection. ``send`` and ``shut_write`` are its
    sending side, for the loop and for its request's thread. ``cost()`` is the memory its request
    needs when it runs; the server gives back what it was granted (``granted``) with
    ``Listener.release_memory``."""

    #: Names the connection's thread: ``phprt-KIND-NAME``.
    name = "connection"
    #: Whether the loop goes on reading the connection while its request runs, handing
    #: what arrives to ``heard`` in the loop's thread (the FastCGI responder's, which
    #: must see ABORT_REQUEST and a closing web server while its script runs).
    watch_running = False

    def __init__(self, sock: socket.socket, write_timeout: float) -> None:
        # A send in the request's thread waits at most write_timeout; with a timeout the
        # descriptor is non-blocking, so the loop's reads and send_now() never wait.
        sock.settimeout(write_timeout)
        self.sock = sock
        self.deadline = math.inf
        self.granted = 0
        self.in_loop = True  # the loop holds it, not a request's thread
        self.gone = False  # a send failed: the peer is not there
        self.write_closed = False  # this side is shut: nothing more goes out
        self._tcp = _family(sock) in (socket.AF_INET, socket.AF_INET6)

    def send(self, data: bytes) -> bool:
        """Write ``data``; False once the peer is gone or this side is shut. In a
        request's thread a send waits at most the write timeout; in the loop it
        never waits: what does not fit is not sent. Either way a send that fails
        marks the peer gone."""
        if self.gone or self.write_closed:
            return False
        if data:
            if self.in_loop:
                self.gone = not send_now(self.sock, data)
            else:
                self.gone = not self._send_waiting(data)
        return not self.gone

    def _send_waiting(self, data: bytes) -> bool:
        # One write() first: what fits goes without the poll() that sendall() does before
        # each send on a socket with a timeout; the rest waits at most the write timeout.
        try:
            sent = os.write(self.sock.fileno(), data)
        except BlockingIOError:
            sent = 0
        except OSError:
            return False
        if sent < len(data):
            try:
                self.sock.sendall(memoryview(data)[sent:])
            except OSError:
                return False
        return True

    def reset_seen(self) -> bool:
        """Whether the peer answered what was sent with a reset (it had hung up): the
        write after it would fail, as PHP's next write fails (SERVE-ABORT-1). Marks
        the peer gone then."""
        if not self.gone:
            try:
                self.gone = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0
            except OSError:
                self.gone = True
        return self.gone

    def hold_small_writes(self, hold: bool) -> None:
        """Nagle's algorithm on a TCP connection (accepted with it off, TCP_NODELAY): while
        ``hold``, a small write waits for the peer to acknowledge what is in flight, as it
        does on ``php -S``'s sockets; turned off again, what waits goes at once (SERVE-SEND-2)."""
        if self._tcp:
            try:
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0 if hold else 1)
            except OSError:
                pass

    def shut_write(self) -> None:
        """Shut this side: the peer sees the end of the stream (SERVE-EARLY-1)."""
        if not self.write_closed:
            self.write_closed = True
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def received(self, data: bytes) -> Step:
        raise NotImplementedError

    def resume(self) -> Step:
        return Step.WAIT

    def heard(self, data: bytes | None) -> Heard:
        """What arrived while the request runs (``watch_running``), in the loop's thread:
        ``b""`` is the end of the stream; None offers again what ``BUSY`` kept."""
        return Heard.STOP

    def expired(self) -> Step:
        return Step.CLOSE

    def cost(self) -> int:
        return 0

    def interrupt(self) -> None:
        """Shut the socket both ways, so that a thread serving it ends."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()


C = TypeVar("C", bound=Link)


class Readable:
    """Which of the loop's sockets can be read: ``selectors``' register, unregister and select
    for reading alone (NET-PERF-9). ``ready(timeout)`` gives what each socket that can be read
    was registered with. On epoll, where the system has it, directly: a registration costs
    two dictionary entries, a readable socket one lookup, no key objects; elsewhere through
    ``selectors.DefaultSelector``. As there: registering a socket twice, or unregistering one
    that is not registered, is a KeyError; a socket closed since it was registered can be
    unregistered."""

    def __init__(self) -> None:
        self._epoll = select.epoll() if hasattr(select, "epoll") else None
        self._selector = selectors.DefaultSelector() if self._epoll is None else None
        self._fds: dict[socket.socket, int] = {}  # a registered socket's descriptor, read when it was
        self._what: dict[int, Any] = {}  # what each descriptor was registered with

    def register(self, sock: socket.socket, what: Any) -> None:
        if self._epoll is None:
            assert self._selector is not None
            self._selector.register(sock, selectors.EVENT_READ, what)
            return
        fd = sock.fileno()
        if fd in self._what or sock in self._fds:
            raise KeyError(f"{sock!r} is already registered")
        self._epoll.register(fd, select.EPOLLIN)
        self._fds[sock] = fd
        self._what[fd] = what

    def unregister(self, sock: socket.socket) -> None:
        if self._epoll is None:
            assert self._selector is not None
            self._selector.unregister(sock)
            return
        fd = self._fds.pop(sock)
        del self._what[fd]
        try:
            self._epoll.unregister(fd)
        except OSError:  # closed already: the system forgot it
            pass

    def ready(self, timeout: float) -> list[Any]:
        if self._epoll is None:
            assert self._selector is not None
            return [key.data for key, _ in self._selector.select(timeout)]
        try:
            events = self._epoll.poll(timeout)
        except InterruptedError:
            return []
        what = self._what
        return [what[fd] for fd, _ in events if fd in what]

    def close(self) -> None:
        if self._epoll is None:
            assert self._selector is not None
            self._selector.close()
        else:
            self._epoll.close()
            self._fds.clear()
            self._what.clear()


class Listener(Generic[C]):
    """A listening socket, the loop that reads its connections, and a thread per request.

    ``serve_forever()`` serves until ``stop()`` or ``shutdown()``; ``start()`` (or
    ``with``) serves from a background thread. Requests are served in ``pool``'s
    threads (NET-POOL-1; by default a pool of ``max_requests`` of its own; the HTTP
    server gives its script runner's, SERVE-RUN-1). A subclass makes the connection
    (``_connection``) and serves its request in a thread (``_handle``), returning
    the next ``Step``: ``WAIT`` gives the connection back to the loop for another
    request, ``RUN`` has it run another request that has already arrived.
    """

    #: Names the threads: ``phprt-KIND-accept``, ``phprt-KIND-NAME``.
    kind = "listener"
    #: Whether a request that has arrived is answered in the thread that runs the loop, as
    #: ``php -S`` answers it in its one loop (NET-LOOP-1): no hand-off between threads, no
    #: contention for the interpreter's lock. One that is still running after ``RELIEF``
    #: to ``2 * RELIEF`` seconds hands the loop to another thread, so the other clients are
    #: still read and answered; a connection the loop watches while its request runs
    #: (``Link.watch_running``) is watched by the thread that runs the loop then.
    inline = False
    #: How often the relief thread looks at a request answered in the loop's thread, and
    #: after how many looks in a row that found none it ends.
    RELIEF = 0.01
    RELIEF_IDLE = 100
    #: A spare worker of a pool looks at its listen queue every SPARE_LOOK seconds while it
    #: finds a connection waiting there, and takes what waits at the SPARE_LOOKS-th look in
    #: a row (NET-PERF-10).
    SPARE_LOOK = 0.02
    SPARE_LOOKS = 12

    def __init__(self, listener: socket.socket, *, max_connections: int = 1024, max_requests: int = 256,
                 body_memory: int = 128 << 20, pool: WorkerPool | None = None) -> None:
        if max_connections < 1 or max_requests < 1:
            raise ValueError("max_connections and max_requests must be at least 1")
        listener.setblocking(False)
        self._listener = listener
        self.max_connections, self.max_requests, self.body_memory = max_connections, max_requests, body_memory
        self.stopping = False
        self._shut = False
        self._lock = threading.Lock()
        # The loop's own state: connections whose request is awaited (in the order they
        # began to wait), whose request waits for a thread, and that are closing.
        self._waiting: dict[C, None] = {}
        self._ready: deque[C] = deque()
        self._lingering: dict[C, list[float]] = {}  # [deadline, bytes drained]
        self._watched: dict[C, bool] = {}  # running, read by the loop (watch_running): registered?
        self._retry: dict[C, None] = {}  # watched connections whose heard() was BUSY
        # Ready or running, still registered (``inline``): unregistered only if they are heard
        # from meanwhile, so a request answered at once costs no two epoll calls.
        self._parked: set[C] = set()
        self._next_check = math.inf  # the earliest deadline, or sooner
        self._paused_until = 0.0  # accept() failed for want of descriptors, or a spare waits to look again
        # A worker of a pool with spares (NET-PERF-10): whether it is one, and when it last saw a
        # connection waiting; None while it is no worker of such a pool.
        self._spare: bool | None = None
        self._sighted: float | None = None
        self._sightings = 0  # looks in a row that found one waiting
        self._selector: Readable | None = None
        # Shared with the request threads, under _lock.
        self._running: dict[C, None] = {}
        # The request threads, reused (NET-POOL-1): at most max_requests run at once; a
        # server whose scripts run where their request is served gives its runner's.
        self._pool = pool or WorkerPool(max_requests, name=f"phprt-{self.kind}-request")
        self._back: list[tuple[C, Step]] = []  # connections their threads are done with
        self._memory = 0  # bytes of bodies granted to running requests
        self._looping = False
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._thread: threading.Thread | None = None
        # The loop runs in the thread that holds _leader (NET-LOOP-1). A request answered
        # in it sets _inline_token for the relief thread to see.
        self._leader = threading.Lock()
        self._inline_token: object | None = None
        self._loop_ended = threading.Event()
        self._accepting = False
        self._relieving = False  # the relief thread has begun
        self._owner: threading.Thread | None = None  # the thread serve_forever() runs in
        self._heir = False  # it waits to take the loop back from a relief thread
        self._again = False  # an inline answer left work: look again at once
        # The thread answering a request in the loop's stead (NET-LOOP-1), until another thread
        # leads the loop: what it gives back needs no wake-up (NET-PERF-2). Under _lock.
        self._answering: int | None = None

    @property
    def listener(self) -> socket.socket:
        return self._listener

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def start(self) -> Self:
        """Serve from a background thread; returns at once, the socket already listens."""
        if self._thread is None:
            self._thread = threading.Thread(target=self.serve_forever, name=f"phprt-{self.kind}-accept", daemon=True)
            self._thread.start()
        return self

    # -- the loop ---------------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Accept and read connections until ``stop()`` or ``shutdown()``; each request
        that has arrived is served in a thread of its own, or in the loop's (``inline``)."""
        wake = socket.socketpair()  # made here, so each worker process has its own
        for end in wake:
            end.setblocking(False)
        selector = Readable()
        selector.register(wake[0], wake[0])
        with self._lock:
            self._wake, self._looping = wake, True
        self._selector = selector
        self._accepting = False
        self._loop_ended.clear()
        self._owner = threading.current_thread()
        self._leader.acquire()
        while not self._lead():  # another thread took the loop over while this one answered a request:
            self._heir = True  # it hands the loop back (NET-LOOP-1)
            self._leader.acquire()
            self._heir = False
            if self._loop_ended.is_set():
                self._leader.release()
                return

    def _lead(self) -> bool:
        """Run the loop in this thread, which holds ``_leader``, until stopped: True, once
        the connections it held are closed; False when another thread took the loop over
        while this one answered a request (NET-LOOP-1)."""
        selector, wake = self._selector, self._wake
        assert selector is not None and wake is not None
        with self._lock:  # a thread answering in the loop's stead now wakes this one (NET-PERF-2)
            self._answering = None
        self._again = True  # and what it gave back before is taken at once
        ended = True
        try:
            while not self.stopping:
                if self._heir and threading.current_thread() is not self._owner:
                    ended = False  # the thread that serve_forever() runs in takes the loop back
                    self._leader.release()
                    return False
                room = self._room()
                if room != self._accepting:
                    if room:
                        selector.register(self._listener, self._listener)
                    else:
                        selector.unregister(self._listener)
                    self._accepting = room
                timeout = 0.0 if self._again else min(max(self._next_check - time.monotonic(), 0.0), 1.0)
                self._again = False
                for what in selector.ready(timeout):
                    if what is self._listener:
                        self._accept()
                    elif what is wake[0]:
                        try:
                            wake[0].recv(4096)
                        except OSError:
                            pass
                    else:
                        self._readable(what)
                self._collect()
                self._expire()
                if not self._dispatch():
                    ended = False
                    return False
        finally:
            if ended:
                self._end_loop(selector, wake)
        return True

    def _end_loop(self, selector: Readable, wake: tuple[socket.socket, socket.socket]) -> None:
        # The loop has stopped: close what it holds; then whoever waits for its end goes on.
        try:
            self._watched.clear()
            self._retry.clear()
            with self._lock:
                self._looping, self._wake = False, None
                back, self._back = self._back, []
                for connection, _ in back:
                    self._running.pop(connection, None)
            for connection in [*(connection for connection, _ in back), *self._waiting, *self._ready,
                               *self._lingering]:
                self._close(connection)
            self._selector = None
            selector.close()
            for end in wake:
                end.close()
        finally:
            self._loop_ended.set()
            self._leader.release()

    # -- answering in the loop's thread (NET-LOOP-1) ----------------------------------------

    def _start_relief(self) -> None:
        threading.Thread(target=self._relieve, name=f"phprt-{self.kind}-relief", daemon=True).start()

    def _relieve(self) -> None:
        """The relief thread: while the loop's thread answers a request, look every
        ``RELIEF`` seconds; a request still running at the next look (or a stop) hands
        the loop to this thread, and another relief thread takes its place. Idle for
        ``RELIEF_IDLE`` looks, it ends: the next request answered starts another."""
        seen: object | None = None
        idle = 0  # looks in a row that found no request in the loop's thread
        while not self._loop_ended.is_set():
            token = self._inline_token
            if token is None and not self.stopping:
                idle += 1
                if idle < self.RELIEF_IDLE:  # between two requests: no wake-up per request
                    time.sleep(self.RELIEF)
                    continue
                self._relieving = False
                if self._inline_token is None or self._relieving:
                    return  # no request began meanwhile, or the one that did started a relief
                self._relieving, idle = True, 0
                continue
            idle = 0
            if (self.stopping or token is seen) and self._leader.acquire(blocking=False):
                if self._loop_ended.is_set():
                    self._leader.release()
                    return
                self._inline_token = None
                self._again = True  # requests may be waiting in _ready already
                if not self.stopping:
                    self._start_relief()
                self._lead()
                return
            seen = token
            time.sleep(self.RELIEF)

    def _answer_inline(self, connection: C) -> bool:
        """Answer ``connection``'s request in this, the loop's thread, letting go of the
        loop meanwhile; whether this thread still runs the loop afterwards. The
        connection comes back to the loop here, with no wake-up (NET-PERF-2)."""
        self._inline_token = object()
        if not self._relieving:  # the first request answered here for a while: a relief thread begins
            self._relieving = True
            self._start_relief()
        self._answering = threading.get_ident()
        self._leader.release()
        step = self._served(connection)
        leading = self._leader.acquire(blocking=False)
        if leading and self._loop_ended.is_set():
            self._leader.release()
            leading = False
        if not leading:  # the loop went on in another thread: hand the connection to it
            if step is not None:
                self.give_back(connection, step)
            return False
        self._inline_token = None
        with self._lock:
            self._answering = None
            if step is not None:
                self._running.pop(connection, None)
        if step is not None:  # back to the loop at once, still registered (NET-PERF-1)
            self._take_back(connection, step)
        if self._back:  # given back by this thread (NET-PERF-2), or by others
            self._collect()
        if self._ready:  # a next request came meanwhile: the loop goes on without waiting (NET-PERF-8)
            self._again = True
        return True

    def stop(self) -> None:
        """Stop accepting and reading; ``serve_forever()`` closes the connections it
        holds and returns. Safe in a signal handler."""
        self.stopping = True
        self._poke()

    def _poke(self) -> None:
        wake = self._wake
        if wake is not None:
            try:
                wake[1].send(b"x")
            except OSError:
                pass  # full: the loop wakes anyway

    def _held(self) -> int:
        return len(self._waiting) + len(self._ready) + len(self._lingering) + len(self._running)

    def _room(self) -> bool:
        """Whether a new connection can be taken: below max_connections, or by closing
        one that is closing anyway or has waited longest for its request. In a pool with
        spares, not while as many requests run, or are ready to, as may run at once
        (NET-PERF-10): another worker takes it."""
        if self._paused_until and time.monotonic() < self._paused_until:
            return False
        if self._spare is not None and len(self._running) + len(self._ready) >= self.max_requests:
            return False
        return bool(self._waiting) or bool(self._lingering) or self._held() < self.max_connections

    def join_pool(self, spare: bool) -> None:
        """Serve as one worker of a pool that has more workers than CPUs: a ``spare`` takes
        only connections that wait in the listen queue, and no worker takes one while it
        runs, or has ready to run, as many requests as it may (NET-PERF-10). Called in the
        worker, before serving."""
        self._spare = spare

    def _waited(self) -> bool:
        # A spare's look at the listen queue, which has a connection waiting (NET-PERF-10): the
        # SPARE_LOOKS-th look in a row -- each SPARE_LOOK after the one before, not looking
        # meanwhile: a queue found empty is not looked at again until a connection comes, and
        # that look is a first -- takes what waits; any other sets the next look.
        now = time.monotonic()
        in_a_row = self._sighted is not None and now - self._sighted <= 1.5 * self.SPARE_LOOK
        self._sightings = self._sightings + 1 if in_a_row else 1
        if self._sightings >= self.SPARE_LOOKS:
            self._sighted, self._sightings = None, 0
            return True
        self._sighted = now
        self._paused_until = now + self.SPARE_LOOK
        self._next_check = min(self._next_check, self._paused_until)
        return False

    def _make_room(self) -> None:
        # At max_connections: close a connection that is closing anyway, else the one
        # that has waited longest for its request (SERVE-SLOW-1, FCGI-LIMIT-1).
        if self._held() < self.max_connections:
            return
        if self._lingering:
            self._close(next(iter(self._lingering)))
        elif self._waiting:
            oldest = next(iter(self._waiting))
            self._evicted(oldest)
            self._close(oldest)

    def _accept(self) -> None:
        assert self._selector is not None
        if self._spare and not self._waited():
            return
        listener = self._listener
        family, proto = _family(listener), listener.proto
        for _ in range(_ACCEPT_BATCH):
            if not self._room():
                return
            try:
                # socket.accept() but for its two IntEnum conversions (NET-PERF-9)
                fd, peer = listener._accept()  # type: ignore[attr-defined]
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return  # another worker took it, or the peer left
            except OSError as error:
                if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self._paused_until = time.monotonic() + 0.1  # out of descriptors: let it pass
                    self._next_check = min(self._next_check, self._paused_until)
                return
            try:
                sock = socket.socket(family, socket.SOCK_STREAM, proto, fileno=fd)
            except OSError:
                os.close(fd)
                continue
            try:
                if family != socket.AF_UNIX:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                connection = self._connection(sock, peer)
            except OSError:
                sock.close()
                continue
            self._make_room()
            self._waiting[connection] = None
            self._selector.register(sock, connection)
            self._note(connection)
            # A client sends its request as it connects (nginx does): read at once what has
            # come, not after another turn of the loop (NET-PERF-9).
            self._readable(connection)

    def _note(self, connection: C) -> None:
        self._next_check = min(self._next_check, connection.deadline)

    def _readable(self, connection: C) -> None:
        if connection in self._parked:  # its request waits or runs: read it once that has ended
            self._parked.discard(connection)
            assert self._selector is not None
            self._selector.unregister(connection.sock)
            return
        if connection in self._watched:
            self._hear(connection)
            return
        if connection not in self._waiting and connection not in self._lingering:
            return  # closed earlier in this round
        data = _read(connection.sock)
        if data is None:
            return
        state = self._lingering.get(connection)
        if state is not None:  # closing: what still comes is read and dropped
            state[1] += len(data)
            if not data or state[1] > LINGER_BYTES:
                self._close(connection)
            return
        self._apply(connection, self._call(connection, connection.received, data))

    def _hear(self, connection: C, retry: bool = False) -> None:
        """Read a running request's connection (``watch_running``) and hand what came to
        its ``heard``; stop reading it, or offer what it kept again shortly, as it says."""
        data: bytes | None = None
        if not retry:
            data = _read(connection.sock)
            if data is None:
                return
        try:
            heard = connection.heard(data)
        except Exception as error:  # noqa: BLE001 - a connection's failure never stops the server
            self._failed(connection, error)
            heard = Heard.STOP
        assert self._selector is not None
        registered = self._watched[connection]
        if heard is Heard.WATCH:
            self._retry.pop(connection, None)
            if not registered:
                self._selector.register(connection.sock, connection)
                self._watched[connection] = True
            return
        if registered:
            self._selector.unregister(connection.sock)
            self._watched[connection] = False
        if heard is Heard.BUSY:
            self._retry[connection] = None
            self._next_check = min(self._next_check, time.monotonic() + 0.002)
        else:
            self._retry.pop(connection, None)

    def _unwatch(self, connection: C, keep: bool = False) -> bool:
        # Its thread gave it back: the loop reads it as any other from here on. Whether
        # its socket stays registered (``keep``: the loop reads it next, saving two epoll calls).
        self._retry.pop(connection, None)
        if self._watched.pop(connection, False):
            if keep:
                return True
            assert self._selector is not None
            self._selector.unregister(connection.sock)
        return False

    def _call(self, connection: C, method: Callable[..., Step], *args: Any) -> Step:
        try:
            return method(*args)
        except Exception as error:  # noqa: BLE001 - a connection's failure never stops the server
            self._failed(connection, error)
            return Step.CLOSE

    def _apply(self, connection: C, step: Step) -> None:
        """Carry out ``step`` for a connection the loop reads."""
        if step is Step.WAIT:
            self._note(connection)
            return
        self._waiting.pop(connection, None)
        if step is Step.RUN:
            assert self._selector is not None
            if self.inline:  # kept registered (NET-PERF-1)
                self._parked.add(connection)
            else:
                self._selector.unregister(connection.sock)
            self._ready.append(connection)
        elif step is Step.LINGER:
            self._linger(connection)
        else:
            self._close(connection)

    def _linger(self, connection: C) -> None:
        try:
            connection.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(connection)
            return
        deadline = time.monotonic() + LINGER
        self._lingering[connection] = [deadline, 0]
        self._next_check = min(self._next_check, deadline)

    def _close(self, connection: C) -> None:
        self._parked.discard(connection)
        self._waiting.pop(connection, None)
        self._lingering.pop(connection, None)
        try:
            self._ready.remove(connection)
        except ValueError:
            pass
        if self._selector is not None:
            try:
                self._selector.unregister(connection.sock)
            except (KeyError, ValueError):
                pass
        try:
            connection.close()
        except Exception as error:  # noqa: BLE001
            self._failed(connection, error)

    def _collect(self) -> None:
        """Take back the connections whose threads are done. One whose socket is still
        registered stays so (NET-PERF-1): it is read next, or runs its next request."""
        if not self._back:  # a thread that appends after this look wakes the loop
            return
        with self._lock:
            back, self._back = self._back, []
            for connection, _ in back:
                self._running.pop(connection, None)
        for connection, step in back:
            self._take_back(connection, step)

    def _take_back(self, connection: C, step: Step) -> None:
        # A connection its thread is done with (no longer in _running): do ``step`` with it.
        selector = self._selector
        assert selector is not None
        if self._retry:
            self._retry.pop(connection, None)
        registered = self._watched.pop(connection, False) or connection in self._parked
        self._parked.discard(connection)
        connection.in_loop = True
        if step is Step.WAIT or step is Step.LINGER:
            if not registered:
                selector.register(connection.sock, connection)
            if step is Step.WAIT:
                self._waiting[connection] = None
                self._apply(connection, self._call(connection, connection.resume))
            else:
                self._linger(connection)
        elif step is Step.RUN:
            if registered:
                if self.inline:
                    self._parked.add(connection)
                else:
                    selector.unregister(connection.sock)
            self._ready.append(connection)
        else:
            self._close(connection)

    def _expire(self) -> None:
        if self._retry:
            for connection in list(self._retry):  # what a watched connection could not take at once
                if connection in self._watched:
                    self._hear(connection, retry=True)
                else:
                    self._retry.pop(connection, None)
            if self._retry:
                self._next_check = min(self._next_check, time.monotonic() + 0.002)
        now = time.monotonic()
        if now < self._next_check:
            return
        upcoming = now + 1.0
        expired = []
        for connection in self._waiting:
            if connection.deadline <= now:
                expired.append(connection)
            else:
                upcoming = min(upcoming, connection.deadline)
        for connection, (deadline, _) in list(self._lingering.items()):
            if deadline <= now:
                self._close(connection)
            else:
                upcoming = min(upcoming, deadline)
        if self._paused_until > now:  # the listening socket is looked at again then
            upcoming = min(upcoming, self._paused_until)
        self._next_check = upcoming
        for connection in expired:
            self._apply(connection, self._call(connection, connection.expired))

    def _dispatch(self) -> bool:
        """Start the requests that have arrived, in order, as threads and memory allow:
        a body that needs memory waits for it, and so do later ones that need some,
        while requests that need none go ahead. Whether this thread still runs the loop
        (a request answered in it may have handed the loop to another, NET-LOOP-1)."""
        blocked = False
        for connection in list(self._ready):
            if connection not in self._ready:  # started by another thread that ran the loop meanwhile
                continue
            with self._lock:
                if len(self._running) >= self.max_requests:
                    return True
                cost = connection.cost()
                if cost:
                    if blocked or (self._memory and self._memory + cost > self.body_memory):
                        blocked = True
                        continue
                    self._memory += cost
                self._running[connection] = None
            connection.granted = cost
            self._ready.remove(connection)
            if not self._start(connection):
                return False
        return True

    def _start(self, connection: C) -> bool:
        # Counted in _running already; whether this thread still runs the loop.
        connection.in_loop = False
        if connection.watch_running:
            if connection in self._parked:  # still registered (NET-PERF-1)
                self._parked.discard(connection)
            else:
                assert self._selector is not None
                self._selector.register(connection.sock, connection)
            self._watched[connection] = True
        if self.inline:
            return self._answer_inline(connection)
        try:
            self._pool.submit(lambda: self._serve_connection(connection))
        except RuntimeError as error:  # no thread to be had: this client goes, the server stays
            self._unwatch(connection)
            with self._lock:
                self._running.pop(connection, None)
            self.release_memory(connection.granted)
            connection.granted = 0
            self._unserved(connection, error)
            self._close(connection)
        return True

    def _serve_connection(self, connection: C) -> None:
        step = self._served(connection)
        if step is not None:
            self.give_back(connection, step)

    def _served(self, connection: C) -> Step | None:
        try:
            return self._handle(connection)
        except BaseException as error:  # noqa: B036 - a connection's failure never stops the server
            self._failed(connection, error)
            return Step.CLOSE

    def give_back(self, connection: C, step: Step) -> None:
        """From the thread serving ``connection``: the loop takes it back and does ``step``
        with it. ``_handle`` returns None once it gave it back itself (the FastCGI
        responder does when a response ends before its script, FCGI-FINISH-1); its
        thread then touches the connection no more."""
        with self._lock:
            looping = self._looping
            if looping:
                self._back.append((connection, step))
                # The thread answering in the loop's stead collects it itself, or the relief
                # thread that takes the loop over does (NET-PERF-2): no wake-up then.
                wake = self._answering != threading.get_ident()
            else:
                self._running.pop(connection, None)
        if not looping:
            connection.close()
        elif wake:
            self._poke()

    def release_memory(self, size: int) -> None:
        """Give back ``size`` bytes granted to a request's body."""
        if size:
            with self._lock:
                self._memory -= size
            self._poke()

    # -- what a subclass says -------------------------------------------------------------

    def _connection(self, sock: socket.socket, peer: Any) -> C:
        """The connection for an accepted socket."""
        raise NotImplementedError

    def _handle(self, connection: C) -> Step | None:
        """Serve ``connection``'s request, in its own thread; what comes next (None: it
        was given back already, ``give_back``)."""
        raise NotImplementedError

    def _unserved(self, connection: C, error: Exception) -> None:
        """``connection`` is closed without being served: no thread could be started."""

    def _evicted(self, connection: C) -> None:
        """``connection`` is closed to make room for a new one (``max_connections``)."""

    def _failed(self, connection: C, error: BaseException) -> None:
        """Serving ``connection`` raised ``error``; it is closed."""

    def _busy(self) -> bool:
        """Whether requests still run, which ``shutdown()`` waits for."""
        with self._lock:
            return bool(self._running)

    # -- stopping ---------------------------------------------------------------------------

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop accepting, close the connections whose request has not arrived, give
        running requests ``timeout`` seconds to finish, then cut the rest and
        ``close()`` (SERVE-CLI-1)."""
        if self._shut:
            return
        self._shut = True
        self.stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        deadline = time.monotonic() + timeout
        while self._busy() and time.monotonic() < deadline:
            time.sleep(0.02)
        with self._lock:
            running = dict(self._running)
        for connection in running:  # still running after the grace period
            connection.interrupt()
        self._pool.close(0.5 if running else 0.1)
        self.close()

    def close(self) -> None:
        """Close the listening socket."""
        self._listener.close()


def stop_on_signals(listener: Listener[Any], *, hurry: bool = False) -> dict[int, _Handler]:
    """Make SIGINT and SIGTERM ``stop()`` ``listener``; with ``hurry`` a second one
    raises KeyboardInterrupt, to stop waiting for running requests. Returns the
    handlers they had."""
    def stop(signum: int, frame: FrameType | None) -> None:
        if hurry and listener.stopping:
            raise KeyboardInterrupt
        listener.stop()

    return {number: signal.signal(number, stop) for number in STOP_SIGNALS}


def serve_until_signalled(listener: Listener[Any], grace: float, *, hurry: bool = False) -> None:
    """Serve in the calling thread until SIGINT or SIGTERM, then ``shutdown(grace)``
    (SERVE-CLI-1, FCGI-WORKERS-1); ``hurry`` as ``stop_on_signals`` takes it."""
    main = threading.current_thread() is threading.main_thread()
    previous = stop_on_signals(listener, hurry=hurry) if main else {}
    try:
        try:
            listener.serve_forever()
        finally:
            listener.shutdown(grace)
    except KeyboardInterrupt:  # a second Ctrl-C: stop waiting for running requests
        pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _work(server: Listener[Any], grace: float, log: Log, in_worker: Callable[[], None] | None,
          spare: bool | None) -> None:
    """A worker process: serve until SIGINT or SIGTERM, then exit; ``spare``: its part in a
    pool of more workers than CPUs, None in any other (NET-PERF-10)."""
    status = 0
    try:
        if in_worker is not None:
            in_worker()
        if spare is not None:
            server.join_pool(spare)
        stop_on_signals(server)  # kept to the end: a late signal must not raise in the worker
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        server.serve_forever()
        server.shutdown(grace)
    except BaseException as error:  # noqa: B036 - whatever happens, the worker ends here
        log.exception(error)
        status = 1
    finally:
        sys.stderr.flush()
        os._exit(status)


def serve_workers(server: Listener[Any], workers: int, grace: float, log: Log, *,
                  in_worker: Callable[[], None] | None = None) -> int:
    """The master: fork ``workers`` processes sharing ``server``'s listening socket
    (each calls ``in_worker()`` first), fork a new one when one dies, and on SIGINT or
    SIGTERM pass SIGTERM on and wait for them; the exit status (FCGI-WORKERS-1, SERVE-CLI-1).
    Workers beyond the CPUs the master may run on are spares (NET-PERF-10); a worker that
    dies is replaced by one of its kind."""
    children: dict[int, tuple[float, bool]] = {}  # when each started, and whether it is a spare
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    stopping = False

    def spawn(spare: bool) -> None:
        # Signals wait until the worker has its own handlers and the master knows its pid.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:  # a worker: serve, and never return into the master's code
                _work(server, grace, log, in_worker, spare if workers > cpus else None)
            children[pid] = (time.monotonic(), spare)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    previous = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    try:
        for index in range(workers):
            spawn(index >= cpus)
        while children:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            child = children.pop(pid, None)
            if child is None or stopping:
                continue
            log.line(f"worker {pid} exited with status {os.waitstatus_to_exitcode(status)}; starting another")
            if time.monotonic() - child[0] < 1.0:
                time.sleep(1.0)  # a worker that dies at once is not restarted in a tight loop
            if not stopping:
                spawn(child[1])
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 0


def _read(sock: socket.socket) -> bytes | None:
    """What a connection has for us: its bytes, b"" at its end or on an error, None when
    nothing is there yet."""
    try:
        return os.read(sock.fileno(), _READ)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b""
