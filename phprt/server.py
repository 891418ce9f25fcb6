"""``python -m phprt serve DOCROOT``: an HTTP/1.1 server in the spirit of ``php -S`` (SERVE-*).

One loop (phprt/net/listener.py) reads every connection with phprt/net/http11.py's
parser until its request has arrived, as ``php -S`` reads its clients in one
event loop, so slow clients hold no thread (SERVE-SLOW-1); a body past
``body_buffer`` bytes waits in a temporary file (SERVE-BODY-1). Each request
that has arrived is answered in the loop's thread, which hands the loop to
another when a request runs long (NET-LOOP-1): the ``Site`` says what answers it,
and a script runs in its own Runtime, in the server's ``ScriptRunner``, on an
``HttpTransport`` (phprt/transports/http.py), which writes the head the SAPI
profile gives as ``php -S`` writes it, except that the server manages the
connection itself: keep-alive, chunked bodies and closing early (SERVE-HEAD-1,
SERVE-FRAME-1).

    with HttpServer("docroot/") as server:       # serves from a background thread
        urllib.request.urlopen(server.url + "/index.py")

``serve(docroot, "127.0.0.1:8000")`` serves in the foreground until Ctrl-C
(SERVE-CLI-1), logging to stderr as ``php -S`` does (SERVE-LOG-1).
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any, Mapping, TextIO, Union

from .engine import constants as C
from .engine.ini_files import IniFile, server_configuration
from .engine.script import Script
from .http.headers import http_date
from .net.body import BODY_BUFFER, Spool
from .net.http11 import CLOSED, NEED_DATA, HttpError, Limits, Request, RequestHead, RequestParser
from .net.listener import Link, Listener, Step, bind, host_port, serve_until_signalled, serve_workers
from .net.logs import Log, ctime_stamp
from .net.runner import ScriptRunner
from .net.site import HttpRequest, ScriptCall, Site, StaticResponse, error_page
from .transports.heads import HttpHead
from .transports.http import HttpTransport

__all__ = ["HttpServer", "HttpTransport", "Limits", "Site", "SocketTransport", "serve"]

Target = Union[Site, Script]

#: The transport's name before phprt/transports/http.py.
SocketTransport = HttpTransport

#: E_FATAL_ERRORS: the errors ``php -S`` appends to a request's log line.
_FATAL = C.E_ERROR | C.E_CORE_ERROR | C.E_COMPILE_ERROR | C.E_USER_ERROR | C.E_RECOVERABLE_ERROR | C.E_PARSE


def _essential(head: RequestHead, date: str) -> list[str]:
    # append_essential_headers(): Host as the client sent it, Date, Connection: close
    hosts = head.values("host")
    return ([f"Host: {hosts[-1]}"] if hosts else []) + [f"Date: {date}", "Connection: close"]


class _Connection(Link):
    """One client connection: read in the server's loop until a request has arrived
    (``received``), answered in a thread of its own (``serve``), one request after
    another."""

    def __init__(self, server: HttpServer, sock: socket.socket, peer: tuple[Any, ...]) -> None:
        super().__init__(sock, server.write_timeout)
        self.server = server
        self.peer = (str(peer[0]), int(peer[1]))
        host = self.peer[0]
        self.name = f"[{host}]:{self.peer[1]}" if ":" in host else f"{host}:{self.peer[1]}"
        local = sock.getsockname()
        self.local = (str(local[0]), int(local[1]))
        self.parser = RequestParser(server.limits, body=lambda: Spool(server.body_buffer))
        self.request: Request | None = None
        self._head: RequestHead | None = None
        self._await()
        server.log.line(f"{self.name} Accepted")

    def close(self) -> None:
        self.parser.close()
        if self.request is not None:
            self.request.body.close()
        super().close()
        self.server.log.line(f"{self.name} Closing")

    # -- reading, in the loop -----------------------------------------------------------

    def _await(self) -> None:
        # The server begins to wait for a request: the first, or the next on a kept connection.
        self.waiting_since, self.started = time.monotonic(), 0.0
        self._head = None
        self.deadline = self.waiting_since + self.server.idle_timeout

    def received(self, data: bytes) -> Step:
        if data:
            self.parser.feed(data)
        else:
            self.parser.feed_eof()
        return self._advance()

    def resume(self) -> Step:
        """Back from answering a request on a kept connection: the next may have arrived already."""
        self.parser.next_request()
        self._await()
        return self._advance()

    def _advance(self) -> Step:
        """The parser's events until it needs more: the request, once it has arrived."""
        parser, server = self.parser, self.server
        try:
            while True:
                event = parser.next_event()
                if event is NEED_DATA:
                    break
                if event is CLOSED:
                    return Step.CLOSE
                if isinstance(event, RequestHead):
                    self._head = event
                    if event.expects_continue and not self.send(b"HTTP/1.1 100 Continue\r\n\r\n"):
                        return Step.CLOSE  # SERVE-CONTINUE-1
                    continue
                assert isinstance(event, Request)
                self.request = event
                return Step.RUN
        except HttpError as error:
            return self._refuse(error)
        # SERVE-TIMEOUT-1: idle_timeout for a request to begin, header_timeout from then
        # on for its head, read_timeout from its first byte for all of it.
        if parser.started:
            if not self.started:
                self.started = time.monotonic()
            self.deadline = self.started + server.read_timeout
            if self._head is None:
                self.deadline = min(self.deadline, self.waiting_since + server.header_timeout)
        return Step.WAIT

    def expired(self) -> Step:
        if self.parser.started:  # SERVE-TIMEOUT-1
            return self._refuse(HttpError(408, "Request timeout", version=(1, 1)))
        return Step.CLOSE

    def _refuse(self, error: HttpError) -> Step:
        # A request the server will not read to its end: an error page, then close (SERVE-REFUSE-1).
        self.server.log.line(f"{self.name} Invalid request ({error})")
        head = error.head or RequestHead(error.method or "GET", error.target or "/", error.target or "/",
                                         error.version if error.version[0] == 1 else (1, 1), "HTTP/1.1", ())
        page = error_page(error.status, self._http_request(head, b""))
        self._send_static(head, page, closing=True, log=False)
        return Step.CLOSE if self.gone else Step.LINGER

    # -- answering, in a thread ---------------------------------------------------------

    def serve(self) -> Step:
        """Answer the request that has arrived; what the connection does next."""
        request, self.request = self.request, None
        assert request is not None and isinstance(request.body, Spool)
        try:
            kept = self._answer(request.head, request.body.body())  # closed once answered (PERF-UPLOAD-2)
        finally:
            request.body.close()
            self.server.release_memory(self.granted)  # the body is gone with _answer's frame
            self.granted = 0
        if kept:
            return Step.WAIT
        if self.gone or not request.head.persistent:
            return Step.CLOSE
        return Step.LINGER  # the client wanted to go on and may still be sending

    def cost(self) -> int:
        """A body on disk needs its size in memory when the request runs (SERVE-BODY-1)."""
        body = self.request.body if self.request is not None else None
        return body.size if isinstance(body, Spool) and body.on_disk else 0

    # -- answering ---------------------------------------------------------------------

    def _http_request(self, head: RequestHead, body: bytes) -> HttpRequest:
        return HttpRequest(head.method, head.target, head.protocol, head.headers, body, self.peer, self.local,
                           self.server.host)

    def _answer(self, head: RequestHead, body: bytes) -> bool:
        http_request = self._http_request(head, body)
        try:
            answer = self.server.site.answer(http_request)
        except Exception as error:  # the server's own failure: 500, and the server goes on
            page = error_page(500, http_request)
            answer = StaticResponse(page.status, page.headers, page.body, f"{type(error).__name__}: {error}")
        if isinstance(answer, StaticResponse):
            return self._send_static(head, answer)
        return self._run(head, answer)

    def _send_static(self, head: RequestHead, response: StaticResponse, *, closing: bool = False,
                     log: bool = True) -> bool:
        # A file or an error page, with php -S's head (SERVE-HEAD-2).
        server = self.server
        transport = HttpTransport(self, head, closing=lambda: closing or server.stopping)
        lines = _essential(head, http_date())
        own_close = len(lines) - 1
        lines += [f"{name}: {value}" for name, value in response.headers]
        transport.start(HttpHead(response.status, response.reason or "Unknown Status Code", tuple(lines), own_close))
        for piece in response.body_for(head.method):
            if not transport.write(piece):
                break
        transport.finish()
        if log:
            message = f" - {response.log_message}" if response.log_message else ""
            server.log.line(f"{self.name} [{response.status}]: {head.method} {head.sent_target}{message}")
        return transport.persistent

    def _run(self, head: RequestHead, call: ScriptCall) -> bool:
        # The script in its own Runtime, in this thread, one of the server's runner's
        # (SERVE-RUN-1); then its log line (SERVE-LOG-1).
        server = self.server
        transport = HttpTransport(self, head, closing=lambda: server.stopping, log=server.log)
        outcome = server.runner.run(call, transport)
        runtime, error = outcome.runtime, outcome.error
        if error is not None:  # e.g. SystemExit from a script: its request ends here
            server.log.line(f"{self.name} [500]: {head.method} {head.sent_target} - {type(error).__name__}: {error}")
        if not transport.started:  # no head went out: answer for the script
            self._send_static(head, error_page(500, self._http_request(head, b"")), closing=True, log=False)
            return False
        transport.finish()
        if runtime is None:
            return False
        code = runtime.http_response_code()
        status = code if isinstance(code, int) and not isinstance(code, bool) else 200
        last = runtime.error_get_last() or {}
        kind = last.get("type")
        message = ""
        if isinstance(kind, int) and kind & _FATAL:
            message = f" - {last['message']} in {last['file']} on line {last['line']}"
        server.log.line(f"{self.name} [{status}]: {head.method} {head.sent_target}{message}")
        return transport.persistent


