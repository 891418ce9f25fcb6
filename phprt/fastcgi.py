"""``python -m phprt fastcgi DOCROOT --listen ADDRESS``: a FastCGI responder, as PHP-FPM is (FCGI-*).

A web server such as nginx passes each request over FastCGI; phprt/net/fastcgi.py
speaks the protocol, this module does the I/O: one loop (phprt/net/listener.py)
reads every connection until its request has arrived, STDIN past
``body_buffer`` bytes going to a temporary file (FCGI-LIMIT-1); then the request
runs in a Runtime of its own, in a thread of the server's ``ScriptRunner``, while
the loop goes on reading its connection, on a ``FastCgiTransport`` (phprt/transports/fastcgi.py)
that frames what the Runtime delivers as STDOUT and STDERR records. The script
is the ``.py`` file SCRIPT_FILENAME names inside the document root, and
``$_SERVER`` is the PARAMS as PHP-FPM turns them into its variables.

    with FastCgiServer("docroot/", "127.0.0.1:0") as server:   # from a background thread
        host, port = server.address

``serve(docroot, "127.0.0.1:9000", workers=4)`` serves in the foreground until
SIGINT or SIGTERM, with N worker processes sharing the socket as a static
PHP-FPM pool (FCGI-WORKERS-1).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Union

from .engine.ini_files import IniFile, server_configuration
from .engine.runtime import ACTIVE
from .engine.script import Script
from .net.body import BODY_BUFFER, Spool
from .net.docroot import Refused
from .net.fastcgi import Abort, Closed, Connection, Event, ProtocolError, Request
from .net.fpm import fpm_request, fpm_server_variables
from .net.listener import Heard, Listener, Step, bind, parse_address, send_now, serve_until_signalled, serve_workers
from .net.logs import Log, fpm_stamp
from .net.runner import Outcome, ScriptRunner
from .net.site import ScriptCall, Site
from .transports.fastcgi import FastCgiTransport, FcgiConnection

__all__ = ["FastCgiServer", "FastCgiTransport", "fpm_server_variables", "parse_address", "serve"]

Target = Union[Site, Script]
Address = Union[str, tuple[str, int]]


def _refusal(status: int, body: str, log: bytes) -> Callable[[], object]:
    # PHP-FPM's own answer, a request without a script: its log line, the status and one line (FCGI-SCRIPT-1)
    def answer() -> None:
        runtime = ACTIVE.get()
        assert runtime is not None
        runtime.transport.write_stderr(log)
        runtime.http_response_code(status)
        runtime.echo(body)

    return answer


def _nothing() -> None:
    """A request without REQUEST_METHOD is not HTTP: PHP-FPM runs no script (FCGI-SCRIPT-1)."""


# -- the connection ------------------------------------------------------------------------


class _FcgiConnection(FcgiConnection):
    """An accepted connection. The server's loop reads it (``received``) until a
    request has arrived, and on while the request runs in a thread
    (``FastCgiServer._handle``), so that ABORT_REQUEST, GET_VALUES and a web server
    that closes are seen at once (``heard``, FCGI-CONCURRENT-1)."""

    watch_running = True

    def __init__(self, server: FastCgiServer, sock: socket.socket) -> None:
        super().__init__(sock, server.write_timeout,
                         Connection(max_stdin=server.max_body, stdin=lambda: Spool(server.body_buffer)))
        self.server = server
        self.request: Request | None = None  # arrived, to run
        self.later: list[Event] = []  # what the loop read after it, for the request's thread (lock)
        self._unheard = bytearray()  # read while the request's thread held the lock
        self._unheard_end = False
        self._await()

    def close(self) -> None:
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
        if not self.send(replies):
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
        if self.request is not None:  # read while the last response ended (heard)
            return Step.RUN
        self._await()
        if not self._unheard and not self._unheard_end:
            return Step.WAIT  # nothing came while the request ran
        data, end = bytes(self._unheard), self._unheard_end
        self._unheard, self._unheard_end = bytearray(), False
        step = self.received(data) if data else Step.WAIT
        if end and step is Step.WAIT:
            step = self.received(b"")
        return step

    # -- read by the loop while the request runs (FCGI-CONCURRENT-1, FCGI-ABORT-1) --------

    def heard(self, data: bytes | None) -> Heard:
        """Feed what came while the request runs to the protocol and act on it, in the
        loop: its replies (GET_VALUES, CANT_MPX_CONN) sent without waiting, an ABORT_REQUEST
        aborting the request's transport, the web server's hang-up or malformed input
        aborting it and shutting the connection (which closes when the script has ended),
        the next request (after a response that ended before its script) kept for the
        loop to run. BUSY while the request's thread holds the lock (a send may wait for
        the web server): the loop offers it again shortly and never waits itself."""
        if data is not None:
            if data:
                self._unheard += data
            else:
                self._unheard_end = True
        if not self.lock.acquire(blocking=False):
            return Heard.BUSY
        aborted: list[FastCgiTransport] = []
        try:
            data, end = bytes(self._unheard), self._unheard_end
            self._unheard, self._unheard_end = bytearray(), False
            try:
                events = self.protocol.receive(data) if data else []
                if end:
                    events += self.protocol.receive(b"")
                replies = self.protocol.data_to_send()
            except ProtocolError:  # FCGI-MALFORMED-1
                events, replies = [Closed(None)], b""
            if replies and not self.closed and not send_now(self.sock, replies):
                self.gone = True
            if self.protocol.should_close:
                self.shut_write()
            for index, event in enumerate(events):
                if isinstance(event, Request):  # the next request: the loop runs it once this one is back
                    self.request, self.later = event, events[index + 1:]
                    return Heard.STOP
                if isinstance(event, Abort):
                    transport = self.transports.get(event.request_id)
                    if transport is None:
                        self.later.append(event)  # its thread has yet to start it
                    else:
                        aborted.append(transport)
                elif isinstance(event, Closed):  # the web server is gone (FCGI-ABORT-1)
                    self.gone = True
                    self.protocol.discard()
                    aborted += self.transports.values()
                    self.interrupt()
            return Heard.STOP if self.gone else Heard.WATCH
        finally:
            self.lock.release()
            for transport in aborted:
                transport.abort()  # the next write or flush fails

    def cost(self) -> int:
        """STDIN on disk needs its size in memory when the request runs."""
        stdin = self.request.stdin if self.request is not None else None
        return stdin.size if isinstance(stdin, Spool) and stdin.on_disk else 0


# -- the server ----------------------------------------------------------------------------


class FastCgiServer(Listener[_FcgiConnection]):
    """A FastCGI responder for a ``Site`` (or what ``Site`` takes: a document root,
    one script, a callable), as PHP-FPM is for a pool, listening on ``listen``:
    ``HOST:PORT`` (port 0: a free one), a unix socket path (created with
    ``socket_mode``, 0660 as PHP-FPM's listen.mode, and removed on shutdown), or
    a listening socket to share (FCGI-LISTEN-1).

    ``serve_forever()`` serves in the calling thread until ``shutdown()`` or
    ``stop()``; ``start()`` (or ``with FastCgiServer(...) as server:``) serves from
    a background thread. Connections are read in one loop until a request has
    arrived; each request runs in a Runtime of its own, in a thread of the
    server's ``runner``, at most ``max_requests`` (PHP-FPM's pm.max_children) at
    once, while another thread reads its connection (FCGI-CONCURRENT-1). The limits (FCGI-LIMIT-1):
    ``backlog`` (listen.backlog); ``max_connections`` held at once, the one that
    has waited longest for a request making room for a new one; ``idle_timeout``
    for a request to begin, ``read_timeout`` for it to arrive from its first byte
    (FCGI-TIMEOUT-1); STDIN up to ``max_body`` bytes, past ``body_buffer`` in a
    temporary file, read back within ``body_memory`` bytes at once for running
    scripts. ``address`` is where it listens: (host, port) or the socket path.
    """

    kind = "fastcgi"
    inline = True  # as a PHP-FPM child, in the loop's thread while no request runs long (NET-LOOP-1)

    def __init__(self, site_or_target: Target, listen: Address | socket.socket = "127.0.0.1:0", *,
                 sapi: str = "fpm", ini: Mapping[str, Any] | None = None, ini_file: IniFile = None,
                 php_version: str = "8.2", socket_mode: int = 0o660,
                 backlog: int = 511, write_timeout: float = 60.0, max_requests: int = 128,
                 max_connections: int = 1024, idle_timeout: float = 60.0, read_timeout: float = 60.0,
                 max_body: int = 64 << 20, body_buffer: int = BODY_BUFFER, body_memory: int = 128 << 20) -> None:
        if min(write_timeout, idle_timeout, read_timeout) <= 0:
            raise ValueError("every timeout must be positive")
        self.write_timeout, self.idle_timeout, self.read_timeout = write_timeout, idle_timeout, read_timeout
        self.max_body, self.body_buffer = max_body, body_buffer
        self.runner = ScriptRunner(max_requests, name="phprt-fastcgi-script")  # pm.max_children
        self.log = Log(stamp=fpm_stamp)
        if not isinstance(site_or_target, Site):  # ini_file: php-fpm -c (CONF-API-1)
            site_or_target = Site(site_or_target, sapi=sapi, ini=server_configuration(sapi, ini, ini_file),
                                  php_version=php_version)
        self.site = site_or_target
        self._unix_path: str | None = None
        self._unix_inode: tuple[int, int] | None = None
        if isinstance(listen, socket.socket):
            listener, path = listen, None
        else:
            listener, path = bind(listen, backlog=backlog, socket_mode=socket_mode)
        # A request runs in a thread of the runner, where its script runs (FCGI-CONCURRENT-1).
        super().__init__(listener, max_connections=max_connections, max_requests=max_requests,
                         body_memory=body_memory, pool=self.runner.pool)
        bound = listener.getsockname()
        self.address: Any = path or (bound if isinstance(bound, str) else (str(bound[0]), int(bound[1])))
        if path is not None:  # the socket file this server made, removed when it closes
            info = os.stat(path)
            self._unix_path, self._unix_inode = path, (info.st_dev, info.st_ino)

    def _connection(self, sock: socket.socket, peer: Any) -> _FcgiConnection:
        return _FcgiConnection(self, sock)

    def _unserved(self, connection: _FcgiConnection, error: Exception) -> None:
        self.log.line(f"a connection closed unserved: {error}")

    def _failed(self, connection: _FcgiConnection, error: BaseException) -> None:
        self.log.exception(error)

    def _busy(self) -> bool:
        return self.runner.running > 0

    # -- one request ---------------------------------------------------------------------

    def _handle(self, channel: _FcgiConnection) -> Step | None:
        """Run the request that has arrived in this thread, one of the runner's, while
        the loop reads the connection (``heard``: ABORT_REQUEST, GET_VALUES, a web server
        that closes, FCGI-CONCURRENT-1, FCGI-ABORT-1). The connection goes back to the
        loop when the response ends (``on_end``), which may be before the script does
        (fastcgi_finish_request(), FCGI-FINISH-1); None then, else what comes next. The
        runner waits while ``max_requests`` scripts run, as the web server waits for a
        busy PHP-FPM pool; the memory granted to STDIN goes back when the script ends
        (FCGI-LIMIT-1)."""
        with channel.lock:
            request, channel.request = channel.request, None
        assert request is not None
        granted, channel.granted = channel.granted, 0
        stdin = request.stdin
        assert isinstance(stdin, Spool)
        try:
            body = stdin.body()  # read as the request starts, a multipart one as it is parsed (PERF-UPLOAD-2)
            server, script_path, status = fpm_request(request.variables)
            transport = FastCgiTransport(channel, request.request_id, server, body)
            site = self.site
            call = ScriptCall(self._script(server, script_path, status), server, body, site.sapi, site.ini,
                              site.php_version, status if site.root is not None else None)
            del body
        except BaseException:
            stdin.close()
            self.release_memory(granted)
            raise
        with channel.lock:
            channel.transports[request.request_id] = transport
            later, channel.later = channel.later, []
            channel.on_end = partial(self._response_ended, channel)
        if later and any(isinstance(event, Abort) and event.request_id == request.request_id for event in later):
            transport.abort()  # ABORT_REQUEST came with the request's last bytes (FCGI-ABORT-1)
        try:
            self.runner.run(call, transport, done=partial(self._ended, transport, granted))
        finally:
            stdin.close()
        with channel.lock:  # _ended finished the response: on_end gave the connection back
            if channel.on_end is None:
                return None
            channel.on_end = None
            return self._next_step(channel)

    def _response_ended(self, channel: _FcgiConnection) -> None:
        # channel.on_end, the lock held: the response is complete; the loop takes the connection back.
        self.give_back(channel, self._next_step(channel))

    @staticmethod
    def _next_step(channel: _FcgiConnection) -> Step:
        if channel.request is not None:  # the next request arrived meanwhile
            return Step.RUN
        if channel.protocol.should_close:
            return Step.LINGER
        return Step.CLOSE if channel.closed else Step.WAIT

    def _script(self, server: Mapping[str, Any], path: str | None, status: os.stat_result | None = None) -> Script:
        """What runs for the request (FCGI-SCRIPT-1); ``status`` the ``stat()`` of
        ``path`` cgi.fix_pathinfo took, asked no more (FCGI-PERF-3)."""
        if "REQUEST_METHOD" not in server:
            return _nothing
        root = self.site.root
        if root is None:
            assert self.site.script is not None
            return self.site.script
        if path is not None:
            try:
                return root.script(path, status)
            except Refused:
                pass
        return _refusal(404, "File not found.\n", b"Primary script unknown")

    def _ended(self, transport: FastCgiTransport, granted: int, outcome: Outcome) -> None:
        # In the script's thread, once it has ended: the response ends whatever happened.
        error = outcome.error
        if isinstance(error, (SystemExit, KeyboardInterrupt)):  # a script's sys.exit(): its request ends here
            self.log.line(f"request {transport.request_id}: the script raised {type(error).__name__}{error.args!r}")
        elif error is not None:
            self.log.exception(error)
        if not transport.finished:  # the Runtime finished it, unless it never began
            transport.finish()
        self.release_memory(granted)  # the body went with the Runtime (FCGI-LIMIT-1)

    # -- stopping ------------------------------------------------------------------------

    def forget_socket_file(self) -> None:
        """Leave the unix socket file in place on close (a worker's, whose master removes it)."""
        self._unix_path = None

    def close(self) -> None:
        """Close the listening socket and end the runner's threads; remove the unix socket
        file this server made (FCGI-LISTEN-1)."""
        super().close()
        self.runner.close(0.5)
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
    trace = options.pop("trace", 0)  # the live view, off by default (TRACE-LIVE-1)
    server = FastCgiServer(docroot, listen, sapi=sapi, ini=ini, socket_mode=socket_mode, **options)
    if trace:
        from .trace.live import enable

        enable(server, trace)
    where = server.address if isinstance(server.address, str) else "{}:{}".format(*server.address)
    server.log.line(f"phprt FastCGI ({server.site.sapi}, {workers} worker{'s' if workers > 1 else ''}) listening on {where}")
    if workers == 1:
        serve_until_signalled(server, grace)
        server.close()
        return 0
    status = serve_workers(server, workers, grace, server.log, in_worker=server.forget_socket_file)
    server.close()  # the master removes the socket file
    return status
