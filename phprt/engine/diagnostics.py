"""Diagnostics: PHP's notices, warnings and errors, and how PHP prints them (DIAG-*)."""

from __future__ import annotations

from typing import Callable

from .constants import (
    E_COMPILE_ERROR,
    E_COMPILE_WARNING,
    E_CORE_ERROR,
    E_CORE_WARNING,
    E_DEPRECATED,
    E_ERROR,
    E_NOTICE,
    E_PARSE,
    E_RECOVERABLE_ERROR,
    E_STRICT,
    E_USER_DEPRECATED,
    E_USER_ERROR,
    E_USER_NOTICE,
    E_USER_WARNING,
    E_WARNING,
)

# php_get_display_errors_mode() and its results, written once there (INI-PARSE-2).
from .ini_scanner import DISPLAY_OFF, DISPLAY_STDERR, DISPLAY_STDOUT, display_errors_mode
from .records import field, record
from .values import PHP_BYTES

__all__ = ["DISPLAY_OFF", "DISPLAY_STDERR", "DISPLAY_STDOUT", "Diagnostic", "FATAL_LEVELS", "UNHANDLEABLE_LEVELS", "display_errors_mode", "escape_html"]

_LABELS = {
    E_ERROR: "Fatal error",
    E_CORE_ERROR: "Fatal error",
    E_COMPILE_ERROR: "Fatal error",
    E_USER_ERROR: "Fatal error",
    E_RECOVERABLE_ERROR: "Recoverable fatal error",
    E_WARNING: "Warning",
    E_CORE_WARNING: "Warning",
    E_COMPILE_WARNING: "Warning",
    E_USER_WARNING: "Warning",
    E_PARSE: "Parse error",
    E_NOTICE: "Notice",
    E_USER_NOTICE: "Notice",
    E_STRICT: "Strict Standards",
    E_DEPRECATED: "Deprecated",
    E_USER_DEPRECATED: "Deprecated",
}

#: Levels after which PHP stops the script (DIAG-FATAL-1).
FATAL_LEVELS = E_ERROR | E_CORE_ERROR | E_COMPILE_ERROR | E_USER_ERROR | E_RECOVERABLE_ERROR | E_PARSE
#: Levels never given to a user error handler (DIAG-HANDLER-3).
UNHANDLEABLE_LEVELS = E_ERROR | E_PARSE | E_CORE_ERROR | E_CORE_WARNING | E_COMPILE_ERROR | E_COMPILE_WARNING


def escape_html(text: str, charset: str = "UTF-8", codec: str = "utf-8") -> str:
    """main.c's escape_html() (DIAG-DISPLAY-2): htmlspecialchars() with ENT_COMPAT and double
    encoding -- ``&``, ``<``, ``>`` and ``"`` -- in ``charset`` (internal_encoding, else
    default_charset); where an invalid character makes that empty, once more with each invalid
    character as U+FFFD. ``codec`` is how the Runtime holds the string's bytes."""
    if not text.isascii():
        from ..output.htmlspecialchars import charset_kind, htmlspecialchars

        data, kind = text.encode(codec, PHP_BYTES), charset_kind(charset.encode("latin-1", "replace"))
        escaped = htmlspecialchars(data, kind, substitute=False, quotes=False, double_encode=True) or \
            htmlspecialchars(data, kind, quotes=False, double_encode=True)
        return escaped.decode(codec, "surrogateescape")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


@record(frozen=True)
class Diagnostic:
    """One notice, warning or error: its level constant, PHP's message, and the
    file and line of the Python code that caused it."""

    level: int
    message: str
    file: str
    line: int
    #: PHP 8.5's "Stack trace:" after a fatal error, else "" (VER-FATAL-TRACE-1)
    backtrace: str = field(default="", compare=False, repr=False)

    @property
    def label(self) -> str:
        """The word PHP prints for the level ("Warning", "Fatal error", ...)."""
        return _LABELS.get(self.level, "Unknown error")

    def __str__(self) -> str:
        return f"{self.label}: {self.message} in {self.file} on line {self.line}"

    def log_line(self) -> str:
        """The line log_errors writes (DIAG-LOG-1): ``PHP Notice:  msg in f on line n``, then
        PHP 8.5's "Stack trace:" of a fatal error (VER-FATAL-TRACE-1)."""
        line = f"PHP {self.label}:  {self.message} in {self.file} on line {self.line}"
        return f"{line}\n{self.backtrace}" if self.backtrace else line

    def display_text(self, html: bool, prepend: str = "", append: str = "",
                     escape: Callable[[str], str] = escape_html) -> str:
        """What display_errors prints into the output (DIAG-DISPLAY-1, DIAG-DISPLAY-2): under
        html_errors an E_ERROR or E_PARSE message is escaped here by ``escape``, as php_error_cb()
        escapes it."""
        if html:
            message = escape(self.message) if self.level in (E_ERROR, E_PARSE) else self.message
            return (
                f"{prepend}<br />\n<b>{self.label}</b>:  {message} in <b>{self.file}</b>"
                f" on line <b>{self.line}</b><br />\n{self.backtrace and self.backtrace + chr(10)}{append}"
            )
        return f"{prepend}\n{self}\n{self.backtrace and self.backtrace + chr(10)}{append}"

    def as_array(self) -> dict[str, object]:
        """The array error_get_last() returns."""
        return {"type": self.level, "message": self.message, "file": self.file, "line": self.line}
