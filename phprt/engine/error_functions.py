"""Diagnostics: PHP's error functions, zend_error() and php_error_cb() (DIAG-*)."""

from __future__ import annotations

import sys
import time
from typing import Any

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
from .errors import Bailout
from .frames import caller_location
from .functions import php_function
from .ini import ini_integer
from .uncaught import stack_trace
from .values import PHP_BYTES

__all__ = ["ErrorFunctions"]

_USER_LEVELS = (C.E_USER_ERROR, C.E_USER_WARNING, C.E_USER_NOTICE, C.E_USER_DEPRECATED)


class ErrorFunctions(RuntimeBase):
    """Raising, handling, reporting and logging diagnostics."""

    _error_handlers: list[tuple[Any, PhpCallable | None, int]]  # set_error_handler()'s stack
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
        resolved = None
        if callback is not None:
            try:
                resolved = resolve_callable(callback, caller_scope())
            except InvalidCallable as invalid:
                message = f"set_error_handler(): Argument #1 ($callback) must be a valid callback or null, {invalid}"
                raise TypeError(message) from None
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
            message = escape_html(message)
        if level & FATAL_LEVELS and self._pending is not None:
            self._report_pending()
        file, line = location or caller_location(self._shutdown_frame)
        backtrace = ""
        if level & FATAL_LEVELS and location is None and self.version.fatal_error_backtraces:
            backtrace = stack_trace(self._entry_frame, sys._getframe(1))  # PHP 8.5 (VER-FATAL-TRACE-1)
        diagnostic = Diagnostic(level, message, file, line, backtrace)
        self.diagnostics.append(diagnostic)
        if self._error_handlers and not self._in_error_handler and not level & UNHANDLEABLE_LEVELS:
            _, handler, mask = self._error_handlers[-1]
            if handler is not None and mask & level:
                self._in_error_handler = True
                try:
                    handled = handler(level, message, file, line)
                finally:
                    self._in_error_handler = False
                if handled is not False:
                    return
        self._report(diagnostic)
        if level & FATAL_LEVELS:
            raise Bailout(self.exit_status)
        self._raise_pending()  # a handler the displayed text ran threw or exited (OUT-EXIT-1)

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
                text = diagnostic.display_text(html, self._ini_str("error_prepend_string"), self._ini_str("error_append_string"))
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