class HttpServer(Listener[_Connection]):
    """An HTTP/1.1 server for a ``Site`` (or what ``Site`` takes: a document root,
    one script, a callable), listening on ``address`` (port 0: a free one).

    ``serve_forever()`` serves in the calling thread until ``shutdown()`` or ``stop()``;
    ``start()`` (or ``with HttpServer(...) as server:``) serves from a background
    thread. ``address`` and ``url`` say where it listens. ``limits`` bound a request
    (SERVE-LIMIT-1); ``idle_timeout`` is how long a connection waits for a request
    to begin, ``header_timeout`` how long from then its head may take,
    ``read_timeout`` how long a request may take to arrive from its first byte, and
    ``write_timeout`` how long a send may wait for a client that does not read
    (SERVE-TIMEOUT-1). At most ``max_requests`` requests are answered at once, each
    in a thread, a script in a thread of ``runner`` (SERVE-RUN-1); the server holds at most ``max_connections`` connections, closing
    the one that has waited longest for its request to make room for a new one
    (SERVE-CONCURRENT-1, SERVE-SLOW-1). A body beyond ``body_buffer`` bytes waits in a
    temporary file, and the bodies read back for running scripts take at most
    ``body_memory`` bytes at once (SERVE-BODY-1). ``log`` is the stream for php -S's
    log lines (None: ``sys.stderr``).
    """

    kind = "http"
    inline = True  # as php -S, in the loop's thread while no request runs long (NET-LOOP-1)

    def __init__(self, site_or_target: Target, address: tuple[str, int] = ("127.0.0.1", 0), *,
                 sapi: str = "cli-server", ini: Mapping[str, Any] | None = None, ini_file: IniFile = None,
                 php_version: str = "8.2", limits: Limits | None = None,
                 idle_timeout: float = 5.0, header_timeout: float = 10.0, read_timeout: float = 30.0,
                 write_timeout: float = 60.0, max_connections: int = 1024, max_requests: int = 256,
                 body_buffer: int = BODY_BUFFER, body_memory: int = 128 << 20, log: TextIO | None = None) -> None:
        if min(idle_timeout, header_timeout, read_timeout, write_timeout) <= 0:
            raise ValueError("every timeout must be positive")
        if not isinstance(site_or_target, Site):  # ini_file: php -c (CONF-API-1)
            site_or_target = Site(site_or_target, sapi=sapi, ini=server_configuration(sapi, ini, ini_file),
                                  php_version=php_version)
        self.site = site_or_target
        self.limits = limits or Limits()
        self.idle_timeout, self.header_timeout = idle_timeout, header_timeout
        self.read_timeout, self.write_timeout = read_timeout, write_timeout
        self.body_buffer = body_buffer
        self.log = Log(log, stamp=ctime_stamp)
        self.runner = ScriptRunner(name="phprt-http-script")
        # A request is served in a thread of the runner, and its script runs there (SERVE-RUN-1).
        super().__init__(bind(address, backlog=1024)[0], max_connections=max_connections, max_requests=max_requests,
                         body_memory=body_memory, pool=self.runner.pool)
        bound = self._listener.getsockname()
        self.host = address[0]
        self.address: tuple[str, int] = (str(bound[0]), int(bound[1]))

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def serve_forever(self) -> None:
        """Serve until ``shutdown()``: read every connection in this thread, answer each
        request in a thread of its own (SERVE-SLOW-1, SERVE-CONCURRENT-1)."""
        self.log.line(f"{self.site.software} ({self.url}) started")
        super().serve_forever()

    def _connection(self, sock: socket.socket, peer: Any) -> _Connection:
        return _Connection(self, sock, peer)

    def _handle(self, connection: _Connection) -> Step:
        return connection.serve()

    def _unserved(self, connection: _Connection, error: Exception) -> None:
        self.log.line(f"{connection.name} Unserved ({error})")

    def _evicted(self, connection: _Connection) -> None:
        self.log.line(f"{connection.name} Closed to make room (max_connections {self.max_connections})")

    def _failed(self, connection: _Connection, error: BaseException) -> None:
        self.log.line(f"{connection.name} Internal server error ({type(error).__name__}: {error})")

    def close(self) -> None:
        """Close the listening socket and end the runner's threads; nothing more is logged."""
        super().close()
        self.runner.close(0.5)
        self.log.closed = True


