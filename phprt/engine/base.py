"""What the Runtime's concerns share: its state and the methods one concern calls in another.

The ``Runtime`` (engine/runtime.py) is composed of one mixin per concern -- output
(output/functions.py), zlib compression (output/compression.py), headers and
cookies (http/functions.py), the lifecycle (engine/lifecycle.py), diagnostics
(engine/error_functions.py), ini (engine/ini_functions.py), argument coercion
(engine/args.py) and the function registry (engine/functions.py). Each mixin
derives from ``RuntimeBase``, which declares the attributes several of them use;
the signatures below ``TYPE_CHECKING`` are the methods a mixin calls in another
concern, for the type checker only (the concern's own mixin defines each).
"""

from __future__ import annotations

from types import FrameType
from typing import TYPE_CHECKING, Any, Mapping

from ..http.headers import HeaderQueue
from ..output.stack import OutputHandler, OutputStack
from ..transports.base import Transport
from .diagnostics import Diagnostic
from .frames import script_frame
from .ini import Configuration, SapiProfile
from .timelimit import ExecutionTimer
from .versions import VersionProfile

if TYPE_CHECKING:
    from types import TracebackType

    from .callables import PhpCallable
    from .classes import Lane
    from .errors import Exit
    from .trace import Trace

__all__ = ["UNSET", "RuntimeBase", "caller_scope"]

UNSET: Any = object()  # an argument the caller did not pass


def caller_scope() -> Mapping[str, Any]:
    """The ported script's globals, where PHP-style string callables are looked up."""
    frame = script_frame()
    return {} if frame is None else frame.f_globals


class RuntimeBase:
    """The state of one request that more than one concern reads or writes."""

    sapi: SapiProfile
    php_version: str
    version: VersionProfile  # what differs by PHP version (VER-PROFILE-1)
    charset: str
    transport: Transport
    #: Every diagnostic raised, in order, whether or not it was displayed.
    diagnostics: list[Diagnostic]
    #: The exit status PHP would end with (255 after a fatal error).
    exit_status: int = 0
    #: The request variables, PHP's $_SERVER, as the transport filled them (REQ-SERVER-1).
    server: dict[str, Any]
    _received: dict[str, Any]  # the request as the SAPI holds it, whatever the script does to $_SERVER
    _ini: dict[str, str | None]  # the directives' current values
    _configuration: Configuration  # the ini as given, parsed once (INI-CONFIG-1)
    _out: OutputStack
    _headers: HeaderQueue
    _timer: ExecutionTimer
    _sink: Transport  # where output goes: the transport, behind PHP-FPM's record buffer under "fpm" (SAPI-FPM-1)
    _entry_frame: FrameType | None = None  # the frame that entered the Runtime
    _pending: BaseException | None = None  # EG(exception): thrown in a callback, raised when the script resumes
    _pending_held = False  # a function gives more notices before EG(exception) is seen (OUT-EXIT-1)
    _status: int = 0  # connection_status()
    _header_callback: PhpCallable | None = None
    _implicit_flush = False
    _output_start: tuple[str, int] | None = None  # where output first sent the headers
    _output_sent = False  # PHP_OUTPUT_SENT: body bytes have left
    _shutdown_frame: FrameType | None = None  # while the request ends
    _started = False
    _starting = False  # in php_request_startup(): display_startup_errors rules
    _finished_early = False  # fastcgi_finish_request() ended the response
    _trace: Trace | None = None  # the lifecycle trace, when one is recorded (TRACE-OFF-1)
    _globals: dict[str, Any] | None = None  # the script file's namespace, emptied by dispose() (PERF-RELEASE-2)
    _disposed_by_server = False  # a server disposes of it: its script may bind kept classes (PERF-CLASS-1)
    _lane: Lane | None = None  # the lane the script's namespace is, released by dispose() (PERF-CLASS-1)

    if TYPE_CHECKING:
        # engine/error_functions.py
        def _error(self, level: int, message: str, location: tuple[str, int] | None = None, *,
                   docref: bool = False) -> None: ...
        def _report(self, diagnostic: Diagnostic) -> None: ...
        def _script_exception(self, exception: Exception, tb: TracebackType | None) -> bool: ...
        def _shutdown_exception(self, exception: Exception) -> bool: ...
        def _output_watched(self, callback: PhpCallable, name: str) -> PhpCallable: ...

        # engine/args.py
        def _int_arg(self, function: str, position: int, name: str, value: Any, type_name: str = "int") -> int: ...
        def _bool_arg(self, function: str, position: int, name: str, value: Any, type_name: str = "bool") -> bool: ...
        def _string_arg(self, function: str, position: int, name: str, value: Any) -> str: ...
        def _php_string(self, value: Any) -> str: ...
        def _precision(self) -> int: ...
        def _serialize_precision(self) -> int: ...
        def _array_to_string(self) -> None: ...

        # engine/ini_functions.py
        def ini_get(self, option: str) -> str | bool: ...
        def _ini_str(self, name: str) -> str: ...
        def _ini_flag(self, name: str) -> bool: ...

        # engine/lifecycle.py
        def _raise_pending(self) -> None: ...
        def _collect(self) -> None: ...
        def _throw(self, exception: Exception | Exit) -> None: ...
        def _uncaught(self, exception: BaseException, tb: TracebackType | None) -> None: ...
        def _report_pending(self) -> None: ...
        def _fatal(self, message: str, location: tuple[str, int], *, escape: bool = False) -> None: ...
        def _timed_out(self, tb: TracebackType | None) -> None: ...
        def _update_timeout(self, value: str) -> bool: ...

        # output/functions.py
        def _write_value(self, value: Any) -> None: ...
        def _user_handler(self, callback: PhpCallable, chunk_size: int, flags: int) -> OutputHandler: ...
        def _start_handler(self, handler: OutputHandler, prefix: str) -> bool: ...
        def _handler_started(self, name: str) -> bool: ...

        # output/compression.py
        def _zlib_handler(self, name: str, chunk_size: int, flags: int) -> OutputHandler: ...
        def _update_zlib_compression(self, value: str) -> bool: ...
        def _update_zlib_output_handler(self, value: str) -> bool: ...

        # http/functions.py
        def _add_header(self, line: str, replace: bool, code: int = 0) -> bool: ...

        # engine/runtime.py: the transport connection
        def _send_headers(self) -> None: ...
        def _sapi_flush(self) -> None: ...
