"""ini directives and the SAPI profiles that set their defaults (INI-*, SAPI-*)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from .values import format_float, leading_int

__all__ = [
    "DIRECTIVES", "INI_ALL", "INI_PERDIR", "INI_SYSTEM", "SAPI_PROFILES",
    "SapiProfile", "ini_bool", "ini_file_value", "ini_value",
]

INI_USER, INI_PERDIR, INI_SYSTEM = 1, 2, 4
INI_ALL = INI_USER | INI_PERDIR | INI_SYSTEM


@dataclass(frozen=True)
class Directive:
    """A directive phprt knows: PHP's built-in default (None: unset, reads as "")
    and where PHP lets it change (only INI_ALL ones change through ini_set())."""

    default: str | None
    modifiable: int = INI_ALL


#: The directives phprt knows, with PHP 8.2's built-in defaults (``php -n``).
DIRECTIVES: Mapping[str, Directive] = MappingProxyType({
    "arg_separator.input": Directive("&", INI_PERDIR | INI_SYSTEM),
    "arg_separator.output": Directive("&"),
    "default_charset": Directive("UTF-8"),
    "default_mimetype": Directive("text/html"),
    "display_errors": Directive("1"),
    "display_startup_errors": Directive("1"),
    "enable_post_data_reading": Directive("1", INI_PERDIR | INI_SYSTEM),
    "error_append_string": Directive(None),
    "error_log": Directive(None),
    "error_prepend_string": Directive(None),
    "error_reporting": Directive(None),
    "expose_php": Directive("1", INI_SYSTEM),
    "file_uploads": Directive("1", INI_SYSTEM),
    "hard_timeout": Directive("2", INI_SYSTEM),
    "html_errors": Directive("1"),
    "ignore_user_abort": Directive("0"),
    "implicit_flush": Directive("0"),
    "internal_encoding": Directive(None),
    "log_errors": Directive("0"),
    "max_execution_time": Directive("30"),
    "max_file_uploads": Directive("20", INI_PERDIR | INI_SYSTEM),
    "max_input_nesting_level": Directive("64", INI_PERDIR | INI_SYSTEM),
    "max_input_vars": Directive("1000", INI_PERDIR | INI_SYSTEM),
    "max_multipart_body_parts": Directive("-1", INI_PERDIR | INI_SYSTEM),
    "output_buffering": Directive("0", INI_PERDIR | INI_SYSTEM),
    "output_handler": Directive(None, INI_PERDIR | INI_SYSTEM),
    "post_max_size": Directive("8M", INI_PERDIR | INI_SYSTEM),
    "precision": Directive("14"),
    "request_order": Directive(None, INI_PERDIR | INI_SYSTEM),
    "serialize_precision": Directive("-1"),
    "session.trans_sid_hosts": Directive(None),
    "upload_max_filesize": Directive("2M", INI_PERDIR | INI_SYSTEM),
    "url_rewriter.hosts": Directive(None),
    "url_rewriter.tags": Directive("form="),
    "variables_order": Directive("EGPCS", INI_PERDIR | INI_SYSTEM),
    "zlib.output_compression": Directive("0"),
    "zlib.output_compression_level": Directive("-1"),
    "zlib.output_handler": Directive(None),
})


@dataclass(frozen=True)
class SapiProfile:
    """PHP semantics that depend on the SAPI: its name, the defaults it imposes on
    top of the built-in ones (SAPI-DEFAULTS-1), and how it treats the response head
    (SAPI-HEAD-1): whether it reports the request's protocol (which makes a
    redirect of an HTTP/1.1 POST a 303) and whether flush() sends the headers;
    and how it notices a client that has gone (SAPI-ABORT-1): whether a failed
    flush counts, the exit status a failed write sets, and whether output goes
    through PHP-FPM's FastCGI record buffer, which also brings
    fastcgi_finish_request(); and whether PHP reads the whole request body or only
    CONTENT_LENGTH bytes of it (REQ-POST-7)."""

    name: str
    ini: Mapping[str, str] = field(default_factory=dict)
    reports_protocol: bool = False
    flush_sends_headers: bool = False
    flush_detects_abort: bool = False
    abort_exit_status: int | None = None
    fastcgi: bool = False
    reads_whole_body: bool = False


#: PHP 8.2's SAPIs. The CLI hard-codes its values (php_cli.c INI_DEFAULT); the web
#: SAPIs use the built-in defaults.
SAPI_PROFILES: Mapping[str, SapiProfile] = MappingProxyType({
    "cli": SapiProfile(
        "cli",
        {"display_errors": "1", "html_errors": "0", "implicit_flush": "1", "max_execution_time": "0", "output_buffering": "0"},
        abort_exit_status=255,
    ),
    "cgi": SapiProfile("cgi"),
    "fpm": SapiProfile("fpm-fcgi", flush_detects_abort=True, fastcgi=True),
    "cli-server": SapiProfile("cli-server", flush_sends_headers=True, reads_whole_body=True),
    "apache2handler": SapiProfile("apache2handler", reports_protocol=True, flush_detects_abort=True),
})


def ini_value(value: Any) -> str:
    """The string ini_set() stores for a value: bools are "1"/"", None is ""."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float):
        return format_float(value, -1)
    return str(value)


def ini_file_value(value: Any) -> str:
    """A value as php.ini and ``-d`` give it: bare On/Yes/True read "1",
    Off/No/False/None read "" (INI-SET-3)."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("on", "yes", "true"):
            return "1"
        if lowered in ("off", "no", "false", "none"):
            return ""
    return ini_value(value)


def ini_bool(value: str) -> bool:
    """zend_ini_parse_bool(): "on"/"yes"/"true" or a non-zero number."""
    return value.strip().lower() in ("on", "yes", "true") or leading_int(value) != 0
