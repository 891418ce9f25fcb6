"""PHP 8.2's zlib output compression (ext/zlib/zlib.c), reproduced to the byte.

This module is I/O-free: no headers, no runtime.  It provides

* :data:`GZIP` / :data:`DEFLATE` and :func:`output_encoding`, the coding choice of
  ``php_zlib_output_encoding()``;
* :func:`buffer_size_guess`, ``PHP_ZLIB_BUFFER_SIZE_GUESS()``;
* :class:`DeflateContext`, a port of ``php_zlib_output_handler_ex()``: the
  per-handler state behind ``ob_start("ob_gzhandler")``, ``zlib.output_compression``
  and the ``ob_gzhandler()`` function.

How PHP drives zlib (ext/zlib/zlib.c, PHP 8.2)
----------------------------------------------
``deflateInit2(level, Z_DEFLATED, coding, MAX_MEM_LEVEL=9, Z_DEFAULT_STRATEGY)``
where *coding* doubles as the ``windowBits``: ``0x1f`` (31, gzip wrapper) or ``0x0f``
(15, zlib wrapper).  Every handler call appends its input to ``ctx->buffer`` and calls
``deflate()`` once, with ``Z_SYNC_FLUSH`` (plain write), ``Z_FULL_FLUSH`` (op has
``PHP_OUTPUT_HANDLER_FLUSH``) or ``Z_FINISH`` (op has ``PHP_OUTPUT_HANDLER_FINAL``), and
with an output buffer of only ``PHP_ZLIB_BUFFER_SIZE_GUESS(in_len)`` =
``(size_t)(in_len * 1.015) + 23`` bytes, *in_len* being the size of this call's input.
Input deflate() did not consume stays in ``ctx->buffer`` for the next call; output it
could not emit stays inside zlib.  ``Z_OK`` from a ``Z_FINISH`` call (the buffer was
too small to finish) and any error (``Z_BUF_ERROR``, ``Z_STREAM_ERROR``) make the
handler fail and end the stream.

How this module reproduces it
-----------------------------
Python's ``zlib.compressobj`` cannot bound its output, and its own growing output
buffers (32 KiB, then 64 KiB, ...) are visible in the bytes: when a flush's empty
stored block ends exactly where one of Python's buffers ends, zlib's ``last_flush = -1``
rule makes the next internal ``deflate()`` call emit a second empty stored block
(observed: for some 65,536-byte random inputs at level 6 that gives 5 bytes more
than PHP).  So:

* **Level 0** is a line-by-line port of zlib 1.2.13's ``deflate()`` and
  ``deflate_stored()`` (stored blocks, whose sizes depend on the output space
  deflate() is given, window bookkeeping, pending buffer, header, trailer).  It is
  byte-exact in every case, including a too-small output buffer, left-over input and
  the ``Z_FINISH`` failure.
* **Levels 1-9** use ``zlib.compressobj(level, DEFLATED, coding, 9)``: the input goes
  in with ``compress()`` (``Z_NO_FLUSH``), then ``flush(Z_BLOCK)`` completes the block
  (harmless if it meets a Python buffer boundary: a repeated ``Z_BLOCK`` emits
  nothing), then ``flush(Z_SYNC_FLUSH | Z_FULL_FLUSH)`` adds only the 5-6 byte empty
  stored block, which always fits Python's first 32 KiB buffer.  ``Z_FINISH`` is passed
  straight through (zlib writes nothing twice once finishing has started).  The
  resulting bytes equal one ``deflate(strm, flush)`` call with unbounded output, which
  is what PHP gets whenever the call's output fits ``PHP_ZLIB_BUFFER_SIZE_GUESS``.
  zlib's ``last_flush`` bookkeeping is kept here (``Z_BUF_ERROR`` for an empty write
  after a flush of the same or higher rank, ``-1`` after an exact fill), so the
  handler fails exactly when PHP's does.

The one case that differs (levels 1-9 only)
-------------------------------------------
A ``Z_SYNC_FLUSH``/``Z_FULL_FLUSH`` call whose compressed output is *larger* than
``int(in_len * 1.015) + 23``.  This call's bytes are still PHP's (the first
``int(in_len * 1.015) + 23`` bytes of the stream) and the rest is carried into the next
call, but PHP's zlib stopped part-way through the input, so PHP's *later* calls differ:
PHP writes this call's empty stored block (the sync point) only at the end of the next
call that completes, and its next blocks cover different input.  ``Z_FINISH`` calls stay
exact: they fail, as in PHP.

No input is known to reach this case.  For calls of up to 32,506 bytes it cannot happen:
every block of such a call can be stored, so the output is at most input + 23 bytes
(gzip header, stored block, trailer), which always fits.  Larger calls would need Huffman
blocks that expand the input by more than 1.5 %; with PHP 8.2.36, random input of 0 B to
300 KB at levels -1..9 always fitted, and random or adversarial input (far 3-byte
matches) never produced more than 98.6 % of the allowed size (measured: 98.54 %).  (Level 0 is exact even there.)
"""

