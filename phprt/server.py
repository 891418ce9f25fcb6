"""``python -m phprt serve DOCROOT``: an HTTP/1.1 server in the spirit of ``php -S`` (SERVE-*).

A thread per connection reads requests with phprt/_http11.py's parser, asks the
``Site`` (phprt/_gateway.py) what answers each one, and runs a script in its own
Runtime on a ``SocketTransport``, which writes the head the SAPI profile gives
as ``php -S`` writes it, except that the server manages the connection itself:
keep-alive, chunked bodies and closing early (SERVE-HEAD-1, SERVE-FRAME-1).

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

from . import _constants as C
from ._gateway import HttpRequest, ScriptCall, Site, StaticResponse, error_page
from ._headers import REASONS
from ._http11 import (CLOSED, NEED_DATA, BodyEncoder, Framing, HttpError, Limits, Request, RequestHead, RequestParser,
                      plan_response, render_head)
from ._listener import Listener, host_port, serve_until_signalled
from ._script import Script
from ._transport import ResponseHead, Transport

__all__ = ["HttpServer", "Limits", "SocketTransport", "serve"]

Target = Union[Site, Script]

#: E_FATAL_ERRORS: the errors ``php -S`` appends to a request's log line.
_FATAL = C.E_ERROR | C.E_CORE_ERROR | C.E_COMPILE_ERROR | C.E_USER_ERROR | C.E_RECOVERABLE_ERROR | C.E_PARSE
#: How long a closing connection keeps reading what the client still sends, so
#: that the response is not lost to a reset (a lingering close).
_LINGER = 2.0
_LINGER_BYTES = 1 << 20


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


class _Timeout(Exception):
    pass


class _Socket:
    """An accepted socket: sends bounded by a timeout, and remembers that the client is gone."""

    def __init__(self, sock: socket.socket, write_timeout: float) -> None:
        self.sock = sock
        self.write_timeout = write_timeout
        self.gone = False  # a send failed: the client is not there
        self.write_closed = False  # this side is shut: the response is complete
        self.eof = False  # the client shut its side

    def send(self, data: bytes) -> bool:
        if self.gone or self.write_closed:
            return False
        if data:
            try:
                self.sock.settimeout(self.write_timeout)
                self.sock.sendall(data)
            except OSError:
                self.gone = True
                return False
        return True

    def receive(self, deadline: float) -> bytes:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _Timeout
        try:
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
        except TimeoutError:
            raise _Timeout from None
        except OSError:
            data = b""
        self.eof = not data
        return data

    def close_write(self) -> None:
        """Shut this side: the client sees the end of the response (SERVE-EARLY-1)."""
        if not self.write_closed:
            self.write_closed = True
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def interrupt(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self, linger: bool) -> None:
        """Close. With ``linger`` (the client may still be sending: a refused request, or
        one whose client wanted to go on), first shut this side and read what arrives for
        a moment, so that a reset does not destroy the response it has not read yet."""
        try:
            if linger and not self.gone and not self.eof:
                self.close_write()
                deadline, drained = time.monotonic() + _LINGER, 0
                while drained < _LINGER_BYTES:
                    chunk = self.receive(deadline)
                    if not chunk:
                        break
                    drained += len(chunk)
        except (_Timeout, OSError):
            pass
        finally:
            self.sock.close()


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


class _Connection:
    """One client connection, served in its own thread, one request after another."""

    def __init__(self, server: HttpServer, sock: socket.socket, peer: tuple[Any, ...]) -> None:
        self.server = server
        self.channel = _Socket(sock, server.write_timeout)
        self.peer = (str(peer[0]), int(peer[1]))
        host = self.peer[0]
        self.name = f"[{host}]:{self.peer[1]}" if ":" in host else f"{host}:{self.peer[1]}"
        local = sock.getsockname()
        self.local = (str(local[0]), int(local[1]))
        self.parser = RequestParser(server.limits)
        self.idle = False  # waiting for a request that has not begun: shutdown() may end it
        self.linger = False  # the client may still be sending when the connection closes
        self.waiting = False
        self.deadline = 0.0

    def interrupt(self) -> None:
        self.channel.interrupt()

    def run(self) -> None:
        log = self.server.log
        log.line(f"{self.name} Accepted")
        try:
            while not self.server.stopping and self._serve():
                self.parser.next_request()
        except BaseException as error:  # a connection's failure never stops the server
            log.line(f"{self.name} Internal server error ({type(error).__name__}: {error})")
        finally:
            self.channel.close(self.linger)
            log.line(f"{self.name} Closing")

    # -- reading -----------------------------------------------------------------------

    def _next_event(self) -> object:
        # The parser's next event, reading as needed until self.deadline (SERVE-TIMEOUT-1).
        parser, server = self.parser, self.server
        while True:
            event = parser.next_event()
            if event is not NEED_DATA:
                return event
            if self.waiting and parser.started:  # the next request began: it has read_timeout to arrive
                self.waiting, self.deadline = False, time.monotonic() + server.read_timeout
            self.idle = not parser.started
            try:
                data = self.channel.receive(self.deadline)
            finally:
                self.idle = False
            if data:
                parser.feed(data)
            else:
                parser.feed_eof()

    def _serve(self) -> bool:
        """Serve one request; whether the connection stays open for another."""
        server = self.server
        # A connection waits idle_timeout for a request to begin (SERVE-TIMEOUT-1).
        self.waiting = not self.parser.started
        self.deadline = time.monotonic() + (server.idle_timeout if self.waiting else server.read_timeout)
        try:
            head = self._next_event()
            if head is CLOSED:
                return False
            assert isinstance(head, RequestHead)
            if head.expects_continue:  # SERVE-CONTINUE-1
                self.channel.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            request = self._next_event()
            assert isinstance(request, Request)
        except HttpError as error:
            self._refuse(error)
            return False
        except _Timeout:
            if self.parser.started:  # SERVE-TIMEOUT-1
                self._refuse(HttpError(408, "Request timeout", version=(1, 1)))
            return False
        kept = self._answer(request)
        self.linger = not kept and head.persistent
        return kept

    def _refuse(self, error: HttpError) -> None:
        # A request the server will not read to its end: an error page, then close (SERVE-REFUSE-1).
        self.linger = True
        self.server.log.line(f"{self.name} Invalid request ({error})")
        head = error.head or RequestHead(error.method or "GET", error.target or "/", error.target or "/",
                                         error.version if error.version[0] == 1 else (1, 1), "HTTP/1.1", ())
        page = error_page(error.status, self._http_request(head, b""))
        self._send_static(head, page, closing=True, log=False)

    # -- answering ---------------------------------------------------------------------

    def _http_request(self, head: RequestHead, body: bytes) -> HttpRequest:
        return HttpRequest(head.method, head.target, head.protocol, head.headers, body, self.peer, self.local,
                           self.server.host)

    def _answer(self, request: Request) -> bool:
        head = request.head
        http_request = self._http_request(head, request.body)
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
        except BaseException as error:  # e.g. SystemExit from a script: its request ends here
            server.log.line(f"{self.name} [500]: {head.method} {head.sent_target} - {type(error).__name__}: {error}")
            if transport.framing is None:
                self._send_static(head, error_page(500, self._http_request(head, b"")), closing=True, log=False)
                return False
            transport.finish()
            return False
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
    (SERVE-LIMIT-1); ``read_timeout`` is how long a request may take to arrive,
    ``idle_timeout`` how long a kept connection waits for the next one, and
    ``write_timeout`` how long a send may wait for a client that does not read
    (SERVE-TIMEOUT-1). At most ``max_connections`` connections are served at
    once; more wait in the listen queue. ``log`` is the stream for php -S's log
    lines (None: ``sys.stderr``).
    """

    kind = "http"

    def __init__(self, site_or_target: Target, address: tuple[str, int] = ("127.0.0.1", 0), *,
                 sapi: str = "cli-server", ini: Mapping[str, Any] | None = None, limits: Limits | None = None,
                 read_timeout: float = 30.0, idle_timeout: float = 5.0, write_timeout: float = 60.0,
                 max_connections: int = 256, log: TextIO | None = None) -> None:
        self.site = site_or_target if isinstance(site_or_target, Site) else Site(site_or_target, sapi=sapi, ini=ini)
        self.limits = limits or Limits()
        self.read_timeout, self.idle_timeout, self.write_timeout = read_timeout, idle_timeout, write_timeout
        self.log = _Log(log)
        host, port = address
        info = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, _, _, _, sockaddr = info[0]
        super().__init__(socket.create_server(sockaddr[:2], family=family, backlog=1024), max_connections)
        bound = self._listener.getsockname()
        self.host = host
        self.address: tuple[str, int] = (str(bound[0]), int(bound[1]))

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def serve_forever(self) -> None:
        """Accept connections until ``shutdown()``, each served in its own thread (SERVE-CONCURRENT-1)."""
        self.log.line(f"{self.site.software} ({self.url}) started")
        super().serve_forever()

    def _connection(self, sock: socket.socket, peer: Any) -> _Connection:
        return _Connection(self, sock, peer)

    def _handle(self, connection: _Connection) -> None:
        connection.run()

    def _unserved(self, connection: _Connection, error: Exception) -> None:
        self.log.line(f"{connection.name} Closing ({error})")

    def close(self) -> None:
        """Close the listening socket; nothing more is logged."""
        super().close()
        self.log.closed = True


def serve(docroot: str | os.PathLike[str], listen: str, *, sapi: str = "cli-server",
          ini: Mapping[str, Any] | None = None) -> int:
    """Serve ``docroot`` on ``listen`` (``HOST:PORT``) until SIGINT or SIGTERM; the exit status (SERVE-CLI-1)."""
    host, port = host_port(listen)
    site = Site(docroot, sapi=sapi, ini=ini)
    try:
        server = HttpServer(site, (host, port))
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        _Log(None).line(f"Failed to listen on {host}:{port} (reason: {reason})")
        return 1
    serve_until_signalled(server, 2.0, hurry=True)
    return 0
