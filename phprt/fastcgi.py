"""``python -m phprt fastcgi DOCROOT --listen ADDRESS``: a FastCGI responder, as PHP-FPM is (FCGI-*).

A web server such as nginx passes each request over FastCGI; phprt/_fastcgi.py
speaks the protocol, this module does the I/O: one loop (phprt/_listener.py)
reads every connection until its request has arrived, STDIN past
``body_buffer`` bytes going to a temporary file (FCGI-LIMIT-1); then a thread
reads the connection while the request runs in a Runtime of its own, in a
thread of its own, on a ``FastCgiTransport`` that frames what the Runtime
delivers as STDOUT and STDERR records. The script is the ``.py`` file SCRIPT_FILENAME names inside the document
root, and ``$_SERVER`` is the PARAMS as PHP-FPM turns them into its variables.

    with FastCgiServer("docroot/", "127.0.0.1:0") as server:   # from a background thread
        host, port = server.address

``serve(docroot, "127.0.0.1:9000", workers=4)`` serves in the foreground until
SIGINT or SIGTERM, with N worker processes sharing the socket as a static
PHP-FPM pool (FCGI-WORKERS-1).
"""

from __future__ import annotations

import os
import select
import signal
import socket
import stat
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any, Union

from .net.docroot import Refused
from .net.fastcgi import Abort, Connection, Event, ProtocolError, Request
from .net.fpm import fpm_server_variables
from .net.site import ScriptCall, Site
from .net.listener import (STOP_SIGNALS, Link, Listener, Spool, Step, host_port, send_now, serve_until_signalled,
                        stop_on_signals)
from .engine.runtime import ACTIVE, Runtime
from .engine.script import Script
from .transports.base import ResponseHead, Transport

__all__ = ["FastCgiServer", "FastCgiTransport", "fpm_server_variables", "parse_address", "serve"]

Target = Union[Site, Script]
Address = Union[str, tuple[str, int]]

def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _refusal(status: int, body: str) -> Callable[[], object]:
    # PHP-FPM's own answer, a request without a script: the status and one line (FCGI-SCRIPT-1)
    def answer() -> None:
        runtime = ACTIVE.get()
        assert runtime is not None
        runtime.http_response_code(status)
        runtime.echo(body)

    return answer


def _nothing() -> None:
    """A request without REQUEST_METHOD is not HTTP: PHP-FPM runs no script (FCGI-SCRIPT-1)."""


# -- the transport -------------------------------------------------------------------------


class _FcgiConnection(Link):
    """An accepted connection: the protocol state, its socket, and a lock that keeps
    the records of the request thread and the reader whole. The server's loop reads
    it (``received``) until a request has arrived; then a thread reads it while the
    request runs (``FastCgiServer._handle``)."""

    def __init__(self, server: FastCgiServer, sock: socket.socket) -> None:
        super().__init__(sock, server.write_timeout)  # a web server that stops reading is gone after it
        self.server = server
        self.protocol = Connection(max_stdin=server.max_body, stdin=lambda: Spool(server.body_buffer))
        self.lock = threading.Lock()
        self.closed = False  # this side is shut or the web server went away: nothing more goes out
        self.transports: dict[int, FastCgiTransport] = {}
        self.request: Request | None = None  # arrived, to run
        self.later: list[Event] = []  # what the loop read after it, for the request's thread
        self.wake_fd: int | None = None  # wakes the request's thread when a response ends
        self._await()

    def send(self, data: bytes) -> bool:
        """Write ``data``; False once the connection is gone. Call with the lock held."""
        if self.closed:
            return False
        if data:
            try:
                self.sock.sendall(data)
            except OSError:
                self.closed = True
                return False
        return True

    def shut(self) -> None:
        """Send nothing more: the web server sees the end of the connection."""
        if not self.closed:
            self.closed = True
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def settle(self) -> None:
        """After the protocol finished a response: shut the connection if it is not
        kept, and wake the thread that reads it. Call with the lock held."""
        if self.protocol.should_close:
            self.shut()
        if self.wake_fd is not None:
            try:
                os.write(self.wake_fd, b"x")
            except OSError:
                pass  # already woken

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.protocol.discard()
            transports = list(self.transports.values())
        for transport in transports:
            transport.abort()  # the web server is gone: the next write fails (FCGI-ABORT-1)
        if self.request is not None:
            self.request.stdin.close()
        super().close()

    # -- read by the loop (FCGI-LIMIT-1) --------------------------------------------------

    def _await(self) -> None:
        # idle_timeout while no request has begun, read_timeout from its first byte
        self.waiting_since, self.started = time.monotonic(), 0.0
        self._reschedule()

    def _reschedule(self) -> None:
        if not self.protocol.started:
            self.started = 0.0
            self.deadline = self.waiting_since + self.server.idle_timeout
            return
        if not self.started:
            self.started = time.monotonic()
        self.deadline = self.started + self.server.read_timeout

    def received(self, data: bytes) -> Step:
        try:
            with self.lock:
                events = self.protocol.receive(data)
                replies = self.protocol.data_to_send()
        except ProtocolError:
            return Step.CLOSE  # FCGI-MALFORMED-1
        if replies and not send_now(self.sock, replies):
            return Step.CLOSE  # a web server that does not read its answers
        for index, event in enumerate(events):
            if isinstance(event, Request):
                self.request, self.later = event, events[index + 1:]
                return Step.RUN
        if not data:
            return Step.CLOSE
        if self.protocol.should_close:
            return Step.LINGER
        if self.protocol.request_id is None:
            self.waiting_since = time.monotonic()  # a management record or a refused request
        self._reschedule()
        return Step.WAIT

    def resume(self) -> Step:
        self._await()
        return Step.WAIT

    def cost(self) -> int:
        """STDIN on disk needs its size in memory when the request runs."""
        stdin = self.request.stdin if self.request is not None else None
        return stdin.size if isinstance(stdin, Spool) and stdin.on_disk else 0


