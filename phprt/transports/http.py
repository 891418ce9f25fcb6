"""A response on an HTTP connection, as ``python -m phprt serve`` writes it (SERVE-HEAD-1, SERVE-FRAME-1)."""

from __future__ import annotations

from typing import Callable

from ..net.http11 import BodyEncoder, RequestHead, ResponseWriter
from ..net.listener import Link
from ..net.logs import Log
from .base import ResponseHead, Transport
from .heads import HttpHead, http_form

__all__ = ["HttpTransport"]

#: Body writes of a response sent each at once before small ones wait for the client's
#: acknowledgement of what is in flight (SERVE-SEND-2).
_WRITES_SENT_AT_ONCE = 2


class HttpTransport(Transport):
    """A response on an HTTP connection (SERVE-HEAD-1, SERVE-FRAME-1).

    ``send_headers`` makes the head as ``php -S`` does (under another SAPI profile:
    the status line, Date and the profile's fields, ``http_form``), and ``start``
    any head the server makes itself; ``write`` sends each piece at once, as ``php
    -S`` does, so a client that left is noticed where PHP notices it
    (SERVE-ABORT-1). The head goes with the first piece of the body, or at
    ``flush()`` or ``finish()`` if that comes first, in one send (SERVE-SEND-1); a
    client whose reset answered that send is gone at once, as PHP's write of the
    body after its head fails. The ``ResponseWriter`` frames them: bytes past a
    declared Content-Length are dropped (SERVE-FRAME-2), and once the response is
    whole on a connection that is not kept, this side is shut at once while the
    script goes on (SERVE-EARLY-1). ``finish()`` may come early:
    fastcgi_finish_request() (SERVE-FINISH-1). ``persistent`` says whether the
    connection carries another request (SERVE-KEEP-1).
    """

    can_end_early = True
    finish_request = True

    def __init__(self, channel: Link, request: RequestHead, *, closing: Callable[[], bool] = lambda: False,
                 log: Log | None = None) -> None:
        self.request = request
        self.writer = ResponseWriter(request, closing=closing)
        self.finished = False
        self._channel = channel
        self._log = log
        self._head = b""  # made, not sent yet: it goes with what is sent next
        self._encoder: BodyEncoder | None = None  # the writer's, once the head is made
        self._writes = 0  # body writes since the last push; from _WRITES_SENT_AT_ONCE on, small ones wait (SERVE-SEND-2)

    @property
    def started(self) -> bool:
        """Whether the head was made (it goes with the body's first piece)."""
        return self.writer.started

    @property
    def persistent(self) -> bool:
        """Whether the connection can carry another request after this response."""
        return self.finished and self.writer.keep_alive(self._channel.gone)

    def send_headers(self, head: ResponseHead) -> None:
        if self.writer.started:  # a header callback that outputs: PHP writes a second head, as body
            self.write(head.block())
            return
        self.start(http_form(head))

    def start(self, head: HttpHead) -> None:
        """Make the head; it is sent with what is sent next."""
        self._head = self.writer.head(head.status, head.reason, head.lines, own_close=head.own_close,
                                      charset=head.charset)
        self._encoder = self.writer.encoder
        self._settle()

    def _send(self, data: bytes) -> bool:
        # The head waiting, then ``data``, in one send. When both went, a reset that
        # answered them is what PHP's separate write of ``data`` would have met.
        head, self._head = self._head, b""
        if not head:
            return self._channel.send(data)
        if not self._channel.send(head + data):
            return False
        return not (data and self._channel.reset_seen())

    def _settle(self) -> None:
        if self.writer.shut_now:
            if self._head:
                self._send(b"")
            self._channel.shut_write()

    def write(self, data: bytes) -> bool:
        if self._channel.gone:
            return False
        encoder = self._encoder
        if encoder is None or encoder.complete:
            return True  # past the declared length, or no body allowed: dropped (SERVE-FRAME-2)
        delivered = self._send(encoder.encode(data))
        self._writes += 1
        if self._writes == _WRITES_SENT_AT_ONCE:  # many writes: let the small ones gather (SERVE-SEND-2)
            self._channel.hold_small_writes(True)
        if encoder.complete:  # the response is whole: a connection not kept is shut now (SERVE-EARLY-1)
            self._settle()
        return delivered

    def _push(self) -> None:
        # what gathered goes now, and the next writes go at once again (SERVE-SEND-2)
        if self._writes >= _WRITES_SENT_AT_ONCE:
            self._channel.hold_small_writes(False)
        self._writes = 0

    def flush(self) -> bool:
        if self._head:
            self._send(b"")
        self._push()
        return not self._channel.gone

    def write_stderr(self, data: bytes) -> None:
        if self._log is not None:
            self._log.stderr(data)

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        if not self.writer.started:
            return
        self._send(self.writer.end())
        self._push()
        if not self.writer.keep_alive(self._channel.gone):
            self._channel.shut_write()
