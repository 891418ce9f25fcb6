"""PHP version profiles: what differs between PHP 8.2, 8.3, 8.4 and 8.5 in phprt's surface (VER-*).

The one place that decides a version difference: ``Runtime(php_version=...)`` resolves
its ``VersionProfile`` once (``rt.version``) and each concern reads the named flag
it needs, never a version number. The facts were recorded from native PHP 8.2 and
the WebAssembly builds of 8.3.33, 8.4.25 and 8.5.10 (spec/versions.md,
spec/recorded/versions.json).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from contextvars import Token

from .ini_scanner import INI_E_ALL
from .records import record

__all__ = ["PROFILES", "VersionProfile", "ini_parsing", "profile"]


@record(frozen=True)
class VersionProfile:
    """One PHP version's behaviour where it differs from another's (VER-PROFILE-1)."""

    #: "8.2", "8.3", "8.4" or "8.5"
    name: str
    #: E_ALL, and so the default error_reporting and set_error_handler()'s mask: 32767, 30719 without E_STRICT from 8.4 (VER-E-ALL-1)
    e_all: int = 32767
    #: http_response_code(code) once the headers are sent warns and returns false, from 8.3 (VER-RESPONSE-CODE-1)
    response_code_warns_after_headers: bool = False
    #: an exception a shutdown function throws goes to the user exception handler, the next shutdown function runs, from 8.3 (VER-SHUTDOWN-EXCEPTION-1)
    shutdown_exceptions_handled: bool = False
    #: the running exception handler is pushed on the handler stack while it runs and back after, from 8.3(.5) (VER-EXCEPTION-HANDLER-STACK-1)
    exception_handler_stacked: bool = False
    #: trigger_error(..., E_USER_ERROR) is deprecated first, from 8.4 (VER-USER-ERROR-1)
    user_error_deprecated: bool = False
    #: exit() is a function taking string|int, from 8.4 (VER-EXIT-1)
    exit_is_function: bool = False
    #: empty-argument ValueErrors say "must not be empty", not "cannot be empty", from 8.4 (VER-EMPTY-NAME-1)
    must_not_be_empty: bool = False
    #: a handler whose callback threw is not called again by ob_flush() (GH-15181), from 8.4 (VER-DISABLED-HANDLER-1)
    disabled_handler_skipped: bool = False
    #: fatal errors print "Stack trace:" (fatal_error_backtraces=1), from 8.5 (VER-FATAL-TRACE-1)
    fatal_error_backtraces: bool = False
    #: ob_get_status()'s buffer_size without the extra 4096 for aligned chunk sizes (GH-16135), from 8.5 (VER-BUFFER-SIZE-1)
    aligned_buffer_size: bool = False
    #: closures are named {closure:FILE:LINE} in ob_list_handlers(), from 8.5 (VER-CLOSURE-NAME-1)
    closure_file_line_names: bool = False
    #: setcookie()'s "partitioned" option, from 8.5 (VER-PARTITIONED-1)
    partitioned_cookies: bool = False
    #: flush() sends the headers under PHP-FPM and php-cgi, body or not (GH-12385), from 8.4 (VER-FLUSH-HEADERS-1)
    flush_sends_headers: bool = False
    #: output produced inside a user output handler is deprecated, from 8.5 (VER-HANDLER-OUTPUT-1)
    handler_output_deprecated: bool = False
    #: unserialize()'s "Error at offset" is an E_WARNING, and trailing data warns, from 8.3 (VER-UNSERIALIZE-1)
    unserialize_warns: bool = False
    #: unserialize() of the 'S' format is deprecated, from 8.4 (VER-UNSERIALIZE-1)
    unserialize_s_deprecated: bool = False
    #: ob_start() clears the status bits (0xF000) of the flags it is given, from 8.4 (VER-OB-FLAGS-1)
    ob_start_clears_status: bool = False
    #: printf's %e, %f, %F, %g of -INF print "-INF", from 8.4 (VER-PRINTF-INF-1)
    printf_signed_infinity: bool = False
    #: printf's %d/%u/%x/... of a float an int cannot hold warns, from 8.5 (VER-FLOAT-CAST-1)
    float_cast_warns: bool = False

    def empty(self, what: str) -> str:
        """``what`` "cannot be empty" (8.2, 8.3) or "must not be empty" (8.4+) (VER-EMPTY-NAME-1)."""
        return f"{what} must not be empty" if self.must_not_be_empty else f"{what} cannot be empty"


_82 = VersionProfile("8.2")
_83 = VersionProfile("8.3", response_code_warns_after_headers=True, shutdown_exceptions_handled=True,
                     exception_handler_stacked=True, unserialize_warns=True)
_84 = VersionProfile("8.4", e_all=30719, response_code_warns_after_headers=True, shutdown_exceptions_handled=True,
                     exception_handler_stacked=True,
                     user_error_deprecated=True, exit_is_function=True, must_not_be_empty=True,
                     disabled_handler_skipped=True, unserialize_warns=True, unserialize_s_deprecated=True,
                     ob_start_clears_status=True, printf_signed_infinity=True, flush_sends_headers=True)
_85 = VersionProfile("8.5", e_all=30719, response_code_warns_after_headers=True, shutdown_exceptions_handled=True,
                     exception_handler_stacked=True,
                     user_error_deprecated=True, exit_is_function=True, must_not_be_empty=True,
                     disabled_handler_skipped=True, fatal_error_backtraces=True,
                     aligned_buffer_size=True, closure_file_line_names=True,
                     partitioned_cookies=True, unserialize_warns=True, unserialize_s_deprecated=True,
                     ob_start_clears_status=True, printf_signed_infinity=True, handler_output_deprecated=True,
                     flush_sends_headers=True, float_cast_warns=True)

#: The profiles by ``php_version``.
PROFILES = {p.name: p for p in (_82, _83, _84, _85)}


def profile(php_version: str) -> VersionProfile:
    """The profile of ``php_version``; ValueError for a version phprt does not reproduce (VER-PROFILE-1)."""
    try:
        return PROFILES[php_version]
    except KeyError:
        raise ValueError(f"unsupported php_version {php_version!r}; phprt reproduces PHP "
                         + ", ".join(PROFILES)) from None


def ini_parsing(version: VersionProfile) -> AbstractContextManager[None]:
    """php.ini, ``-d`` and the per-request ini parsed inside read E_ALL as ``version``
    has it: 30719 from 8.4 (VER-E-ALL-1). Costs nothing where E_ALL is already the
    version's (PERF-START-3)."""
    return _UNCHANGED if INI_E_ALL.get() == version.e_all else _EAllScope(version.e_all)


class _EAllScope:
    """E_ALL set to ``e_all`` for the ini parsed inside the ``with`` block."""

    def __init__(self, e_all: int) -> None:
        self._e_all = e_all
        self._token: Token[int] | None = None

    def __enter__(self) -> None:
        self._token = INI_E_ALL.set(self._e_all)

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        INI_E_ALL.reset(self._token)


_UNCHANGED: AbstractContextManager[None] = nullcontext()