def _cgi_head(head: ResponseHead) -> ResponseHead:
    """The head as a CGI head, which a FastCGI responder sends: php-cgi's and PHP-FPM's
    as they are; under another profile without ``php -S``'s status line and with a
    ``Status:`` line unless the code is 200 (FCGI-STDOUT-1)."""
    lines = [line for line in head.lines if not line.startswith("HTTP/")]
    if head.status not in (None, 200) and not any(line[:7].lower() == "status:" for line in lines):
        lines.insert(0, f"Status: {head.status} {head.reason}".rstrip())
    return ResponseHead(head.status, head.reason, tuple(lines), head.charset)


class FastCgiTransport(Transport):
    """One request's response on a FastCGI connection (FCGI-STDOUT-1, FCGI-STDERR-1).

    ``send_headers`` keeps the head block (the CGI head the SAPI writes, ``Status:``
    line included) to go out with the first STDOUT bytes; ``write`` sends STDOUT
    records at once (the "fpm" profile already buffers in PHP-FPM's 8 KiB record
    buffer); ``write_stderr`` sends STDERR records; ``finish`` ends the streams and
    sends END_REQUEST with appStatus 0, which may come early for
    fastcgi_finish_request() (FCGI-FINISH-1). ``write`` and ``flush`` return False
    once the request was aborted (ABORT_REQUEST) or the web server closed the
    connection (FCGI-ABORT-1)."""

    can_end_early = True

    def __init__(self, channel: _FcgiConnection, request_id: int, server: Mapping[str, Any], body: bytes) -> None:
        self.server = dict(server)
        self.input = body
        self.request_id = request_id
        self.aborted = False
        self.finished = False
        self._channel = channel
        self._head = b""

    def _stdout(self, data: bytes) -> bool:
        # The pending head goes out with the first bytes, or alone on a flush.
        channel = self._channel
        with channel.lock:
            if self.aborted or self.finished:
                return False
            data, self._head = self._head + data, b""
            if not channel.send(channel.protocol.stdout(self.request_id, data)):
                self.aborted = True
            return not self.aborted

    def send_headers(self, head: ResponseHead) -> None:
        with self._channel.lock:
            self._head += _cgi_head(head).block()

    def write(self, data: bytes) -> bool:
        return self._stdout(data)

    def flush(self) -> bool:
        return self._stdout(b"")

    def write_stderr(self, data: bytes) -> None:
        channel = self._channel
        with channel.lock:
            if self.aborted or self.finished:
                return
            head, self._head = self._head, b""  # written before this message, so sent before it
            records = channel.protocol.stdout(self.request_id, head) + channel.protocol.stderr(self.request_id, data)
            if not channel.send(records):
                self.aborted = True

    def finish(self) -> None:
        channel = self._channel
        with channel.lock:
            if self.finished:
                return
            self.finished = True
            head, self._head = self._head, b""
            data = b"" if self.aborted else channel.protocol.stdout(self.request_id, head)
            channel.send(data + channel.protocol.end_request(self.request_id))
            channel.transports.pop(self.request_id, None)
            channel.settle()

    def abort(self) -> None:
        """The web server aborted the request or left: the next write or flush fails."""
        with self._channel.lock:
            self.aborted = True