from __future__ import annotations

import zlib
from typing import Final

from ..engine import constants as C

__all__ = ["GZIP", "DEFLATE", "output_encoding", "buffer_size_guess", "DeflateContext"]

#: ``PHP_ZLIB_ENCODING_GZIP``: the gzip coding, and the windowBits PHP passes for it.
GZIP: Final = 0x1F
#: ``PHP_ZLIB_ENCODING_DEFLATE``: the "deflate" coding (zlib wrapper, RFC 1950).
DEFLATE: Final = 0x0F


def output_encoding(accept_encoding: str | None) -> int:
    """``php_zlib_output_encoding()``: the coding PHP picks for an ``Accept-Encoding`` value.

    PHP runs C ``strstr()`` on ``$_SERVER['HTTP_ACCEPT_ENCODING']``: a case-sensitive
    substring test, ``"gzip"`` first (so ``"x-gzip"`` counts, ``"GZIP"`` does not), then
    ``"deflate"``, else 0 (no compression; also when the header is missing).  Being C,
    the test stops at a NUL byte.  (PHP caches a non-zero result for the rest of the
    request in ``ZLIBG(compression_coding)``; that caching is the caller's.)
    """
    if accept_encoding is None:
        return 0
    value = accept_encoding.split("\0", 1)[0]
    if "gzip" in value:
        return GZIP
    if "deflate" in value:
        return DEFLATE
    return 0


def buffer_size_guess(in_len: int) -> int:
    """``PHP_ZLIB_BUFFER_SIZE_GUESS(in_len)``: ``(size_t)((double)in_len * 1.015) + 10 + 8 + 4 + 1``."""
    return int(float(in_len) * 1.015) + 23


# zlib constants (zlib.h).
_Z_NO_FLUSH: Final = 0
_Z_SYNC_FLUSH: Final = 2
_Z_FULL_FLUSH: Final = 3
_Z_FINISH: Final = 4
_Z_OK: Final = 0
_Z_STREAM_END: Final = 1
_Z_STREAM_ERROR: Final = -2
_Z_BUF_ERROR: Final = -5

_MAX_MEM_LEVEL: Final = 9
_MAX_STORED: Final = 65535

# deflate.c block states
_NEED_MORE: Final = 0
_BLOCK_DONE: Final = 1
_FINISH_STARTED: Final = 2
_FINISH_DONE: Final = 3

# deflate.c stream states (only those a default-header stream passes through)
_INIT_STATE: Final = 42
_GZIP_STATE: Final = 57
_BUSY_STATE: Final = 113
_FINISH_STATE: Final = 666


def _rank(flush: int) -> int:
    """deflate.c ``RANK(f)``: orders flush kinds (Z_BLOCK between NO_FLUSH and PARTIAL)."""
    return flush * 2 - (9 if flush > 4 else 0)


