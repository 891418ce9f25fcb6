"""The Runtime: one PHP request, with PHP's functions as methods (RT-*).

A Runtime composes the I/O-free core -- the output stack (``_output``), the ini
settings and the diagnostics -- and connects it to a transport. Entering the
``with`` block starts the request as PHP's ``php_request_startup()`` does;
leaving it ends the request as ``php_request_shutdown()`` does.
"""

from __future__ import annotations

import email.utils
import sys
import time
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import FrameType, TracebackType
from typing import Any, Callable, Iterator, Mapping, NoReturn

from . import constants as C
from .callables import InvalidCallable, PhpCallable, resolve_callable
from ..http.cookies import cookie_line, parse_options
from .diagnostics import (
    DISPLAY_OFF,
    DISPLAY_STDERR,
    FATAL_LEVELS,
    UNHANDLEABLE_LEVELS,
    Diagnostic,
    display_errors_mode,
    escape_html,
)
from .errors import ArgumentCountError, Bailout, Exit, PhpError
from .frames import PACKAGE, caller_location, is_phprt, script_frame
from ..http.headers import HeaderError, HeaderQueue, head_for
from .ini import DIRECTIVES, INI_USER, SAPI_PROFILES, ini_bool, ini_file_value, ini_value
from .capture import capturing, release
from ..output.stack import OutputHandler, OutputLocked, OutputStack, default_handler
from ..http.request import UploadedFile, request_variables
from ..transports.records import STDERR, STDOUT, RecordBuffer
from .timelimit import ExecutionTimer, TimeLimitExceeded, calls_script
from ..transports.base import ResponseHead, Transport
from .uncaught import uncaught_error
from ..output.urlrewriter import UrlRewriter
from ..output.zlib import GZIP, DeflateContext, output_encoding
from .values import PHP_BYTES, Ref, c_int, encodable, format_float, is_stringable, leading_int, numeric_string, to_php_text, zval_type_name

_c_echo_into: Callable[[list[str | bytes], Callable[..., None]], Callable[..., None]] | None
try:
    from ..output._speedups import echo_into as _c_echo_into
except ImportError:  # not compiled: the pure-Python closure in _bind_echo does the same
    _c_echo_into = None

__all__ = ["ACTIVE", "FUNCTIONS", "POWERED_BY", "Runtime"]

#: The Runtime whose ``with`` block the current thread or asyncio task is in (RT-ACTIVE-1).
ACTIVE: ContextVar[Runtime | None] = ContextVar("phprt_active_runtime", default=None)
_LOCKED = "Cannot use output buffering in output buffering display handlers"
_USER_LEVELS = (C.E_USER_ERROR, C.E_USER_WARNING, C.E_USER_NOTICE, C.E_USER_DEPRECATED)
#: The X-Powered-By value phprt sends where PHP sends "PHP/8.2.36" (DEV-POWERED-BY-1).
POWERED_BY = "PHP/8.2 (phprt)"
_UNSET: Any = object()  # an argument the caller did not pass

#: PHP's functions a Runtime provides, by name (phprt.php binds each of them).
FUNCTIONS = (
    "echo", "print", "flush",
    "ob_start", "ob_flush", "ob_clean", "ob_end_flush", "ob_end_clean", "ob_get_clean", "ob_get_flush",
    "ob_get_contents", "ob_get_length", "ob_get_level", "ob_get_status", "ob_implicit_flush",
    "ob_list_handlers", "output_add_rewrite_var", "output_reset_rewrite_vars", "ob_gzhandler",
    "header", "header_remove", "headers_list", "headers_sent", "http_response_code", "header_register_callback",
    "setcookie", "setrawcookie",
    "register_shutdown_function", "exit", "die", "connection_status", "connection_aborted", "ignore_user_abort",
    "set_time_limit", "fastcgi_finish_request", "sleep", "usleep", "function_exists",
    "ini_get", "ini_set",
    "trigger_error", "user_error", "set_error_handler", "restore_error_handler",
    "error_reporting", "error_get_last", "error_clear_last",
)


def _caller_scope() -> Mapping[str, Any]:
    """The ported script's globals, where PHP-style string callables are looked up."""
    frame = script_frame()
    return {} if frame is None else frame.f_globals


def _userland(function: Callable[..., Any]) -> Callable[..., Any]:
    # The PHP-function boundary of the output functions: an operation attempted
    # inside a running handler is PHP's fatal error, and an exception a handler
    # threw surfaces once the function has done its work (OUT-CALLBACK-8).
    name = function.__name__

    def userland(self: Runtime, *args: Any, **kwargs: Any) -> Any:
        try:
            result = function(self, *args, **kwargs)
        except OutputLocked:
            self._error(C.E_ERROR, f"{name}(): {_LOCKED}", docref=True)
            raise  # pragma: no cover - _error raised Bailout
        self._raise_pending()
        return result

    userland.__name__ = userland.__qualname__ = name
    userland.__doc__ = function.__doc__
    userland.__wrapped__ = function  # type: ignore[attr-defined]
    return userland


_DISCARDED_UNSTARTED = C.PHP_OUTPUT_HANDLER_START | C.PHP_OUTPUT_HANDLER_CLEAN | C.PHP_OUTPUT_HANDLER_FINAL


def _is_gzhandler(callback: Any) -> bool:
    # ob_start("ob_gzhandler") names PHP's handler alias; so does passing phprt's own function.
    if isinstance(callback, str):
        return callback == "ob_gzhandler"
    return getattr(callback, "__name__", None) == "ob_gzhandler" and getattr(callback, "__module__", "").startswith(PACKAGE)


def _dropped(data: bytes) -> None:
    """Output that reaches no client (OUT-DIRECT-1)."""


def _header_safe(value: str, charset: str) -> bool:
    # OnUpdateDefaultCharset, OnUpdateDefaultMimeTye: no CR, LF or NUL (HDR-DEFAULT-3),
    # and nothing the charset cannot encode (DEV-HEADER-BYTES-1)
    return not any(char in value for char in "\r\n\0") and encodable(value, charset)


