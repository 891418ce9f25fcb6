"""zlib's output compression: ob_gzhandler() and zlib.output_compression (OUT-GZIP-*),
on the deflate streams of output/zlib.py, which the first compressed response loads
(PERF-IMPORT-1). Like ext/zlib's MINIT, importing this module registers the
"ob_gzhandler" alias and the conflicts of zlib's handlers in the output handler
registries (output/handlers.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..engine import constants as C
from ..engine.base import RuntimeBase, caller_scope
from ..engine.callables import InvalidCallable, resolve_callable
from ..engine.functions import php_function
from ..engine.ini import ini_integer
from ..engine.values import PHP_BYTES
from . import handlers
from .stack import OutputHandler

if TYPE_CHECKING:
    from .zlib import DeflateContext

__all__ = ["ZLIB_HANDLER_NAME", "ZlibFunctions"]

#: PHP_ZLIB_OUTPUT_HANDLER_NAME: the handler zlib.output_compression starts.
ZLIB_HANDLER_NAME = "zlib output compression"
_DISCARDED_UNSTARTED = C.PHP_OUTPUT_HANDLER_START | C.PHP_OUTPUT_HANDLER_CLEAN | C.PHP_OUTPUT_HANDLER_FINAL


class ZlibFunctions(RuntimeBase):
    """ob_gzhandler() and the zlib output handlers."""

    _zlib_compression = 0  # ZLIBG(output_compression): the zlib handlers' chunk size, 0 off
    _zlib_coding = 0  # the encoding Accept-Encoding asks for, once looked up
    _zlib_registered = False  # a zlib handler was created in this request
    _gzhandler_context: DeflateContext | None = None  # for ob_gzhandler() called directly

    @php_function
    def ob_gzhandler(self, data: Any, flags: Any) -> bytes | bool:
        """PHP's ob_gzhandler() called as a function: compress ``data`` for the
        encoding the request accepts, or False when it accepts none (OUT-GZIP-7).
        ``ob_start("ob_gzhandler")`` (or this method) starts the handler itself."""
        text = self._string_arg("ob_gzhandler", 1, "data", data)
        flags = self._int_arg("ob_gzhandler", 2, "flags", flags)
        encoding = self._zlib_encoding()
        if not encoding:
            return False
        if flags & C.PHP_OUTPUT_HANDLER_START:
            self._add_encoding_headers(encoding)
        if self._gzhandler_context is None:
            from .zlib import DeflateContext

            self._gzhandler_context = DeflateContext(encoding, self._zlib_level())
        out = self._gzhandler_context.process(flags, text.encode(self.charset, PHP_BYTES))
        if out is None:
            self._gzhandler_context = None
            return False
        return out

    def _zlib_encoding(self) -> int:
        # php_zlib_output_encoding(): gzip or deflate, from $_SERVER['HTTP_ACCEPT_ENCODING']
        if not self._zlib_coding:
            from .zlib import output_encoding

            self._zlib_coding = output_encoding(self.server.get("HTTP_ACCEPT_ENCODING"))
        return self._zlib_coding

    def _add_encoding_headers(self, encoding: int) -> None:
        # Content-Encoding replaces one already queued; Vary is appended (OUT-GZIP-4).
        from .zlib import GZIP

        self._add_header(f"Content-Encoding: {'gzip' if encoding == GZIP else 'deflate'}", True)
        self._add_header("Vary: Accept-Encoding", False)

    def _zlib_level(self) -> int:
        return ini_integer("zlib.output_compression_level", self._ini_str("zlib.output_compression_level"))

    def _zlib_handler(self, name: str, chunk_size: int, flags: int) -> OutputHandler:
        # php_zlib_output_handler_init() and php_zlib_output_handler() (OUT-GZIP-4).
        if not self._zlib_compression:
            self._zlib_compression = chunk_size or 0x4000
        self._zlib_registered = True
        handler = OutputHandler(name, None, flags & ~0xF, chunk_size)
        context: DeflateContext | None = None

        def compress(buffer: bytes, op: int) -> bytes | None:
            nonlocal context
            encoding = self._zlib_encoding()
            if not encoding:
                if op & C.PHP_OUTPUT_HANDLER_START and op != _DISCARDED_UNSTARTED:
                    self._add_header("Vary: Accept-Encoding", False)
                return None
            if op & C.PHP_OUTPUT_HANDLER_START:
                from .zlib import DeflateContext

                context = DeflateContext(encoding, self._zlib_level())
            out = None if context is None else context.process(op, buffer)
            if out is None:
                return None
            clean, final = op & C.PHP_OUTPUT_HANDLER_CLEAN, op & C.PHP_OUTPUT_HANDLER_FINAL
            first_output = not clean or (op & C.PHP_OUTPUT_HANDLER_START and not final)
            # this handler, the one the stack runs (OG(running)): not a cell of this closure, which
            # would make the handler and its function a cycle holding the Runtime (PERF-RELEASE-1)
            running = self._out.running
            assert running is not None
            if first_output and not running.flags & C.PHP_OUTPUT_HANDLER_STARTED:
                if self._headers.sent or not self._zlib_compression:
                    return None
                self._add_encoding_headers(encoding)
                running.flags &= ~(C.PHP_OUTPUT_HANDLER_CLEANABLE | C.PHP_OUTPUT_HANDLER_REMOVABLE)
            return out

        handler.function = compress
        return handler

    def _start_zlib_compression(self, *, startup: bool = False) -> None:
        # php_zlib_output_compression_start(): only when the request accepts an encoding (OUT-GZIP-6).
        if self._zlib_compression == 1:
            self._zlib_compression = 0x4000
        if not self._zlib_compression or not self._zlib_encoding():
            return
        handler = self._zlib_handler(ZLIB_HANDLER_NAME, self._zlib_compression, C.PHP_OUTPUT_HANDLER_STDFLAGS)
        prefix, location = ("PHP Request Startup: ", ("Unknown", 0)) if startup else ("ini_set(): ", None)
        if not self._start_handler(handler, prefix):
            return
        user_handler = self._ini_str("zlib.output_handler")
        if user_handler:
            try:
                callback = resolve_callable(user_handler, caller_scope())
            except InvalidCallable as invalid:
                self._error(C.E_WARNING, f"{prefix}{invalid}", location, docref=True)
            else:
                self._out.start(self._user_handler(callback, self._zlib_compression, C.PHP_OUTPUT_HANDLER_STDFLAGS))

    def _update_zlib_compression(self, value: str) -> bool:
        # OnUpdate_zlib_output_compression (OUT-GZIP-6)
        if self._refused_after_output("zlib.output_compression"):
            return False
        self._zlib_compression = ini_integer("zlib.output_compression", value)
        if self._started and self._zlib_compression and not self._handler_started(ZLIB_HANDLER_NAME):
            self._start_zlib_compression()
        return True

    def _update_zlib_output_handler(self, value: str) -> bool:
        return not self._refused_after_output("zlib.output_handler")

    def _refused_after_output(self, directive: str) -> bool:
        # The zlib directives cannot change once output has left (OUT-GZIP-6).
        if self._output_sent:
            self._error(C.E_WARNING, f"ini_set(): Cannot change {directive} - headers already sent", docref=True)
        return self._output_sent

    def _content_length_set(self) -> None:
        # A Content-Length header turns compression off, as ini_set would (OUT-GZIP-8).
        if self._update_zlib_compression("0"):
            self._ini["zlib.output_compression"] = "0"


def _zlib_output_conflict_check(runtime: RuntimeBase, name: str, prefix: str) -> bool:
    # php_zlib_output_conflict_check(): each of these handlers may run once (OUT-GZIP-5).
    if runtime._out.level:
        for started in (ZLIB_HANDLER_NAME, "ob_gzhandler", "mb_output_handler", "URL-Rewriter"):
            if handlers.handler_conflict(runtime, name, started, prefix):
                return True
    return False


def _zlib_output_handler_init(runtime: RuntimeBase, name: str, chunk_size: int, flags: int) -> OutputHandler:
    # php_zlib_output_handler_init(), which ob_start("ob_gzhandler") calls through the alias
    return runtime._zlib_handler(name, chunk_size, flags)


# zlib's MINIT
handlers.alias_register("ob_gzhandler", _zlib_output_handler_init)
handlers.conflict_register("ob_gzhandler", _zlib_output_conflict_check)
handlers.conflict_register(ZLIB_HANDLER_NAME, _zlib_output_conflict_check)