_os_code: int | None = None


def _gzip_os_code() -> int:
    """The OS byte the linked zlib writes in a default gzip header (``OS_CODE``, 3 on Unix)."""
    global _os_code
    if _os_code is None:
        _os_code = zlib.compressobj(0, zlib.DEFLATED, 31, _MAX_MEM_LEVEL).flush()[9]
    return _os_code


class _Deflate:
    """One ``deflate()`` call's interface: input bytes, an output limit, a flush kind."""

    def deflate(self, data: bytes, avail_out: int, flush: int) -> tuple[int, bytes, int]:
        """Return ``(zlib return code, output bytes, number of input bytes consumed)``."""
        raise NotImplementedError


class _StoredDeflate(_Deflate):
    """zlib 1.2.13 ``deflate()`` at level 0 (``deflate_stored()``), windowBits 15/31, memLevel 9.

    A faithful port: every quantity that influences the emitted bytes (output space,
    window position, pending buffer, status, ``last_flush``) is modelled.  The bit
    buffer is always empty at level 0 (every block is byte aligned), so stored block
    headers are always 5 bytes.
    """

    def __init__(self, wbits: int) -> None:
        self.wrap = 2 if wbits > 15 else 1
        self.w_size = 1 << (wbits - 16 if wbits > 15 else wbits)
        self.window_size = 2 * self.w_size
        self.window = bytearray(self.window_size)
        self.pending_buf_size = (1 << (_MAX_MEM_LEVEL + 6)) * 4
        self.pending = bytearray()
        self.status = _GZIP_STATE if self.wrap == 2 else _INIT_STATE
        self.check = zlib.crc32(b"") if self.wrap == 2 else zlib.adler32(b"")
        self.total_in = 0
        self.last_flush = -2
        self.strstart = 0
        self.block_start = 0
        # per-call stream fields
        self._in = memoryview(b"")
        self._in_pos = 0
        self._out = bytearray()
        self._avail_out = 0

    # -- stream plumbing -------------------------------------------------------
    @property
    def _avail_in(self) -> int:
        return len(self._in) - self._in_pos

    def _read_buf(self, size: int) -> bytes:
        """``read_buf()``: take up to *size* input bytes, updating the check value."""
        size = min(size, self._avail_in)
        chunk = bytes(self._in[self._in_pos : self._in_pos + size])
        self._in_pos += size
        if self.wrap == 2:
            self.check = zlib.crc32(chunk, self.check)
        else:
            self.check = zlib.adler32(chunk, self.check)
        self.total_in += size
        return chunk

    def _emit(self, chunk: bytes | bytearray) -> None:
        self._out += chunk
        self._avail_out -= len(chunk)

    def _flush_pending(self) -> None:
        """``flush_pending()``: copy as much pending output as fits."""
        n = min(len(self.pending), self._avail_out)
        if n:
            self._emit(self.pending[:n])
            del self.pending[:n]

    @staticmethod
    def _stored_header(length: int, last: int) -> bytes:
        """``_tr_stored_block()`` header with an empty bit buffer: 3 bits + padding, LEN, NLEN."""
        return bytes((last, length & 0xFF, length >> 8, ~length & 0xFF, (~length >> 8) & 0xFF))

    # -- deflate() ------------------------------------------------------------
    def deflate(self, data: bytes, avail_out: int, flush: int) -> tuple[int, bytes, int]:
        self._in = memoryview(data)
        self._in_pos = 0
        self._out = bytearray()
        self._avail_out = avail_out
        ret = self._deflate(flush)
        out, consumed = bytes(self._out), self._in_pos
        self._in = memoryview(b"")
        self._out = bytearray()
        return ret, out, consumed

    def _deflate(self, flush: int) -> int:
        """A line-by-line port of zlib's deflate() (deflate.c) as it runs at level 0."""
        if self.status == _FINISH_STATE and flush != _Z_FINISH:
            return _Z_STREAM_ERROR
        if self._avail_out == 0:
            return _Z_BUF_ERROR
        old_flush = self.last_flush
        self.last_flush = flush
        if self.pending:
            self._flush_pending()
            if self._avail_out == 0:
                self.last_flush = -1
                return _Z_OK
        elif self._avail_in == 0 and _rank(flush) <= _rank(old_flush) and flush != _Z_FINISH:
            return _Z_BUF_ERROR
        if self.status == _FINISH_STATE and self._avail_in != 0:
            return _Z_BUF_ERROR
        if self.status == _INIT_STATE:
            header = (8 + ((15 - 8) << 4)) << 8  # Z_DEFLATED, w_bits 15, level_flags 0
            header += 31 - (header % 31)
            self.pending += header.to_bytes(2, "big")
            self.check = zlib.adler32(b"")
            self.status = _BUSY_STATE
            self._flush_pending()
            if self.pending:
                self.last_flush = -1
                return _Z_OK
        if self.status == _GZIP_STATE:
            self.check = zlib.crc32(b"")
            # mtime 0, XFL 4 (level < 2), OS_CODE
            self.pending += bytes((31, 139, 8, 0, 0, 0, 0, 0, 4, _gzip_os_code()))
            self.status = _BUSY_STATE
            self._flush_pending()
            if self.pending:
                self.last_flush = -1
                return _Z_OK
        if self._avail_in != 0 or (flush != _Z_NO_FLUSH and self.status != _FINISH_STATE):
            bstate = self._deflate_stored(flush)
            if bstate in (_FINISH_STARTED, _FINISH_DONE):
                self.status = _FINISH_STATE
            if bstate in (_NEED_MORE, _FINISH_STARTED):
                if self._avail_out == 0:
                    self.last_flush = -1
                return _Z_OK
            if bstate == _BLOCK_DONE:
                # Z_SYNC_FLUSH / Z_FULL_FLUSH: an empty stored block
                self.pending += self._stored_header(0, 0)
                if flush == _Z_FULL_FLUSH:
                    # CLEAR_HASH; lookahead is always 0 at level 0
                    self.strstart = 0
                    self.block_start = 0
                self._flush_pending()
                if self._avail_out == 0:
                    self.last_flush = -1
                    return _Z_OK
        if flush != _Z_FINISH:
            return _Z_OK
        if self.wrap <= 0:
            return _Z_STREAM_END
        if self.wrap == 2:
            self.pending += (self.check & 0xFFFFFFFF).to_bytes(4, "little")
            self.pending += (self.total_in & 0xFFFFFFFF).to_bytes(4, "little")
        else:
            self.pending += (self.check & 0xFFFFFFFF).to_bytes(4, "big")
        self._flush_pending()
        self.wrap = -self.wrap
        return _Z_OK if self.pending else _Z_STREAM_END

    def _deflate_stored(self, flush: int) -> int:
        """A line-by-line port of zlib's deflate_stored() (deflate.c): level 0's stored blocks."""
        w_size = self.w_size
        min_block = min(self.pending_buf_size - 5, w_size)
        last = 0
        used = self._avail_in
        while True:
            length = _MAX_STORED
            have = 5  # (bi_valid + 42) >> 3 with bi_valid == 0
            if self._avail_out < have:
                break
            have = self._avail_out - have
            left = self.strstart - self.block_start
            if length > left + self._avail_in:
                length = left + self._avail_in
            if length > have:
                length = have
            if length < min_block and (
                (length == 0 and flush != _Z_FINISH)
                or flush == _Z_NO_FLUSH
                or length != left + self._avail_in
            ):
                break
            last = 1 if flush == _Z_FINISH and length == left + self._avail_in else 0
            self.pending += self._stored_header(length, last)
            self._flush_pending()
            if left:
                if left > length:
                    left = length
                self._emit(self.window[self.block_start : self.block_start + left])
                self.block_start += left
                length -= left
            if length:
                self._emit(self._read_buf(length))
            if last:
                break

        used -= self._avail_in
        if used:
            copied = self._in[self._in_pos - used : self._in_pos]
            if used >= w_size:
                self.window[0:w_size] = copied[used - w_size :]
                self.strstart = w_size
            else:
                if self.window_size - self.strstart <= used:
                    self.strstart -= w_size
                    self.window[0 : self.strstart] = self.window[w_size : w_size + self.strstart]
                self.window[self.strstart : self.strstart + used] = copied
                self.strstart += used
            self.block_start = self.strstart
        if last:
            return _FINISH_DONE
        if (
            flush != _Z_NO_FLUSH
            and flush != _Z_FINISH
            and self._avail_in == 0
            and self.strstart == self.block_start
        ):
            return _BLOCK_DONE

        # Fill the window with any remaining input.
        have = self.window_size - self.strstart
        if self._avail_in > have and self.block_start >= w_size:
            self.block_start -= w_size
            self.strstart -= w_size
            self.window[0 : self.strstart] = self.window[w_size : w_size + self.strstart]
            have += w_size
        if have > self._avail_in:
            have = self._avail_in
        if have:
            self.window[self.strstart : self.strstart + have] = self._read_buf(have)
            self.strstart += have

        # Not enough output space for a worthy/flushed block: stage one in pending.
        have = min(self.pending_buf_size - 5, _MAX_STORED)
        min_block = min(have, w_size)
        left = self.strstart - self.block_start
        if left >= min_block or (
            (left or flush == _Z_FINISH)
            and flush != _Z_NO_FLUSH
            and self._avail_in == 0
            and left <= have
        ):
            length = min(left, have)
            last = 1 if flush == _Z_FINISH and self._avail_in == 0 and length == left else 0
            self.pending += self._stored_header(length, last)
            self.pending += self.window[self.block_start : self.block_start + length]
            self.block_start += length
            self._flush_pending()
        return _FINISH_STARTED if last else _NEED_MORE


