"""``python -m phprt serve DOCROOT``: an HTTP/1.1 server in the spirit of ``php -S`` (SERVE-*).

One loop (phprt/_listener.py) reads every connection with phprt/_http11.py's
parser until its request has arrived, as ``php -S`` reads its clients in one
event loop, so slow clients hold no thread (SERVE-SLOW-1); a body past
``body_buffer`` bytes waits in a temporary file (SERVE-BODY-1). Each request
that has arrived is answered in a thread: the ``Site`` (phprt/_gateway.py)
says what answers it, and a script runs in its own Runtime on a
``SocketTransport``, which writes the head the SAPI profile gives as ``php -S``
writes it, except that the server manages the connection itself: keep-alive,
chunked bodies and closing early (SERVE-HEAD-1, SERVE-FRAME-1).

    with HttpServer("docroot/") as server:       # serves from a background thread
        urllib.request.urlopen(server.url + "/index.py")

``serve(docroot, "127.0.0.1:8000")`` serves in the foreground until Ctrl-C
(SERVE-CLI-1), logging to stderr as ``php -S`` does (SERVE-LOG-1).
"""

from __future__ import annotations

import email.utils
import os
import socket
import sys
import threading
import time
from typing import Any, Callable, Mapping, TextIO, Union

from .engine import constants as C
from .net.site import HttpRequest, ScriptCall, Site, StaticResponse, error_page
from .http.headers import REASONS
from .net.http11 import (CLOSED, NEED_DATA, BodyEncoder, Framing, HttpError, Limits, Request, RequestHead, RequestParser,
                      plan_response, render_head)
from .net.listener import Link, Listener, Spool, Step, host_port, send_now, serve_until_signalled
from .engine.script import Script
from .transports.base import ResponseHead, Transport

__all__ = ["HttpServer", "Limits", "SocketTransport", "serve"]

Target = Union[Site, Script]

#: E_FATAL_ERRORS: the errors ``php -S`` appends to a request's log line.
_FATAL = C.E_ERROR | C.E_CORE_ERROR | C.E_COMPILE_ERROR | C.E_USER_ERROR | C.E_RECOVERABLE_ERROR | C.E_PARSE


class _Log:
    """``php -S``'s log (SERVE-LOG-1): each message after ``[Sat Nov 21 13:02:08 2026] ``."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.closed = False

    def line(self, text: str) -> None:
        if self.closed:
            return
        stream = self._stream if self._stream is not None else sys.stderr
        with self._lock:
            try:
                stream.write(f"[{time.ctime()}] {text}\n")
                stream.flush()
            except (OSError, ValueError):
                pass  # a closed or broken log stream does not stop the server

    def message(self, data: bytes) -> None:
        """What the script's Runtime logs (log_errors): one message, with the timestamp once."""
        self.line(data.decode("utf-8", "replace").rstrip("\n"))


