"""PHP's output functions: echo, print, the ob_* functions, flush and the URL
rewriter's (OUT-*), on the Runtime's output stack (output/stack.py)."""

from __future__ import annotations

import sys
from types import FrameType, FunctionType, MethodType
from typing import TYPE_CHECKING, Any, Callable, NoReturn, TypeVar

from ..engine import constants as C
from ..engine.base import RuntimeBase, caller_scope
from ..engine.callables import InvalidCallable, PhpCallable, callable_name, closure_name, resolve_callable
from ..engine.errors import Exit, PhpError
from ..engine.frames import is_phprt, script_frame
from ..engine.functions import php_function
from ..engine.memo import Memo
from ..engine.timelimit import calls_script
from ..engine.values import PHP_BYTES, c_int, to_php_text
from . import handlers
from .stack import DEFAULT_HANDLER, HandlerFunction, OutputHandler, OutputLocked

if TYPE_CHECKING:
    from .urlrewriter import UrlRewriter

#: OutputStack.target: [the top buffer's chunks or None, the room its chunk size leaves or None]
_Target = list[Any]
_F = TypeVar("_F", bound=Callable[..., Any])
_c_echo_into: Callable[[_Target, Callable[..., None], int], Callable[..., None]] | None
_c_join_text: Callable[[Any, tuple[Any, ...], int], str | None] | None
try:
    from ._speedups import VERSION as _C_VERSION
    from ._speedups import echo_into as _c_echo_into
    from ._speedups import join_text as _c_join_text
    if _C_VERSION != 4:  # built from an older _speedups.c: not these functions
        _c_echo_into = _c_join_text = None
except ImportError:  # not compiled: _python_echo() and _python_join_text() do the same
    _c_echo_into = _c_join_text = None

__all__ = ["LOCKED", "OutputFunctions"]

LOCKED = "Cannot use output buffering in output buffering display handlers"
#: The longest str echo joins (PERF-ECHO-4): at most 8,184 bytes in any charset, where
#: fcgi_write() cuts a write into records at the same bytes as the writes it joins.
_JOINED_MAX = 2046

_STDFLAGS = C.PHP_OUTPUT_HANDLER_STDFLAGS
_OB_START_DEFAULTS: tuple[Any, ...] = (None, 0, _STDFLAGS)
#: How many handlers ob_start() remembers in a request: a lambda made at each call is a new
#: function each time, so what is remembered starts again once this many are (PERF-OB-9).
_MADE_HANDLERS = 64


def _remade_key(function: FunctionType) -> tuple[Any, ...] | None:
    """What ob_start() also remembers a plain function's handler by, for a function made again from
    the same code -- a closure made for each buffer: the code, the cells it closes over and its
    globals, named by their ids while the handler remembered keeps them alive. Made so, with no
    defaults, attributes or name of its own, it does what the first one did. None for another
    function (PERF-OB-9)."""
    code = function.__code__
    if function.__defaults__ is None and function.__kwdefaults__ is None and not function.__dict__ \
            and function.__name__ is code.co_name and function.__qualname__ is code.co_qualname:
        cells = function.__closure__
        return code, id(function.__globals__), *(map(id, cells) if cells is not None else ())
    return None


def _remembered(callback: Any) -> bool:
    """Whether ob_start() remembers the handler it makes for ``callback``: a Python function,
    or a bound method of one -- equal again for the same object and function (PERF-OB-9)."""
    return callback.__class__ is FunctionType or (
        callback.__class__ is MethodType and callback.__func__.__class__ is FunctionType)


def _ob_start_arguments(self: Any, callback: Any = None, chunk_size: Any = 0,
                        flags: Any = C.PHP_OUTPUT_HANDLER_STDFLAGS) -> tuple[Any, Any, Any]:
    # ob_start()'s parameters: its signature, and how a call that names them is bound
    return callback, chunk_size, flags


