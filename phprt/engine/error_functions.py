"""Diagnostics: PHP's error functions, zend_error() and php_error_cb() (DIAG-*)."""

from __future__ import annotations

import sys
import time
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from . import constants as C
from .base import RuntimeBase, caller_scope
from .callables import InvalidCallable, PhpCallable, resolve_callable
from .diagnostics import (
    DISPLAY_OFF,
    DISPLAY_STDERR,
    FATAL_LEVELS,
    UNHANDLEABLE_LEVELS,
    Diagnostic,
    display_errors_mode,
    escape_html,
)
from .errors import Bailout, Exit
from .frames import caller_location, is_phprt
from .functions import php_function, require
from .ini import ini_integer
from .timelimit import TimeLimitExceeded
from .uncaught import stack_trace
from .values import PHP_BYTES

if TYPE_CHECKING:
    from ..output.stack import OutputHandler

__all__ = ["ErrorFunctions"]

_USER_LEVELS = (C.E_USER_ERROR, C.E_USER_WARNING, C.E_USER_NOTICE, C.E_USER_DEPRECATED)


def _handler_callable(function: str, callback: Any) -> PhpCallable | None:
    """``callback`` resolved for set_error_handler()/set_exception_handler(), None for
    None; PHP's TypeError for anything else that is not callable (DIAG-HANDLER-1)."""
    if callback is None:
        return None
    try:
        return resolve_callable(callback, caller_scope())
    except InvalidCallable as invalid:
        raise TypeError(f"{function}(): Argument #1 ($callback) must be a valid callback or null, {invalid}") from None


