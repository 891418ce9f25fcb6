"""The Runtime: one PHP request (RT-*).

The Runtime coordinates; PHP's functions live with their concerns, as mixins it is
composed of (engine/base.py lists them; spec/functions.md, generated from the
registry in engine/functions.py, says where each function is). Here: the request's
state, its start as ``php_request_startup()`` does when the ``with`` block is
entered, its end as ``php_request_shutdown()`` does when it is left, and the
connection of the output layer to the transport.
"""

from __future__ import annotations

import os
import sys
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ..http.functions import HeaderFunctions
from ..http.headers import HeaderQueue, head_for, http_date
from ..http.request import UploadedFile, request_variables
from ..output import handlers
from ..output.compression import ZlibFunctions
from ..output.dump import DumpFunctions
from ..output.functions import LOCKED, OutputFunctions
from ..output.passthru import FileOutputFunctions
from ..output.printf import PrintfFunctions
from ..output.stack import OutputLocked, OutputStack, default_handler
from ..session.functions import SessionFunctions
from ..transports.base import Transport
from ..transports.fpm import FpmRecords
from . import constants as C
from . import versions
from .args import ArgumentParsing
from .base import RuntimeBase, caller_scope
from .callables import InvalidCallable, resolve_callable
from .capture import capturing, release
from .error_functions import ErrorFunctions
from .error_log import ErrorLogFunctions
from .errors import Bailout, Exit, StartupFailed
from .frames import script_frame
from .functions import RegistryFunctions
from .ini import Configuration, IniSource, ini_integer
from .ini_files import load_configuration
from .ini_functions import IniFunctions
from .lifecycle import LifecycleFunctions
from .timelimit import ExecutionTimer, TimeLimitExceeded
from .values import PHP_BYTES
from .var_functions import SerializeFunctions

if TYPE_CHECKING:
    from .trace import Trace

__all__ = ["ACTIVE", "ECHO", "POWERED_BY", "Runtime"]

#: The Runtime whose ``with`` block the current thread or asyncio task is in (RT-ACTIVE-1).
ACTIVE: ContextVar[Runtime | None] = ContextVar("phprt_active_runtime", default=None)
#: The echo the active Runtime started its request with, which ``phprt.php``'s echo calls (PERF-CALL-5).
ECHO: ContextVar[Callable[..., None] | None] = ContextVar("phprt_echo", default=None)
#: The X-Powered-By value phprt sends where PHP sends "PHP/8.2.36" (DEV-POWERED-BY-1).
POWERED_BY = "PHP/8.2 (phprt)"
_POWERED_BY_LINE = f"X-Powered-By: {POWERED_BY}"


def _dropped(data: bytes) -> None:
    """Output that reaches no client (OUT-DIRECT-1)."""


def _head_sent() -> bool:
    """php_output_header() once the request has been disposed of: the head has gone."""
    return True


def _no_ini(name: str) -> str:
    """The header queue's ini once the request has been disposed of."""
    return ""


def _nothing() -> None:
    """Nothing to do once the request has been disposed of."""


