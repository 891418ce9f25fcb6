"""The output layer: PHP's stack of output handlers, with no I/O (OUT-*).

This follows main/output.c. A write goes into the top handler's buffer; a handler
runs when its chunk size is reached or when an operation (flush, clean, final)
reaches it; what it returns is written into the handler below; what leaves the
bottom goes to ``emit``. Before the first byte leaves, ``header`` is called (PHP's
``php_output_header()``: record where output started, send the headers).

Buffers hold the chunks as they were written -- str as given, bytes as given -- and
count bytes lazily, so that a write into a buffer without a chunk size is one
``list.append`` (PERF-ECHO-1), and so is one into a buffer with a chunk size that it does
not fill (PERF-OB-4). PHP's ``buffer_size`` (which grows in 4 KiB steps and
shows in ``ob_get_status()``) is replayed from the chunk lengths when it is asked for.
``OutputStack.target`` names the chunk list such a write goes to, and how many bytes may be
appended to it so, kept up to date wherever the stack changes (PERF-ECHO-2, PERF-OB-2).
"""

from __future__ import annotations

import codecs
from functools import lru_cache
from typing import Any, Callable, Optional

from ..engine.constants import (
    PHP_OUTPUT_HANDLER_CLEAN as CLEAN,
)
from ..engine.constants import (
    PHP_OUTPUT_HANDLER_CLEANABLE as CLEANABLE,
)
from ..engine.constants import (
    PHP_OUTPUT_HANDLER_DISABLED as DISABLED,
)
from ..engine.constants import (
    PHP_OUTPUT_HANDLER_FINAL as FINAL,
)
from ..engine.constants import (
    PHP_OUTPUT_HANDLER_FLUSH as FLUSH,
)
from ..engine.constants import (
    PHP_OUTPUT_HANDLER_FLUSHABLE as FLUSHABLE,
)
from ..engine.constants import (
    PHP_OUTPUT_HANDLER_PROCESSED as PROCESSED,
)
from ..engine.constants import (
    PHP_OUTPUT_HANDLER_REMOVABLE as REMOVABLE,
)
from ..engine.constants import (
    PHP_OUTPUT_HANDLER_START as START,
)
from ..engine.constants import (
    PHP_OUTPUT_HANDLER_STARTED as STARTED,
)
from ..engine.constants import (
    PHP_OUTPUT_HANDLER_STDFLAGS as STDFLAGS,
)
from ..engine.constants import (
    PHP_OUTPUT_HANDLER_WRITE as WRITE,
)
from ..engine.values import PHP_BYTES

__all__ = ["DEFAULT_HANDLER", "HandlerFunction", "OutputHandler", "OutputLocked", "OutputStack", "aligned_buffer_size", "default_handler", "initial_buffer_size"]

#: A handler's function: given the buffer (bytes; a user handler's, of type
#: PHP_OUTPUT_HANDLER_USER, its text as the script's string) and the operation bits, it returns the
#: output (empty for none) or None for failure, which disables the handler and passes
#: the raw buffer on (OUT-CALLBACK-5). Output as str is text the stack encodes where it
#: leaves, as it encodes what echo writes.
HandlerFunction = Callable[[Any, int], Optional[bytes | str]]

_SUCCESS, _NO_DATA, _FAILURE = 0, 1, 2
_USER = 1  # PHP_OUTPUT_HANDLER_USER (main/php_output.h), in the flags' type bits: a user handler

#: The default output handler's name.
DEFAULT_HANDLER = "default output handler"


def initial_buffer_size(chunk_size: int) -> int:
    """PHP_OUTPUT_HANDLER_INITBUF_SIZE: the next multiple of 4096 above the chunk size,
    or 16384 for chunk sizes 0 and 1 (OUT-STATUS-3)."""
    return chunk_size + 0x1000 - chunk_size % 0x1000 if chunk_size > 1 else 0x4000


