"""PHP-FPM's FastCGI output buffer in front of any transport (SAPI-FPM-1, SAPI-FPM-2).

PHP-FPM does not write each echo to its socket: main/fastcgi.c's ``fcgi_write()``
packs output into records in one 8 KiB buffer and writes the buffer out only when
a write does not fit, on ``flush()``, and at the end of the request, so a client
that has gone is noticed only then. ``RecordBuffer`` keeps fcgi_write()'s byte
accounting (8-byte record headers, padding to 8 bytes, the large-write path)
without building the records: a socket write becomes one ``deliver(units)`` call
with the pending stdout and stderr pieces, which answers whether the client is
still there. ``fcgi_flush()`` writes even when nothing is buffered (a flush()
after the last write went out): a zero-length write, ``deliver([])``, which
fails on a unix socket whose peer has gone (SAPI-FPM-3).

Under the "fpm" profile the Runtime writes through ``FpmRecords``, a
``RecordBuffer`` in front of its transport, whichever it is. The head is output
too: it reaches the transport (``send_headers``) when its bytes leave, and its
bytes are not body. A log message (STDERR) sends the body written before it
first.

After ``finish()`` (fcgi_end and fcgi_close: fastcgi_finish_request() or the end
of the request) the buffer still takes writes, and a write that forces it out
fails (FPM-FINISH-2); log messages are dropped.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Callable

from ..engine.values import PHP_BYTES
from .base import ResponseHead, Transport

__all__ = ["STDERR", "STDOUT", "FpmRecords", "RecordBuffer"]

STDOUT, STDERR = 6, 7  # FCGI_STDOUT, FCGI_STDERR
_SIZE = 8192  # sizeof(req->out_buf)
_HEADER = 8  # sizeof(fcgi_header)
_MAX_RECORD = 0xFFF8
_KIND, _DATA = itemgetter(0), itemgetter(1)  # of a pending (type, bytes) piece


def _padding(length: int) -> int:
    return ((length + 7) & ~7) - length


def _undeliverable(pieces: list[tuple[int, bytes]]) -> bool:
    return False


class RecordBuffer:
    """fcgi_write()/fcgi_flush() for one request. ``deliver(pieces)`` writes
    [(type, bytes), ...] to the client and returns False when it is gone."""

    def __init__(self, deliver: Callable[[list[tuple[int, bytes]]], bool]) -> None:
        self._deliver = deliver
        self._pending: list[tuple[int, bytes]] = []
        self._pos = 0  # bytes used in out_buf, record headers and padding included
        self._open: int | None = None  # the type of the open record, if one is open
        self._open_length = 0
        self.closed = False  # fcgi_close(): the socket is gone (fd = -1)

    def write(self, kind: int, data: bytes) -> bool:
        """fcgi_write(): False when a write the buffer forced out failed."""
        length = len(data)
        if not length:
            return True
        if kind == self._open and length < _SIZE - self._pos:  # into the open record (FPM-PERF-1)
            self._pending.append((kind, data))
            self._pos += length
            self._open_length += length
            return True
        if self._open is not None and self._open != kind:
            self._close_record()
        limit = _SIZE - self._pos - (0 if self._open is not None else _HEADER)
        limit = max(limit, 0)
        if length < limit:
            self._append(kind, data)
            return True
        if length - limit < _SIZE - _HEADER:
            if limit > 0:
                self._append(kind, data[:limit])
            if not self.flush():
                return False
            if length > limit:
                self._append(kind, data[limit:])
            return True
        # one large write: out with what is buffered, then the data in whole records
        self._close_record()
        position = 0
        while length - position > 0xFFFF:
            if not self.flush() or not self._send([(kind, data[position:position + _MAX_RECORD])]):
                return False
            position += _MAX_RECORD
        pad = _padding(length - position)
        rest = 8 - pad if pad else 0
        if not self.flush() or not self._send([(kind, data[position:length - rest])]):
            return False
        if rest:
            self._append(kind, data[length - rest:])
        return True

    def flush(self) -> bool:
        """fcgi_flush(): write out what is buffered; False when the client is gone.
        With nothing buffered it still writes -- ``deliver([])``, PHP-FPM's
        ``write(fd, buf, 0)``, which fails with EPIPE once the peer of its unix
        socket has gone (SAPI-FPM-3)."""
        self._close_record()
        pieces, self._pending, self._pos = self._pending, [], 0
        return self._send(pieces)

    def close(self) -> bool:
        """fcgi_end() and fcgi_close(): write out what is buffered; from then on
        every write that reaches the socket fails."""
        delivered = self.flush()
        self.closed = True
        self._deliver = _undeliverable  # never called again: its owner is freed without the cycle collector
        return delivered

    def _send(self, pieces: list[tuple[int, bytes]]) -> bool:
        # safe_write(), which fails once the request was closed; it writes even nothing
        if self.closed:
            return False
        return self._deliver(pieces)

    def _append(self, kind: int, data: bytes) -> None:
        if self._open is None:
            self._open, self._open_length = kind, 0
            self._pos += _HEADER
        self._pending.append((kind, data))
        self._pos += len(data)
        self._open_length += len(data)

    def _close_record(self) -> None:
        if self._open is not None:
            self._pos += _padding(self._open_length)
            self._open = None


class FpmRecords(Transport):
    """``inner``'s output behind PHP-FPM's record buffer. Only output goes through
    it: the request (``server``, ``input``) is still read from ``inner``."""

    writes_after_finish = True
    joins_writes = True  # below 8 KiB: fcgi_write() cuts records at the same byte either way (PERF-ECHO-4)

    def __init__(self, inner: Transport, target: list[Any] | None = None, encoding: str = "utf-8") -> None:
        self.inner = inner
        self._records = RecordBuffer(self._deliver)
        self._unsent_head: ResponseHead | None = None  # a head in the records, not delivered yet
        self._unsent_block: bytes | None = None  # its bytes as written into the records
        self._head_left = 0  # bytes of that head still in the records
        #: Output the output stack appended here, straight out, while it fits the open STDOUT
        #: record (PERF-OB-5): written into the records, as one write, before anything else is.
        #: ``target`` is the stack's target cell, whose room this keeps while it names ``text``;
        #: ``encoding`` the text's.
        self.text: list[str] = []
        self._target, self._encoding = target, encoding

    # -- output the stack appends (PERF-OB-5) --

    def room(self) -> int:
        """The bytes a STDOUT write may have and stay in the records, in the open STDOUT record
        or one it opens (as fcgi_write() keeps it in out_buf: nothing goes out)."""
        if self.text:
            self._drain()
        records = self._records
        if records._open == STDOUT:
            return _SIZE - records._pos
        if records._open is None:
            return max(_SIZE - records._pos - _HEADER, 0)
        return 0  # a STDERR record is open: the write takes the long way

    def _drain(self) -> None:
        # The appended text into the records: one write, that fits where each of its parts did.
        text = self.text
        data = (text[0] if len(text) == 1 else "".join(text)).encode(self._encoding, PHP_BYTES)
        text.clear()
        self._records.write(STDOUT, data)

    def _aim(self) -> None:
        # After the records changed: the room of the stack's target, while it names ``text``.
        target = self._target
        if target is not None and target[0] is self.text:
            target[1] = self.room()

    # -- the transport --

    def write(self, data: bytes) -> bool:
        """fcgi_write() of STDOUT: False when a write it forced out met a client that has gone."""
        if self.text:
            self._drain()
        written = self._records.write(STDOUT, data)
        self._aim()
        return written

    @property
    def closed(self) -> bool:
        """fcgi_close() has run: every write that reaches the socket fails."""
        return self._records.closed

    def send_headers(self, head: ResponseHead) -> bool:
        """PHP-FPM writes its head into the records, as output; False when a write
        this forced out met a client that has gone."""
        block = head.block()
        self._unsent_head, self._head_left = head, len(block)
        self._unsent_block = block  # PHP-FPM's CGI head as it is (FCGI-PERF-3)
        return self.write(block)

    def flush(self) -> bool:
        if self.text:
            self._drain()
        flushed = self._records.flush()
        self._aim()
        return flushed

    def write_stderr(self, data: bytes) -> None:
        if self.text:
            self._drain()
        if not self._records.closed:
            self._records.write(STDERR, data)
            self._aim()

    def finish(self) -> None:
        if self.text:
            self._drain()
        if not self._records.closed:
            # fcgi_end(): the buffered records and END_REQUEST in one write (FPM-END-1); no
            # write can fail visibly from here, since every later one fails (FPM-FINISH-2).
            self.inner.ending()
            self._records.close()
        self.inner.finish()

    def _deliver(self, pieces: list[tuple[int, bytes]]) -> bool:
        # PHP-FPM's socket write of its buffered records: the head once its bytes
        # leave, then body and log bytes in order (SAPI-FPM-1). The body's pieces are
        # joined once -- all at once when there is no log message among them (FPM-PERF-1)
        # -- and the head goes with the block already made of it (FCGI-PERF-3).
        inner = self.inner
        delivered = True
        if STDERR not in map(_KIND, pieces):
            if pieces:
                self._head_out()
            body = [self._body(b"".join(map(_DATA, pieces)))]
        else:
            body = []
            for kind, data in pieces:
                if kind == STDERR:
                    if body:
                        delivered = inner.write(b"".join(body)) and delivered
                        body = []
                    inner.write_stderr(data)
                    continue
                self._head_out()
                body.append(self._body(data))
        data = b"".join(body)
        if not data:  # a write of record headers alone, or of nothing, still meets a closed socket
            return inner.flush() and delivered
        delivered = inner.write(data) and delivered
        inner.flush()
        return delivered

    def _head_out(self) -> None:
        # The head's bytes leave: the transport gets it, with its block as made (FCGI-PERF-3).
        head, self._unsent_head = self._unsent_head, None
        if head is None:
            return
        send_block = getattr(self.inner, "send_cgi_block", None)
        if send_block is not None and self._unsent_block is not None:
            send_block(head, self._unsent_block)
        else:
            self.inner.send_headers(head)
        self._unsent_block = None

    def _body(self, data: bytes) -> bytes:
        # ``data`` without the head's bytes still in the records
        if not self._head_left:
            return data
        taken = min(self._head_left, len(data))
        self._head_left -= taken
        return data[taken:]
