"""PHP version profiles: what differs between PHP 8.2, 8.3, 8.4 and 8.5 in phprt's surface (VER-*).

The one place that decides a version difference: ``Runtime(php_version=...)`` resolves
its ``VersionProfile`` once (``rt.version``) and each concern reads the named flag
it needs, never a version number. The facts were recorded from native PHP 8.2 and
the WebAssembly builds of 8.3.33, 8.4.25 and 8.5.10 (spec/versions.md,
spec/recorded/versions.json).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PROFILES", "VersionProfile", "profile"]


@dataclass(frozen=True)
class VersionProfile:
    """One PHP version's behaviour where it differs from another's (VER-PROFILE-1)."""

    #: "8.2", "8.3", "8.4" or "8.5"
    name: str
    #: E_ALL, and so the default error_reporting and set_error_handler()'s mask: 32767, 30719 without E_STRICT from 8.4 (VER-E-ALL-1)
    e_all: int = 32767
    #: http_response_code(code) once the headers are sent warns and returns false, from 8.3 (VER-RESPONSE-CODE-1)
    response_code_warns_after_headers: bool = False
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

    def empty(self, what: str) -> str:
        """``what`` "cannot be empty" (8.2, 8.3) or "must not be empty" (8.4+) (VER-EMPTY-NAME-1)."""
        return f"{what} must not be empty" if self.must_not_be_empty else f"{what} cannot be empty"


_82 = VersionProfile("8.2")
_83 = VersionProfile("8.3", response_code_warns_after_headers=True)
_84 = VersionProfile("8.4", e_all=30719, response_code_warns_after_headers=True,
                     user_error_deprecated=True, exit_is_function=True, must_not_be_empty=True,
                     disabled_handler_skipped=True)
_85 = VersionProfile("8.5", e_all=30719, response_code_warns_after_headers=True,
                     user_error_deprecated=True, exit_is_function=True, must_not_be_empty=True,
                     disabled_handler_skipped=True, fatal_error_backtraces=True,
                     aligned_buffer_size=True, closure_file_line_names=True,
                     partitioned_cookies=True)

#: The profiles by ``php_version``.
PROFILES = {p.name: p for p in (_82, _83, _84, _85)}


def profile(php_version: str) -> VersionProfile:
    """The profile of ``php_version``; ValueError for a version phprt does not reproduce (VER-PROFILE-1)."""
    try:
        return PROFILES[php_version]
    except KeyError:
        raise ValueError(f"unsupported php_version {php_version!r}; phprt reproduces PHP "
                         + ", ".join(PROFILES)) from None