# -- the server ----------------------------------------------------------------------------


def parse_address(listen: Address) -> tuple[int, Any]:
    """(family, address) for ``HOST:PORT``, ``[::1]:PORT``, or a unix socket path
    (anything with a ``/``, or ``unix:PATH``) (FCGI-LISTEN-1)."""
    if isinstance(listen, tuple):
        return (socket.AF_INET6 if ":" in listen[0] else socket.AF_INET), (listen[0], int(listen[1]))
    if listen.startswith("unix:"):
        return socket.AF_UNIX, listen[5:]
    if "/" in listen:
        return socket.AF_UNIX, listen
    host, port = host_port(listen, "HOST:PORT or a socket path")
    return (socket.AF_INET6 if ":" in host else socket.AF_INET), (host, port)


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
    listener = socket.socket(socket.AF_UNIX)
    try:
        previous = os.umask(0o777 & ~mode)
        try:
            listener.bind(path)
        finally:
            os.umask(previous)
        os.chmod(path, mode)
        listener.listen(backlog)
    except BaseException:
        listener.close()
        raise
    return listener


class FastCgiServer(Listener[_FcgiConnection]):
    """A FastCGI responder for a ``Site`` (or what ``Site`` takes: a document root,
    one script, a callable), as PHP-FPM is for a pool, listening on ``listen``:
    ``HOST:PORT`` (port 0: a free one), a unix socket path (created with
    ``socket_mode``, 0660 as PHP-FPM's listen.mode, and removed on shutdown), or
    a listening socket to share (FCGI-LISTEN-1).

    ``serve_forever()`` serves in the calling thread until ``shutdown()`` or
    ``stop()``; ``start()`` (or ``with FastCgiServer(...) as server:``) serves from
    a background thread. Connections are read in one loop until a request has
    arrived; each request runs in a Runtime of its own, in a thread of its own, at
    most ``max_requests`` (PHP-FPM's pm.max_children) at once, while another
    thread reads its connection (FCGI-CONCURRENT-1). The limits (FCGI-LIMIT-1):
    ``backlog`` (listen.backlog); ``max_connections`` held at once, the one that
    has waited longest for a request making room for a new one; ``idle_timeout``
    for a request to begin, ``read_timeout`` for it to arrive from its first byte
    (FCGI-TIMEOUT-1); STDIN up to ``max_body`` bytes, past ``body_buffer`` in a
    temporary file, read back within ``body_memory`` bytes at once for running
    scripts. ``address`` is where it listens: (host, port) or the socket path.
    """

    kind = "fastcgi"

    def __init__(self, site_or_target: Target, listen: Address | socket.socket = "127.0.0.1:0", *,
                 sapi: str = "fpm", ini: Mapping[str, Any] | None = None, socket_mode: int = 0o660,
                 backlog: int = 511, write_timeout: float = 60.0, max_requests: int = 128,
                 max_connections: int = 1024, idle_timeout: float = 60.0, read_timeout: float = 60.0,
                 max_body: int = 64 << 20, body_buffer: int = 64 << 10, body_memory: int = 128 << 20) -> None:
        if min(write_timeout, idle_timeout, read_timeout) <= 0:
            raise ValueError("every timeout must be positive")
        self.write_timeout, self.idle_timeout, self.read_timeout = write_timeout, idle_timeout, read_timeout
        self.max_body, self.body_buffer = max_body, body_buffer
        self._pool = threading.BoundedSemaphore(max_requests)  # scripts running at once
        self.site = site_or_target if isinstance(site_or_target, Site) else Site(site_or_target, sapi=sapi, ini=ini)
        Runtime(sapi=self.site.sapi, ini=self.site.ini)  # an unknown directive fails here, not per request
        self._unix_path: str | None = None
        self._unix_inode: tuple[int, int] | None = None
        if isinstance(listen, socket.socket):
            listener = listen
        else:
            family, address = parse_address(listen)
            if family == socket.AF_UNIX:
                listener = _bind_unix(address, socket_mode, backlog)
                self._unix_path = address
                info = os.stat(address)
                self._unix_inode = (info.st_dev, info.st_ino)
            else:
                listener = socket.create_server(address, family=family, backlog=backlog)
        super().__init__(listener, max_connections=max_connections, max_requests=max_requests,
                         body_memory=body_memory)
        bound = listener.getsockname()
        self.address: Any = bound if isinstance(bound, str) else (str(bound[0]), int(bound[1]))
        self._requests: set[threading.Thread] = set()

    def _connection(self, sock: socket.socket, peer: Any) -> _FcgiConnection:
        return _FcgiConnection(self, sock)

    def _unserved(self, connection: _FcgiConnection, error: Exception) -> None:
        _say(f"a connection closed unserved: {error}")

    def _failed(self, connection: _FcgiConnection, error: BaseException) -> None:
        traceback.print_exception(error)

    def _busy(self) -> bool:
        with self._lock:
            return bool(self._requests)

    # -- one request ---------------------------------------------------------------------

    def _handle(self, channel: _FcgiConnection) -> Step:
        """Run the request that has arrived and read the connection meanwhile, so that
        ABORT_REQUEST, GET_VALUES and a web server that closes are seen at once
        (FCGI-CONCURRENT-1, FCGI-ABORT-1), until no request runs on it: then the loop
        reads it again. Malformed input closes it (FCGI-MALFORMED-1)."""
        sock = channel.sock
        wake, woken = os.pipe()  # a response's end wakes this thread
        os.set_blocking(woken, False)
        with channel.lock:
            channel.wake_fd = woken
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        poller.register(wake, select.POLLIN)
        try:
            request, events, channel.request, channel.later = channel.request, channel.later, None, []
            assert request is not None
            self._begin(channel, request)
            while True:
                for index, event in enumerate(events):
                    if isinstance(event, Request):  # the next request, once the last one ended: the loop runs it
                        channel.request, channel.later = event, events[index + 1:]
                        return Step.RUN
                    if isinstance(event, Abort):
                        transport = channel.transports.get(event.request_id)
                        if transport is not None:
                            transport.abort()
                with channel.lock:
                    if not channel.transports:
                        if channel.protocol.should_close:
                            return Step.LINGER
                        return Step.CLOSE if channel.closed else Step.WAIT
                ready = {fd for fd, _ in poller.poll()}
                events = []
                if wake in ready:
                    os.read(wake, 4096)
                if sock.fileno() not in ready:
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    return Step.CLOSE  # the web server is gone (FCGI-ABORT-1): close() aborts the request
                try:
                    with channel.lock:
                        events = channel.protocol.receive(data)
                        channel.send(channel.protocol.data_to_send())
                        channel.settle()
                except ProtocolError:
                    return Step.CLOSE
        finally:
            with channel.lock:
                channel.wake_fd = None
            os.close(wake)
            os.close(woken)

    def _begin(self, channel: _FcgiConnection, request: Request) -> None:
        """Start the request's script in a thread of its own, which gives back the
        memory granted to its STDIN when it ends (FCGI-LIMIT-1)."""
        granted, channel.granted = channel.granted, 0
        started = False
        try:
            started = self._start_script(channel, request, granted)
        finally:
            request.stdin.close()
            if not started:
                self.release_memory(granted)

    def _start_script(self, channel: _FcgiConnection, request: Request, granted: int) -> bool:
        assert isinstance(request.stdin, Spool)
        body = request.stdin.read()
        params = [(_text(name), _text(value)) for name, value in request.params]
        server, script_path = fpm_server_variables(params)
        transport = FastCgiTransport(channel, request.request_id, server, body)
        with channel.lock:
            channel.transports[request.request_id] = transport
        script, log = self._script(server, script_path)
        call = ScriptCall(script, server, body, self.site.sapi, self.site.ini)
        del body
        self._pool.acquire()  # a full pool: the web server waits, as for PHP-FPM's busy workers
        # The thread keeps its arguments until it ends: the request is handed over in a list it empties.
        thread = threading.Thread(target=self._run, args=([call, transport], log, granted), daemon=True,
                                  name="phprt-fastcgi-request")
        with self._lock:
            self._requests.add(thread)
        try:
            thread.start()
        except RuntimeError:  # no thread to be had: the request ends unanswered
            with self._lock:
                self._requests.discard(thread)
            self._pool.release()
            transport.finish()
            raise
        return True

    def _script(self, server: Mapping[str, Any], path: str | None) -> tuple[Script, bytes]:
        """What runs for the request, and what PHP-FPM logs first (FCGI-SCRIPT-1)."""
        if "REQUEST_METHOD" not in server:
            return _nothing, b""
        root = self.site.root
        if root is None:
            assert self.site.script is not None
            return self.site.script, b""
        if path is not None:
            try:
                return root.script(path), b""
            except Refused:
                pass
        return _refusal(404, "File not found.\n"), b"Primary script unknown"

    def _run(self, request: list[Any], log: bytes, granted: int) -> None:
        call, transport = request
        request.clear()
        assert isinstance(call, ScriptCall) and isinstance(transport, FastCgiTransport)
        try:
            if log:
                transport.write_stderr(log)
            call.run(transport).input = b""  # the Runtime's reference cycles may keep it until a full collection
        except (SystemExit, KeyboardInterrupt) as stop:  # a script's sys.exit(): its request ends here
            _say(f"request {transport.request_id}: the script raised {type(stop).__name__}{stop.args!r}")
        except BaseException:  # noqa: B036 - a request's failure never stops the server
            traceback.print_exc()
        finally:
            transport.finish()
            transport.input = b""
            del call, transport  # the body goes with them, before its memory is given back (FCGI-LIMIT-1)
            self._pool.release()
            self.release_memory(granted)
            with self._lock:
                self._requests.discard(threading.current_thread())

    # -- stopping ------------------------------------------------------------------------

    def forget_socket_file(self) -> None:
        """Leave the unix socket file in place on close (a worker's, whose master removes it)."""
        self._unix_path = None

    def close(self) -> None:
        """Close the listening socket; remove the unix socket file this server made (FCGI-LISTEN-1)."""
        super().close()
        path, inode = self._unix_path, self._unix_inode
        if path is not None and inode is not None:
            self._unix_path = None
            try:
                info = os.stat(path)
                if (info.st_dev, info.st_ino) == inode:
                    os.unlink(path)
            except OSError:
                pass