def _userland(function: Callable[..., Any]) -> Callable[..., Any]:
    # The PHP-function boundary of the output functions: an operation attempted
    # inside a running handler is PHP's fatal error, and an exception a handler
    # threw surfaces once the function has done its work (OUT-CALLBACK-8).
    name = function.__name__

    def userland(self: RuntimeBase, *args: Any, **kwargs: Any) -> Any:
        try:
            result = function(self, *args, **kwargs) if kwargs else function(self, *args)
        except OutputLocked:
            self._error(C.E_ERROR, f"{name}(): {LOCKED}", docref=True)
            raise  # pragma: no cover - _error raised Bailout
        if self._pending is not None:
            self._raise_pending()
        return result

    userland.__name__ = userland.__qualname__ = name
    userland.__doc__ = function.__doc__
    userland.__wrapped__ = function  # type: ignore[attr-defined]
    return userland


def _parameters(declared: Callable[..., Any]) -> Callable[[_F], _F]:
    # A function that takes ``*args`` (its frame holds what was passed) with the
    # parameters ``declared`` has, as the registry and inspect.signature() see it: it
    # wraps ``declared``, which takes its name and docstring.
    def apply(function: _F) -> _F:
        declared.__qualname__, declared.__doc__ = function.__qualname__, function.__doc__
        function.__wrapped__ = declared  # type: ignore[attr-defined]
        return function
    return apply


def _python_echo(target: _Target, fallback: Callable[..., None], limit: int) -> Callable[..., None]:
    """The echo fast path without the C module (PERF-ECHO-1, PERF-ECHO-4, PERF-OB-4): one str, or
    several values joined (``_python_join_text``, at most ``limit`` characters), goes straight
    into ``target[0]`` (the top buffer's chunks, while it takes a write as it is) -- into one
    with a chunk size only an ASCII str shorter than the room ``target[1]`` says is left, which
    it then takes off; anything else goes to ``fallback``, Runtime.echo. The same as
    _speedups.echo_into()."""

    def echo(arg: Any, *more: Any) -> None:
        chunks = target[0]
        if chunks is not None:
            text = _python_join_text(arg, more, limit) if more else arg if arg.__class__ is str else None
            if text is not None:
                room = target[1]
                if room is None:
                    chunks.append(text)
                    return
                if text.isascii() and len(text) < room:
                    chunks.append(text)
                    target[1] = room - len(text)
                    return
        fallback(arg, *more)

    echo.__doc__ = OutputFunctions.echo.__doc__
    return echo


def _python_join_text(first: Any, more: tuple[Any, ...], limit: int) -> str | None:
    """Echo's values as one str -- each a str, or an int in decimal -- or None when one is
    of another class or the str would be longer than ``limit`` (PERF-ECHO-4). The same as
    _speedups.join_text()."""
    cls = first.__class__
    if cls is str:
        text = first
    elif cls is int:
        text = f"{first}"  # decimal
    else:
        return None
    for value in more:
        cls = value.__class__
        if cls is str:
            text += value
        elif cls is int:
            text += f"{value}"
        else:
            return None
    return text if len(text) <= limit else None


_join_text = _c_join_text or _python_join_text


