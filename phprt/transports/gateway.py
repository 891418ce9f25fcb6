"""Between a Runtime and a Python web server: the channel the script writes to and
the server reads from, across threads (WSGI-HEAD-1, WSGI-THREAD-1). No I/O of
its own; ``phprt.wsgi`` and ``phprt.asgi`` put it on their servers, and
phprt/transports/heads.py gives it the head as a status and fields."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable

from ..net.http11 import BodyEncoder, Framing, declared_length
from ..net.logs import Log
from .base import ResponseHead, Transport
from .heads import BAD_GATEWAY, INTERNAL_ERROR, GatewayHead, gateway_form

if TYPE_CHECKING:
    from ..net.runner import Outcome

__all__ = ["BodyTooLarge", "PATH_SAFE", "ResponseChannel"]

#: RFC 3986's pchar and "/": what a path rebuilt from a server's decoded one leaves unescaped.
PATH_SAFE = "/:@!$&'()*+,;=-._~"
#: What the channel holds for a slow client before the script's write waits.
_PENDING_LIMIT = 1 << 20


class BodyTooLarge(Exception):
    """The request's body is over the application's ``max_body``: it is answered 413."""


# -- the channel between the script's thread and the server ------------------------------


class ResponseChannel(Transport):
    """The transport of a request served through a Python web server.

    ``ScriptCall.run`` gives it the request's ``server`` and ``input``. The
    script's thread writes to it as to any transport; the server's side
    takes what has arrived (``poll``, or ``take``, which waits) and says when
    the client has gone (``client_gone``). Thread-safe; no I/O.

    - The response is complete when the script finishes it (the request's end,
      fastcgi_finish_request()), when the body reaches the Content-Length the
      head declared (read as nginx reads a FastCGI responder's), or at once
      after a head that allows no body (a HEAD request, 204, 304)
      (WSGI-EARLY-1). Output after that is dropped and reported delivered, as a
      web server in front of PHP discards it.
    - Once the client has gone, writes and flushes report it (WSGI-ABORT-1).
    - A second head (a header callback that outputs) is body bytes where the
      SAPI writes its head into the stream, as php-cgi does (WSGI-HEAD-2).
    - A write waits while more than 1 MiB is waiting for a slow client.
    """

    can_end_early = True
    finish_request = True

    def __init__(self, *, sapi: str = "cgi", method: str = "GET", log: Log | None = None) -> None:
        self._head_in_stream = sapi != "apache2handler"
        self._method = method
        self._log = log
        self._lock = threading.Condition()
        self._head: GatewayHead | None = None
        self._head_taken = False
        self._chunks: list[bytes] = []
        self._pending = 0
        self._body: BodyEncoder | None = None  # cuts the body at the declared Content-Length
        self._complete = False  # the client has (or will have) the whole response
        self._gone = False  # the client went away before that
        self._drained = False  # the server has taken everything, to the end
        self._wake: Callable[[], object] | None = None
        self._woken = False  # wake() was called since the server's last poll(): once is enough

    # -- the script's side (a Transport) --

    def send_headers(self, head: ResponseHead) -> None:
        with self._lock:
            if self._gone or self._complete:
                return
            if self._head is not None:  # PHP sent its head again (WSGI-HEAD-2)
                if self._head_in_stream:
                    self._append(head.block())
                return
            gateway = gateway_form(head)
            self._head = gateway
            if gateway is BAD_GATEWAY or not gateway.body_allowed(self._method):
                self._complete = True
            else:
                length = declared_length([part.value for part in head.named("content-length")], last_only=True)
                self._body = BodyEncoder(Framing("close" if length is None else "length", length, False))
                self._complete = self._body.complete
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
        if self._log is not None:
            self._log.stderr(data)

    def finish(self) -> None:
        with self._lock:
            self._complete = True
            self._changed()

    def ended(self, outcome: Outcome) -> None:
        """The script's thread is done: what stopped it, if anything, goes to the
        log (WSGI-ERRORS-1), and the response ends."""
        if outcome.error is not None and self._log is not None:
            self._log.exception(outcome.error)
        self.finish()

    def _append(self, data: bytes) -> None:
        # under the lock: body bytes for the server, up to the declared length
        if self._body is not None:
            data = self._body.encode(data)
            self._complete = self._body.complete
        if data:
            self._chunks.append(data)
            self._pending += len(data)
        self._changed()

    def _changed(self) -> None:
        self._lock.notify_all()
        if self._wake is not None and not self._woken:
            self._woken = True
            try:
                self._wake()
            except RuntimeError:  # the server's event loop has closed
                self._wake = None

    # -- the server's side --

    def poll(self) -> tuple[GatewayHead | None, bytes, bool] | None:
        """What arrived since the last call: the head (once; INTERNAL_ERROR for a
        response that ended without one), the body bytes, and whether the response
        is complete with them; None when nothing did."""
        with self._lock:
            self._woken = False
            done = self._complete or self._gone
            head = None
            if not self._head_taken and (self._head is not None or done):
                head, self._head_taken = self._head or INTERNAL_ERROR, True
            data = b"".join(self._chunks)
            self._chunks.clear()
            self._pending = 0
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
        """Call ``wake()`` (from the script's thread) when something arrives: once until
        the server's next ``poll()``, which takes all that arrived meanwhile."""
        with self._lock:
            self._wake = None if self._drained else wake
            self._woken = False

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