# -- the command line ----------------------------------------------------------------------


def serve(docroot: str | os.PathLike[str], listen: str, *, sapi: str = "fpm", ini: Mapping[str, Any] | None = None,
          workers: int = 1, grace: float = 5.0, socket_mode: int = 0o660, **options: Any) -> int:
    """Serve ``docroot`` on ``listen`` until SIGINT or SIGTERM; the exit status.
    ``workers`` > 1 forks that many processes sharing the listening socket, kept
    at that number, as a static PHP-FPM pool (pm = static) (FCGI-WORKERS-1).
    ``grace`` is how long running requests get when a signal stops the server;
    ``socket_mode`` the permissions of a unix socket (FCGI-LISTEN-1); ``options``
    FastCgiServer's limits and timeouts, for each worker (FCGI-LIMIT-1)."""
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    server = FastCgiServer(docroot, listen, sapi=sapi, ini=ini, socket_mode=socket_mode, **options)
    where = server.address if isinstance(server.address, str) else "{}:{}".format(*server.address)
    _say(f"phprt FastCGI ({server.site.sapi}, {workers} worker{'s' if workers > 1 else ''}) listening on {where}")
    if workers == 1:
        serve_until_signalled(server, grace)
        server.close()
        return 0
    return _pool(server, workers, grace)