def _zlib_setting(value: str) -> int:
    # zlib.output_compression: Off, On (1) or a chunk size, with PHP's quantity suffixes
    lowered = value.strip().lower()
    if lowered in ("off", "on"):
        return int(lowered == "on")
    return leading_int(lowered) * {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(lowered[-1:], 1)


class Runtime:
    """One PHP request: its output layer, its ini settings, its diagnostics.

    ``Runtime(transport=MemoryTransport(), sapi="cli", ini={"output_buffering": "4096"})``
    -- ``sapi`` picks PHP's behaviour ("cli", "cgi", "fpm", "cli-server",
    "apache2handler"), ``transport`` where the response goes; any profile runs on
    any transport (RT-PROFILE-1). ``ini`` sets directives as php.ini or ``-d``
    would, before the request starts. ``charset`` encodes str output.
    ``capture_print=True`` makes Python's print() in the Runtime's thread or task
    PHP's echo (RT-CAPTURE-1). ``clock`` is what the time limit counts: the
    thread's CPU time, as PHP on Linux (TIME-CPU-1), or "wall" time, as PHP on
    Windows (TIME-WALL-1).
    """

    def __init__(
        self,
        transport: Transport | None = None,
        sapi: str = "cli",
        ini: Mapping[str, Any] | None = None,
        *,
        php_version: str = "8.2",
        charset: str = "utf-8",
        capture_print: bool = False,
        clock: str = "cpu",
    ) -> None:
        if sapi not in SAPI_PROFILES:
            raise ValueError(f"unknown SAPI {sapi!r}; expected one of {', '.join(SAPI_PROFILES)}")
        if php_version != "8.2":
            raise ValueError(f"unsupported php_version {php_version!r}; phprt reproduces PHP 8.2")
        self.sapi = SAPI_PROFILES[sapi]
        self.php_version = php_version
        self.charset = charset
        self.transport = transport if transport is not None else Transport()
        self._ini: dict[str, str | None] = {name: d.default for name, d in DIRECTIVES.items()}
        self._ini.update(self.sapi.ini)
        for name, value in (ini or {}).items():
            if name not in DIRECTIVES:
                raise ValueError(f"unknown ini directive {name!r}")
            self._ini[name] = ini_file_value(value)
        #: Every diagnostic raised, in order, whether or not it was displayed.
        self.diagnostics: list[Diagnostic] = []
        #: The exit status PHP would end with (255 after a fatal error).
        self.exit_status = 0
        self._error_handlers: list[tuple[Any, PhpCallable | None, int]] = []
        self._in_error_handler = False
        self._last_error: Diagnostic | None = None
        self._pending: BaseException | None = None
        self._implicit_flush = False
        self._output_start: tuple[str, int] | None = None
        self._output_sent = False  # PHP_OUTPUT_SENT: body bytes have left
        #: The request variables, PHP's $_SERVER, as the transport filled them (REQ-SERVER-1).
        self.server: dict[str, Any] = dict(self.transport.server)
        self._received = dict(self.server)  # the request as the SAPI holds it, whatever the script does to $_SERVER
        #: $_GET, $_POST, $_COOKIE, $_FILES and $_REQUEST, parsed when the request starts (REQ-VARS-1).
        self.get: dict[Any, Any] = {}
        self.post: dict[Any, Any] = {}
        self.cookie: dict[Any, Any] = {}
        self.files: dict[Any, Any] = {}
        self.request: dict[Any, Any] = {}
        #: php://input: the request body as the transport received it (REQ-INPUT-1).
        self.input = b""
        #: The uploaded files' contents, by $_FILES' tmp_name (REQ-FILES-5, DEV-UPLOAD-1).
        self.uploads: dict[str, UploadedFile] = {}
        self._starting = False  # in php_request_startup(): display_startup_errors rules
        cli = self.sapi.name == "cli"
        self._headers_only = not cli and self.server.get("REQUEST_METHOD") == "HEAD"
        self._headers = HeaderQueue(self._ini_str, stores=not cli, response_code=0 if cli else 200,
                                    redirect_code=self._redirect_code(), charset=charset)
        self._header_callback: PhpCallable | None = None
        self._headers.on_content_length = self._content_length_set
        self._zlib_compression = 0  # ZLIBG(output_compression): the zlib handlers' chunk size, 0 off
        self._zlib_coding = 0  # the encoding Accept-Encoding asks for, once looked up
        self._zlib_registered = False  # a zlib handler was created in this request
        self._gzhandler_context: DeflateContext | None = None  # for ob_gzhandler() called directly
        self._shutdown_frame: FrameType | None = None  # while the request ends
        self._started = self._ended = False
        self._rewriter: UrlRewriter | None = None  # started at most once per request
        # Once the output layer is torn down, PHP writes to its process's stdout: the
        # response under the CLI and CGI, not the client's under the servers (OUT-DIRECT-1).
        direct = self._emit if self.sapi.name in ("cli", "cgi") else _dropped
        self._out = OutputStack(self._emit, self._output_header, charset, direct)
        self._out.on_change = self._bind_echo
        self._capture_print = capture_print
        self._status = C.CONNECTION_NORMAL  # connection_status()
        self._shutdown_functions: list[tuple[PhpCallable, tuple[Any, ...]]] = []
        self._timer = ExecutionTimer(self._time_up, clock)
        self._timeout_seconds = 0  # EG(timeout_seconds): the N of the timeout message
        #: PHP-FPM's FastCGI buffer, under the "fpm" profile (SAPI-FPM-1).
        self._records = RecordBuffer(self._deliver) if self.sapi.fastcgi else None
        self._unsent_head: ResponseHead | None = None  # a head in the records, not delivered yet
        self._head_left = 0  # bytes of that head still in the records
        self._finished_early = False  # fastcgi_finish_request() ended the response
        self._fpm_logged = False  # PHP-FPM joins a request's log messages with "; "

    # -- the request --------------------------------------------------------------------

    def __enter__(self) -> Runtime:
        self.startup()
        self._token: Token[Runtime | None] = ACTIVE.set(self)
        if self._capture_print:
            self._capture = capturing(self.echo)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: TracebackType | None) -> bool:
        """End the request. A Bailout (exit, a fatal error, a client abort) and a
        timeout stop here; an uncaught exception is reported as PHP reports it and
        then continues on its way once the request has ended (DEV-UNCAUGHT-1)."""
        try:
            if isinstance(exc, TimeLimitExceeded):
                self._timed_out(tb)
            elif isinstance(exc, Exception):
                self._uncaught(exc, tb)
            self.shutdown()
        finally:
            if self._capture_print:
                release(self._capture)
            ACTIVE.reset(self._token)
        return isinstance(exc, (Bailout, TimeLimitExceeded))

    def startup(self) -> None:
        """Start the request as php_request_startup() does (RT-STARTUP-1): the
        ``output_handler`` or else the ``output_buffering`` layer, or else
        ``implicit_flush``."""
        if self._started:
            raise RuntimeError("this Runtime has already started; use a new Runtime per request")
        self._started = True
        if self._ini_flag("expose_php"):
            self._headers.header(f"X-Powered-By: {POWERED_BY}")
        self._starting = True
        warnings: list[tuple[int, str]] = []
        if self.sapi.name != "cli":  # the CLI has no request to parse
            variables = request_variables(self.server, self.transport.input, self._ini.get, encoding=self.charset,
                                          whole_body=self.sapi.reads_whole_body)
            self.get, self.post, self.cookie = variables.get, variables.post, variables.cookie
            self.files, self.request, self.input = variables.files, variables.request, variables.input
            self.uploads = variables.uploads
            warnings = variables.diagnostics
            self._startup_warnings(warnings[: variables.early_diagnostics])  # sapi_activate(): reading the body
            del warnings[: variables.early_diagnostics]
        handler_name = self._ini["output_handler"]
        buffering = leading_int(self._ini_str("output_buffering"))
        if handler_name and _is_gzhandler(handler_name):
            self._out.start(self._zlib_handler("ob_gzhandler", 0, C.PHP_OUTPUT_HANDLER_STDFLAGS))
        elif handler_name:
            try:
                callback = resolve_callable(handler_name, _caller_scope())
            except InvalidCallable as invalid:
                self._error(C.E_WARNING, f"PHP Request Startup: {invalid}", location=("Unknown", 0), docref=True)
            else:
                self._out.start(self._user_handler(callback, 0, C.PHP_OUTPUT_HANDLER_STDFLAGS))
        elif buffering:
            self._out.start(default_handler(buffering if buffering > 1 else 0))
        elif self._ini_flag("implicit_flush"):
            self._implicit_flush = True
        if not self._zlib_registered:  # zlib's RINIT: unless output_handler started ob_gzhandler
            self._zlib_compression = _zlib_setting(self._ini_str("zlib.output_compression"))
            self._start_zlib_compression(startup=True)
        self._startup_warnings(warnings)  # php_hash_environment(): parsing the variables
        self._starting = False
        self._timer.bind()
        self._update_timeout(self._ini_str("max_execution_time"))

    def _startup_warnings(self, warnings: list[tuple[int, str]]) -> None:
        for level, message in warnings:
            self._error(level, message, location=("Unknown", 0))

    def shutdown(self) -> None:
        """End the request as php_request_shutdown() does (RT-SHUTDOWN-1): the
        shutdown functions, then every output layer ends top-down with FINAL, the
        time limit stops, the headers go if they have not, and the transport
        finishes. A fatal error, exit or abort in one step ends that step only."""
        if self._ended:
            return
        self._ended = True
        self._shutdown_frame = sys._getframe()
        try:
            with self._zend_try():
                self._call_shutdown_functions()
            with self._zend_try():
                self._out.end_all()
            self._timer.stop()
            with self._zend_try():
                self._out.deactivate()
            if self._records is not None and not self._records.closed:
                self._records.close()
            if not self._finished_early:
                self.transport.finish()
        finally:
            self._timer.stop()
            self._out.deactivate()
            self._shutdown_frame = None

    @contextmanager
    def _zend_try(self) -> Iterator[None]:
        # zend_try around a shutdown step: a bailout ends the step; a timeout or an
        # exception nobody caught is first reported as the fatal error it is.
        try:
            yield
            self._raise_pending()
        except Bailout:
            pass
        except TimeLimitExceeded as timeout:
            self._timed_out(timeout.__traceback__)
        except OutputLocked:  # php_output_end_all() finds a handler still running (OUT-BAILOUT-1)
            self._fatal(f"PHP Request Shutdown: {_LOCKED}", ("Unknown", 0), escape=True)
        except Exception as exception:
            self._uncaught(exception, exception.__traceback__)

    @calls_script
    def _call_shutdown_functions(self) -> None:
        # php_call_shutdown_functions(): in order, including ones registered meanwhile
        functions = self._shutdown_functions
        index = 0
        while index < len(functions):
            callback, args = functions[index]
            index += 1
            callback(*args)

    def _fatal(self, message: str, location: tuple[str, int], *, escape: bool = False) -> None:
        try:
            self._error(C.E_ERROR, message, location, docref=escape)
        except Bailout:
            pass

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
            return
        if isinstance(exception, Exit):
            raise exception
        self._uncaught(exception, exception.__traceback__)
        raise Bailout(self.exit_status)

    def _uncaught(self, exception: BaseException, tb: TracebackType | None) -> None:
        # zend_exception_error(): "Uncaught ..." as a fatal error (DIAG-UNCAUGHT-1)
        message, file, line = uncaught_error(exception, tb)
        self._fatal(message, (file, line), escape=True)

    def _timed_out(self, tb: TracebackType | None) -> None:
        # zend_timeout(): the TIMEOUT bit, then the fatal error where the script was (TIME-FATAL-1)
        self._status |= C.CONNECTION_TIMEOUT
        location = ("Unknown", 0)
        while tb is not None:
            if not is_phprt(tb.tb_frame):
                location = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
            tb = tb.tb_next
        seconds = self._timeout_seconds
        self._fatal(f"Maximum execution time of {seconds} second{'' if seconds == 1 else 's'} exceeded", location)

    def _time_up(self) -> bool:
        # The watchdog's call when the limit expires: stop the script where it is.
        if not self._timer.interrupt():
            return False
        self._arm_hard_timeout()
        return True

    def _arm_hard_timeout(self) -> None:
        # What runs after a timeout gets hard_timeout seconds (TIME-HARD-1).
        hard = leading_int(self._ini_str("hard_timeout"))
        self._timer.start(hard)

    def _wait(self, seconds: float) -> None:
        # Sleeping: the watchdog leaves a thread in phprt's code alone, so a wall-clock
        # limit that expires meanwhile is raised here, when it expires (TIME-WALL-1).
        left = self._timer.remaining() if self._timer.clock == "wall" else None
        if left is None or left > seconds:
            time.sleep(seconds)
            return
        time.sleep(max(left, 0.0))
        self._arm_hard_timeout()
        raise TimeLimitExceeded

    # -- the output layer's connection to the transport -------------------------------------

    def _output_header(self) -> bool:
        # php_output_header(): note where output started, then send the headers;
        # False (no body may follow) for a HEAD request.
        if self._headers.sent:
            return True
        if self._output_start is None:
            frame = script_frame(self._shutdown_frame)
            if frame is not None:
                self._output_start = (frame.f_code.co_filename, frame.f_lineno)
        self._send_headers()
        return not self._headers_only

    def _send_headers(self) -> None:
        # sapi_send_headers() (HDR-SEND-1): the default Content-type, the header
        # callback, then the head goes to the transport.
        queue = self._headers
        if queue.sent:
            return
        queue.add_default_content_type()
        callback, self._header_callback = self._header_callback, None
        if callback is not None and self._pending is None:  # not called while an exception waits
            try:
                callback()
            except (Exception, Exit) as exception:  # LIFE-CALLBACK-1, LIFE-CALLBACK-2
                self._throw(exception)
        queue.sent = True
        date = email.utils.formatdate(usegmt=True)
        head = head_for(self.sapi.name, queue, self._received, date, self.charset)
        if self._records is None:
            self.transport.send_headers(head)
            return
        block = head.block()  # PHP-FPM writes the head into its records, as output
        self._unsent_head, self._head_left = head, len(block)
        if not self._records.write(STDOUT, block):
            self._aborted()

    def _redirect_code(self) -> int:
        # A Location answers 303 to an HTTP/1.1 non-GET request where the SAPI
        # reports the protocol, else 302 (HDR-LOCATION-1).
        protocol = self.server.get("SERVER_PROTOCOL", "")
        method = self.server.get("REQUEST_METHOD")
        newer = protocol[:5].upper() == "HTTP/" and protocol[5:] > "1.0"
        return 303 if self.sapi.reports_protocol and newer and method not in (None, "GET", "HEAD") else 302

    def _emit(self, data: bytes) -> None:
        # sapi_module.ub_write, then sapi_flush() under implicit flush; a write
        # that finds the client gone is PHP's aborted connection (CONN-ABORT-1).
        self._output_sent = True
        if self._finished_early and self._records is None:
            return  # the response is complete: output goes nowhere (DEV-FINISH-1)
        if self._records is not None:
            delivered = self._records.write(STDOUT, data)
        else:
            delivered = self.transport.write(data)
        if not delivered:
            self._aborted()
        if self._implicit_flush:
            self._sapi_flush()

    def _sapi_flush(self) -> None:
        # sapi_flush(): the SAPI's flush, which notices a client gone where the SAPI does (SAPI-ABORT-1)
        if self._finished_early and self._records is None:
            return
        if self._records is not None:
            delivered = self._records.flush()
        else:
            delivered = self.transport.flush()
        if not delivered and self.sapi.flush_detects_abort:
            self._aborted()

    def _deliver(self, pieces: list[tuple[int, bytes]]) -> bool:
        # PHP-FPM's socket write of its buffered records (SAPI-FPM-1): the head
        # once its bytes leave, then body and log bytes in order.
        delivered = True
        body = bytearray()
        for kind, data in pieces:
            if kind == STDERR:
                delivered = (not body or self.transport.write(bytes(body))) and delivered
                body.clear()
                self.transport.write_stderr(data)
                continue
            if self._unsent_head is not None:
                self.transport.send_headers(self._unsent_head)
                self._unsent_head = None
            if self._head_left:
                taken = min(self._head_left, len(data))
                self._head_left -= taken
                data = data[taken:]
            body += data
        if not body:  # a write of record headers alone still meets a closed socket
            return self.transport.flush() and delivered
        delivered = self.transport.write(bytes(body)) and delivered
        self.transport.flush()
        return delivered

    def _aborted(self) -> None:
        # php_handle_aborted_connection(): ABORTED, all later output dropped, and
        # the script stopped unless user aborts are ignored (CONN-ABORT-1).
        self._status = C.CONNECTION_ABORTED
        if self.sapi.abort_exit_status is not None:
            self.exit_status = self.sapi.abort_exit_status
        self._out.disabled = True
        if not self._ini_flag("ignore_user_abort"):
            raise Bailout(self.exit_status)

    def _bind_echo(self) -> None:
        # The fast path (PERF-ECHO-1): while the top buffer has no chunk size and no
        # handler runs, echo of a str is an append to that buffer's chunk list.
        out = self._out
        top = out.active
        if top is None or top.chunk_size or top.flags & C.PHP_OUTPUT_HANDLER_DISABLED or out.running is not None:
            self.__dict__.pop("echo", None)
            return
        echo_values = Runtime.echo.__get__(self)
        if _c_echo_into is not None:
            self.echo = _c_echo_into(top.chunks, echo_values)  # type: ignore[method-assign]
            return
        append = top.chunks.append

        def echo(arg: Any, *more: Any) -> None:
            if arg.__class__ is str and not more:
                append(arg)
            else:
                echo_values(arg, *more)

        echo.__doc__ = Runtime.echo.__doc__
        self.echo = echo  # type: ignore[method-assign]

    # -- echo and print -------------------------------------------------------------------

    def echo(self, arg: Any, *more: Any) -> None:
        """PHP's ``echo``: write each argument, converted as PHP converts it (OUT-ECHO-1)."""
        self._write_value(arg)
        for value in more:
            self._write_value(value)

    def print(self, arg: Any) -> int:
        """PHP's ``print``: write one argument; returns 1 (OUT-ECHO-2)."""
        self._write_value(arg)
        return 1

    def _write_value(self, value: Any) -> None:
        text = to_php_text(value, self._precision(), self._array_to_string)
        if text:
            self._out.write(text)
            self._raise_pending()

    def _precision(self) -> int:
        return leading_int(self._ini_str("precision"))

    def _array_to_string(self) -> None:
        self._error(C.E_WARNING, "Array to string conversion")

    # -- output control -------------------------------------------------------------------

    @_userland
    def ob_start(self, callback: Any = None, chunk_size: Any = 0, flags: Any = C.PHP_OUTPUT_HANDLER_STDFLAGS) -> bool:
        """Push an output buffer, optionally with a handler callback (OUT-START-*)."""
        chunk_size = max(self._int_arg("ob_start", 2, "chunk_size", chunk_size), 0)
        flags = self._int_arg("ob_start", 3, "flags", flags)
        flags = c_int(flags)  # PHP stores the flags in a C int
        if callback is None:
            handler = default_handler(chunk_size, flags)
        elif _is_gzhandler(callback):
            handler = self._zlib_handler("ob_gzhandler", chunk_size, flags)
            if self._zlib_conflict("ob_gzhandler", "ob_start(): "):
                self._error(C.E_NOTICE, "ob_start(): Failed to create buffer", docref=True)
                return False
        else:
            try:
                resolved = resolve_callable(callback, _caller_scope())
            except InvalidCallable as invalid:
                self._error(C.E_WARNING, f"ob_start(): {invalid}", docref=True)
                self._error(C.E_NOTICE, "ob_start(): Failed to create buffer", docref=True)
                return False
            handler = self._user_handler(resolved, chunk_size, flags)
        self._out.start(handler)
        return True

    def _user_handler(self, callback: PhpCallable, chunk_size: int, flags: int) -> OutputHandler:
        def function(buffer: bytes, phase: int) -> bytes | None:
            # PHP's user handler call (OUT-CALLBACK-*): false, an exception, exit or an
            # unusable result is a failure; true and null mean no output. A fatal error
            # or the time limit is a bailout and leaves the call (OUT-BAILOUT-1).
            if self._pending is not None:
                return None
            try:
                result = callback(buffer.decode(self.charset, "surrogateescape"), phase)
                if result is False:
                    return None
                if result is True:
                    return b""
                text = to_php_text(result, self._precision(), self._array_to_string)
            except (Exception, Exit) as exception:
                self._throw(exception)
                return None if not isinstance(exception, PhpError) else b""
            return text if text.__class__ is bytes else text.encode(self.charset, PHP_BYTES)  # type: ignore[union-attr]

        return OutputHandler(callback.name, function, (flags & ~0xF) | 1, chunk_size)

    def _raise_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            raise pending

    @_userland
    def ob_flush(self) -> bool:
        """Pass the top buffer through its handler into the one below (OUT-FLUSH-*)."""
        if self._out.active is None:
            return self._notice_false("ob_flush(): Failed to flush buffer. No buffer to flush")
        if not self._out.flush():
            return self._notice_false(f"ob_flush(): Failed to flush buffer of {self._top_label()}")
        return True

    @_userland
    def ob_clean(self) -> bool:
        """Discard the top buffer's contents (OUT-CLEAN-*)."""
        if self._out.active is None:
            return self._notice_false("ob_clean(): Failed to delete buffer. No buffer to delete")
        if not self._out.clean():
            return self._notice_false(f"ob_clean(): Failed to delete buffer of {self._top_label()}")
        return True

    @_userland
    def ob_end_flush(self) -> bool:
        """Flush the top buffer and remove it (OUT-END-FLUSH-*)."""
        if self._out.active is None:
            return self._notice_false("ob_end_flush(): Failed to delete and flush buffer. No buffer to delete or flush")
        return self._pop("ob_end_flush", discard=False)

    @_userland
    def ob_end_clean(self) -> bool:
        """Discard the top buffer and remove it (OUT-END-CLEAN-*)."""
        if self._out.active is None:
            return self._notice_false("ob_end_clean(): Failed to delete buffer. No buffer to delete")
        return self._pop("ob_end_clean", discard=True)

    @_userland
    def ob_get_clean(self) -> str | bool:
        """Return the top buffer's contents, discard it and remove it (OUT-GET-CLEAN-*)."""
        if self._out.active is None:
            return False
        contents = self._contents()
        if not self._pop("ob_get_clean", discard=True):
            self._error(C.E_NOTICE, f"ob_get_clean(): Failed to delete buffer of {self._top_label()}", docref=True)
        return contents

    @_userland
    def ob_get_flush(self) -> str | bool:
        """Return the top buffer's contents, flush it and remove it (OUT-GET-FLUSH-*)."""
        if self._out.active is None:
            return self._notice_false("ob_get_flush(): Failed to delete and flush buffer. No buffer to delete or flush")
        contents = self._contents()
        if not self._pop("ob_get_flush", discard=False):
            self._error(C.E_NOTICE, f"ob_get_flush(): Failed to delete buffer of {self._top_label()}", docref=True)
        return contents

    def _pop(self, function: str, *, discard: bool) -> bool:
        if self._out.pop(discard=discard):
            return True
        verb = "discard" if discard else "send"
        return self._notice_false(f"{function}(): Failed to {verb} buffer of {self._top_label()}")

    def _top_label(self) -> str:
        top = self._out.active
        return f"{top.name} ({top.level})"  # type: ignore[union-attr]

    def _notice_false(self, message: str) -> bool:
        self._error(C.E_NOTICE, message, docref=True)
        return False

    def _contents(self) -> str:
        return self._out.active.contents().decode(self.charset, "surrogateescape")  # type: ignore[union-attr]

    def ob_get_contents(self) -> str | bool:
        """The top buffer's contents, or False without a buffer (OUT-GET-CONTENTS-1)."""
        return False if self._out.active is None else self._contents()

    def ob_get_length(self) -> int | bool:
        """The top buffer's length in bytes, or False without a buffer (OUT-GET-LENGTH-1)."""
        top = self._out.active
        return False if top is None else top.buffer_used

    def ob_get_level(self) -> int:
        """The number of output buffers (OUT-LEVEL-1)."""
        return self._out.level

    def ob_get_status(self, full_status: Any = False) -> dict[str, Any] | list[dict[str, Any]]:
        """The top handler's status array, or with ``full_status`` every handler's,
        bottom first (OUT-STATUS-*). Without buffers: {} (PHP's empty array), or []."""
        full = self._bool_arg("ob_get_status", 1, "full_status", full_status)
        if full:
            return [handler.status() for handler in self._out.handlers]
        top = self._out.active
        return {} if top is None else top.status()

    def ob_list_handlers(self) -> list[str]:
        """The names of the handlers, bottom first (OUT-LIST-1)."""
        return [handler.name for handler in self._out.handlers]

    def ob_implicit_flush(self, enable: Any = True) -> None:
        """Flush the transport after every output that reaches it (OUT-IMPLICIT-1)."""
        self._implicit_flush = self._bool_arg("ob_implicit_flush", 1, "enable", enable)

    def flush(self) -> None:
        """PHP's flush(): flush the transport; output buffers are untouched (OUT-FLUSH-SAPI-1).
        The built-in server's flush sends the headers first (HDR-SENT-1)."""
        if self.sapi.flush_sends_headers:
            self._send_headers()
            self._raise_pending()  # what the header callback threw (LIFE-CALLBACK-1)
        self._sapi_flush()

    @_userland
    def output_add_rewrite_var(self, name: Any, value: Any) -> bool:
        """Add a variable for the URL rewriter; the first call starts its
        "URL-Rewriter" handler (OUT-REWRITE-1)."""
        name = self._string_arg("output_add_rewrite_var", 1, "name", name)
        value = self._string_arg("output_add_rewrite_var", 2, "value", value)
        if self._rewriter is None:
            self._rewriter = UrlRewriter(self.ini_get, encoding=self.charset)  # type: ignore[arg-type]
            self._out.start(OutputHandler("URL-Rewriter", self._rewriter.handle, C.PHP_OUTPUT_HANDLER_STDFLAGS))
        self._rewriter.add(name, value)
        return True

    def output_reset_rewrite_vars(self) -> bool:
        """Forget the URL rewriter's variables; its handler stays (OUT-REWRITE-2)."""
        if self._rewriter is not None:
            self._rewriter.reset()
        return True

    # -- headers ---------------------------------------------------------------------------

    def header(self, header: Any, replace: Any = True, response_code: Any = 0) -> None:
        """Queue a raw header line; ``HTTP/...``, Location, WWW-Authenticate and
        Content-Type have PHP's special meanings (HDR-HEADER-*)."""
        line = self._string_arg("header", 1, "header", header)
        replace = self._bool_arg("header", 2, "replace", replace)
        code = c_int(self._int_arg("header", 3, "response_code", response_code))
        self._add_header(line, replace, code)

    def _add_header(self, line: str, replace: bool, code: int = 0) -> bool:
        # sapi_header_op(ADD or REPLACE), for header() and for PHP's own headers:
        # False once the headers are gone; PHP's warning when refused.
        if self._headers_sent_warning():
            return False
        try:
            self._headers.header(line, replace, code)
        except HeaderError as refused:
            self._error(C.E_WARNING, str(refused))
        return True

    def _headers_sent_warning(self) -> bool:
        # sapi_header_op() once the headers are gone: PHP's warning, nothing changes (HDR-SENT-2).
        if not self._headers.sent:
            return False
        message = "Cannot modify header information - headers already sent"
        if self._output_start is not None:
            message += " by (output started at {}:{})".format(*self._output_start)
        self._error(C.E_WARNING, message)
        return True

    def header_remove(self, name: Any = None) -> None:
        """Remove the headers named ``name`` (case-insensitively), or all of them (HDR-REMOVE-*)."""
        if name is not None:
            name = self._string_arg("header_remove", 1, "name", name)
        if self._headers_sent_warning():
            return
        if name is None:
            self._headers.lines.clear()
            return
        try:
            self._headers.delete(name)
        except HeaderError as refused:
            self._error(C.E_WARNING, str(refused))

    def headers_list(self) -> list[str]:
        """The queued header lines, in order; always [] under the CLI (HDR-LIST-1)."""
        return list(self._headers.lines)

    def headers_sent(self, file: Ref | None = None, line: Ref | None = None) -> bool:
        """Whether the headers have gone; ``file`` and ``line`` (``Ref``s, PHP's
        by-reference arguments) receive where output started, "" and 0 if no
        output sent them (HDR-SENT-3)."""
        sent = self._headers.sent
        where = self._output_start if sent and self._output_start else ("", 0)
        if file is not None:
            file.value = where[0]
        if line is not None:
            line.value = where[1]
        return sent

    def http_response_code(self, response_code: Any = 0) -> int | bool:
        """The response code, or False when none is set; with a code, set it and
        return the previous one, or True when there was none (HDR-CODE-*)."""
        code = c_int(self._int_arg("http_response_code", 1, "response_code", response_code))
        queue = self._headers
        if code:
            old, queue.response_code = queue.response_code, code  # the status line stays (GH-18582)
            return old or True
        return queue.response_code or False

    def header_register_callback(self, callback: Any) -> bool:
        """Call ``callback`` just before the headers are sent; the last one
        registered wins, and none is kept once they have gone (HDR-CALLBACK-*)."""
        try:
            resolved = resolve_callable(callback, _caller_scope())
        except InvalidCallable as invalid:
            raise TypeError(f"header_register_callback(): Argument #1 ($callback) must be a valid callback, {invalid}") from None
        self._header_callback = None if self._headers.sent else resolved
        return True

    def setcookie(self, name: Any, value: Any = _UNSET, expires_or_options: Any = 0, path: Any = _UNSET,
                  domain: Any = _UNSET, secure: Any = False, httponly: Any = False) -> bool:
        """Queue a Set-Cookie header with the value URL-encoded (COOKIE-*)."""
        return self._cookie("setcookie", True, name, value, expires_or_options, path, domain, secure, httponly)

    def setrawcookie(self, name: Any, value: Any = _UNSET, expires_or_options: Any = 0, path: Any = _UNSET,
                     domain: Any = _UNSET, secure: Any = False, httponly: Any = False) -> bool:
        """Queue a Set-Cookie header with the value as given (COOKIE-*)."""
        return self._cookie("setrawcookie", False, name, value, expires_or_options, path, domain, secure, httponly)

    def _cookie(self, function: str, url_encode: bool, name: Any, value: Any, expires_or_options: Any,
                path: Any, domain: Any, secure: Any, httponly: Any) -> bool:
        name = self._string_arg(function, 1, "name", name)
        value = None if value is _UNSET else self._string_arg(function, 2, "value", value)
        if isinstance(expires_or_options, (dict, list)):
            if path is not _UNSET or domain is not _UNSET or secure is not False or httponly is not False:
                raise ArgumentCountError(
                    f"{function}(): Expects exactly 3 arguments when argument #3 ($expires_or_options) is an array")
            options = expires_or_options if isinstance(expires_or_options, dict) else dict(enumerate(expires_or_options))
            parsed = parse_options(function, options, self._expires_value, self._php_string)
        else:
            parsed = {"expires": self._int_arg(function, 3, "expires_or_options", expires_or_options, "array|int")}
            if path is not _UNSET:
                parsed["path"] = self._string_arg(function, 4, "path", path)
            if domain is not _UNSET:
                parsed["domain"] = self._string_arg(function, 5, "domain", domain)
            parsed["secure"] = self._bool_arg(function, 6, "secure", secure)
            parsed["httponly"] = self._bool_arg(function, 7, "httponly", httponly)
        line = cookie_line(function, name, value, parsed, url_encode=url_encode, encoding=self.charset, now=int(time.time()))
        return self._add_header(line, False)

    def _expires_value(self, value: Any) -> int:
        # zval_get_long(): no diagnostics, 0 for what is not a number
        if isinstance(value, str):
            return leading_int(value)
        return int(value) if isinstance(value, (int, float)) else int(bool(value))

    def _php_string(self, value: Any) -> str:
        # zval_get_string(): PHP's string conversion, as a str
        text = to_php_text(value, self._precision(), self._array_to_string)
        return text if isinstance(text, str) else text.decode(self.charset, "surrogateescape")

    # -- zlib output compression -----------------------------------------------------------

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
            self._gzhandler_context = DeflateContext(encoding, self._zlib_level())
        out = self._gzhandler_context.process(flags, text.encode(self.charset, PHP_BYTES))
        if out is None:
            self._gzhandler_context = None
            return False
        return out

    def _zlib_encoding(self) -> int:
        # php_zlib_output_encoding(): gzip or deflate, from $_SERVER['HTTP_ACCEPT_ENCODING']
        if not self._zlib_coding:
            self._zlib_coding = output_encoding(self.server.get("HTTP_ACCEPT_ENCODING"))
        return self._zlib_coding

    def _add_encoding_headers(self, encoding: int) -> None:
        # Content-Encoding replaces one already queued; Vary is appended (OUT-GZIP-4).
        self._add_header(f"Content-Encoding: {'gzip' if encoding == GZIP else 'deflate'}", True)
        self._add_header("Vary: Accept-Encoding", False)

    def _zlib_level(self) -> int:
        return leading_int(self._ini_str("zlib.output_compression_level"))

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
                context = DeflateContext(encoding, self._zlib_level())
            out = None if context is None else context.process(op, buffer)
            if out is None:
                return None
            clean, final = op & C.PHP_OUTPUT_HANDLER_CLEAN, op & C.PHP_OUTPUT_HANDLER_FINAL
            first_output = not clean or (op & C.PHP_OUTPUT_HANDLER_START and not final)
            if first_output and not handler.flags & C.PHP_OUTPUT_HANDLER_STARTED:
                if self._headers.sent or not self._zlib_compression:
                    return None
                self._add_encoding_headers(encoding)
                handler.flags &= ~(C.PHP_OUTPUT_HANDLER_CLEANABLE | C.PHP_OUTPUT_HANDLER_REMOVABLE)
            return out

        handler.function = compress
        return handler

    def _zlib_conflict(self, name: str, prefix: str) -> bool:
        # php_zlib_output_conflict_check(): each of these handlers may run once (OUT-GZIP-5).
        if self._out.level:
            for started in ("zlib output compression", "ob_gzhandler", "mb_output_handler", "URL-Rewriter"):
                if self._handler_started(started):
                    problem = "cannot be used twice" if name == started else f"conflicts with '{started}'"
                    self._error(C.E_WARNING, f"{prefix}Output handler '{name}' {problem}", docref=True)
                    return True
        return False

    def _handler_started(self, name: str) -> bool:
        return any(handler.name == name for handler in self._out.handlers)

    def _start_zlib_compression(self, *, startup: bool = False) -> None:
        # php_zlib_output_compression_start(): only when the request accepts an encoding (OUT-GZIP-6).
        if self._zlib_compression == 1:
            self._zlib_compression = 0x4000
        if not self._zlib_compression or not self._zlib_encoding():
            return
        name = "zlib output compression"
        handler = self._zlib_handler(name, self._zlib_compression, C.PHP_OUTPUT_HANDLER_STDFLAGS)
        prefix, location = ("PHP Request Startup: ", ("Unknown", 0)) if startup else ("ini_set(): ", None)
        if self._zlib_conflict(name, prefix):
            return
        self._out.start(handler)
        user_handler = self._ini_str("zlib.output_handler")
        if user_handler:
            try:
                callback = resolve_callable(user_handler, _caller_scope())
            except InvalidCallable as invalid:
                self._error(C.E_WARNING, f"{prefix}{invalid}", location, docref=True)
            else:
                self._out.start(self._user_handler(callback, self._zlib_compression, C.PHP_OUTPUT_HANDLER_STDFLAGS))

    def _update_zlib_compression(self, value: str) -> bool:
        # OnUpdate_zlib_output_compression (OUT-GZIP-6)
        if self._refused_after_output("zlib.output_compression"):
            return False
        self._zlib_compression = _zlib_setting(value)
        if self._started and self._zlib_compression and not self._handler_started("zlib output compression"):
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

    # -- the script's lifecycle -------------------------------------------------------------

    def register_shutdown_function(self, callback: Any, *args: Any) -> None:
        """Call ``callback(*args)`` when the request ends, in registration order
        (LIFE-SHUTDOWN-1)."""
        try:
            resolved = resolve_callable(callback, _caller_scope())
        except InvalidCallable as invalid:
            message = f"register_shutdown_function(): Argument #1 ($callback) must be a valid callback, {invalid}"
            raise TypeError(message) from None
        self._shutdown_functions.append((resolved, args))

    def exit(self, status: Any = None) -> NoReturn:
        """PHP's ``exit``/``die``: an int is the exit status, anything else is
        printed; then the request ends (LIFE-EXIT-1)."""
        if isinstance(status, int) and not isinstance(status, bool):
            self.exit_status = status & 0xFF
        elif status is not None:
            self._write_value(status)
        raise Exit(self.exit_status)

    die = exit

    def connection_status(self) -> int:
        """The connection status bits: CONNECTION_ABORTED, CONNECTION_TIMEOUT (CONN-STATUS-1)."""
        return self._status

    def connection_aborted(self) -> int:
        """1 once the client is known to be gone, else 0 (CONN-STATUS-1)."""
        return self._status & C.CONNECTION_ABORTED

    def ignore_user_abort(self, enable: Any = None) -> int:
        """Whether a client abort stops the script; returns the previous setting
        as 0 or 1, and sets it unless ``enable`` is None (CONN-IGNORE-1)."""
        old = int(self._ini_flag("ignore_user_abort"))
        if enable is not None:
            enable = self._bool_arg("ignore_user_abort", 1, "enable", enable, "?bool")
            self._ini["ignore_user_abort"] = "1" if enable else "0"
        return old

    def set_time_limit(self, seconds: Any) -> bool:
        """Set max_execution_time and restart the count from zero (TIME-LIMIT-2)."""
        value = str(self._int_arg("set_time_limit", 1, "seconds", seconds))
        self._ini["max_execution_time"] = value
        self._update_timeout(value)
        return True

    def _update_timeout(self, value: str) -> bool:
        # OnUpdateTimeout: the leading integer; the count restarts
        self._timeout_seconds = leading_int(value)
        self._timer.start(self._timeout_seconds)
        return True

    def fastcgi_finish_request(self) -> bool:
        """PHP-FPM's: end every output buffer, send the headers and the output, and
        complete the response while the script goes on (FPM-FINISH-1). False when
        already done. On a transport that cannot end a response early, and under
        other profiles unless the transport offers it (phprt's network transports,
        DEV-FINISH-1), PHP has no such function."""
        if not self._has_finish_request():
            raise PhpError("Call to undefined function fastcgi_finish_request()")
        if self._finished_early:
            return False
        self._out.end_all()
        self._send_headers()
        if self._records is not None:
            self._records.close()
        else:
            self._sapi_flush()
        self._finished_early = True
        self.transport.finish()
        return True

    def _has_finish_request(self) -> bool:
        return self.transport.can_end_early and (self.sapi.fastcgi or self.transport.finish_request)

    def sleep(self, seconds: Any) -> int:
        """Sleep; returns 0. Sleeping does not count towards the CPU time limit (TIME-SLEEP-1)."""
        seconds = self._int_arg("sleep", 1, "seconds", seconds)
        if seconds < 0:
            raise ValueError("sleep(): Argument #1 ($seconds) must be greater than or equal to 0")
        self._wait(seconds)
        return 0

    def usleep(self, microseconds: Any) -> None:
        """Sleep for microseconds (TIME-SLEEP-1)."""
        microseconds = self._int_arg("usleep", 1, "microseconds", microseconds)
        if microseconds < 0:
            raise ValueError("usleep(): Argument #1 ($microseconds) must be greater than or equal to 0")
        self._wait(microseconds / 1e6)

    def function_exists(self, function: Any) -> bool:
        """Whether PHP would have the function here: one of the PHP functions this
        Runtime provides (fastcgi_finish_request only where it works), or a function
        of the script's (LIFE-EXISTS-1)."""
        name = self._string_arg("function_exists", 1, "function", function).lower().lstrip("\\")
        if name in FUNCTIONS:
            return name != "fastcgi_finish_request" or self._has_finish_request()
        return callable(_caller_scope().get(name))

    # -- ini -------------------------------------------------------------------------------

    def ini_get(self, option: str) -> str | bool:
        """The directive's value as a string, or False for one phprt does not know (INI-GET-1)."""
        if option not in self._ini:
            return False
        return self._ini_str(option)

    def _ini_str(self, name: str) -> str:
        return self._ini[name] or ""

    def _ini_flag(self, name: str) -> bool:
        return ini_bool(self._ini_str(name))

    def ini_set(self, option: str, value: Any) -> str | bool:
        """Set a directive changeable at run time; returns the old value, or False (INI-SET-1)."""
        directive = DIRECTIVES.get(option)
        if directive is None or not directive.modifiable & INI_USER:
            return False
        old, new = self._ini_str(option), ini_value(value)
        on_update = {
            "default_charset": lambda value: _header_safe(value, self.charset),
            "default_mimetype": lambda value: _header_safe(value, self.charset),
            "zlib.output_compression": self._update_zlib_compression,
            "zlib.output_handler": self._update_zlib_output_handler,
            "max_execution_time": self._update_timeout,
        }.get(option)
        if on_update is not None and not on_update(new):
            return False
        self._ini[option] = new
        return old

    # -- diagnostics -------------------------------------------------------------------------

    def trigger_error(self, message: str, error_level: int = C.E_USER_NOTICE) -> bool:
        """Raise a user-level diagnostic (DIAG-TRIGGER-1)."""
        if error_level not in _USER_LEVELS:
            raise ValueError(
                "trigger_error(): Argument #2 ($error_level) must be one of E_USER_ERROR,"
                " E_USER_WARNING, E_USER_NOTICE, or E_USER_DEPRECATED"
            )
        self._error(error_level, self._string_arg("trigger_error", 1, "message", message))
        return True

    user_error = trigger_error

    def set_error_handler(self, callback: Any, error_levels: int = C.E_ALL) -> Any:
        """Install a user error handler; returns the previous one (DIAG-HANDLER-1)."""
        resolved = None
        if callback is not None:
            try:
                resolved = resolve_callable(callback, _caller_scope())
            except InvalidCallable as invalid:
                message = f"set_error_handler(): Argument #1 ($callback) must be a valid callback or null, {invalid}"
                raise TypeError(message) from None
        previous = self._error_handlers[-1][0] if self._error_handlers else None
        self._error_handlers.append((callback, resolved, error_levels))
        return previous

    def restore_error_handler(self) -> bool:
        """Go back to the previous error handler (DIAG-HANDLER-2)."""
        if self._error_handlers:
            self._error_handlers.pop()
        return True

    def error_reporting(self, error_level: int | None = None) -> int:
        """The error_reporting mask; with an argument, set it and return the old one (DIAG-REPORTING-1)."""
        old = self._error_reporting()
        if error_level is not None:
            self._ini["error_reporting"] = str(self._int_arg("error_reporting", 1, "error_level", error_level))
        return old

    def _error_reporting(self) -> int:
        value = self._ini["error_reporting"]
        return C.E_ALL if value is None else leading_int(value)

    def error_get_last(self) -> dict[str, object] | None:
        """The last diagnostic as PHP's array, or None (DIAG-LAST-1)."""
        return None if self._last_error is None else self._last_error.as_array()

    def error_clear_last(self) -> None:
        """Forget the last diagnostic (DIAG-LAST-2)."""
        self._last_error = None

    def _error(self, level: int, message: str, location: tuple[str, int] | None = None, *, docref: bool = False) -> None:
        # zend_error(): a user handler first, then php_error_cb(). A ``docref`` message
        # (php_error_docref(), "function(): ...") is HTML-escaped under html_errors.
        if docref and self._ini_flag("html_errors"):
            message = escape_html(message)
        file, line = location or caller_location(self._shutdown_frame)
        diagnostic = Diagnostic(level, message, file, line)
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
        if self._records is not None and not destination:
            # PHP-FPM sends its log to the web server in the records (SAPI-FPM-2)
            if not self._records.closed:
                separator = "; " if self._fpm_logged else ""
                self._fpm_logged = True
                self._records.write(STDERR, f"{separator}PHP message: {message}".encode(self.charset, PHP_BYTES))
            return
        if destination:
            stamp = time.strftime("%d-%b-%Y %H:%M:%S UTC", time.gmtime())
            try:
                with open(destination, "a", encoding=self.charset, errors="surrogateescape") as log:
                    log.write(f"[{stamp}] {message}\n")
                return
            except OSError:
                pass
        self.transport.write_stderr(f"{message}\n".encode(self.charset, PHP_BYTES))

    # -- argument coercion (PHP's weak mode) ----------------------------------------------------

    def _int_arg(self, function: str, position: int, name: str, value: Any, type_name: str = "int") -> int:
        if isinstance(value, int):
            return int(value)
        if value is None:
            self._null_deprecated(function, position, name, type_name)
            return 0
        number = numeric_string(value) if isinstance(value, str) else value
        if isinstance(number, int):
            return number
        if not isinstance(number, float) or not -(2.0**63) <= number < 2.0**63:
            raise self._type_error(function, position, name, type_name, value)
        if number != int(number):
            shown = f'float-string "{value}"' if isinstance(value, str) else f"float {format_float(number, -1)}"
            self._error(C.E_DEPRECATED, f"Implicit conversion from {shown} to int loses precision")
        return int(number)

    def _bool_arg(self, function: str, position: int, name: str, value: Any, type_name: str = "bool") -> bool:
        if value is None:
            self._null_deprecated(function, position, name, "bool")
            return False
        if isinstance(value, str):
            return value not in ("", "0")
        if isinstance(value, (bool, int, float)):
            return bool(value)
        raise self._type_error(function, position, name, type_name, value)

    def _null_deprecated(self, function: str, position: int, name: str, type_name: str) -> None:
        message = f"{function}(): Passing null to parameter #{position} (${name}) of type {type_name} is deprecated"
        self._error(C.E_DEPRECATED, message)

    @staticmethod
    def _type_error(function: str, position: int, name: str, type_name: str, value: Any) -> TypeError:
        given = zval_type_name(value)
        return TypeError(f"{function}(): Argument #{position} (${name}) must be of type {type_name}, {given} given")

    def _string_arg(self, function: str, position: int, name: str, value: Any) -> str:
        if value is None:
            self._null_deprecated(function, position, name, "string")
            return ""
        if not is_stringable(value):
            raise self._type_error(function, position, name, "string", value)
        return self._php_string(value)
