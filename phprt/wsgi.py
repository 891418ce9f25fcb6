"""phprt as a WSGI application (PEP 3333), and the gateway both it and
``phprt.asgi`` put between a Runtime and a Python web server (WSGI-*, ASGI-*).

``WSGIApp(target)`` serves a document root, one ported script or a Python
callable, as ``phprt serve`` does, behind any WSGI server::

    from phprt.wsgi import WSGIApp
    application = WSGIApp("examples")        # gunicorn module:application

Each request's script runs in a Runtime of its own, in a thread of its own
(WSGI-THREAD-1); the response is the iterable the application returns, which
yields the output as the script writes it. A web server sits between PHP and the
client as nginx sits in front of php-cgi or PHP-FPM: it gets the head as a status
and header fields (WSGI-HEAD-1), knows when the response is complete -- at the
script's end, at fastcgi_finish_request(), once the declared Content-Length is
there (WSGI-EARLY-1) -- and tells the script when the client has gone
(WSGI-ABORT-1).

The shared pieces -- ``gateway_head`` (a ResponseHead as a server's status and
fields), ``ResponseChannel`` (the transport the script writes to and the server
reads from, across threads) and ``ScriptThreads`` -- do no I/O of their own.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Union
from urllib.parse import quote

from ._gateway import HttpRequest, ScriptCall, Site, StaticResponse
from ._transport import ResponseHead, Transport

__all__ = [
    "GatewayHead", "HOP_BY_HOP", "ResponseChannel", "ScriptThreads", "WSGIApp", "gateway_head",
    "request_from_environ",
]

#: Fields a gateway must not pass to the server: PEP 3333's hop-by-hop list,
#: which ``wsgiref`` asserts on (WSGI-HOP-1).
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade",
})
#: RFC 9110's token: what a field name may be made of.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: RFC 3986's pchar and "/": what a rebuilt path leaves unescaped.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
#: What the channel holds for a slow client before the script's write waits.
_PENDING_LIMIT = 1 << 20
#: The statuses after which a response has no body (RFC 9110 §6.4.1).
_NO_BODY = (204, 304)

Target = Union[str, "os.PathLike[str]", Callable[[], object]]
StartResponse = Callable[..., Any]


# -- the head --------------------------------------------------------------------------


@dataclass(frozen=True)
class GatewayHead:
    """A response head as a Python web server takes it: the status, its reason
    phrase and the fields, as bytes (the script's strings in its charset)."""

    status: int
    reason: bytes
    fields: tuple[tuple[bytes, bytes], ...]

    @property
    def no_body(self) -> bool:
        return self.status in _NO_BODY


#: What the gateway answers when the script's head is not a valid HTTP head, as nginx
#: answers a FastCGI responder's (WSGI-STATUS-1).
BAD_GATEWAY = GatewayHead(502, b"Bad Gateway", ((b"Content-Length", b"0"),))
#: What the gateway answers when the script's thread ended without a head at all.
INTERNAL_ERROR = GatewayHead(500, b"Internal Server Error", ((b"Content-Length", b"0"),))


def gateway_head(head: ResponseHead) -> GatewayHead:
    """The head a server is given for PHP's: the status and reason the SAPI profile
    decided, the header fields in order without the hop-by-hop ones (WSGI-HOP-1);
    BAD_GATEWAY when the status is not a final status of three digits or a field
    name is not a token (WSGI-STATUS-1)."""
    status = head.status if head.status is not None else 200
    if not 200 <= status <= 999:
        return BAD_GATEWAY
    fields = []
    for name, value in head.fields:
        raw_name = name.encode(head.charset, "surrogateescape")
        if not _TOKEN.fullmatch(raw_name):
            return BAD_GATEWAY
        if name.lower() not in HOP_BY_HOP:
            fields.append((raw_name, value.encode(head.charset, "surrogateescape")))
    return GatewayHead(status, head.reason.encode(head.charset, "surrogateescape"), tuple(fields))


def _content_length(head: GatewayHead) -> int | None:
    for name, value in head.fields:
        if name.lower() == b"content-length":
            return int(value) if value.strip().isdigit() else None
    return None


# -- the channel between the script's thread and the server ------------------------------


class ResponseChannel(Transport):
    """The transport of a request served through a Python web server.

    ``ScriptCall.run`` gives it the request's ``server`` and ``input``. The
    script's thread writes to it as to any transport; the server's side
    takes what has arrived (``poll``, or ``take``, which waits) and says when
    the client has gone (``client_gone``). Thread-safe; no I/O.

    - The response is complete when the script finishes it (the request's end,
      fastcgi_finish_request()), when the body reaches the Content-Length the
      head declared, or at once after a head that allows no body (a HEAD request,
      204, 304) (WSGI-EARLY-1). Output after that is dropped and reported
      delivered, as a web server in front of PHP discards it.
    - Once the client has gone, writes and flushes report it (WSGI-ABORT-1).
    - A second head (a header callback that outputs) is body bytes where the
      SAPI writes its head into the stream, as php-cgi does (WSGI-HEAD-2).
    - A write waits while more than 1 MiB is waiting for a slow client.
    """

    can_end_early = True
    finish_request = True

    def __init__(self, *, sapi: str = "cgi", head_request: bool = False,
                 errors: Callable[[bytes], None] | None = None) -> None:
        self._head_in_stream = sapi != "apache2handler"
        self._head_request = head_request
        self._errors = errors
        self._lock = threading.Condition()
        self._head: GatewayHead | None = None
        self._head_taken = False
        self._chunks: list[bytes] = []
        self._pending = 0
        self._remaining: int | None = None  # of the declared Content-Length
        self._complete = False  # the client has (or will have) the whole response
        self._gone = False  # the client went away before that
        self._drained = False  # the server has taken everything, to the end
        self._wake: Callable[[], object] | None = None

    # -- the script's side (a Transport) --

    def send_headers(self, head: ResponseHead) -> None:
        with self._lock:
            if self._gone or self._complete:
                return
            if self._head is not None:  # PHP sent its head again (WSGI-HEAD-2)
                if self._head_in_stream:
                    self._append(head.block())
                return
            gateway = gateway_head(head)
            self._head = gateway
            if gateway is BAD_GATEWAY or gateway.no_body or self._head_request:
                self._complete = True
            else:
                self._remaining = _content_length(gateway)
                if self._remaining == 0:
                    self._complete = True
            self._changed()

    def write(self, data: bytes) -> bool:
        with self._lock:
            while self._pending >= _PENDING_LIMIT and not self._gone:
                self._lock.wait()
            if self._gone:
                return False
            if not self._complete:
                self._append(data)
            return True

    def flush(self) -> bool:
        with self._lock:
            return not self._gone

    def write_stderr(self, data: bytes) -> None:
        if self._errors is not None:
            self._errors(data)

    def finish(self) -> None:
        with self._lock:
            self._complete = True
            self._changed()

    def _append(self, data: bytes) -> None:
        # under the lock: body bytes for the server, up to the declared length
        if self._remaining is not None:
            data = data[: self._remaining]
            self._remaining -= len(data)
            self._complete = self._remaining == 0
        if data:
            self._chunks.append(data)
            self._pending += len(data)
        self._changed()

    def _changed(self) -> None:
        self._lock.notify_all()
        if self._wake is not None:
            try:
                self._wake()
            except RuntimeError:  # the server's event loop has closed
                self._wake = None

    # -- the server's side --

    def poll(self) -> tuple[GatewayHead | None, bytes, bool] | None:
        """What arrived since the last call: the head (once), the body bytes, and
        whether the response is complete with them; None when nothing did."""
        with self._lock:
            head = None
            if self._head is not None and not self._head_taken:
                head, self._head_taken = self._head, True
            data = b"".join(self._chunks)
            self._chunks.clear()
            self._pending = 0
            done = self._complete or self._gone
            if head is None and not data and not done:
                return None
            if done:
                self._drained = True
                self._wake = None
            self._lock.notify_all()
            return head, data, done

    def take(self) -> tuple[GatewayHead | None, bytes, bool]:
        """``poll``, waiting until something arrives."""
        with self._lock:
            while not self._drained:
                taken = self.poll()
                if taken is not None:
                    return taken
                self._lock.wait()
        return None, b"", True

    def on_change(self, wake: Callable[[], object] | None) -> None:
        """Call ``wake()`` (from the script's thread) whenever something arrives."""
        with self._lock:
            self._wake = None if self._drained else wake

    def client_gone(self) -> None:
        """The client went away: the script's next write or flush reports it,
        unless the response was already complete (WSGI-ABORT-1)."""
        with self._lock:
            if not self._complete:
                self._gone = True
                self._chunks.clear()
                self._pending = 0
            self._changed()  # a writer waiting for room, and a server waiting for output, look again

    @property
    def complete(self) -> bool:
        """Whether the response is complete (WSGI-EARLY-1)."""
        with self._lock:
            return self._complete

    @property
    def gone(self) -> bool:
        """Whether the client went away before the response was complete (WSGI-ABORT-1)."""
        with self._lock:
            return self._gone


# -- the script threads ------------------------------------------------------------------


class ScriptThreads:
    """The threads running an application's scripts, one per request (WSGI-THREAD-1)."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._running = 0

    @property
    def running(self) -> int:
        """How many scripts are running now."""
        with self._lock:
            return self._running

    def start(self, call: ScriptCall, channel: ResponseChannel, on_end: Callable[[], None] | None = None) -> None:
        """Run ``call`` with ``channel`` as its transport in a new thread; then ``on_end()``."""
        with self._lock:
            self._running += 1
        thread = threading.Thread(target=self._run, args=(call, channel, on_end), name="phprt-script")
        thread.start()

    def _run(self, call: ScriptCall, channel: ResponseChannel, on_end: Callable[[], None] | None) -> None:
        try:
            call.run(channel)
        except BaseException:  # the thread's end: say what stopped the script, end the response
            channel.write_stderr(traceback.format_exc().encode("utf-8", "replace"))
        finally:
            channel.finish()
            with self._lock:
                self._running -= 1
                self._lock.notify_all()
            if on_end is not None:
                on_end()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until no script runs (at most ``timeout`` seconds); whether none does."""
        with self._lock:
            return self._lock.wait_for(lambda: self._running == 0, timeout)


# -- WSGI ------------------------------------------------------------------------------


def _text(value: str) -> str:
    # a WSGI native string (bytes as latin-1) as phprt holds PHP's strings (REQ-VARS-1)
    return value.encode("latin-1", "replace").decode("utf-8", "surrogateescape")


def _native(data: bytes) -> str:
    # bytes as a WSGI native string
    return data.decode("latin-1")


def _port(value: Any) -> int:
    text = str(value or "")
    return int(text) if text.isdigit() else 0


def request_from_environ(environ: Mapping[str, Any]) -> HttpRequest:
    """The request a WSGI server parsed, as phprt's HTTP server would have it
    (WSGI-REQUEST-1): the target from RAW_URI or REQUEST_URI where the server
    gives it, else rebuilt from SCRIPT_NAME, PATH_INFO and QUERY_STRING; the
    headers from the HTTP_* variables in the environ's order; the whole body."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    if raw.startswith("/"):
        target = raw
    else:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        target = quote(path.encode("latin-1", "replace"), safe=_PATH_SAFE) or "/"
        if environ.get("QUERY_STRING"):
            target += "?" + environ["QUERY_STRING"]
    headers = []
    for key, value in environ.items():
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key
        elif key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
            name = key[5:]
        else:
            continue
        if isinstance(value, str) and value:
            headers.append(("-".join(part.capitalize() for part in name.split("_")), _text(value)))
    return HttpRequest(
        method=environ.get("REQUEST_METHOD", "GET"),
        target=_text(target),
        protocol=environ.get("SERVER_PROTOCOL") or "HTTP/1.0",
        headers=tuple(headers),
        body=_read_body(environ),
        client=(environ.get("REMOTE_ADDR", ""), _port(environ.get("REMOTE_PORT"))),
        local=(environ.get("SERVER_NAME", ""), _port(environ.get("SERVER_PORT"))),
        server_name=environ.get("SERVER_NAME", ""),
    )


def _read_body(environ: Mapping[str, Any]) -> bytes:
    # CONTENT_LENGTH bytes; to the end where the server says the stream ends there
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not length.isdigit():
        return bytes(stream.read()) if environ.get("wsgi.input_terminated") else b""
    left, parts = int(length), []
    while left > 0:
        part = stream.read(min(left, 1 << 16))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


class WSGIApp:
    """A WSGI application (PEP 3333) that serves ``target`` -- a document root, one
    script for every URL, or a Python callable -- as ``phprt serve`` does
    (WSGI-APP-1). ``sapi`` is the PHP SAPI the scripts behave as, "cgi" by default
    (WSGI-SAPI-1); ``ini`` sets directives for every request.

    ``join(timeout)`` waits until the scripts still running -- after their response
    ended early, say -- have ended."""

    def __init__(self, target: Target, *, sapi: str = "cgi", ini: Mapping[str, Any] | None = None) -> None:
        self.site = Site(target, sapi=sapi, ini=ini)
        self.scripts = ScriptThreads()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until no script runs (at most ``timeout`` seconds); whether none does."""
        return self.scripts.join(timeout)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = request_from_environ(environ)
        answer = self.site.answer(request)
        if isinstance(answer, StaticResponse):
            headers = [(name, _native(value.encode())) for name, value in answer.headers]
            start_response(f"{answer.status} {answer.reason}", headers)
            return [] if request.method == "HEAD" else [answer.body]
        errors = environ.get("wsgi.errors")
        channel = ResponseChannel(sapi=answer.sapi, head_request=request.method == "HEAD", errors=_error_writer(errors))
        self.scripts.start(answer, channel)
        return _ResponseBody(channel, start_response)


def _error_writer(stream: Any) -> Callable[[bytes], None]:
    # PHP's stderr goes to wsgi.errors, a text stream, else to the process's stderr
    def write(data: bytes) -> None:
        target = stream if stream is not None else sys.stderr
        try:
            target.write(data.decode("utf-8", "replace"))
            target.flush()
        except (OSError, ValueError):
            pass

    return write


class _ResponseBody:
    """The iterable a WSGIApp returns: it calls start_response when the head
    arrives, then yields the body as the script writes it (WSGI-STREAM-1). Its
    close() before the end is the server saying the client has gone (WSGI-ABORT-1)."""

    def __init__(self, channel: ResponseChannel, start_response: StartResponse) -> None:
        self._channel = channel
        self._start_response = start_response
        self._started = self._done = False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._done:
            raise StopIteration
        head, data, done = self._channel.take()
        if head is not None:
            self._start(head)
        if done:
            self._done = True
            if not self._started:
                self._start(INTERNAL_ERROR)
            if not data:
                raise StopIteration
        # b"" after the head alone: servers that send the head on an empty write do
        return data

    def _start(self, head: GatewayHead) -> None:
        self._started = True
        fields = [(_native(name), _native(value)) for name, value in head.fields]
        self._start_response(f"{head.status} {_native(head.reason)}", fields)

    def close(self) -> None:
        if not self._done:
            self._done = True
            self._channel.client_gone()