def aligned_buffer_size(chunk_size: int) -> int:
    """PHP 8.5's PHP_OUTPUT_HANDLER_INITBUF_SIZE (GH-16135): the chunk size rounded up to
    a multiple of 4096, or 16384 for chunk size 0 (VER-BUFFER-SIZE-1)."""
    return (chunk_size + 0xFFF) & ~0xFFF if chunk_size > 0 else 0x4000


class OutputLocked(Exception):
    """An ob operation was attempted while a handler runs; the stack is already torn down."""


class OutputHandler:
    """One entry of the stack: PHP's ``php_output_handler``."""

    __slots__ = ("name", "function", "flags", "level", "chunk_size", "size", "used", "chunks", "_counted", "_encoding",
                 "_joins", "_sizes")

    def __init__(self, name: str, function: HandlerFunction | None, flags: int, chunk_size: int = 0) -> None:
        self.name = name
        self.function = function  # None: the default handler, which passes its buffer on
        self.flags = flags
        self.level = 0
        self.chunk_size = chunk_size
        self.size = initial_buffer_size(chunk_size) if chunk_size > 1 else 0x4000
        self.used = 0  # bytes in chunks[:_counted]
        self.chunks: list[str | bytes] = []
        self._counted = 0
        self._encoding = "utf-8"  # the stack's, from start()
        self._joins = True  # the encoding's codec is stateless (_stateless()): str chunks are joined, then encoded
        self._sizes = initial_buffer_size

    def _count(self) -> None:
        # Account for the chunks appended since the last count, growing ``size`` as
        # php_output_handler_append() grows the buffer, write by write.
        chunks = self.chunks
        if self._counted == len(chunks):
            return
        new = chunks[self._counted :]
        if self._joins:  # the writes at once, as a chunk size's fast path leaves them
            try:
                joined = "".join(new)  # type: ignore[arg-type]
            except TypeError:  # bytes among them: one by one
                pass
            else:
                length = len(joined) if joined.isascii() else byte_length(joined, self._encoding)
                if self.used + length < self.size:  # none of them grew the buffer (PERF-OB-4)
                    self.used += length
                    self._counted = len(chunks)
                    return
        sizes = self._sizes
        size, used, grow = self.size, self.used, sizes(self.chunk_size)
        for chunk in new:
            length = byte_length(chunk, self._encoding)
            if length:
                free = size - used
                if free <= length:
                    size += max(grow, sizes(length - free))
                used += length
        self.size, self.used, self._counted = size, used, len(chunks)

    @property
    def buffer_used(self) -> int:
        self._count()
        return self.used

    @property
    def buffer_size(self) -> int:
        self._count()
        return self.size

    def contents(self) -> bytes:
        encoding = self._encoding
        chunks = self.chunks
        if len(chunks) == 1:  # one write: no join (PERF-OB-2)
            chunk = chunks[0]
            return chunk if isinstance(chunk, bytes) else chunk.encode(encoding, PHP_BYTES)
        if self._joins:
            # Chunks of str only (as the stack keeps a buffer without a chunk size): joined,
            # then encoded once -- the same bytes, as a stateless codec encodes each
            # character alone (PERF-OB-1). No scan of the chunks' types first: join() is
            # the check.
            try:
                return "".join(chunks).encode(encoding, PHP_BYTES)  # type: ignore[arg-type]
            except TypeError:  # some chunks are bytes
                pass
        parts = []
        for chunk in chunks:
            parts.append(chunk if isinstance(chunk, bytes) else chunk.encode(encoding, PHP_BYTES))
        return b"".join(parts)

    def text(self, charset: str) -> str:
        """The contents as the script's string: the bytes decoded as ``charset`` with
        surrogateescape (undecodable bytes kept). Chunks of ASCII str only are joined and
        returned as they are: the same str (PERF-OB-2)."""
        chunks = self.chunks
        if self._joins:
            try:
                text = "".join(chunks)  # type: ignore[arg-type]
            except TypeError:  # some chunks are bytes
                pass
            else:
                if text.isascii() and (charset == self._encoding or _stateless(charset)):  # ASCII, encoded and decoded: itself
                    return text
                return text.encode(self._encoding, PHP_BYTES).decode(charset, "surrogateescape")
        return self.contents().decode(charset, "surrogateescape")

    def status(self) -> dict[str, object]:
        """The array ``ob_get_status()`` reports for this handler (OUT-STATUS-1)."""
        return {
            "name": self.name,
            "type": self.flags & 0xF,
            "flags": self.flags,
            "level": self.level,
            "chunk_size": self.chunk_size,
            "buffer_size": self.buffer_size,
            "buffer_used": self.buffer_used,
        }