class _CompressobjDeflate(_Deflate):
    """``deflate()`` at levels 1-9 on top of ``zlib.compressobj`` (see the module docstring)."""

    def __init__(self, wbits: int, level: int) -> None:
        self.obj = zlib.compressobj(level, zlib.DEFLATED, wbits, _MAX_MEM_LEVEL, zlib.Z_DEFAULT_STRATEGY)
        self.pending = b""  # produced but not yet emitted (only after an overflow)
        self.last_flush = -2
        self.finishing = False
        self.finished = False

    def deflate(self, data: bytes, avail_out: int, flush: int) -> tuple[int, bytes, int]:
        if self.finishing and flush != _Z_FINISH:
            return _Z_STREAM_ERROR, b"", 0
        if avail_out == 0:
            return _Z_BUF_ERROR, b"", 0
        old_flush = self.last_flush
        self.last_flush = flush
        out = b""
        if self.pending:
            out, self.pending = self.pending[:avail_out], self.pending[avail_out:]
            avail_out -= len(out)
            if avail_out == 0:
                self.last_flush = -1
                return _Z_OK, out, 0
        elif not data and _rank(flush) <= _rank(old_flush) and flush != _Z_FINISH:
            return _Z_BUF_ERROR, b"", 0
        if self.finished:
            if data:
                return _Z_BUF_ERROR, out, 0
            return _Z_STREAM_END, out, 0
        parts = [self.obj.compress(data)] if data else []
        if flush == _Z_FINISH:
            parts.append(self.obj.flush(zlib.Z_FINISH))
            self.finishing = True
        else:
            parts.append(self.obj.flush(zlib.Z_BLOCK))
            parts.append(self.obj.flush(flush))
        produced = b"".join(parts)
        if len(produced) > avail_out:
            out += produced[:avail_out]
            self.pending = produced[avail_out:]
            self.last_flush = -1
            return _Z_OK, out, len(data)
        out += produced
        if flush == _Z_FINISH:
            self.finished = True
            return _Z_STREAM_END, out, len(data)
        if len(produced) == avail_out:
            self.last_flush = -1
        return _Z_OK, out, len(data)