def serve(docroot: str | os.PathLike[str], listen: str, *, sapi: str = "cli-server",
          ini: Mapping[str, Any] | None = None, workers: int = 1, php_version: str = "8.2", **options: Any) -> int:
    """Serve ``docroot`` on ``listen`` (``HOST:PORT``) until SIGINT or SIGTERM; the exit
    status (SERVE-CLI-1). ``options`` are HttpServer's limits and timeouts (SERVE-CLI-2).
    ``workers`` > 1 forks that many processes sharing the listening socket, as
    ``PHP_CLI_SERVER_WORKERS`` does for ``php -S`` (SERVE-WORKERS-1)."""
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    trace = options.pop("trace", 0)  # the live view, off by default (TRACE-LIVE-1)
    host, port = host_port(listen)
    site = Site(docroot, sapi=sapi, ini=ini, php_version=php_version)
    if "max_body" in options:
        options["limits"] = Limits(body=options.pop("max_body"))
    try:
        server = HttpServer(site, (host, port), **options)
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        Log(stamp=ctime_stamp).line(f"Failed to listen on {host}:{port} (reason: {reason})")
        return 1
    if trace:
        from .trace.live import enable

        enable(server, trace)
    if workers > 1:
        return serve_workers(server, workers, 2.0, server.log)
    serve_until_signalled(server, 2.0, hurry=True)
    return 0