class Runtime(
    OutputFunctions,
    DumpFunctions,
    FileOutputFunctions,
    PrintfFunctions,
    ZlibFunctions,
    HeaderFunctions,
    LifecycleFunctions,
    SessionFunctions,
    SerializeFunctions,
    ErrorLogFunctions,
    ErrorFunctions,
    IniFunctions,
    RegistryFunctions,
    ArgumentParsing,
    RuntimeBase,
):
    """One PHP request: its output layer, its ini settings, its diagnostics.

    ``Runtime(transport=MemoryTransport(), sapi="cli", ini={"output_buffering": "4096"})``
    -- ``sapi`` picks PHP's behaviour ("cli", "cgi", "fpm", "cli-server",
    "apache2handler"), ``transport`` where the response goes; any profile runs on
    any transport (RT-PROFILE-1). ``ini`` sets directives as php.ini or ``-d``
    would, before the request starts: a mapping, read as ``-d`` reads its values, or a
    ``Configuration`` already parsed (INI-CONFIG-1); ``ini_file`` is a php.ini read first,
    as ``php -c`` reads it: a file, a directory, "production" or "development" (CONF-API-1). ``charset`` encodes str output.
    ``capture_print=True`` makes Python's print() in the Runtime's thread or task
    PHP's echo (RT-CAPTURE-1). ``clock`` is what the time limit counts: the
    thread's CPU time, as PHP on Linux (TIME-CPU-1), or "wall" time, as PHP on
    Windows (TIME-WALL-1). ``trace=True`` (or a ``Trace``) records the lifecycle's
    events in ``rt.trace`` (TRACE-EVENT-1). PHP's functions are its methods (spec/functions.md).
    """

    def __init__(
        self,
        transport: Transport | None = None,
        sapi: str = "cli",
        ini: Mapping[str, Any] | Configuration | None = None,
        *,
        ini_file: str | os.PathLike[str] | IniSource | None = None,
        php_version: str = "8.2",
        charset: str = "utf-8",
        capture_print: bool = False,
        clock: str = "cpu",
        trace: Trace | bool | None = None,
    ) -> None:
        # ValueError for an unknown SAPI or a syntax error; ini_file as php -c (CONF-API-1)
        self.version = versions.profile(php_version)  # ValueError for a version not reproduced (VER-PROFILE-1)
        with versions.ini_parsing(self.version):  # E_ALL in the ini is the version's (VER-E-ALL-1)
            configuration = load_configuration(sapi, ini, ini_file)
        self.sapi = configuration.profile
        self.php_version = php_version
        self.charset = charset
        self.transport = transport if transport is not None else Transport()
        self._configuration = configuration
        self._ini = configuration.directive_values()  # any name is accepted; only known ones are directives (INI-UNKNOWN-1)
        self._after_response: list[bytes] = []  # php-cgi's module startup display, after the response
        self.diagnostics = []
        self._error_handlers = []
        self._shutdown_functions = []
        self.server = dict(self.transport.server)
        self._received = dict(self.server)  # the request as the SAPI holds it, whatever the script does to $_SERVER
        if self.sapi.name == "cgi" or self.sapi.fastcgi:  # only they change the ini per request (PERF-START-3)
            with versions.ini_parsing(self.version):
                self._request_ini()  # php-cgi's and PHP-FPM's per-request ini (CONF-SECTION-1)
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
        cli = self.sapi.name == "cli"
        self._headers_only = not cli and self.server.get("REQUEST_METHOD") == "HEAD"
        self._headers = HeaderQueue(self._ini_str, stores=not cli, response_code=0 if cli else 200,
                                    redirect_code=self._redirect_code, charset=charset)
        self._headers.on_content_length = self._content_length_set
        self._ended = False
        # Once the output layer is torn down, PHP writes to its process's stdout: the
        # response under the CLI and CGI, not the client's under the servers (OUT-DIRECT-1).
        direct = self._direct if self.sapi.name in ("cli", "cgi") else _dropped
        self._out = OutputStack(self._emit, self._output_header, charset, direct)
        self._bind_echo()  # echo's fast path, made once per request (PERF-ECHO-2)
        self._out.aligned_sizes = self.version.aligned_buffer_size  # VER-BUFFER-SIZE-1
        self._out.skip_disabled = self.version.disabled_handler_skipped  # VER-DISABLED-HANDLER-1
        self._capture_print = capture_print
        self._timer = ExecutionTimer(self._time_up, clock)
        #: Where output goes: the transport, behind PHP-FPM's record buffer under "fpm" (SAPI-FPM-1).
        self._sink = FpmRecords(self.transport, self._out.target, charset) if self.sapi.fastcgi else self.transport
        self._finished_early = False  # fastcgi_finish_request() ended the response
        # Read at every ob_* call, write and handler start: the instance's own, which Python reads
        # faster than a class default (PERF-OB-2)
        self._pending = self._made_handlers = None
        self._implicit_flush = self._output_sent = False
        self._fpm_logged = False  # PHP-FPM joins a request's log messages with "; "
        #: The lifecycle trace (``trace=True`` or a Trace), else None, which costs nothing (TRACE-OFF-1).
        self.trace = self._trace = None
        if trace:  # the trace module is loaded by the first traced Runtime (PERF-IMPORT-1)
            from .trace import Trace, attach

            self.trace = self._trace = attach(self, Trace() if trace is True else trace)

    # -- the request --------------------------------------------------------------------

    def __enter__(self) -> Runtime:
        self._entry_frame = sys._getframe(1)  # the frame running the request: where PHP's traces end
        try:
            self.startup()
        except Bailout:  # php_request_startup() failed: no script, only the shutdown (RT-STARTUP-2)
            self._starting = False
            self.exit_status = 1
            self.shutdown()
            self._entry_frame = None  # the request's frames go with it, as __exit__ lets them (PERF-RELEASE-1)
            raise StartupFailed() from None
        self._token: Token[Runtime | None] = ACTIVE.set(self)
        self._echo_token = ECHO.set(self.echo)
        if self._capture_print:
            self._capture = capturing(self.echo)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: TracebackType | None) -> bool:
        """End the request. A Bailout (exit, a fatal error, a client abort) and a
        timeout stop here; an uncaught exception is reported as PHP reports it and
        then continues on its way once the request has ended (DEV-UNCAUGHT-1)."""
        try:
            self._shutdown_frame = sys._getframe()  # the script has ended: no PHP code runs (DIAG-UNCAUGHT-1)
            handled = False  # by the user exception handler (DIAG-EXCEPTION-HANDLER-2)
            if isinstance(exc, TimeLimitExceeded):
                self._timed_out(tb)
            elif isinstance(exc, Exception):
                handled = self._script_exception(exc, tb)
            elif self._pending is not None:  # a bailout left EG(exception): php_execute_script() (DIAG-UNCAUGHT-3)
                pending, self._pending = self._pending, None
                if not isinstance(pending, Exit):
                    self._uncaught(pending, pending.__traceback__)
            self.shutdown()
        finally:
            if self._capture_print:
                release(self._capture)
            ECHO.reset(self._echo_token)
            ACTIVE.reset(self._token)
            self._entry_frame = None  # the request's frames go with it (PERF-RELEASE-1)
        return handled or isinstance(exc, (Bailout, TimeLimitExceeded))

    def dispose(self) -> None:
        """Let an ended request go, for a server that made its Runtime and is done with it:
        the parts that call back into the Runtime (the output layer's sink, the header
        queue's ini, the time limit, the echo fast path, the handlers ob_start() remembered,
        the URL rewriter, the session's save module, the shutdown functions that ran) are
        cut loose, so that it is freed as soon as its last holder lets go, not by the cycle
        collector (PERF-RELEASE-1), and the script file's namespace is emptied, as PHP's
        symbol table ends (PERF-RELEASE-2). What
        the request left stays readable -- its status, diagnostics, headers, exit status --
        and output written afterwards goes nowhere."""
        if not self._ended:
            raise RuntimeError("dispose() ends nothing: the request has not ended")
        out = self._out
        out._emit = out._direct = _dropped
        out._header = _head_sent
        out.collector = out.target[0] = out.target[1] = None
        self._headers._ini = _no_ini
        self._headers._redirect_code = 302
        self._headers.on_content_length = _nothing
        self._timer.disown()
        self._made_handlers = None  # ob_start()'s handlers remembered: each calls back into the Runtime
        self._rewriter = None  # the URL rewriter reads the Runtime's ini
        self._shutdown_functions.clear()  # they have run; the session's own is a method of the Runtime
        self._session_module = self._session_user = None  # its save module warns through the Runtime
        self.__dict__.pop("echo", None)
        namespace = self._globals
        if namespace is not None:  # the request's globals end with it, as PHP's symbol table (PERF-RELEASE-2)
            self._globals = None
            namespace.clear()
            del namespace
        lane = self._lane
        if lane is not None:  # its classes are bound again by a later request, if nothing outlived this one (PERF-CLASS-1)
            self._lane = None
            lane.release()

    def startup(self) -> None:
        """Start the request as php_request_startup() does (RT-STARTUP-1): the
        ``output_handler`` or else the ``output_buffering`` layer, or else
        ``implicit_flush``."""
        if self._started:
            raise RuntimeError("this Runtime has already started; use a new Runtime per request")
        self._started = True
        if self._trace is not None:
            self._trace.request_start(self)
        self._module_startup()
        if self._headers.stores and self._ini_flag("expose_php"):  # sapi_add_header() into an empty queue
            if self._trace is None:
                self._headers.lines.append(_POWERED_BY_LINE)  # what header() would do (PERF-START-3)
            else:
                self._headers.header(_POWERED_BY_LINE)  # seen by the trace
        self._starting = True
        warnings: list[tuple[int, str]] = []
        if self.sapi.name != "cli":  # the CLI has no request to parse
            variables = request_variables(self.server, self.transport.input, self._ini.get, encoding=self.charset,
                                          whole_body=self.sapi.reads_whole_body)
            self.get, self.post, self.cookie = variables.get, variables.post, variables.cookie
            self.files, self.request, self.input = variables.files, variables.request, variables.input
            self.uploads = variables.uploads
            warnings = variables.diagnostics
            if warnings:  # none to give: no slicing (PERF-START-4)
                self._startup_warnings(warnings[: variables.early_diagnostics])  # sapi_activate(): reading the body
                del warnings[: variables.early_diagnostics]
        handler_name = self._ini["output_handler"]
        buffering = ini_integer("output_buffering", self._ini_str("output_buffering"))  # a quantity (INI-DIRECTIVE-1)
        internal = handlers.alias(handler_name) if handler_name else None
        if handler_name and internal is not None:  # output_handler=ob_gzhandler
            self._start_handler(internal(self, handler_name, 0, C.PHP_OUTPUT_HANDLER_STDFLAGS), "PHP Request Startup: ")
        elif handler_name:
            try:
                callback = resolve_callable(handler_name, caller_scope())
            except InvalidCallable as invalid:
                self._error(C.E_WARNING, f"PHP Request Startup: {invalid}", location=("Unknown", 0), docref=True)
            else:
                self._out.start(self._user_handler(callback, 0, C.PHP_OUTPUT_HANDLER_STDFLAGS))
        elif buffering:
            self._out.start(default_handler(buffering if buffering > 1 else 0))
        elif self._ini_flag("implicit_flush"):
            self._implicit_flush = True
        if not self._zlib_registered:  # zlib's RINIT: unless output_handler started ob_gzhandler
            self._zlib_compression = ini_integer("zlib.output_compression", self._ini_str("zlib.output_compression"))
            if self._zlib_compression:
                self._start_zlib_compression(startup=True)
        if warnings:
            self._startup_warnings(warnings)  # php_hash_environment(): parsing the variables
        self._starting = False
        self._timer.bind()
        self._update_timeout(self._ini_str("max_execution_time"))
        if self._trace is not None:
            self._trace.enter("script")

    def _module_startup(self) -> None:
        # php_module_startup()'s warnings for this ini, where php and php-cgi give them
        # (INI-STARTUP-1): logged now; displayed before anything under php, after the whole
        # response under php-cgi, whose stdio buffer holds them. A server gives them once when
        # it starts, not in a request; a Configuration it made carries none.
        self._ini_file_errors()
        if self.sapi.name not in ("cli", "cgi"):
            return
        for warning in self._configuration.startup:
            if warning.log is not None:
                self._log_to(warning.log, warning.error_log)
            if warning.display is None:
                continue
            data = warning.display.encode(self.charset, PHP_BYTES)
            if warning.display_to_stderr:
                self.transport.write_stderr(data)
            elif self.sapi.name == "cli":
                self.transport.write(data)
            else:
                self._after_response.append(data)

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
        if self.sapi.untyped_304 and self._headers.response_code == 304:  # php_cli_server_dispatch() (HDR-SERVER-2)
            self._headers.send_default_content_type = False
        trace = self._trace
        try:  # each step in zend_try: try/except with _zend_catch(), no context manager's calls (PERF-START-3)
            if trace is not None:
                trace.enter("shutdown functions")
            try:
                self._call_shutdown_functions()
                if self._pending is not None:  # _raise_pending(), called only with one (PERF-START-4)
                    self._raise_pending()
            except (Bailout, TimeLimitExceeded, Exception) as caught:
                self._zend_catch(caught)
            if trace is not None:
                trace.enter("output layer ends")
            try:
                self._out.end_all()
                if self._pending is not None:
                    self._raise_pending()
            except (Bailout, TimeLimitExceeded, Exception) as caught:
                self._zend_catch(caught)
            self._timer.stop()
            try:
                self._session_request_end()  # the session's RSHUTDOWN: written, lock released (SESS-END-1)
                if self._pending is not None:
                    self._raise_pending()
            except (Bailout, TimeLimitExceeded, Exception) as caught:
                self._zend_catch(caught)
            if trace is not None:
                trace.enter("headers and output off")
            try:
                self._out.deactivate()
                if self._pending is not None:
                    self._raise_pending()
            except (Bailout, TimeLimitExceeded, Exception) as caught:
                self._zend_catch(caught)
            if not self._finished_early:
                self._sink.finish()
            for data in self._after_response:
                self.transport.write(data)
            if trace is not None:
                trace.request_end(self)
        finally:
            self._timer.stop()  # whatever a step armed: a hard timeout, a header callback's set_time_limit()
            self._session_rshutdown()  # never a session lock left held (SESS-END-1)
            if self._out.activated:  # deactivate() does nothing otherwise (PERF-START-4)
                self._out.deactivate(header=False)  # a bailout in step 6 leaves the head unsent (LIFE-CALLBACK-5)
            self._shutdown_frame = None

    def _zend_catch(self, caught: BaseException) -> None:
        # zend_try's catch around a shutdown step: a bailout ends the step; a timeout or
        # an exception nobody caught is first reported as the fatal error it is. (Caught
        # in the step's own frame: no frame of phprt's stands between a step and the
        # request, where a diagnostic would take it for the script's, DIAG-UNCAUGHT-1.)
        if isinstance(caught, Bailout):
            return
        if isinstance(caught, TimeLimitExceeded):
            self._timed_out(caught.__traceback__)
        elif isinstance(caught, OutputLocked):  # php_output_end_all() finds a handler still running (OUT-BAILOUT-1)
            self._fatal(f"PHP Request Shutdown: {LOCKED}", ("Unknown", 0), escape=True)
        else:
            self._uncaught(caught, caught.__traceback__)

    # -- the output layer's connection to the transport -------------------------------------

    def _output_header(self) -> bool:
        # php_output_header(): note where output started (nowhere during request
        # startup, which runs no script), then send the headers; False (no body may
        # follow) for a HEAD request.
        if self._headers.sent:
            return True
        if self._output_start is None and not self._starting:
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
        if self._trace is not None:
            self._trace.record("headers-sent", {"status": queue.response_code, "lines": list(queue.lines)})
        date = http_date() if self.sapi.name == "cli-server" else ""  # only the built-in server dates its head
        head = head_for(self.sapi.name, queue, self._received, date, self.charset)
        if self._sink.send_headers(head) is False:  # PHP-FPM's head is output, in its records
            self._aborted()

    def _emit(self, data: bytes) -> None:
        # sapi_module.ub_write, then sapi_flush() under implicit flush; a write
        # that finds the client gone is PHP's aborted connection (CONN-ABORT-1).
        if not self._output_sent:  # the first output: from now on it may be appended straight out (PERF-OB-5)
            self._output_sent = True
            self._collect()
        if self._finished_early and not self._sink.writes_after_finish:
            return  # the response is complete: output goes nowhere (DEV-FINISH-1)
        if not self._sink.write(data):
            self._aborted()
        if self._implicit_flush and not self._sink.flush() and self.sapi.flush_detects_abort:
            self._aborted()  # _sapi_flush(), inlined: the CLI flushes every write (PERF-OB-2)

    def _collect(self) -> None:
        # PHP-FPM's record buffer takes straight-out output appended to it while it has room,
        # once output has left, with no implicit flush and no trace (PERF-OB-5).
        out, sink = self._out, self._sink
        collects = isinstance(sink, FpmRecords) and self._trace is None and not self._implicit_flush and self._output_sent
        out.collector = sink if collects else None
        out._retarget()

    def _direct(self, data: bytes) -> None:
        # php_output_stdout(): fwrite() to the process's stdout once the output layer is
        # torn down, past the SAPI, so a reader that is gone goes unnoticed (OUT-DIRECT-1)
        self._output_sent = True
        self._sink.write(data)

    def _sapi_flush(self) -> None:
        # sapi_flush(): the SAPI's flush, which notices a client gone where the SAPI does (SAPI-ABORT-1)
        if self._finished_early and not self._sink.writes_after_finish:
            return
        if not self._sink.flush() and self.sapi.flush_detects_abort:
            self._aborted()

    def _aborted(self) -> None:
        # php_handle_aborted_connection(): ABORTED, all later output dropped, and
        # the script stopped unless user aborts are ignored (CONN-ABORT-1).
        self._status = C.CONNECTION_ABORTED
        if self._trace is not None:
            self._trace.record("client-abort", {"ignore_user_abort": self._ini_flag("ignore_user_abort")})
        if self.sapi.abort_exit_status is not None:
            self.exit_status = self.sapi.abort_exit_status
        self._out.disabled = True
        self._out._retarget()  # nothing more is appended straight out (PERF-OB-5)
        if not self._ini_flag("ignore_user_abort"):
            raise Bailout(self.exit_status)