class DeflateContext:
    """``php_zlib_context`` plus ``php_zlib_output_handler_ex()``.

    *encoding* is :data:`GZIP` or :data:`DEFLATE` (PHP passes it to ``deflateInit2()`` as
    windowBits), *level* is ``zlib.output_compression_level`` (-1 = zlib's default, 6).
    A fresh context has no zlib stream (like PHP's zeroed ``z_stream``): until a call
    with ``PHP_OUTPUT_HANDLER_START`` every call fails.
    """

    def __init__(self, encoding: int, level: int = -1) -> None:
        self.encoding = encoding
        self.level = level
        self._stream: _Deflate | None = None
        self._buffer = b""  # ctx->buffer: input deflate() has not consumed yet

    def _init_stream(self) -> bool:
        """``deflateInit2(&ctx->Z, level, Z_DEFLATED, encoding, MAX_MEM_LEVEL, Z_DEFAULT_STRATEGY)``."""
        self._stream = None
        if self.encoding not in (GZIP, DEFLATE) or not -1 <= self.level <= 9:
            return False  # Z_STREAM_ERROR
        if self.level == 0:
            self._stream = _StoredDeflate(self.encoding)
        else:
            self._stream = _CompressobjDeflate(self.encoding, self.level)
        return True

    def process(self, op: int, data: bytes) -> bytes | None:
        """Run the handler for one *op* (``PHP_OUTPUT_HANDLER_*`` bits) on *data*.

        Returns the handler's output on SUCCESS and ``None`` on FAILURE, as PHP does:

        * ``START``: (re)initialise the zlib stream (fails for a level outside -1..9);
        * ``CLEAN``: end the stream; with ``FINAL`` return ``b""``, otherwise restart
          it, drop unconsumed input and return ``b""`` (*data* is discarded);
        * otherwise append *data* to the unconsumed input and deflate it once with
          ``Z_FINISH`` (``FINAL``), ``Z_FULL_FLUSH`` (``FLUSH``) or ``Z_SYNC_FLUSH``,
          into at most ``buffer_size_guess(len(data))`` bytes.  Failure (the stream
          is then ended): ``Z_FINISH`` ran out of room, an empty write right after a
          flush of the same or a higher rank (``Z_BUF_ERROR``), no stream.
        """
        if op & C.PHP_OUTPUT_HANDLER_START:
            if not self._init_stream():
                return None
        if op & C.PHP_OUTPUT_HANDLER_CLEAN:
            self._stream = None  # deflateEnd
            if op & C.PHP_OUTPUT_HANDLER_FINAL:
                return b""
            if not self._init_stream():
                return None
            self._buffer = b""
            return b""
        if data:
            self._buffer += data
        avail_out = buffer_size_guess(len(data))
        if op & C.PHP_OUTPUT_HANDLER_FINAL:
            flush = _Z_FINISH
        elif op & C.PHP_OUTPUT_HANDLER_FLUSH:
            flush = _Z_FULL_FLUSH
        else:
            flush = _Z_SYNC_FLUSH
        if self._stream is None:
            return None  # deflate() on an ended stream: Z_STREAM_ERROR
        ret, out, consumed = self._stream.deflate(self._buffer, avail_out, flush)
        if ret == _Z_OK and flush == _Z_FINISH or ret not in (_Z_OK, _Z_STREAM_END):
            self._stream = None
            return None
        self._buffer = self._buffer[consumed:]
        if op & C.PHP_OUTPUT_HANDLER_FINAL:
            self._stream = None
        return out
