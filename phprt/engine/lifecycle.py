"""The script's lifecycle: shutdown functions, exit, connection handling, time limits,
sleeping, fastcgi_finish_request() (LIFE-*, CONN-*, TIME-*, FPM-*), and what happens
when a callback throws or the time limit expires."""

from __future__ import annotations

import sys
import time
from types import FrameType, TracebackType
from typing import Any, NoReturn

from . import constants as C
from .base import RuntimeBase, caller_scope
from .callables import InvalidCallable, PhpCallable, resolve_callable
from .diagnostics import Diagnostic
from .errors import Bailout, Exit
from .frames import is_phprt, script_frame
from .functions import php_function, require
from .ini import ini_integer
from .timelimit import TimeLimitExceeded, calls_script
from .uncaught import uncaught_error
from .values import zval_type_name

__all__ = ["LifecycleFunctions"]

#: ``report()`` called from a script's line: placed at a file and line by code.replace() (TIME-FATAL-2).
_AT_SCRIPT_LINE = compile("report()", "<php>", "eval")


class LifecycleFunctions(RuntimeBase):
    """How the script runs and ends."""

    _shutdown_functions: list[tuple[PhpCallable, tuple[Any, ...]]]
    _timeout_seconds = 0  # EG(timeout_seconds): the N of the timeout message

    # -- shutdown functions and exit ----------------------------------------------------------

    @php_function
    def register_shutdown_function(self, callback: Any, *args: Any) -> None:
        """Call ``callback(*args)`` when the request ends, in registration order
        (LIFE-SHUTDOWN-1)."""
        try:
            resolved = resolve_callable(callback, caller_scope())
        except InvalidCallable as invalid:
            message = f"register_shutdown_function(): Argument #1 ($callback) must be a valid callback, {invalid}"
            raise TypeError(message) from None
        self._shutdown_functions.append((resolved, args))

    @calls_script
    def _call_shutdown_functions(self) -> None:
        # php_call_shutdown_functions(): in order, including ones registered meanwhile
        functions = self._shutdown_functions
        index = 0
        while index < len(functions):
            callback, args = functions[index]
            index += 1
            if self._trace is not None:
                self._trace.record("shutdown-function", {"name": callback.name, "index": index}, op="shutdown functions")
            try:
                callback(*args)
            except Exception as exception:  # from 8.3, to the user exception handler (VER-SHUTDOWN-EXCEPTION-1)
                if not self._shutdown_exception(exception):
                    raise

    @php_function(construct=True, function_from="8.4", aliases=("die",))
    def exit(self, status: Any = None) -> NoReturn:
        """PHP's ``exit``/``die``: an int is the exit status, anything else is
        printed; then the request ends (LIFE-EXIT-1). From PHP 8.4 a function of
        ``string|int``: a string is printed, anything else is an int, with PHP's
        coercion (VER-EXIT-1)."""
        if self.version.exit_is_function and not isinstance(status, (str, bytes)):
            if isinstance(status, (list, dict)) or not isinstance(status, (int, float, type(None))):
                raise TypeError(f"exit(): Argument #1 ($status) must be of type string|int, {zval_type_name(status)} given")
            status = self._int_arg("exit", 1, "status", status, "string|int")
        if isinstance(status, int) and not isinstance(status, bool):
            self.exit_status = status & 0xFF
        elif status is not None:
            self._write_value(status)
        if self._trace is not None:
            self._trace.record("exit", {"status": self.exit_status})
        raise Exit(self.exit_status)

    die = exit

    # -- connection handling ------------------------------------------------------------------

    @php_function
    def connection_status(self) -> int:
        """The connection status bits: CONNECTION_ABORTED, CONNECTION_TIMEOUT (CONN-STATUS-1)."""
        return self._status

    @php_function
    def connection_aborted(self) -> int:
        """1 once the client is known to be gone, else 0 (CONN-STATUS-1)."""
        return self._status & C.CONNECTION_ABORTED

    @php_function
    def ignore_user_abort(self, enable: Any = None) -> int:
        """Whether a client abort stops the script; returns the previous setting
        as 0 or 1, and sets it unless ``enable`` is None (CONN-IGNORE-1)."""
        old = int(self._ini_flag("ignore_user_abort"))
        if enable is not None:
            enable = self._bool_arg("ignore_user_abort", 1, "enable", enable, "?bool")
            self._ini["ignore_user_abort"] = "1" if enable else "0"
        return old

    def _has_finish_request(self) -> bool:
        """on a transport that can end a response early; there, under other SAPIs too
        where the transport offers it (DEV-FINISH-1)"""
        return self.transport.can_end_early and (self.sapi.fastcgi or self.transport.finish_request)

    @php_function(sapi=("fpm-fcgi",), available=_has_finish_request)
    def fastcgi_finish_request(self) -> bool:
        """PHP-FPM's: end every output buffer, send the headers and the output, and
        complete the response while the script goes on (FPM-FINISH-1). False when
        already done. On a transport that cannot end a response early, and under
        other profiles unless the transport offers it (phprt's network transports,
        DEV-FINISH-1), PHP has no such function."""
        require(self, "fastcgi_finish_request")
        if self._finished_early:
            return False
        if self._trace is not None:
            self._trace.record("finish-request", {})
        if not self.sapi.fastcgi:  # what follows is the response's end: a transport may hold it for that (DEV-FINISH-1)
            self._sink.ending()
        self._out.end_all()
        self._send_headers()
        if not self.sapi.fastcgi:  # PHP-FPM's fcgi_end() writes its buffer out with no abort
            self._sapi_flush()
        self._finished_early = True
        self._sink.finish()
        self._raise_pending()  # what a handler the end ran threw or exited, once the response is done (OUT-EXIT-1)
        return True

    # -- time limits and sleeping ---------------------------------------------------------------

    @php_function
    def set_time_limit(self, seconds: Any) -> bool:
        """Set max_execution_time and restart the count from zero (TIME-LIMIT-2)."""
        value = str(self._int_arg("set_time_limit", 1, "seconds", seconds))
        self._ini["max_execution_time"] = value
        self._update_timeout(value)
        return True

    def _update_timeout(self, value: str) -> bool:
        # OnUpdateTimeout: ZEND_ATOL(), the leading decimal integer; the count restarts (INI-PARSE-4)
        self._timeout_seconds = ini_integer("max_execution_time", value)
        self._timer.start(self._timeout_seconds)
        return True

    @php_function
    def sleep(self, seconds: Any) -> int:
        """Sleep; returns 0. Sleeping does not count towards the CPU time limit (TIME-SLEEP-1)."""
        seconds = self._int_arg("sleep", 1, "seconds", seconds)
        if seconds < 0:
            raise ValueError("sleep(): Argument #1 ($seconds) must be greater than or equal to 0")
        self._wait(seconds)
        return 0

    @php_function
    def usleep(self, microseconds: Any) -> None:
        """Sleep for microseconds (TIME-SLEEP-1)."""
        microseconds = self._int_arg("usleep", 1, "microseconds", microseconds)
        if microseconds < 0:
            raise ValueError("usleep(): Argument #1 ($microseconds) must be greater than or equal to 0")
        self._wait(microseconds / 1e6)

    def _wait(self, seconds: float) -> None:
        # Sleeping: the watchdog leaves a thread in phprt's code alone, so a wall-clock
        # limit that expires meanwhile is raised here, when it expires (TIME-WALL-1).
        if self._trace is not None and self._trace.slept(seconds):
            return
        left = self._timer.remaining() if self._timer.clock == "wall" else None
        if left is None or left > seconds:
            time.sleep(seconds)
            return
        time.sleep(max(left, 0.0))
        self._arm_hard_timeout()
        raise TimeLimitExceeded

    def _time_up(self) -> bool:
        # The watchdog's call when the limit expires: stop the script where it is.
        if not self._timer.interrupt():
            return False
        self._arm_hard_timeout()
        return True

    def _arm_hard_timeout(self) -> None:
        # What runs after a timeout gets hard_timeout seconds (TIME-HARD-1).
        hard = ini_integer("hard_timeout", self._ini_str("hard_timeout"))  # a quantity (INI-PARSE-1)
        self._timer.start(hard)

    # -- exceptions, fatal errors and timeouts ----------------------------------------------------

    def _raise_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            try:
                raise pending
            finally:  # this frame, in the traceback, holds no reference back to it (PERF-RELEASE-1)
                del pending

    def _throw(self, exception: Exception | Exit) -> None:
        # The end of zend_call_function() for a handler or header callback that threw
        # or exited: while PHP code runs (the script, a shutdown function), the
        # exception waits for it to resume (EG(exception)); with none running (the
        # request's end), an exception is the "Uncaught" fatal error and exit a
        # bailout, right here, ending that step (OUT-EXIT-1, OUT-EXIT-2,
        # LIFE-CALLBACK-1, LIFE-CALLBACK-2).
        if script_frame(self._shutdown_frame) is not None:
            if self._pending is None:
                self._pending = exception
                # PHP's trace is taken where the exception was made: the calls running now
                exception._php_trace = self._traced(exception.__traceback__)  # type: ignore[union-attr]
            return
        if isinstance(exception, Exit):
            try:
                raise exception
            finally:  # this frame, in the traceback, holds no reference back to it (PERF-RELEASE-1)
                del exception
        if self._shutdown_exception(exception):  # from 8.3, the user exception handler's (VER-SHUTDOWN-EXCEPTION-1)
            return
        self._uncaught(exception, exception.__traceback__)
        raise Bailout(self.exit_status)

    def _fatal(self, message: str, location: tuple[str, int], *, escape: bool = False) -> None:
        try:
            self._error(C.E_ERROR, message, location, docref=escape)
        except Bailout:
            pass

    def _report_pending(self) -> None:
        # zend_error() at a fatal level with an exception pending (EG(exception)):
        # "Uncaught ..." first, as a warning, traced through the calls still running;
        # an exit pending is dropped (DIAG-UNCAUGHT-2).
        pending, self._pending = self._pending, None
        if pending is None or isinstance(pending, Exit):
            return
        message, file, line = uncaught_error(pending, getattr(pending, "_php_trace", pending.__traceback__))
        diagnostic = Diagnostic(C.E_WARNING, message, file, line)  # zend_error_va(): no user error handler
        self.diagnostics.append(diagnostic)
        self._report(diagnostic)

    def _traced(self, tb: TracebackType | None) -> TracebackType | None:
        # ``tb`` below the calls running in the request now (outside the shutdown's frame)
        frame: FrameType | None = sys._getframe(2)
        while frame is not None and frame is not self._shutdown_frame:
            tb = TracebackType(tb, frame, frame.f_lasti, frame.f_lineno)
            if frame is self._entry_frame:
                break
            frame = frame.f_back
        return tb

    def _uncaught(self, exception: BaseException, tb: TracebackType | None) -> None:
        # zend_exception_error(): "Uncaught ..." as a fatal error (DIAG-UNCAUGHT-1), traced
        # as PHP traced it when it was made, if it waited for PHP code to resume
        message, file, line = uncaught_error(exception, getattr(exception, "_php_trace", tb))
        self._fatal(message, (file, line))  # escaped only where displayed (DIAG-DISPLAY-2)

    def _timed_out(self, tb: TracebackType | None) -> None:
        # zend_timeout(): the TIMEOUT bit, then the fatal error where the script was (TIME-FATAL-1)
        self._status |= C.CONNECTION_TIMEOUT
        if self._trace is not None:
            self._trace.record("time-limit", {"seconds": self._timeout_seconds})
        location = ("Unknown", 0)
        while tb is not None:
            if not is_phprt(tb.tb_frame):
                location = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
            tb = tb.tb_next
        seconds = self._timeout_seconds
        message = f"Maximum execution time of {seconds} second{'' if seconds == 1 else 's'} exceeded"
        if location[1] <= 0:
            self._fatal(message, location)
            return
        # PHP raises it in the code that was running, at that line: what its report runs
        # (a handler the displayed text reaches, the diagnostics it raises, an exit in it)
        # finds that code running there, not a script that has ended (TIME-FATAL-2). Python
        # has unwound that code: a stand-in frame of the script's file at the line holds its
        # place, calling ``timeout`` (the name a trace gives what the report writes).
        def timeout() -> None:
            self._fatal(message, location)

        stand_in = _AT_SCRIPT_LINE.replace(co_filename=location[0], co_firstlineno=location[1])
        eval(stand_in, {"__name__": "<php>", "report": timeout})