class ErrorFunctions(RuntimeBase):
    """Raising, handling, reporting and logging diagnostics."""

    _error_handlers: list[tuple[Any, PhpCallable | None, int]]  # set_error_handler()'s stack
    _exception_handler: tuple[Any, PhpCallable] | None = None  # EG(user_exception_handler): as given, resolved
    _exception_handlers: tuple[tuple[Any, PhpCallable] | None, ...] = ()  # EG(user_exception_handlers)

    @property
    def _output_produced(self) -> set[int]:
        # the handlers (by id) written into while a handler ran: PHP 8.5's PHP_OUTPUT_HANDLER_PRODUCED_OUTPUT
        produced: set[int] = self.__dict__.setdefault("_produced", set())
        return produced
    _in_error_handler = False
    _last_error: Diagnostic | None = None
    _fpm_logged = False  # PHP-FPM joins a request's log messages with "; "

    @php_function(aliases=("user_error",))
    def trigger_error(self, message: str, error_level: int = C.E_USER_NOTICE) -> bool:
        """Raise a user-level diagnostic (DIAG-TRIGGER-1). From PHP 8.4, E_USER_ERROR is
        first deprecated (VER-USER-ERROR-1)."""
        if error_level not in _USER_LEVELS:
            raise ValueError(
                "trigger_error(): Argument #2 ($error_level) must be one of E_USER_ERROR,"
                " E_USER_WARNING, E_USER_NOTICE, or E_USER_DEPRECATED"
            )
        message = self._string_arg("trigger_error", 1, "message", message)
        if error_level == C.E_USER_ERROR and self.version.user_error_deprecated:
            self._error(C.E_DEPRECATED, "Passing E_USER_ERROR to trigger_error() is deprecated since 8.4,"
                        " throw an exception or call exit with a string message instead")
        self._error(error_level, message)
        return True

    user_error = trigger_error

    @php_function
    def set_error_handler(self, callback: Any, error_levels: int | None = None) -> Any:
        """Install a user error handler; returns the previous one (DIAG-HANDLER-1).
        ``error_levels`` defaults to the version's E_ALL (VER-E-ALL-1)."""
        if error_levels is None:
            error_levels = self.version.e_all
        resolved = _handler_callable("set_error_handler", callback)
        previous = self._error_handlers[-1][0] if self._error_handlers else None
        self._error_handlers.append((callback, resolved, error_levels))
        return previous

    @php_function
    def restore_error_handler(self) -> bool:
        """Go back to the previous error handler (DIAG-HANDLER-2)."""
        if self._error_handlers:
            self._error_handlers.pop()
        return True

    @php_function
    def set_exception_handler(self, callback: Any) -> Any:
        """Install the user exception handler, or none (``None``); returns the previous
        one as it was given, or None. The previous one is pushed on a stack that
        restore_exception_handler() pops, None entries too (DIAG-EXCEPTION-HANDLER-1)."""
        resolved = _handler_callable("set_exception_handler", callback)
        previous = self._exception_handler
        self._exception_handlers += (previous,)
        self._exception_handler = None if resolved is None else (callback, resolved)
        return None if previous is None else previous[0]

    @php_function
    def restore_exception_handler(self) -> bool:
        """Go back to the handler the last set_exception_handler() replaced (none once
        the stack is empty); always true (DIAG-EXCEPTION-HANDLER-1)."""
        handlers = self._exception_handlers
        self._exception_handler = handlers[-1] if handlers else None
        self._exception_handlers = handlers[:-1]
        return True

    @php_function(since="8.5")
    def get_error_handler(self) -> Any:
        """PHP 8.5: the user error handler as set_error_handler() was given it, or None
        (none, or ``set_error_handler(null)``); no such function before 8.5 (VER-GET-HANDLER-1)."""
        require(self, "get_error_handler")
        return self._error_handlers[-1][0] if self._error_handlers else None

    @php_function(since="8.5")
    def get_exception_handler(self) -> Any:
        """PHP 8.5: the user exception handler as set_exception_handler() was given it, or
        None -- also while it runs, as it is off the stack then (VER-GET-HANDLER-1)."""
        require(self, "get_exception_handler")
        return None if self._exception_handler is None else self._exception_handler[0]

    def _script_exception(self, exception: Exception, tb: TracebackType | None) -> bool:
        """The script ended by an exception it did not catch: the user exception
        handler gets it, else it is the "Uncaught" fatal error (DIAG-UNCAUGHT-1).
        True when a handler took it (DIAG-EXCEPTION-HANDLER-2); what the handler does
        -- exit, throw, a fatal error, a timeout -- ends the script's step only, as a
        bailout ends php_execute_script(); the request then ends as always."""
        if self._exception_handler is None:
            self._uncaught(exception, tb)
            return False
        try:
            self._call_exception_handler(exception)
        except TimeLimitExceeded as timeout:
            self._timed_out(timeout.__traceback__)
        except Bailout:
            pass
        return True

    def _shutdown_exception(self, exception: Exception) -> bool:
        """From PHP 8.3, an exception a shutdown function throws -- or an output handler or
        header callback the request's end runs -- goes to the user exception handler, if one
        is set, and the request's end goes on; True when it did (VER-SHUTDOWN-EXCEPTION-1).
        PHP 8.2: the fatal error, which ends that step."""
        if not self.version.shutdown_exceptions_handled or self._exception_handler is None:
            return False
        self._call_exception_handler(exception)
        return True

    def _call_exception_handler(self, exception: Exception) -> None:
        # zend_user_exception_handler(): the handler is called with the exception; one it
        # throws is the "Uncaught" fatal error, then a bailout (DIAG-EXCEPTION-HANDLER-3).
        # From 8.3 the running handler is pushed on the stack, none is set while it runs,
        # and it is back once it returns unless it set another (VER-EXCEPTION-HANDLER-STACK-1).
        current = self._exception_handler
        assert current is not None
        stacked = self.version.exception_handler_stacked
        if stacked:
            self._exception_handlers += (current,)
            self._exception_handler = None
        try:
            current[1](exception)
        except Exception as thrown:
            self._uncaught(thrown, thrown.__traceback__)
            raise Bailout(self.exit_status) from None
        if stacked and self._exception_handler is None and self._exception_handlers:
            self.restore_exception_handler()

    # -- PHP 8.5: output produced inside a user output handler (VER-HANDLER-OUTPUT-1) ------------

    def _output_watched(self, callback: PhpCallable, name: str) -> PhpCallable:
        """``callback`` as PHP 8.5 calls a user output handler: a handler into whose buffer
        output was written while a handler ran (its own echo, print, a displayed
        diagnostic) is reported once that call of it returns (VER-HANDLER-OUTPUT-1)."""
        stack = self._out

        def watched(*args: Any) -> Any:
            running = stack.running
            before = [(handler, len(handler.chunks)) for handler in stack.handlers]
            result = callback(*args)
            produced = self._output_produced
            produced.update(id(handler) for handler, count in before if len(handler.chunks) > count)
            produced.intersection_update(id(handler) for handler in stack.handlers)  # none gone (ids are reused)
            if running is not None and id(running) in produced:
                produced.discard(id(running))
                try:
                    self._deprecate_handler_output(running, name)
                except Exception as exception:  # an error handler threw: out of the ob call, after the result is used
                    self._throw(exception)
            return result

        return PhpCallable(watched, callback.name)

    def _deprecate_handler_output(self, running: OutputHandler, name: str) -> None:
        # E_DEPRECATED "<fn>(): Producing output from user output handler <name> is deprecated",
        # <fn> the PHP function running ("main" for echo at the top level), "PHP Request
        # Shutdown: ..." at the request's end. Its text goes to the handler below the one
        # reported, or out, before that handler's result; a handler it is written into is
        # reported on its own next call (php-versions.md row 3a).
        stack = self._out
        function, location = self._active_function()
        prefix = "PHP Request Shutdown: " if function is None else f"{function}(): "
        message = f"{prefix}Producing output from user output handler {name} is deprecated"
        handlers = stack.handlers
        index = handlers.index(running) if running in handlers else len(handlers)
        above = handlers[index:]
        del handlers[index:]
        below = handlers[-1] if handlers else None
        count = len(below.chunks) if below is not None else 0
        stack.running = None
        stack._retarget()
        try:
            self._error(C.E_DEPRECATED, message, location, docref=True)  # php_error_docref()
        finally:
            if below is not None and len(below.chunks) > count:
                self._output_produced.add(id(below))
            handlers.extend(above)
            stack.running = running
            stack.target[0] = None  # as while a handler runs (PERF-ECHO-2)

    def _active_function(self) -> tuple[str | None, tuple[str, int] | None]:
        # get_active_function_name(): the PHP function the script's code called (the
        # outermost phprt frame under it); echo and print are no functions: the script's
        # own function, "main" at the top level. None, at ("Unknown", 0), when no script
        # code runs (the request's end).
        frame: FrameType | None = sys._getframe(1)
        entry = None
        while frame is not None and frame is not self._shutdown_frame and is_phprt(frame):
            entry, frame = frame, frame.f_back
        if frame is None or frame is self._shutdown_frame:
            return None, ("Unknown", 0)
        name = entry.f_code.co_name if entry is not None else "main"
        if name in ("userland", "function") and entry is not None:
            name = str(entry.f_locals.get("name", name))
        if name in ("echo", "print"):
            name = "main" if frame.f_code.co_name == "<module>" else frame.f_code.co_name
        return name, None

    @php_function
    def error_reporting(self, error_level: int | None = None) -> int:
        """The error_reporting mask; with an argument, set it and return the old one (DIAG-REPORTING-1)."""
        old = self._error_reporting()
        if error_level is not None:
            self._ini["error_reporting"] = str(self._int_arg("error_reporting", 1, "error_level", error_level))
        return old

    def _error_reporting(self) -> int:
        value = self._ini["error_reporting"]
        return self.version.e_all if value is None else ini_integer("error_reporting", value)  # atoi() (INI-PARSE-4)

    @php_function
    def error_get_last(self) -> dict[str, object] | None:
        """The last diagnostic as PHP's array, or None (DIAG-LAST-1)."""
        return None if self._last_error is None else self._last_error.as_array()

    @php_function
    def error_clear_last(self) -> None:
        """Forget the last diagnostic (DIAG-LAST-2)."""
        self._last_error = None

    def _error(self, level: int, message: str, location: tuple[str, int] | None = None, *, docref: bool = False) -> None:
        # zend_error(): a user handler first, then php_error_cb(). A ``docref`` message
        # (php_error_docref(), "function(): ...") is HTML-escaped under html_errors.
        if docref and self._ini_flag("html_errors"):
            message = self._escape_html(message)
        if level & FATAL_LEVELS and self._pending is not None:
            self._report_pending()
        file, line = location or caller_location(self._shutdown_frame)
        backtrace = ""
        if level & FATAL_LEVELS and location is None and self.version.fatal_error_backtraces:
            backtrace = stack_trace(self._entry_frame, sys._getframe(1))  # PHP 8.5 (VER-FATAL-TRACE-1)
        diagnostic = Diagnostic(level, message, file, line, backtrace)
        self.diagnostics.append(diagnostic)
        if self._error_handlers and not self._in_error_handler and not level & UNHANDLEABLE_LEVELS:
            entry = self._error_handlers[-1]
            _, handler, mask = entry
            if handler is not None and mask & level:
                self._in_error_handler = True
                try:
                    handled = handler(level, message, file, line)
                except (Bailout, TimeLimitExceeded) as stopped:
                    if not isinstance(stopped, Exit) and self._error_handlers and self._error_handlers[-1] is entry:
                        # zend_error() unsets the handler for its call and puts it back when the
                        # call returns: a bailout out of the call leaves none (DIAG-HANDLER-1)
                        self._error_handlers[-1] = (None, None, mask)
                    raise
                finally:
                    self._in_error_handler = False
                if handled is not False:
                    return
        self._report(diagnostic)
        if level & FATAL_LEVELS:
            raise Bailout(self.exit_status)
        if not self._pending_held:
            self._raise_pending()  # a handler the displayed text ran threw or exited (OUT-EXIT-1)

    def _escape_html(self, text: str) -> str:
        # main.c's escape_html(), in the charset get_default_charset() gives (DIAG-DISPLAY-2)
        return escape_html(text, self._ini_str("internal_encoding") or self._ini_str("default_charset") or "UTF-8",
                           self.charset)

    def _report(self, diagnostic: Diagnostic) -> None:
        # php_error_cb(): remember, log, display; a fatal level sets the exit status
        # and, where nothing was displayed, the 500 status.
        self._last_error = diagnostic
        level = diagnostic.level
        if self._error_reporting() & level:
            if self._ini_flag("log_errors"):
                self._log(diagnostic.log_line())
            mode = display_errors_mode(self._ini_str("display_errors"))
            html = self._ini_flag("html_errors")
            if mode == DISPLAY_STDERR and not html and self.sapi.name in ("cli", "cgi"):
                self.transport.write_stderr(f"{diagnostic}\n".encode(self.charset, PHP_BYTES))
            elif mode != DISPLAY_OFF and (not self._starting or self._ini_flag("display_startup_errors")):
                text = diagnostic.display_text(html, self._ini_str("error_prepend_string"),
                                               self._ini_str("error_append_string"), self._escape_html)
                self._out.write(text)
        if level & FATAL_LEVELS:
            self.exit_status = 255
            queue = self._headers
            displayed = display_errors_mode(self._ini_str("display_errors")) != DISPLAY_OFF
            if not displayed and not queue.sent and queue.response_code == 200:
                queue.header("HTTP/1.0 500 Internal Server Error")  # HDR-FATAL-1

    def _log(self, message: str) -> None:
        # php_log_err(): to the error_log file with a timestamp, else to the SAPI's log.
        destination = self._ini["error_log"]
        if self.sapi.fastcgi and not destination:
            self._sapi_log(message)
            return
        self._log_to(message, destination)

    def _sapi_log(self, message: str) -> None:
        # sapi_module.log_message(): the SAPI's own log, the transport's error stream.
        if self.sapi.fastcgi:
            # PHP-FPM sends its log to the web server in its records, nowhere once they are closed (SAPI-FPM-2)
            separator = "; " if self._fpm_logged else ""
            self._fpm_logged = True
            self._sink.write_stderr(f"{separator}PHP message: {message}".encode(self.charset, PHP_BYTES))
            return
        self.transport.write_stderr(f"{message}\n".encode(self.charset, PHP_BYTES))

    def _log_to(self, message: str, destination: str | None) -> None:
        # The error_log file, with a timestamp, else the SAPI's log (DIAG-LOG-1).
        if destination:
            stamp = time.strftime("%d-%b-%Y %H:%M:%S UTC", time.gmtime())
            try:
                with open(destination, "a", encoding=self.charset, errors="surrogateescape") as log:
                    log.write(f"[{stamp}] {message}\n")
                return
            except OSError:
                pass
        self.transport.write_stderr(f"{message}\n".encode(self.charset, PHP_BYTES))
