"""PHP-FPM's FastCGI output buffer: when its writes reach the web server (SAPI-FPM-1).

PHP-FPM does not write each echo to its socket: main/fastcgi.c's ``fcgi_write()``
packs output into records in one 8 KiB buffer and writes the buffer out only when
a write does not fit, on ``flush()``, and at the end of the request. A client that
has gone is therefore noticed only then. ``RecordBuffer`` keeps fcgi_write()'s
byte accounting (8-byte record headers, padding to 8 bytes, the large-write path)
without building the records: a socket write becomes one ``deliver(units)`` call
with the pending stdout and stderr pieces, which answers whether the client is
still there.
"""

from __future__ import annotations

from typing import Callable

__all__ = ["STDERR", "STDOUT", "RecordBuffer"]

STDOUT, STDERR = 6, 7  # FCGI_STDOUT, FCGI_STDERR
_SIZE = 8192  # sizeof(req->out_buf)
_HEADER = 8  # sizeof(fcgi_header)
_MAX_RECORD = 0xFFF8


def _padding(length: int) -> int:
    return ((length + 7) & ~7) - length


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
        if not data:
            return True
        if self._open is not None and self._open != kind:
            self._close_record()
        limit = _SIZE - self._pos - (0 if self._open is not None else _HEADER)
        limit = max(limit, 0)
        length = len(data)
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
        """fcgi_flush(): write out what is buffered; False when the client is gone."""
        self._close_record()
        pieces, self._pending, self._pos = self._pending, [], 0
        return self._send(pieces)

    def close(self) -> bool:
        """fcgi_end() and fcgi_close(): write out what is buffered; from then on
        every write that reaches the socket fails."""
        delivered = self.flush()
        self.closed = True
        return delivered

    def _send(self, pieces: list[tuple[int, bytes]]) -> bool:
        # safe_write(): nothing to write succeeds, unless the request was closed
        if self.closed:
            return False
        return self._deliver(pieces) if pieces else True

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
