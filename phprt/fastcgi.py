"""``python -m phprt fastcgi DOCROOT --listen ADDRESS``: a FastCGI responder, as PHP-FPM is (FCGI-*).

A web server such as nginx passes each request over FastCGI; phprt/_fastcgi.py
speaks the protocol, this module does the I/O: a thread per connection reads
records, each request runs in a Runtime of its own in a thread of its own, on a
``FastCgiTransport`` that frames what the Runtime delivers as STDOUT and STDERR
records. The script is the ``.py`` file SCRIPT_FILENAME names inside the document
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

from ._docroot import Refused
from ._fastcgi import Abort, Closed, Connection, ProtocolError, Request
from ._fpm import fpm_server_variables
from ._gateway import ScriptCall, Site
from ._listener import STOP_SIGNALS, Listener, host_port, serve_until_signalled, stop_on_signals
from ._runtime import ACTIVE, Runtime
from ._script import Script
from ._transport import ResponseHead, Transport

__all__ = ["FastCgiServer", "FastCgiTransport", "fpm_server_variables", "parse_address", "serve"]

Target = Union[Site, Script]
Address = Union[str, tuple[str, int]]

#: How long a connection being closed waits for the web server to close its side.
_LINGER = 2.0


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


class _FcgiConnection:
    """An accepted connection: the protocol state, its socket, and a lock that keeps
    the records of the request thread and the reader thread whole."""

    name = "connection"

    def __init__(self, sock: socket.socket, write_timeout: float) -> None:
        sock.settimeout(write_timeout)  # a web server that stops reading is gone after it
        self.sock = sock
        self.protocol = Connection()
        self.lock = threading.Lock()
        self.closed = False  # this side is shut or the web server went away: nothing more goes out
        self.transports: dict[int, FastCgiTransport] = {}
        self.close_deadline: float | None = None

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
        """Send nothing more: the web server sees the end; the reader waits for its close."""
        if not self.closed:
            self.closed = True
            self.close_deadline = time.monotonic() + _LINGER
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def settle(self) -> None:
        """After the protocol finished a response: shut the connection if it is not kept."""
        if self.protocol.should_close:
            self.shut()

    @property
    def idle(self) -> bool:
        """No request is read or runs: shutdown() closes it at once. Read without the
        lock, which a request thread holds while it writes."""
        return not self.transports

    def interrupt(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


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
    a background thread. Each connection is read in its own thread and each
    request runs in a Runtime of its own, in a thread of its own
    (FCGI-CONCURRENT-1), at most ``max_requests`` at once. ``address`` is where it
    listens: (host, port) or the socket path.
    """

    kind = "fastcgi"

    def __init__(self, site_or_target: Target, listen: Address | socket.socket = "127.0.0.1:0", *,
                 sapi: str = "fpm", ini: Mapping[str, Any] | None = None, socket_mode: int = 0o660,
                 backlog: int = 511, write_timeout: float = 60.0, max_requests: int = 128) -> None:
        self.write_timeout = write_timeout
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
        super().__init__(listener)
        bound = listener.getsockname()
        self.address: Any = bound if isinstance(bound, str) else (str(bound[0]), int(bound[1]))
        self._requests: set[threading.Thread] = set()

    def _connection(self, sock: socket.socket, peer: Any) -> _FcgiConnection:
        return _FcgiConnection(sock, self.write_timeout)

    def _unserved(self, connection: _FcgiConnection, error: Exception) -> None:
        _say(f"a connection closed unserved: {error}")

    def _busy(self, connections: dict[_FcgiConnection, threading.Thread]) -> bool:
        with self._lock:
            return bool(self._requests)

    # -- one connection ------------------------------------------------------------------

    def _handle(self, channel: _FcgiConnection) -> None:
        """Read the web server's records until it closes the connection; malformed
        input closes it (FCGI-MALFORMED-1). The socket stays blocking for the
        request threads' writes; the reader waits on it with poll()."""
        sock = channel.sock
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        try:
            while True:
                if not poller.poll(1000):
                    if channel.close_deadline is not None and time.monotonic() > channel.close_deadline:
                        break
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if channel.close_deadline is not None and data:
                    continue  # closing: what still comes is read and dropped
                try:
                    with channel.lock:
                        events = channel.protocol.receive(data)
                        channel.send(channel.protocol.data_to_send())
                        channel.settle()
                except ProtocolError:
                    break
                for event in events:
                    self._event(channel, event)
                if not data:
                    break
        except Exception:  # noqa: BLE001 - a connection's failure never stops the server
            traceback.print_exc()
        finally:
            with channel.lock:
                channel.closed = True
                transports = list(channel.transports.values())
            for transport in transports:
                transport.abort()  # the web server is gone: the next write fails (FCGI-ABORT-1)
            sock.close()

    def _event(self, channel: _FcgiConnection, event: Request | Abort | Closed) -> None:
        if isinstance(event, Request):
            self._begin(channel, event)
        elif isinstance(event, Abort):
            transport = channel.transports.get(event.request_id)
            if transport is not None:
                transport.abort()

    def _begin(self, channel: _FcgiConnection, request: Request) -> None:
        params = [(_text(name), _text(value)) for name, value in request.params]
        server, script_path = fpm_server_variables(params)
        transport = FastCgiTransport(channel, request.request_id, server, request.stdin)
        with channel.lock:
            channel.transports[request.request_id] = transport
        script, log = self._script(server, script_path)
        call = ScriptCall(script, server, request.stdin, self.site.sapi, self.site.ini)
        self._pool.acquire()  # a full pool: the web server waits, as for PHP-FPM's busy workers
        thread = threading.Thread(target=self._run, args=(call, transport, log), daemon=True, name="phprt-fastcgi-request")
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

    def _run(self, call: ScriptCall, transport: FastCgiTransport, log: bytes) -> None:
        try:
            if log:
                transport.write_stderr(log)
            call.run(transport)
        except (SystemExit, KeyboardInterrupt) as stop:  # a script's sys.exit(): its request ends here
            _say(f"request {transport.request_id}: the script raised {type(stop).__name__}{stop.args!r}")
        except BaseException:  # noqa: B036 - a request's failure never stops the server
            traceback.print_exc()
        finally:
            transport.finish()
            self._pool.release()
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
          workers: int = 1, grace: float = 5.0, socket_mode: int = 0o660) -> int:
    """Serve ``docroot`` on ``listen`` until SIGINT or SIGTERM; the exit status.
    ``workers`` > 1 forks that many processes sharing the listening socket, kept
    at that number, as a static PHP-FPM pool (pm = static) (FCGI-WORKERS-1).
    ``grace`` is how long running requests get when a signal stops the server;
    ``socket_mode`` the permissions of a unix socket (FCGI-LISTEN-1)."""
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    server = FastCgiServer(docroot, listen, sapi=sapi, ini=ini, socket_mode=socket_mode)
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