def default_handler(chunk_size: int = 0, flags: int = STDFLAGS) -> OutputHandler:
    """The "default output handler" (type 0): it passes its buffer on unchanged (OUT-START-1)."""
    return OutputHandler(DEFAULT_HANDLER, None, flags & ~0xF, chunk_size)


@lru_cache(maxsize=None)
def _stateless(encoding: str) -> bool:
    # Codecs whose encoding of a joined str is the join of the encoded parts (no BOM, no shift state).
    try:
        return codecs.lookup(encoding).name in ("utf-8", "iso8859-1", "ascii", "cp1252", "latin-1")
    except LookupError:
        return False


def as_bytes(chunk: str | bytes, encoding: str) -> bytes:
    """A chunk as the bytes PHP would hold: str is encoded, losslessly (OUT-BYTES-1)."""
    return chunk if isinstance(chunk, bytes) else chunk.encode(encoding, PHP_BYTES)


def byte_length(chunk: str | bytes, encoding: str) -> int:
    """strlen() of a chunk once encoded."""
    if isinstance(chunk, bytes) or chunk.isascii():
        return len(chunk)
    return len(as_bytes(chunk, encoding))


class OutputStack:
    """The handler stack and the output layer's state (PHP's output globals)."""

    #: A traced stack sees every handler call (TRACE-EVENT-1): no call is skipped (PERF-OB-2).
    traced = False

    def __init__(
        self,
        emit: Callable[[bytes], None],
        header: Callable[[], bool],
        encoding: str = "utf-8",
        direct: Callable[[bytes], None] | None = None,
    ) -> None:
        self.handlers: list[OutputHandler] = []
        self.running: OutputHandler | None = None
        self.traced = False  # the instance's own, read faster than the class's; trace.attach() sets it (PERF-OB-2)
        #: The handler flush() took off the stack to pass its output down: still OG(active).
        self.detached: OutputHandler | None = None
        self.activated = True  # PHP_OUTPUT_ACTIVATED: off once the layer is torn down
        self.disabled = False  # PHP_OUTPUT_DISABLED: all output is dropped
        #: PHP 8.5's buffer sizes, GH-16135 (VER-BUFFER-SIZE-1); set by the Runtime's version profile
        self.aligned_sizes = False
        #: PHP 8.4's GH-15181: a disabled handler is not called again (VER-DISABLED-HANDLER-1)
        self.skip_disabled = False
        self.encoding = encoding
        #: Bytes written into a buffer are kept as str decoded with surrogateescape, which
        #: encodes back to the same bytes, where the codec is stateless: a buffer of str
        #: only is joined once (PERF-OB-2).
        self._decodes = _stateless(encoding)
        self._emit = emit
        self._header = header
        #: Where output goes once the layer is torn down (PHP's php_output_direct,
        #: the process's stdout): ``emit`` unless told otherwise (OUT-DIRECT-1).
        self._direct = emit if direct is None else direct
        #: [the top buffer's chunk list while a write may simply be appended to it: not
        #: disabled, no handler running; else None, and the bytes a write may have to be so
        #: appended: fewer than the chunk size still wants, None for a buffer without one] --
        #: kept by ``_retarget()`` wherever the stack changes, the room by every write;
        #: echo's fast path reads it too (PERF-ECHO-1, PERF-ECHO-2, PERF-OB-2, PERF-OB-4).
        self.target: list[Any] = [None, None]
        #: A transport the output may be appended to, straight out, while it has room for it
        #: (``text``, ``room()``: PHP-FPM's record buffer), or None; the Runtime says (PERF-OB-5).
        self.collector: Any = None
        #: ``header`` has been called: the headers are on their way and it need not be again.
        self._headed = False

    # -- state ----------------------------------------------------------------------

    @property
    def active(self) -> OutputHandler | None:
        """PHP's OG(active): the top handler, or the one whose flushed output is being
        passed down while it is off the stack (OUT-FLUSH-ACTIVE-1)."""
        if self.detached is not None:
            return self.detached
        return self.handlers[-1] if self.handlers else None

    @property
    def level(self) -> int:
        return len(self.handlers)

    def _retarget(self) -> None:
        # Where a write goes with no more ado (``target``): called after every change of
        # the top handler, its flags or the running state (PERF-ECHO-2).
        handlers = self.handlers
        self._aim(handlers[-1] if handlers and self.running is None else None)

    def _aim(self, top: OutputHandler | None) -> None:
        # ``target`` for ``top``, the top handler not running, or None: its chunks, and the
        # room its chunk size leaves (PERF-OB-4); with no handler, straight out, the
        # collector's text and room (PERF-OB-5).
        target = self.target
        if top is None:
            collector = self.collector
            if collector is not None and not self.handlers and self.straight_out and self._decodes:
                target[0], target[1] = collector.text, collector.room()
            else:
                target[0] = target[1] = None
        elif top.flags & DISABLED:
            target[0] = target[1] = None
        elif top.chunk_size:  # counted in bytes as appended: where an ASCII str's are its characters
            if self._decodes:
                top._count()
                target[0], target[1] = top.chunks, top.chunk_size - top.used
            else:
                target[0] = target[1] = None
        else:
            target[0], target[1] = top.chunks, None

    # -- starting handlers ----------------------------------------------------------

    def start(self, handler: OutputHandler) -> None:
        """Push a handler (php_output_handler_start); OutputLocked inside a handler."""
        running = self.running
        if running is not None:
            self._lock_error(START)
        handler._encoding, handler._joins = self.encoding, self._decodes
        if self.aligned_sizes and not handler.used:  # PHP 8.5 (VER-BUFFER-SIZE-1)
            handler._sizes = aligned_buffer_size
            handler.size = aligned_buffer_size(handler.chunk_size)
        handlers = self.handlers
        handler.level = len(handlers)
        handlers.append(handler)
        if running is None and not handler.chunk_size and not handler.flags & DISABLED:  # _aim()'s usual case (PERF-OB-8)
            target = self.target
            target[0], target[1] = handler.chunks, None
        else:
            self._aim(None if running is not None else handler)  # _retarget(), the new top known

    # -- writing ----------------------------------------------------------------------

    @property
    def straight_out(self) -> bool:
        """Whether a write goes straight out, as it is: no buffer, the head sent (no header
        callback left to run), output on."""
        return self.activated and not self.handlers and self._headed and not self.disabled

    def write(self, data: bytes | str) -> None:
        """Write into the stack (php_output_write); once the layer is torn down,
        straight to ``direct``. Into a top buffer, a write that does not reach its chunk
        size is appended and nothing more happens, however deep the stack (PERF-OB-2,
        PERF-OB-4)."""
        target = self.target
        chunks = target[0]
        if chunks is not None:
            # under a chunk size, a write that leaves the buffer short of it: its bytes counted as it is appended
            room = target[1]
            length = 0 if room is None else len(data) if data.__class__ is bytes or data.isascii() else room
            if room is None or length < room:
                if self._decodes and isinstance(data, bytes):
                    data = data.decode(self.encoding, "surrogateescape")
                chunks.append(data)
                if room is not None:
                    target[1] = room - length
                return
        if self.activated:
            if self.handlers:
                self._op(WRITE, data)
            elif data:  # no buffer: out at once, as _op() would send it (PERF-OB-2)
                if not self._headed:
                    self._send_head()
                if not self.disabled:
                    self._emit(data if isinstance(data, bytes) else data.encode(self.encoding, PHP_BYTES))
        elif not self.disabled and data:
            self._direct(as_bytes(data, self.encoding))

    def _op(self, op: int, data: bytes | str) -> None:
        # php_output_op: pass data through the stack and out of the bottom.
        if op:  # a write (op 0) is no error inside a handler: php_output_lock_error(0)
            self._lock_error(op)
        handlers = self.handlers
        out: bytes | str | None
        if not handlers:
            out = data
        elif len(handlers) > 1:
            out = self._apply_topdown(op, data)
        elif not handlers[0].flags & DISABLED:
            out = self._handler_op(handlers[0], op, data)[1]
        else:
            out = data
        if out:
            if not self._headed:
                self._send_head()
            if not self.disabled:
                self._emit(as_bytes(out, self.encoding))

    def _send_head(self) -> None:
        # php_output_header() before the first output leaves: once it has been called
        # the headers are sent, and later calls would only say so (PERF-OB-2). False
        # from it (a HEAD request) disables the output for good.
        if not self._header():
            self.disabled = True
        self._headed = True
        if self.collector is not None:  # straight out from now on (PERF-OB-5)
            self._retarget()

    def _apply_topdown(self, op: int, data: bytes | str) -> bytes | str | None:
        # zend_stack_apply(TOPDOWN, php_output_stack_apply_op)
        incoming: bytes | str | None = data
        out: bytes | str | None = None
        for handler in reversed(self.handlers):
            was_disabled = handler.flags & DISABLED
            if was_disabled:
                status = _FAILURE
            else:
                status, out = self._handler_op(handler, op, incoming or b"")
            if status == _NO_DATA:
                return None  # the handler ate all
            if was_disabled:
                if not handler.level:
                    out = incoming
            elif handler.level:
                incoming, out = out, None
        return out

    def _handler_op(self, handler: OutputHandler, op: int, data: bytes | str) -> tuple[int, bytes | str | None]:
        # php_output_handler_op: append, and run the handler when its chunk size is
        # reached or the operation is more than a write. From PHP 8.4 a disabled
        # handler fails at once, uncalled (GH-15181, VER-DISABLED-HANDLER-1).
        self._lock_error(op)
        if self.skip_disabled and handler.flags & DISABLED:
            return _FAILURE, None
        if data:
            handler.chunks.append(data)
            if handler.chunk_size:
                handler._count()
                if handler.used >= handler.chunk_size and self.running is None:
                    return self._run(handler, op)
                if handler.chunks is self.target[0]:  # the room left (PERF-OB-4)
                    self.target[1] = handler.chunk_size - handler.used
        if not op:
            return _NO_DATA, None
        return self._run(handler, op)

    def _run(self, handler: OutputHandler, op: int) -> tuple[int, bytes | str | None]:
        # A bailout out of the handler's call (a fatal error, the time limit, exit
        # where no PHP code runs) leaves the handler running, as PHP's longjmp leaves
        # OG(running): later output is only stored, and the next operation is the
        # "Cannot use output buffering" fatal error (OUT-BAILOUT-1).
        if not handler.flags & STARTED:
            op |= START
        function = handler.function
        if function is None:  # the default handler calls no code: none can see it running (PERF-OB-1)
            result: bytes | str | None = handler.contents()
        else:
            self.running = handler
            self.target[0] = None
            # a user handler takes the buffer as the script's string: its text, not encoded
            # to be decoded again (PERF-OB-2)
            result = function(handler.text(self.encoding) if handler.flags & 0xF == _USER else handler.contents(), op)
            self.running = None
        handler.flags |= STARTED
        if result is None:
            handler.flags |= DISABLED
            raw = handler.contents()
            handler.chunks.clear()
            handler.used = handler._counted = handler.size = 0
            self._retarget()
            return _FAILURE, raw
        if function is not None and not op & FINAL:  # leaving the stack: pop() retargets (PERF-OB-2)
            self._retarget()
        if op & FINAL:  # the handler is leaving the stack: no one asks its sizes again (PERF-OB-1)
            handler.chunks.clear()
            handler.used = handler._counted = 0
            handler.flags |= PROCESSED
        else:
            self._emptied(handler)
        return (_SUCCESS, result) if result else (_NO_DATA, None)

    def _emptied(self, handler: OutputHandler) -> None:
        # What a run that is not the last leaves of a handler: its buffer empty, STARTED and
        # PROCESSED, all the room of its chunk size (PERF-OB-4). Its size grown as the writes
        # grew it: counted, unless they are one write too short to grow it at 4 bytes a
        # character, the most a stateless codec of the stack's gives one (UTF-8) (PERF-OB-6).
        chunks = handler.chunks
        counted = handler._counted
        if counted != len(chunks) and not (counted == len(chunks) - 1 and handler._joins
                                           and 4 * len(chunks[-1]) < handler.size - handler.used):
            handler._count()
        chunks.clear()
        handler.used = handler._counted = 0
        handler.flags |= STARTED | PROCESSED
        if handler.chunk_size and chunks is self.target[0]:
            self.target[1] = handler.chunk_size

    # -- the operations ---------------------------------------------------------------

    def flush(self) -> bool | None:
        """Flush the top handler into the one below (php_output_flush): False when it may
        not be flushed, None when there is no buffer.

        As in PHP 8.2 and 8.3, a disabled handler is still called (OUT-QUIRK-1); not
        from 8.4 (VER-DISABLED-HANDLER-1).
        """
        handlers, detached = self.handlers, self.detached
        top = detached if detached is not None else handlers[-1] if handlers else None  # ``active``
        if top is None or not top.flags & FLUSHABLE:
            return None if top is None else False
        if top.function is None and self._flushed_below(top):
            return True
        out = self._handler_op(top, FLUSH, b"")[1]
        if out:
            self.handlers.pop()
            self._retarget()
            detached, self.detached = self.detached, top
            try:
                self.write(out)
            except Exception:
                self._reattach(top, detached)
                raise
            # A bailout (exit, a fatal error, the time limit) leaves the handler off the
            # stack, as PHP's longjmp skips the push back (OUT-FLUSH-ACTIVE-1).
            self._reattach(top, detached)
        return True

    def _flushed_below(self, top: OutputHandler) -> bool:
        # flush() of the default handler on top, where the buffer below takes its output as
        # a write takes the short way (PERF-OB-2, PERF-OB-4): appended there, with no handler
        # run, the top emptied as its run leaves it; nothing else runs meanwhile, so no one
        # sees it off the stack (PERF-OB-6). False, with nothing done, anywhere else.
        handlers = self.handlers
        if (self.traced or self.running is not None or self.detached is not None or top.flags & DISABLED
                or len(handlers) < 2 or not self._decodes):
            return False
        text = top.text(self.encoding)  # the output as write() would keep it: decoded with surrogateescape
        below = handlers[-2]
        if not below.chunk_size and not below.flags & DISABLED:  # a write takes any text there: no aiming
            self._emptied(top)
            if text:
                below.chunks.append(text)
            return True
        self._aim(below)  # where a write goes with the top off the stack, as write() would find it
        chunks, room = self.target
        appended = chunks is not None and (room is None or (text.isascii() and len(text) < room))
        if appended:
            self._emptied(top)
            if text:
                chunks.append(text)
        self._aim(top)
        return appended

    def _reattach(self, top: OutputHandler, detached: OutputHandler | None) -> None:
        self.detached = detached
        self.handlers.append(top)
        self._retarget()

    def clean(self) -> bool | None:
        """Run the top handler with CLEAN and drop what it returns (php_output_clean):
        False when it may not be cleaned, None when there is no buffer. The default
        handler, which runs no code, is not run: its buffer is emptied as its run would
        leave it (PERF-OB-6)."""
        top = self.detached or (self.handlers[-1] if self.handlers else None)  # ``active``
        if top is None or not top.flags & CLEANABLE:
            return None if top is None else False
        if top.function is None and not self.traced and not top.flags & DISABLED:
            if self.running is not None:
                self._lock_error(CLEAN)
            self._emptied(top)
            return True
        self._handler_op(top, CLEAN, b"")
        return True

    def pop(self, *, discard: bool = False, force: bool = False) -> bool:
        """End the top handler: FINAL (and CLEAN when discarding), then pass its
        output on unless discarding (php_output_stack_pop). False when there is no
        handler, or it is not removable and ``force`` is not set."""
        handlers = self.handlers
        orphan = self.detached or (handlers[-1] if handlers else None)  # OG(active), as ``active`` says
        if orphan is None:
            return False
        flags = orphan.flags
        if not (force or flags & REMOVABLE):
            return False
        out: bytes | str | None = None
        if not flags & DISABLED:  # php_output_handler_op() with no input: the handler runs
            if self.running is not None:
                self._lock_error(FINAL | CLEAN if discard else FINAL)
            if orphan.function is None and not self.traced and (discard or self._decodes):
                # _run() of the default handler, which runs no code: its output dropped (PERF-OB-2)
                # or its text, as write() keeps it (PERF-OB-6)
                out = None if discard else orphan.text(self.encoding)
                orphan.flags = flags | STARTED | PROCESSED
                orphan.chunks.clear()
                orphan.used = orphan._counted = 0
            else:
                out = self._run(orphan, FINAL | CLEAN if discard else FINAL)[1]
        if handlers:  # a bailout in flush() left the orphan off the stack: PHP's del_top then finds nothing to drop
            handlers.pop()
        self.detached = None  # OG(active) is the stack's top again
        below = handlers[-1] if handlers and self.running is None else None
        target = self.target
        if below is not None and not below.chunk_size and not below.flags & DISABLED:  # _aim()'s usual case (PERF-OB-8)
            target[0], target[1] = below.chunks, None
        else:
            self._aim(below)  # _retarget(), inlined
        if out and not discard:
            chunks = target[0]
            if chunks is not None and out.__class__ is str and target[1] is None:  # write(), the usual case inlined
                chunks.append(out)
            else:
                self.write(out)
        return True

    def keeps_text(self, charset: str) -> bool:
        """Whether text in ``charset`` may be written as it is: what the stack would store
        of its encoding (PERF-OB-3)."""
        return self._decodes and charset == self.encoding

    def end_all(self) -> None:
        """End every handler, top-down, whatever its flags (php_output_end_all)."""
        while self.handlers and self.pop(force=True):
            pass

    def deactivate(self, *, header: bool = True) -> None:
        """Tear the layer down (php_output_deactivate): send the headers (unless
        ``header`` is False: a teardown after a bailout), drop every handler without
        calling it; later writes go straight out."""
        if self.activated:
            if header:
                self._header()
            self.activated = False
            self.running = self.detached = None  # OG(running), OG(active): none (OUT-FLUSH-ACTIVE-1)
            self.handlers.clear()
            self._retarget()

    def _lock_error(self, op: int) -> None:
        # php_output_lock_error: an operation inside a running handler is fatal.
        if op and self.handlers and self.running is not None:
            self.deactivate()
            raise OutputLocked