def _say(line: str) -> None:
    print(f"[{time.strftime('%d-%b-%Y %H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def _work(server: FastCgiServer, grace: float) -> None:
    """A worker process: serve until SIGINT or SIGTERM, then exit; the master owns the socket file."""
    status = 0
    try:
        server.forget_socket_file()
        stop_on_signals(server)  # kept to the end: a late signal must not raise in the worker
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        server.serve_forever()
        server.shutdown(grace)
    except BaseException:  # noqa: B036 - whatever happens, the worker ends here
        traceback.print_exc()
        status = 1
    finally:
        sys.stderr.flush()
        os._exit(status)


def _pool(server: FastCgiServer, workers: int, grace: float) -> int:
    """The master: fork the workers, fork a new one when one dies, and on SIGINT or
    SIGTERM pass SIGTERM on, wait for them, and remove the socket (FCGI-WORKERS-1)."""
    children: dict[int, float] = {}
    stopping = False

    def spawn() -> None:
        # Signals wait until the worker has its own handlers and the master knows its pid.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:  # a worker: serve, and never return into the master's code
                _work(server, grace)
            children[pid] = time.monotonic()
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
        for _ in range(workers):
            spawn()
        while children:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            started = children.pop(pid, None)
            if started is None or stopping:
                continue
            _say(f"worker {pid} exited with status {os.waitstatus_to_exitcode(status)}; starting another")
            if time.monotonic() - started < 1.0:
                time.sleep(1.0)  # a worker that dies at once is not restarted in a tight loop
            if not stopping:
                spawn()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        server.close()
    return 0