class OutputFunctions(RuntimeBase):
    """The output layer as the script sees it."""

    _rewriter: UrlRewriter | None = None  # started at most once per request
    #: ob_start()'s Python functions and methods, resolved once per request: each one's handler
    #: name and the handler function _user_handler() made for it, by the function or bound method
    #: -- or, named by a string or an array, by the name and what it named (PERF-OB-2,
    #: PERF-OB-7, PERF-OB-9); the last ``_MADE_HANDLERS`` of them
    _made_handlers: Memo[Any, tuple[str, HandlerFunction]] | None = None

    # -- echo and print -------------------------------------------------------------------

    @php_function(construct=True)
    def echo(self, arg: Any, *more: Any) -> None:
        """PHP's ``echo``: write each argument, converted as PHP converts it (OUT-ECHO-1)."""
        if arg.__class__ is str and not more:  # _write_value(), inlined for the usual call (PERF-ECHO-3)
            if arg:
                self._out.write(arg)
                if self._pending is not None:
                    self._raise_pending()
            return
        if more and (text := self._joined(arg, more)) is not None:
            if text:
                self._out.write(text)
                if self._pending is not None:
                    self._raise_pending()
            return
        self._write_value(arg)
        for value in more:
            self._write_value(value)

    def _joined(self, arg: Any, more: tuple[Any, ...]) -> str | None:
        # echo's values as one str, where one write of it gives what a write of each gives
        # (PERF-ECHO-4): all str or int, into a top buffer that takes a write as it is, or
        # straight out to a transport that joins writes, with no implicit flush, and no
        # trace that shows each write; else None.
        out = self._out
        target = out.target
        if self._trace is not None or (target[0] is None and not (
                self._sink.joins_writes and not self._implicit_flush and out.straight_out)):
            return None
        text = _join_text(arg, more, _JOINED_MAX)
        room = target[1]
        if target[0] is not None and room is not None and text is not None and not (text.isascii() and len(text) < room):
            return None  # it would fill the buffer's chunk size: a value of it may (PERF-OB-4)
        return text

    @php_function(construct=True)
    def print(self, arg: Any) -> int:
        """PHP's ``print``: write one argument; returns 1 (OUT-ECHO-2)."""
        self._write_value(arg)
        return 1

    def _write_value(self, value: Any) -> None:
        # A str is written as it is, an int in decimal; only other values need the
        # precision (PERF-ECHO-3).
        cls = value.__class__
        if cls is str:
            text = value
        elif cls is int:
            text = str(value)
        else:
            text = to_php_text(value, self._precision(), self._array_to_string)
        if text:
            self._out.write(text)
            if self._pending is not None:
                self._raise_pending()

    def _bind_echo(self) -> None:
        # The fast path (PERF-ECHO-1), made once per request: while the output stack's
        # ``target`` names the top buffer's chunks (no handler running, room left under a
        # chunk size), echo of one str, or of str and int values joined, is an append to
        # them; the stack keeps ``target`` up to date (PERF-ECHO-2, PERF-OB-4). Otherwise,
        # and for other values, Runtime.echo.
        fallback = OutputFunctions.echo.__get__(self)
        make = _python_echo if _c_echo_into is None else _c_echo_into
        self.echo = make(self._out.target, fallback, _JOINED_MAX)  # type: ignore[method-assign]

    # -- starting a buffer ------------------------------------------------------------------

    @php_function
    @_parameters(_ob_start_arguments)
    def ob_start(self, *args: Any, **kwargs: Any) -> bool:
        """Push an output buffer, optionally with a handler callback (OUT-START-*).
        Called as ``ob_start(callback=None, chunk_size=0, flags=PHP_OUTPUT_HANDLER_STDFLAGS)``."""
        # Its frame holds the arguments passed, as PHP's trace shows them, and it catches
        # OutputLocked itself: no wrapper's call (PERF-OB-3).
        try:
            if len(args) < 2 and not kwargs:  # a callback or none, PHP's defaults: no number to look at (PERF-OB-8)
                callback = args[0] if args else None
                chunk_size, flags = 0, _STDFLAGS
            else:
                if kwargs or len(args) > 3:
                    callback, chunk_size, flags = _ob_start_arguments(self, *args, **kwargs)
                else:
                    callback, chunk_size, flags = args + _OB_START_DEFAULTS[len(args):]
                # An int argument is taken as it is, anything else as zpp converts it (PERF-OB-2).
                if chunk_size.__class__ is not int:
                    chunk_size = self._int_arg("ob_start", 2, "chunk_size", chunk_size)
                if chunk_size < 0:
                    chunk_size = 0
                if flags.__class__ is not int:
                    flags = self._int_arg("ob_start", 3, "flags", flags)
                if flags != _STDFLAGS:
                    flags = c_int(flags)  # PHP stores the flags in a C int
                    if self.version.ob_start_clears_status:  # the status bits, from 8.4 (VER-OB-FLAGS-1)
                        flags &= ~0xF000
            # A Python function's handler is made once per request (PERF-OB-2).
            handler: OutputHandler | None
            if callback is None:
                handler = OutputHandler(DEFAULT_HANDLER, None, flags & ~0xF, chunk_size)  # default_handler()
            elif self._made_handlers and (callback.__class__ is FunctionType or callback.__class__ is MethodType
                                          and callback.__func__.__class__ is FunctionType) \
                    and callback in self._made_handlers:  # _remembered(callback), inline
                name, function = self._made_handlers[callback]  # as _user_handler() made it
                handler = OutputHandler(name, function, (flags & ~0xF) | 1, chunk_size)
            elif callback.__class__ is str and self._made_handlers and (made := self._named(callback)) is not None:
                handler = OutputHandler(made[0], made[1], (flags & ~0xF) | 1, chunk_size)  # PERF-OB-7
            else:
                handler = self._callback_handler(callback, chunk_size, flags)
            if handler is None:
                started = False
            elif handler.name in handlers.CHECKED and handlers.conflicts(self, handler.name, "ob_start(): "):
                self._error(C.E_NOTICE, "ob_start(): Failed to create buffer", docref=True)  # as _start_handler()
                started = False
            else:
                self._out.start(handler)
                started = True
        except OutputLocked:
            self._locked("ob_start")
        if self._pending is not None:
            self._raise_pending()
        return started

    def _named(self, name: str) -> tuple[str, HandlerFunction] | None:
        # The handler made for the function ``name`` names in the caller's scope now, if
        # one was (PERF-OB-7): the script's frame is the first outside phprt above ob_start()'s,
        # most often the one that called it -- known at once where it runs in the request's
        # script file namespace, with no look at its code (PERF-OB-8)
        frame: FrameType | None = sys._getframe(2)
        if frame is None or frame.f_globals is not self._globals and is_phprt(frame):
            frame = script_frame()
        named = None if frame is None else frame.f_globals.get(name)
        return self._made_handlers.get((name, named)) if named.__class__ is FunctionType else None  # type: ignore[union-attr]

    def _callback_handler(self, callback: Any, chunk_size: int, flags: int) -> OutputHandler | None:
        # ob_start()'s handler for a callback: an internal handler's alias, or a user
        # handler, made once per request for a Python function or method (PERF-OB-2,
        # PERF-OB-9); None, with PHP's warning and notice, for what is not callable.
        remade = None
        if callback.__class__ is FunctionType:
            # A closure made for this buffer from the code of one made before does what that one
            # did: its handler, if remembered (PERF-OB-9).
            remade = _remade_key(callback)
            made = self._made_handlers
            if remade is not None and made and (known := made.get(remade)) is not None:
                return OutputHandler(known[0], known[1], (flags & ~0xF) | 1, chunk_size)
        name = handlers.alias_name(callback)
        internal = handlers.alias(name)
        if internal is not None and name is not None:  # ob_start("ob_gzhandler")
            return internal(self, name, chunk_size, flags)
        if callback.__class__ is FunctionType:  # a port's own function: nothing to look up or resolve (PERF-OB-9)
            return self._remembered_handler(PhpCallable(callback, callable_name(callback)), (callback, remade),
                                            chunk_size, flags)
        # Only a name is looked up in the caller's scope: no frame walk for a Python callable (PERF-OB-1).
        scope = caller_scope() if isinstance(callback, (str, list, tuple, dict)) else {}
        key: Any = callback if _remembered(callback) else None
        if callback.__class__ is str and (named := scope.get(callback)).__class__ is FunctionType:
            key = (callback, named)  # the function the name names now (PERF-OB-7)
        try:
            resolved = resolve_callable(callback, scope)
        except InvalidCallable as invalid:
            self._error(C.E_WARNING, f"ob_start(): {invalid}", docref=True)
            self._error(C.E_NOTICE, "ob_start(): Failed to create buffer", docref=True)
            return None
        if key is None and _remembered(resolved.function):
            key = (resolved.name, resolved.function)  # [object, "method"], "Class::method": resolved, then remembered (PERF-OB-9)
            if self._made_handlers and (known := self._made_handlers.get(key)) is not None:
                return OutputHandler(known[0], known[1], (flags & ~0xF) | 1, chunk_size)
        return self._remembered_handler(resolved, (key,), chunk_size, flags)

    def _remembered_handler(self, resolved: PhpCallable, keys: tuple[Any, ...], chunk_size: int,
                            flags: int) -> OutputHandler:
        # the user handler of ``resolved``, remembered under each of ``keys`` but None (PERF-OB-9)
        handler = self._user_handler(resolved, chunk_size, flags)
        function = handler.function
        for key in keys:
            if key is not None and function is not None:
                made = self._made_handlers
                if made is None:
                    made = self._made_handlers = Memo(_MADE_HANDLERS)
                made.keep(key, (handler.name, function))
        return handler

    def _locked(self, function: str) -> NoReturn:
        # php_output_lock_error(): an operation inside a running handler is fatal (OUT-CALLBACK-8)
        self._error(C.E_ERROR, f"{function}(): {LOCKED}", docref=True)
        raise OutputLocked  # pragma: no cover - _error raised Bailout

    def _start_handler(self, handler: OutputHandler, prefix: str) -> bool:
        # php_output_handler_start(): the conflict checks registered for the
        # handler's name (OUT-GZIP-5), then the push; warnings start with ``prefix``.
        if handlers.conflicts(self, handler.name, prefix):
            return False
        self._out.start(handler)
        return True

    def _handler_started(self, name: str) -> bool:
        # php_output_handler_started()
        return any(handler.name == name for handler in self._out.handlers)

    def _user_handler(self, callback: PhpCallable, chunk_size: int, flags: int) -> OutputHandler:
        name = closure_name(callback) if self.version.closure_file_line_names else callback.name  # VER-CLOSURE-NAME-1
        call: Callable[..., Any] = callback.taking(2)  # PERF-CALL-2
        if self.version.handler_output_deprecated:  # PHP 8.5 (VER-HANDLER-OUTPUT-1)
            call = self._output_watched(callback, name)
        # A str result is output as it is where the stack keeps str in the script's charset
        # (PERF-OB-3): the same bytes, encoded once where they leave.
        as_text = self._out.keeps_text(self.charset)

        @calls_script  # the script's handler runs in it: the time limit may stop it there
        def function(buffer: str, phase: int) -> bytes | str | None:
            # PHP's user handler call (OUT-CALLBACK-*): false, an exception, exit or an
            # unusable result is a failure; true and null mean no output. A fatal error
            # or the time limit is a bailout and leaves the call (OUT-BAILOUT-1).
            if self._pending is not None:
                return None
            try:
                result = call(buffer, phase)  # the buffer's text, as the stack gives a user handler (PERF-OB-2)
                if result.__class__ is str:  # the usual result: no conversion to look up (PERF-OB-2)
                    return result if as_text else result.encode(self.charset, PHP_BYTES)
                if result is False:
                    return None
                if result is True:
                    return b""
                text = to_php_text(result, self._precision(), self._array_to_string)
            except (Exception, Exit) as exception:
                self._throw(exception)
                return None if not isinstance(exception, PhpError) else b""
            return text if text.__class__ is bytes else text.encode(self.charset, PHP_BYTES)  # type: ignore[union-attr]

        return OutputHandler(name, function, (flags & ~0xF) | 1, chunk_size)

    # -- flushing, cleaning, ending -----------------------------------------------------------

    # ob_flush(), ob_clean(), ob_end_flush(), ob_end_clean(), ob_get_clean() and ob_get_flush()
    # catch OutputLocked themselves, as _userland does for the others: no wrapper's call on
    # their paths (PERF-OB-2, PERF-OB-6).

    @php_function
    def ob_flush(self) -> bool:
        """Pass the top buffer through its handler into the one below (OUT-FLUSH-*)."""
        try:
            flushed = self._out.flush()
            if not flushed:
                flushed = self._notice_false("ob_flush(): Failed to flush buffer. No buffer to flush" if flushed is None
                                             else f"ob_flush(): Failed to flush buffer of {self._top_label()}")
        except OutputLocked:
            self._locked("ob_flush")
        if self._pending is not None:
            self._raise_pending()
        return flushed

    @php_function
    def ob_clean(self) -> bool:
        """Discard the top buffer's contents (OUT-CLEAN-*)."""
        try:
            cleaned = self._out.clean()
            if not cleaned:
                cleaned = self._notice_false("ob_clean(): Failed to delete buffer. No buffer to delete" if cleaned is None
                                             else f"ob_clean(): Failed to delete buffer of {self._top_label()}")
        except OutputLocked:
            self._locked("ob_clean")
        if self._pending is not None:
            self._raise_pending()
        return cleaned

    @php_function
    def ob_end_flush(self) -> bool:
        """Flush the top buffer and remove it (OUT-END-FLUSH-*)."""
        try:
            if not self._out.handlers and self._out.detached is None:  # no OG(active)
                ended = self._notice_false(
                    "ob_end_flush(): Failed to delete and flush buffer. No buffer to delete or flush")
            else:
                ended = self._out.pop() or self._not_popped("ob_end_flush", discard=False)
        except OutputLocked:
            self._locked("ob_end_flush")
        if self._pending is not None:
            self._raise_pending()
        return ended

    @php_function
    def ob_end_clean(self) -> bool:
        """Discard the top buffer and remove it (OUT-END-CLEAN-*)."""
        try:
            if not self._out.handlers and self._out.detached is None:  # no OG(active)
                ended = self._notice_false("ob_end_clean(): Failed to delete buffer. No buffer to delete")
            else:
                ended = self._out.pop(discard=True) or self._not_popped("ob_end_clean", discard=True)
        except OutputLocked:
            self._locked("ob_end_clean")
        if self._pending is not None:
            self._raise_pending()
        return ended

    @php_function
    def ob_get_clean(self) -> str | bool:
        """Return the top buffer's contents, discard it and remove it (OUT-GET-CLEAN-*)."""
        try:
            out = self._out
            top = out.detached or (out.handlers[-1] if out.handlers else None)  # OG(active), as ``active`` says
            if top is None:
                contents: str | bool = False
            else:
                contents = top.text(self.charset)
                if not out.pop(discard=True):
                    self._not_deleted("ob_get_clean", discard=True)
        except OutputLocked:
            self._locked("ob_get_clean")
        if self._pending is not None:
            self._raise_pending()
        return contents

    @php_function
    def ob_get_flush(self) -> str | bool:
        """Return the top buffer's contents, flush it and remove it (OUT-GET-FLUSH-*)."""
        try:
            top = self._out.active
            if top is None:
                contents: str | bool = self._notice_false(
                    "ob_get_flush(): Failed to delete and flush buffer. No buffer to delete or flush")
            else:
                contents = top.text(self.charset)
                if not self._out.pop(discard=False):
                    self._not_deleted("ob_get_flush", discard=False)
        except OutputLocked:
            self._locked("ob_get_flush")
        if self._pending is not None:
            self._raise_pending()
        return contents

    def _not_deleted(self, function: str, *, discard: bool) -> None:
        # ob_get_clean()'s and ob_get_flush()'s buffer stays: php_output_discard()'s or
        # php_output_end()'s notice, then the function's own. What a handler the first one's
        # display ran threw or exited waits until both are out, as EG(exception) waits for the
        # function to return (OUT-EXIT-1).
        self._pending_held = True
        try:
            self._not_popped(function, discard=discard)
        finally:
            self._pending_held = False
        self._error(C.E_NOTICE, f"{function}(): Failed to delete buffer of {self._top_label()}", docref=True)

    def _not_popped(self, function: str, *, discard: bool) -> bool:
        verb = "discard" if discard else "send"
        return self._notice_false(f"{function}(): Failed to {verb} buffer of {self._top_label()}")

    def _top_label(self) -> str:
        top = self._out.active
        return f"{top.name} ({top.level})"  # type: ignore[union-attr]

    def _notice_false(self, message: str) -> bool:
        self._error(C.E_NOTICE, message, docref=True)
        return False

    # -- asking about the buffers ----------------------------------------------------------------

    @php_function
    def ob_get_contents(self) -> str | bool:
        """The top buffer's contents, or False without a buffer (OUT-GET-CONTENTS-1)."""
        out = self._out
        top = out.detached or (out.handlers[-1] if out.handlers else None)  # OG(active), as ``active`` says
        return False if top is None else top.text(self.charset)

    @php_function
    def ob_get_length(self) -> int | bool:
        """The top buffer's length in bytes, or False without a buffer (OUT-GET-LENGTH-1)."""
        top = self._out.active
        return False if top is None else top.buffer_used

    @php_function
    def ob_get_level(self) -> int:
        """The number of output buffers (OUT-LEVEL-1)."""
        return self._out.level

    @php_function
    def ob_get_status(self, full_status: Any = False) -> dict[str, Any] | list[dict[str, Any]]:
        """The top handler's status array, or with ``full_status`` every handler's,
        bottom first (OUT-STATUS-*). Without buffers: {} (PHP's empty array), or []."""
        full = self._bool_arg("ob_get_status", 1, "full_status", full_status)
        if full:
            return [handler.status() for handler in self._out.handlers]
        top = self._out.active
        return {} if top is None else top.status()

    @php_function
    def ob_list_handlers(self) -> list[str]:
        """The names of the handlers, bottom first (OUT-LIST-1)."""
        return [handler.name for handler in self._out.handlers]

    # -- the SAPI's flush ------------------------------------------------------------------------

    @php_function
    def ob_implicit_flush(self, enable: Any = True) -> None:
        """Flush the transport after every output that reaches it (OUT-IMPLICIT-1)."""
        self._implicit_flush = self._bool_arg("ob_implicit_flush", 1, "enable", enable)
        self._collect()  # output is appended straight out only without it (PERF-OB-5)

    @php_function
    def flush(self) -> None:
        """PHP's flush(): flush the transport; output buffers are untouched (OUT-FLUSH-SAPI-1).
        The built-in server's flush sends the headers first (HDR-SENT-1), and from PHP 8.4
        PHP-FPM's and php-cgi's (VER-FLUSH-HEADERS-1)."""
        if self.sapi.flush_sends_headers or self.version.flush_sends_headers and self.sapi.name in ("cgi", "fpm-fcgi"):
            self._send_headers()
            self._raise_pending()  # what the header callback threw (LIFE-CALLBACK-1)
        self._sapi_flush()

    # -- the URL rewriter ------------------------------------------------------------------------

    @php_function
    @_userland
    def output_add_rewrite_var(self, name: Any, value: Any) -> bool:
        """Add a variable for the URL rewriter; the first call starts its
        "URL-Rewriter" handler (OUT-REWRITE-1)."""
        name = self._string_arg("output_add_rewrite_var", 1, "name", name)
        value = self._string_arg("output_add_rewrite_var", 2, "value", value)
        if self._rewriter is None:
            from .urlrewriter import UrlRewriter  # loaded by the first rewrite var (PERF-IMPORT-1)

            self._rewriter = UrlRewriter(self.ini_get, encoding=self.charset)  # type: ignore[arg-type]
            self._out.start(OutputHandler("URL-Rewriter", self._rewriter.handle, C.PHP_OUTPUT_HANDLER_STDFLAGS))
        self._rewriter.add(name, value)
        return True

    @php_function
    def output_reset_rewrite_vars(self) -> bool:
        """Forget the URL rewriter's variables; its handler stays (OUT-REWRITE-2)."""
        if self._rewriter is not None:
            self._rewriter.reset()
        return True