class _Socket:
    """An accepted socket's sending side: sends bounded by the socket's timeout (the
    write timeout), and what is known of the connection. While the loop owns the
    connection (``in_loop``), a send never waits: what does not fit is not sent
    and the client counts as gone."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.in_loop = True
        self.gone = False  # a send failed: the client is not there
        self.write_closed = False  # this side is shut: the response is complete

    def send(self, data: bytes) -> bool:
        if self.gone or self.write_closed:
            return False
        if data:
            if self.in_loop:
                self.gone = not send_now(self.sock, data)
            else:
                try:
                    self.sock.sendall(data)
                except OSError:
                    self.gone = True
        return not self.gone

    def close_write(self) -> None:
        """Shut this side: the client sees the end of the response (SERVE-EARLY-1)."""
        if not self.write_closed:
            self.write_closed = True
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass


def _essential(head: RequestHead, date: str) -> list[str]:
    # append_essential_headers(): Host as the client sent it, Date, Connection: close
    hosts = head.values("host")
    return ([f"Host: {hosts[-1]}"] if hosts else []) + [f"Date: {date}", "Connection: close"]


def _own_close(lines: list[str]) -> int | None:
    # php -S's own "Connection: close": after Host and Date, before the script's lines
    for index, line in enumerate(lines[:3]):
        if line == "Connection: close":
            return index
    return None


class SocketTransport(Transport):
    """A script's response on an HTTP connection (SERVE-HEAD-1, SERVE-FRAME-1).

    ``send_headers`` writes the head as ``php -S`` does (under another SAPI profile:
    the status line, Date and the profile's fields), framed by ``plan_response``;
    ``write`` sends each piece at once, as ``php -S`` does, so a client that left
    is noticed where PHP notices it (SERVE-ABORT-1). Bytes past a declared
    Content-Length are dropped (SERVE-FRAME-2); once the response is whole and the
    connection is not kept, this side is shut at once while the script goes on
    (SERVE-EARLY-1). ``finish()`` may come early: fastcgi_finish_request()
    (SERVE-FINISH-1).
    """

    can_end_early = True
    finish_request = True

    def __init__(self, channel: _Socket, request: RequestHead, *, sapi: str = "cli-server",
                 closing: Callable[[], bool] = lambda: False, log: _Log | None = None) -> None:
        self.request = request
        self.sapi = sapi
        self.framing: Framing | None = None
        self.status: int | None = None
        self.finished = False
        self._channel = channel
        self._closing = closing
        self._log = log
        self._encoder: BodyEncoder | None = None

    @property
    def persistent(self) -> bool:
        """Whether the connection can carry another request after this response."""
        encoder, framing = self._encoder, self.framing
        return (framing is not None and encoder is not None and framing.persistent and encoder.intact
                and self.finished and not self._channel.gone)

    def send_headers(self, head: ResponseHead) -> None:
        if self._encoder is not None:  # a header callback that outputs: PHP writes a second head, as body
            self.write(head.block())
            return
        status, reason = head.status or 200, head.reason
        if self.sapi == "cli-server":
            lines = list(head.lines[1:])
            own_close = _own_close(lines)
        else:
            lines = [line for line in head.lines if ":" in line and line[:7].lower() != "status:"]
            if not any(line[:5].lower() == "date:" for line in lines):
                lines.insert(0, f"Date: {email.utils.formatdate(usegmt=True)}")
            own_close = None
        if not 200 <= status <= 999:  # not a final status an HTTP/1.1 client can read (DEV-SERVE-STATUS-1)
            status, reason = 500, REASONS[500]
        self.start(status, reason, lines, own_close=own_close, charset=head.charset)

    def start(self, status: int, reason: str, lines: list[str], *, own_close: int | None = None,
              charset: str = "utf-8") -> None:
        """Send the head: ``lines`` follow the status line, ``own_close`` indexes php -S's
        own ``Connection: close`` among them."""
        framing = plan_response(self.request, status, lines, own_close=own_close, closing=self._closing())
        self.framing, self.status, self._encoder = framing, status, BodyEncoder(framing)
        self._channel.send(render_head(self.request, status, reason, lines, framing, own_close=own_close, charset=charset))
        self._settle()

    def _settle(self) -> None:
        # The response is whole and the connection not kept: shut this side now (SERVE-EARLY-1).
        assert self._encoder is not None and self.framing is not None
        if self._encoder.complete and not self.framing.persistent:
            self._channel.close_write()

    def write(self, data: bytes) -> bool:
        if self._channel.gone:
            return False
        encoder = self._encoder
        if encoder is None or encoder.complete:
            return True  # past the declared length, or no body allowed: dropped (SERVE-FRAME-2)
        delivered = self._channel.send(encoder.encode(data))
        self._settle()
        return delivered

    def flush(self) -> bool:
        return not self._channel.gone

    def write_stderr(self, data: bytes) -> None:
        if self._log is not None:
            self._log.message(data)

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        encoder, framing = self._encoder, self.framing
        if encoder is None or framing is None:
            return
        self._channel.send(encoder.end())
        if not framing.persistent or not encoder.intact:
            self._channel.close_write()


class _Connection(Link):
    """One client connection: read in the server's loop until a request has arrived
    (``received``), answered in a thread of its own (``serve``), one request after
    another."""

    def __init__(self, server: HttpServer, sock: socket.socket, peer: tuple[Any, ...]) -> None:
        super().__init__(sock, server.write_timeout)
        self.server = server
        self.channel = _Socket(sock)
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
        self.channel.in_loop = True
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
                    if event.expects_continue and not self.channel.send(b"HTTP/1.1 100 Continue\r\n\r\n"):
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
        return Step.CLOSE if self.channel.gone else Step.LINGER

    # -- answering, in a thread ---------------------------------------------------------

    def serve(self) -> Step:
        """Answer the request that has arrived; what the connection does next."""
        request, self.request = self.request, None
        assert request is not None and isinstance(request.body, Spool)
        self.channel.in_loop = False
        try:
            kept = self._answer(request.head, request.body.read())
        finally:
            request.body.close()
            self.server.release_memory(self.granted)  # the body is gone with _answer's frame
            self.granted = 0
        if kept and not self.server.stopping:
            return Step.WAIT
        if self.channel.gone or not request.head.persistent:
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
        lines = _essential(head, email.utils.formatdate(usegmt=True))
        own_close = len(lines) - 1
        lines += [f"{name}: {value}" for name, value in response.headers]
        framing = plan_response(head, response.status, lines, own_close=own_close, closing=closing or self.server.stopping)
        encoder = BodyEncoder(framing)
        reason = response.reason or "Unknown Status Code"
        data = render_head(head, response.status, reason, lines, framing, own_close=own_close)
        self.channel.send(data)
        for piece in response.chunks() if framing.mode != "none" else ():
            if not self.channel.send(encoder.encode(piece)):
                break
        self.channel.send(encoder.end())
        if log:
            message = f" - {response.log_message}" if response.log_message else ""
            self.server.log.line(f"{self.name} [{response.status}]: {head.method} {head.sent_target}{message}")
        return framing.persistent and encoder.intact and not self.channel.gone

    def _run(self, head: RequestHead, call: ScriptCall) -> bool:
        # The script in its own Runtime (SERVE-RUN-1), then its log line (SERVE-LOG-1).
        server = self.server
        transport = SocketTransport(self.channel, head, sapi=call.sapi, closing=lambda: server.stopping,
                                    log=server.log)
        try:
            runtime = call.run(transport)
            runtime.input = b""  # the Runtime's reference cycles may keep it until the next full collection
        except BaseException as error:  # e.g. SystemExit from a script: its request ends here
            server.log.line(f"{self.name} [500]: {head.method} {head.sent_target} - {type(error).__name__}: {error}")
            if transport.framing is None:
                self._send_static(head, error_page(500, self._http_request(head, b"")), closing=True, log=False)
                return False
            transport.finish()
            return False
        finally:
            transport.input = b""  # the body's memory goes back now (SERVE-BODY-1)
        if transport.framing is None:  # the Runtime sent no head (it always does): answer for it
            self._send_static(head, error_page(500, self._http_request(head, b"")), closing=True, log=False)
            return False
        transport.finish()
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
    in a thread; the server holds at most ``max_connections`` connections, closing
    the one that has waited longest for its request to make room for a new one
    (SERVE-CONCURRENT-1, SERVE-SLOW-1). A body beyond ``body_buffer`` bytes waits in a
    temporary file, and the bodies read back for running scripts take at most
    ``body_memory`` bytes at once (SERVE-BODY-1). ``log`` is the stream for php -S's
    log lines (None: ``sys.stderr``).
    """

    kind = "http"

    def __init__(self, site_or_target: Target, address: tuple[str, int] = ("127.0.0.1", 0), *,
                 sapi: str = "cli-server", ini: Mapping[str, Any] | None = None, limits: Limits | None = None,
                 idle_timeout: float = 5.0, header_timeout: float = 10.0, read_timeout: float = 30.0,
                 write_timeout: float = 60.0, max_connections: int = 1024, max_requests: int = 256,
                 body_buffer: int = 64 << 10, body_memory: int = 128 << 20, log: TextIO | None = None) -> None:
        if min(idle_timeout, header_timeout, read_timeout, write_timeout) <= 0:
            raise ValueError("every timeout must be positive")
        self.site = site_or_target if isinstance(site_or_target, Site) else Site(site_or_target, sapi=sapi, ini=ini)
        self.limits = limits or Limits()
        self.idle_timeout, self.header_timeout = idle_timeout, header_timeout
        self.read_timeout, self.write_timeout = read_timeout, write_timeout
        self.body_buffer = body_buffer
        self.log = _Log(log)
        host, port = address
        info = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, _, _, _, sockaddr = info[0]
        super().__init__(socket.create_server(sockaddr[:2], family=family, backlog=1024),
                         max_connections=max_connections, max_requests=max_requests, body_memory=body_memory)
        bound = self._listener.getsockname()
        self.host = host
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
        """Close the listening socket; nothing more is logged."""
        super().close()
        self.log.closed = True


def serve(docroot: str | os.PathLike[str], listen: str, *, sapi: str = "cli-server",
          ini: Mapping[str, Any] | None = None, **options: Any) -> int:
    """Serve ``docroot`` on ``listen`` (``HOST:PORT``) until SIGINT or SIGTERM; the exit
    status (SERVE-CLI-1). ``options`` are HttpServer's limits and timeouts (SERVE-CLI-2)."""
    host, port = host_port(listen)
    site = Site(docroot, sapi=sapi, ini=ini)
    if "max_body" in options:
        options["limits"] = Limits(body=options.pop("max_body"))
    try:
        server = HttpServer(site, (host, port), **options)
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        _Log(None).line(f"Failed to listen on {host}:{port} (reason: {reason})")
        return 1
    serve_until_signalled(server, 2.0, hurry=True)
    return 0
