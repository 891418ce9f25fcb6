"""Between a Runtime and a Python web server: the head as a status and fields, and
the channel the script writes to and the server reads from, across threads
(WSGI-HEAD-1, WSGI-THREAD-1). No I/O of its own; ``phprt.wsgi`` and ``phprt.asgi``
put it on their servers."""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from typing import Callable

from ..net.site import ScriptCall
from ..net.http11 import TOKEN
from .base import ResponseHead, Transport
from ..engine.values import PHP_BYTES

__all__ = ["BodyTooLarge", "GatewayHead", "HOP_BY_HOP", "INTERNAL_ERROR", "MAX_BODY", "PATH_SAFE", "ResponseChannel", "ScriptThreads", "gateway_head"]

#: Fields a gateway must not pass to the server: PEP 3333's hop-by-hop list,
#: which ``wsgiref`` asserts on (WSGI-HOP-1).
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade",
})
#: RFC 3986's pchar and "/": what a path rebuilt from a server's decoded one leaves unescaped.
PATH_SAFE = "/:@!$&'()*+,;=-._~"
#: The largest request body an application reads, as the HTTP server's limit (SERVE-LIMIT-1).
MAX_BODY = 64 * 1024 * 1024
#: What the channel holds for a slow client before the script's write waits.
_PENDING_LIMIT = 1 << 20
#: The statuses after which a response has no body (RFC 9110 §6.4.1).
_NO_BODY = (204, 304)



class BodyTooLarge(Exception):
    """The request's body is over the application's ``max_body``: it is answered 413."""


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
        raw_name = name.encode(head.charset, PHP_BYTES)
        if not TOKEN.fullmatch(raw_name):
            return BAD_GATEWAY
        if name.lower() not in HOP_BY_HOP:
            fields.append((raw_name, value.encode(head.charset, PHP_BYTES)))
    return GatewayHead(status, head.reason.encode(head.charset, PHP_BYTES), tuple(fields))


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
        # A daemon, as a server's own request threads are: the server decides how long to wait for it.
        thread = threading.Thread(target=self._run, args=(call, channel, on_end), name="phprt-script", daemon=True)
        try:
            thread.start()
        except RuntimeError:  # no thread to be had: the request ends unanswered, the server goes on
            channel.write_stderr(traceback.format_exc().encode("utf-8", "replace"))
            self._ended(channel, on_end)

    def _run(self, call: ScriptCall, channel: ResponseChannel, on_end: Callable[[], None] | None) -> None:
        try:
            call.run(channel)
        except BaseException:  # the thread's end: say what stopped the script, end the response
            channel.write_stderr(traceback.format_exc().encode("utf-8", "replace"))
        finally:
            self._ended(channel, on_end)

    def _ended(self, channel: ResponseChannel, on_end: Callable[[], None] | None) -> None:
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
