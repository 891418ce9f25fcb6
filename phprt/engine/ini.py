"""The one ini layer (INI-*): the directives phprt knows -- PHP 8.2's default, where each may
change, the on-update handler that reads it -- the SAPI profiles that set their defaults
(SAPI-*), and :class:`Configuration`, the ini of a Runtime, a server or an application parsed
once. The value parsing itself is :mod:`phprt.engine.ini_scanner`'s (INI-PARSE-*)."""

from __future__ import annotations

from functools import lru_cache
from types import MappingProxyType
from typing import Any, Iterator, Mapping

from .constants import E_ALL, E_WARNING
from .diagnostics import Diagnostic
from .ini_scanner import (
    CLI_HARDCODED_INI,
    DISPLAY_OFF,
    DISPLAY_STDERR,
    IniSyntaxError,
    c_atoi,
    c_atol,
    display_errors_mode,
    evaluate_value,
    ini_long,
    parse_bool,
    parse_ini_string,
    parse_quantity,
    quantity_warning,
    zlib_output_compression,
)
from .ini_table import PHP_DIRECTIVES, SAPI_DIRECTIVES
from .records import field, record
from .values import format_float, numeric_string

__all__ = [
    "Configuration", "DIRECTIVES", "Directive", "INI_ALL", "MODELLED", "OWN_DEFAULTS", "IniSource", "INI_PERDIR", "INI_SYSTEM", "INI_USER", "SAPI_PROFILES",
    "SapiProfile", "StartupWarning", "configure", "ini_bool", "ini_file_value", "ini_integer", "ini_quantity_warning",
    "ini_value", "sapi_directives",
]

INI_USER, INI_PERDIR, INI_SYSTEM = 1, 2, 4
INI_ALL = INI_USER | INI_PERDIR | INI_SYSTEM

#: The handlers that read a directive as zend_ini_parse_quantity() does, with its warning.
_QUANTITY = ("OnUpdateLong", "OnUpdateLongGEZero", "OnUpdate_zlib_output_compression")
#: The handlers that read a directive with ZEND_ATOL() (decimal strtol()).
_ATOL = ("OnUpdateTimeout", "OnSetPrecision", "OnSetSerializePrecision")


@record(frozen=True)
class Directive:
    """A directive phprt knows: PHP's built-in default (None: unset, reads as ""), where PHP
    lets it change (only INI_ALL ones change through ini_set()), and the name of PHP's
    on-update handler, which says how its value is read (None: no handler, INI_INT()'s
    zend_ini_long()) (INI-DIRECTIVE-1)."""

    default: str | None
    modifiable: int = INI_ALL
    on_update: str | None = "OnUpdateString"


#: The directives phprt models -- whose value its runtime reads -- with PHP 8.2's built-in defaults
#: (``php -n``) and handlers. PHP's generated table (INI-TABLE-1) has the last word on a default
#: or access: DIRECTIVES below is what phprt uses (INI-TABLE-2).
MODELLED: Mapping[str, Directive] = MappingProxyType({
    "arg_separator.input": Directive("&", INI_PERDIR | INI_SYSTEM, "OnUpdateStringUnempty"),
    "arg_separator.output": Directive("&", INI_ALL, "OnUpdateStringUnempty"),
    "default_charset": Directive("UTF-8", INI_ALL, "OnUpdateDefaultCharset"),
    "default_mimetype": Directive("text/html", INI_ALL, "OnUpdateDefaultMimeTye"),
    "display_errors": Directive("1", INI_ALL, "OnUpdateDisplayErrors"),
    "display_startup_errors": Directive("1", INI_ALL, "OnUpdateBool"),
    "enable_post_data_reading": Directive("1", INI_PERDIR | INI_SYSTEM, "OnUpdateBool"),
    "error_append_string": Directive(None),
    "error_log": Directive(None, INI_ALL, "OnUpdateErrorLog"),
    "error_prepend_string": Directive(None),
    "error_reporting": Directive(None, INI_ALL, "OnUpdateErrorReporting"),
    "expose_php": Directive("1", INI_SYSTEM, "OnUpdateBool"),
    "file_uploads": Directive("1", INI_SYSTEM, "OnUpdateBool"),
    "hard_timeout": Directive("2", INI_SYSTEM, "OnUpdateLong"),
    "html_errors": Directive("1", INI_ALL, "OnUpdateBool"),
    "ignore_user_abort": Directive("0", INI_ALL, "OnUpdateBool"),
    "implicit_flush": Directive("0", INI_ALL, "OnUpdateBool"),
    "internal_encoding": Directive(None, INI_ALL, "OnUpdateInternalEncoding"),
    "log_errors": Directive("0", INI_ALL, "OnUpdateBool"),
    "max_execution_time": Directive("30", INI_ALL, "OnUpdateTimeout"),
    "max_file_uploads": Directive("20", INI_PERDIR | INI_SYSTEM, None),
    "max_input_nesting_level": Directive("64", INI_PERDIR | INI_SYSTEM, "OnUpdateLongGEZero"),
    "max_input_time": Directive("-1", INI_PERDIR | INI_SYSTEM, "OnUpdateLong"),
    "max_input_vars": Directive("1000", INI_PERDIR | INI_SYSTEM, "OnUpdateLongGEZero"),
    "max_multipart_body_parts": Directive("-1", INI_PERDIR | INI_SYSTEM, None),
    "output_buffering": Directive("0", INI_PERDIR | INI_SYSTEM, "OnUpdateLong"),
    "output_handler": Directive(None, INI_PERDIR | INI_SYSTEM),
    "post_max_size": Directive("8M", INI_PERDIR | INI_SYSTEM, "OnUpdateLong"),
    "precision": Directive("14", INI_ALL, "OnSetPrecision"),
    "register_argc_argv": Directive("1", INI_PERDIR | INI_SYSTEM, "OnUpdateBool"),
    "request_order": Directive(None, INI_PERDIR | INI_SYSTEM),
    "serialize_precision": Directive("-1", INI_ALL, "OnSetSerializePrecision"),
    "session.auto_start": Directive("0", INI_PERDIR | INI_SYSTEM, "OnUpdateBool"),
    "session.cache_expire": Directive("180", INI_ALL, "OnUpdateSessionLong"),
    "session.cache_limiter": Directive("nocache", INI_ALL, "OnUpdateSessionStr"),
    "session.cookie_domain": Directive("", INI_ALL, "OnUpdateSessionStr"),
    "session.cookie_httponly": Directive("0", INI_ALL, "OnUpdateSessionBool"),
    "session.cookie_lifetime": Directive("0", INI_ALL, "OnUpdateCookieLifetime"),
    "session.cookie_path": Directive("/", INI_ALL, "OnUpdateSessionStr"),
    "session.cookie_samesite": Directive("", INI_ALL, "OnUpdateSessionStr"),
    "session.cookie_secure": Directive("0", INI_ALL, "OnUpdateSessionBool"),
    "session.gc_divisor": Directive("100", INI_ALL, "OnUpdateSessionLong"),
    "session.gc_maxlifetime": Directive("1440", INI_ALL, "OnUpdateSessionLong"),
    "session.gc_probability": Directive("1", INI_ALL, "OnUpdateSessionLong"),
    "session.lazy_write": Directive("1", INI_ALL, "OnUpdateSessionBool"),
    "session.name": Directive("PHPSESSID", INI_ALL, "OnUpdateName"),
    "session.referer_check": Directive("", INI_ALL, "OnUpdateSessionStr"),
    "session.save_handler": Directive("files", INI_ALL, "OnUpdateSaveHandler"),
    "session.save_path": Directive("", INI_ALL, "OnUpdateSaveDir"),
    "session.serialize_handler": Directive("php", INI_ALL, "OnUpdateSerializer"),
    "session.sid_bits_per_character": Directive("4", INI_ALL, "OnUpdateSidBits"),
    "session.sid_length": Directive("32", INI_ALL, "OnUpdateSidLength"),
    "session.use_cookies": Directive("1", INI_ALL, "OnUpdateSessionBool"),
    "session.use_only_cookies": Directive("1", INI_ALL, "OnUpdateSessionBool"),
    "session.use_strict_mode": Directive("0", INI_ALL, "OnUpdateSessionBool"),
    "session.use_trans_sid": Directive("0", INI_ALL, "OnUpdateSessionBool"),
    "session.trans_sid_hosts": Directive(None, INI_ALL, "OnUpdateTransSidHosts"),
    "unserialize_max_depth": Directive("4096", INI_ALL, "OnUpdateLong"),
    "upload_max_filesize": Directive("2M", INI_PERDIR | INI_SYSTEM, "OnUpdateLong"),
    "url_rewriter.hosts": Directive(None, INI_ALL, "OnUpdateHosts"),
    "user_ini.cache_ttl": Directive("300", INI_SYSTEM, "OnUpdateLong"),
    "user_ini.filename": Directive(".user.ini", INI_SYSTEM),
    "url_rewriter.tags": Directive("form=", INI_ALL, "OnUpdateOutputTags"),
    "variables_order": Directive("EGPCS", INI_PERDIR | INI_SYSTEM, "OnUpdateStringUnempty"),
    "zlib.output_compression": Directive("0", INI_ALL, "OnUpdate_zlib_output_compression"),
    "zlib.output_compression_level": Directive("-1", INI_ALL, "OnUpdateLong"),
    "zlib.output_handler": Directive(None, INI_ALL, "OnUpdate_zlib_output_handler"),
})

#: The directives whose default phprt sets apart from PHP's table on purpose, and the clause that says why.
OWN_DEFAULTS: Mapping[str, str] = MappingProxyType({"session.save_path": "DEV-SESS-SAVE-PATH-1"})


def _known(table: Mapping[str, tuple[str | None, int, str]]) -> dict[str, Directive]:
    # PHP's default and access; phprt's handler where it models the directive, else none: its
    # value is only stored and reported (INI-TABLE-2, DEV-INI-DIRECTIVES-1).
    known = {}
    for name, (default, access, _extension) in table.items():
        modelled = MODELLED.get(name)
        if modelled is None:
            known[name] = Directive(default, access, None)
        else:
            known[name] = Directive(modelled.default if name in OWN_DEFAULTS else default, access, modelled.on_update)
    return known


#: Every directive PHP 8.2 registers under every SAPI (INI-TABLE-1), with PHP's default and access
#: (INI-TABLE-2) and, for those phprt models, its on-update handler (INI-DIRECTIVE-1).
DIRECTIVES: Mapping[str, Directive] = MappingProxyType({
    **_known(PHP_DIRECTIVES), **{name: entry for name, entry in MODELLED.items() if name not in PHP_DIRECTIVES},
})
_SAPI_KNOWN: dict[str, Mapping[str, Directive]] = {}


def sapi_directives(sapi: str) -> Mapping[str, Directive]:
    """Every directive PHP registers under profile ``sapi``: DIRECTIVES and the SAPI's own
    (php-cgi's and PHP-FPM's cgi.* and fastcgi.*, ``php -S``'s cli_server.color) (INI-TABLE-1)."""
    known = _SAPI_KNOWN.get(sapi)
    if known is None:
        own = SAPI_DIRECTIVES.get(sapi, {})
        known = _SAPI_KNOWN[sapi] = MappingProxyType({**DIRECTIVES, **_known(own)}) if own else DIRECTIVES
    return known


#: The order in which PHP 8.2 registers these directives at module startup -- main's table,
#: then Zend's, then the extensions' -- and so applies their php.ini and ``-d`` values: a
#: startup warning obeys only the directives registered before it (INI-STARTUP-1). The
#: display and log directives not listed come before ``output_buffering``.
_REGISTRATION = (
    "output_buffering", "error_log", "upload_max_filesize", "post_max_size", "max_input_nesting_level",
    "max_input_vars", "error_append_string", "error_prepend_string", "hard_timeout", "error_reporting",
    "zlib.output_compression", "zlib.output_compression_level", "session.name",
)


@lru_cache(maxsize=512)
def ini_integer(name: str, value: str) -> int:
    """The number directive ``name``'s on-update handler makes of ``value``: a quantity with
    K/M/G for OnUpdateLong (INI-PARSE-1), ``atoi()`` for error_reporting, decimal ``strtol()``
    for precision, serialize_precision and max_execution_time, ``strtol(..., 0)`` for one
    without a handler (INI-PARSE-4), a bool as 0/1 for OnUpdateBool (INI-PARSE-2). A pure
    function of its arguments, remembered: a request reads ``precision`` and the like
    without parsing them again (PERF-START-1)."""
    handler = DIRECTIVES[name].on_update
    if handler == "OnUpdate_zlib_output_compression":
        return zlib_output_compression(value)[0]
    if handler in _QUANTITY:
        return parse_quantity(value)[0]
    if handler == "OnUpdateErrorReporting":
        return c_atoi(value)
    if handler in _ATOL:
        return c_atol(value)
    if handler == "OnUpdateBool":
        return int(parse_bool(value))
    if handler == "OnUpdateDisplayErrors":
        return display_errors_mode(value)
    return ini_long(value)


def ini_quantity_warning(name: str, value: str) -> str | None:
    """The E_WARNING PHP gives when directive ``name`` takes ``value`` (at module startup or
    in ini_set()): ``Invalid "NAME" setting. Invalid quantity ...`` for a quantity directive
    whose value zend_ini_parse_quantity() calls invalid, else None (INI-PARSE-1)."""
    handler = DIRECTIVES[name].on_update if name in DIRECTIVES else None
    if handler not in _QUANTITY:
        return None
    error = (zlib_output_compression(value) if handler == "OnUpdate_zlib_output_compression" else parse_quantity(value))[1]
    return None if error is None else quantity_warning(name, error)


def ini_startup_refusal(name: str, value: str) -> str | None:
    """The E_WARNING of a directive whose on-update handler refuses ``value`` at module
    startup, which keeps the default then, else None: session's OnUpdateName refuses an
    empty or numeric session.name (INI-STARTUP-2)."""
    if name == "session.name" and (value == "" or numeric_string(value) is not None):
        return f'PHP Startup: session.name "{value}" cannot be numeric or empty'
    return None


def ini_value(value: Any) -> str:
    """The string ini_set() stores for a value: bools are "1"/"", None is "" (INI-SET-2)."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float):
        return format_float(value, -1)
    return str(value)


def ini_file_value(value: Any) -> str:
    """A value as ``-d NAME=VALUE`` gives it: a string is read by PHP's ini scanner --
    On/Yes/True "1", Off/No/False/None "", constants and their ``|&^~!`` expressions
    evaluated, quotes and ``${NAME}`` (INI-SET-3, INI-PARSE-3 to INI-PARSE-6); any other value
    is first converted as ini_set() converts it. Raises IniSyntaxError where PHP reports a
    syntax error."""
    if isinstance(value, str):
        return evaluate_value(value, define=True)
    return ini_value(value)


@lru_cache(maxsize=512)
def ini_bool(value: str) -> bool:
    """zend_ini_parse_bool(), what OnUpdateBool reads (INI-PARSE-2); remembered (PERF-START-1)."""
    return parse_bool(value)


@record(frozen=True)
class SapiProfile:
    """PHP semantics that depend on the SAPI: its name, the defaults it imposes on
    top of the built-in ones (SAPI-DEFAULTS-1), and how it treats the response head
    (SAPI-HEAD-1): whether it reports the request's protocol (which makes a
    redirect of an HTTP/1.1 POST a 303) and whether flush() sends the headers;
    and how it notices a client that has gone (SAPI-ABORT-1): whether a failed
    flush counts, the exit status a failed write sets, and whether output goes
    through PHP-FPM's FastCGI record buffer, which also brings
    fastcgi_finish_request(); whether PHP reads the whole request body or only
    CONTENT_LENGTH bytes of it (REQ-POST-7); and whether a 304 still unsent when the
    script ends loses the default Content-type (HDR-SERVER-2)."""

    name: str
    ini: Mapping[str, str] = field(default_factory=dict)
    reports_protocol: bool = False
    flush_sends_headers: bool = False
    flush_detects_abort: bool = False
    abort_exit_status: int | None = None
    fastcgi: bool = False
    reads_whole_body: bool = False
    untyped_304: bool = False


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
    "cli-server": SapiProfile("cli-server", flush_sends_headers=True, reads_whole_body=True, untyped_304=True),
    "apache2handler": SapiProfile("apache2handler", reports_protocol=True, flush_detects_abort=True),
})


@record(frozen=True)
class IniSource:
    """The php.ini files as php_init_config() found and read them (CONF-LOAD-1, CONF-SCAN-1):
    ``path`` the Loaded Configuration File (None: none), ``scan_dir`` the PHP_INI_SCAN_DIR
    given (None: none), ``scanned`` the additional files parsed, ``values`` the configuration
    hash they made (before the CLI's built-in lines and ``-d``), ``per_dir`` and ``per_host``
    the [PATH=...] and [HOST=...] sections by path and by lower-cased host (CONF-SECTION-1),
    ``errors`` the "PHP:  syntax error ..." lines PHP printed on stderr while reading them
    (CONF-SYNTAX-1)."""

    path: str | None = None
    scan_dir: str | None = None
    scanned: tuple[str, ...] = ()
    values: Mapping[str, str] = field(default_factory=dict)
    per_dir: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    per_host: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    errors: tuple[str, ...] = ()


@record(frozen=True)
class StartupWarning:
    """An "Invalid quantity" warning PHP gives at module startup, before any request, and
    where it goes (INI-STARTUP-1): ``display`` the text displayed (None: not displayed),
    ``display_to_stderr`` whether that goes to stderr (display_errors=stderr, no HTML),
    ``log`` the line logged (None: not logged), ``error_log`` the file it goes to (None: the
    SAPI's log, stderr)."""

    diagnostic: Diagnostic
    display: str | None
    display_to_stderr: bool
    log: str | None
    error_log: str | None


class Configuration(Mapping[str, str]):
    """A SAPI and the ini values given for it, parsed once (INI-CONFIG-1). As a mapping it is
    every name given with its value, known or not (PHP's configuration hash, what
    ``get_cfg_var()`` reads: PHP accepts a name it does not know and keeps it there, while
    ini_get() of it is false, INI-UNKNOWN-1); ``directives`` holds every directive phprt knows,
    as its default, the SAPI's, or the value given; ``startup`` the warnings PHP gives at
    module startup for these values, in PHP's order (INI-STARTUP-1). Made by :func:`configure`;
    a Runtime, server or application given one uses it as it is."""

    def __init__(self, sapi: str, values: Mapping[str, str | None], configured: Mapping[str, str],
                 startup: tuple[StartupWarning, ...] = (), source: IniSource | None = None) -> None:
        self.sapi = sapi
        #: the php.ini files read, if any (CONF-LOAD-1); None: none was asked for (``php -n``)
        self.source = source
        self._values = dict(values)
        self.directives: Mapping[str, str | None] = MappingProxyType(self._values)
        self._configured: Mapping[str, str] = MappingProxyType(dict(configured))
        self.startup = startup

    def directive_values(self) -> dict[str, str | None]:
        """A new dict of ``directives`` (a C-level copy: a Runtime makes one per request, PERF-START-1)."""
        return self._values.copy()

    @property
    def known(self) -> Mapping[str, Directive]:
        """Every directive PHP registers under this SAPI (INI-TABLE-1)."""
        return sapi_directives(self.sapi)

    @property
    def profile(self) -> SapiProfile:
        return SAPI_PROFILES[self.sapi]

    def started(self) -> Configuration:
        """The same configuration once its module has started and given its startup warnings:
        a Runtime given it gives none (a server's requests, INI-STARTUP-1)."""
        source = self.source
        if source is not None and source.errors:
            source = IniSource(source.path, source.scan_dir, source.scanned, source.values, source.per_dir,
                               source.per_host)
        return Configuration(self.sapi, self.directives, self._configured, source=source)

    def __getitem__(self, name: str) -> str:
        return self._configured[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._configured)

    def __len__(self) -> int:
        return len(self._configured)

    def __repr__(self) -> str:
        return f"Configuration({self.sapi!r}, {dict(self._configured)!r})"


def configure(sapi: str = "cli", ini: Mapping[str, Any] | Configuration | None = None, *,
              parsed: bool = False, source: IniSource | None = None) -> Configuration:
    """Check ``sapi`` and parse ``ini`` once (INI-CONFIG-1): each value is read as ``-d
    NAME=VALUE`` reads it (:func:`ini_file_value`), or kept as it is with ``parsed=True``
    (values PHP's ini parser already read, as from a php.ini file). Any directive name is
    accepted (INI-UNKNOWN-1). Raises ValueError for an unknown SAPI and for a value PHP's ini
    parser reports a syntax error in. A Configuration is returned as it is (its SAPI must be
    ``sapi``). ``source`` is the php.ini read first, whose values ``ini`` (as ``-d``) and the
    CLI's built-in lines override (CONF-ORDER-1)."""
    if sapi not in SAPI_PROFILES:
        raise ValueError(f"unknown SAPI {sapi!r}; expected one of {', '.join(SAPI_PROFILES)}")
    if isinstance(ini, Configuration):
        if ini.sapi != sapi:
            raise ValueError(f"this ini configuration was made for SAPI {ini.sapi!r}, not {sapi!r}")
        return ini
    if source is not None:
        return _configure(sapi, ini or {}, parsed, source)
    if not ini:  # the SAPI's own configuration: made once, shared, it is immutable (PERF-START-1)
        cached = _DEFAULT_CONFIGURATIONS.get(sapi)
        if cached is None:
            cached = _DEFAULT_CONFIGURATIONS[sapi] = _configure(sapi, {}, parsed)
        return cached
    return _configure(sapi, ini, parsed)


_DEFAULT_CONFIGURATIONS: dict[str, Configuration] = {}


def _configure(sapi: str, ini: Mapping[str, Any], parsed: bool, source: IniSource | None = None) -> Configuration:
    profile = SAPI_PROFILES[sapi]
    known = sapi_directives(sapi)
    defaults: dict[str, str | None] = {name: directive.default for name, directive in known.items()}
    defaults.update(profile.ini)
    # php.ini first; php_cli.c's HARDCODED_INI lines after it and before any -d (INI-PARSE-6,
    # CONF-ORDER-1): get_cfg_var() sees them.
    configured = dict(source.values) if source is not None else {}
    if sapi == "cli":
        configured.update(_CLI_CONFIGURED)
    for name, value in ini.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"an ini directive's name is a non-empty string, not {name!r}")
        if parsed:
            configured[name] = ini_value(value)
            continue
        try:
            configured[name] = ini_file_value(value)
        except IniSyntaxError as error:
            raise ValueError(f"ini {name}={value!r}: PHP's ini parser reports a {error.message}") from None
    values = {**defaults, **{name: value for name, value in configured.items() if name in known}}
    return Configuration(sapi, values, configured, _startup_warnings(profile, defaults, values), source)


_CLI_CONFIGURED = parse_ini_string(CLI_HARDCODED_INI).configuration()


def _startup_warnings(profile: SapiProfile, defaults: Mapping[str, str | None],
                      values: dict[str, str | None]) -> tuple[StartupWarning, ...]:
    # php_module_startup() registers the directives in _REGISTRATION's order; each
    # warning is reported with the settings in force at that moment: a directive not
    # yet registered has its default (INI-STARTUP-1). A value its handler refuses is
    # replaced in ``values`` by the default (INI-STARTUP-2).
    early = {name: value for name, value in values.items() if name not in _REGISTRATION}
    current = {**defaults, **early}
    warnings = []
    for name in _REGISTRATION:
        current[name] = values[name]
        message = ini_quantity_warning(name, values[name] or "")
        if message is None:
            message = ini_startup_refusal(name, values[name] or "")
            if message is None:
                continue
            values[name] = current[name] = defaults[name]
        reporting = current["error_reporting"]
        if not (E_ALL if reporting is None else c_atoi(reporting)) & E_WARNING:
            continue
        diagnostic = Diagnostic(E_WARNING, message, "Unknown", 0)
        mode = display_errors_mode(current["display_errors"] or "")
        html = parse_bool(current["html_errors"] or "")
        shown = mode != DISPLAY_OFF and parse_bool(current["display_startup_errors"] or "")
        to_stderr = mode == DISPLAY_STDERR and not html and profile.name in ("cli", "cgi")
        prepend, append = current["error_prepend_string"] or "", current["error_append_string"] or ""
        text = f"{diagnostic}\n" if to_stderr else diagnostic.display_text(html, prepend, append)
        logged = parse_bool(current["log_errors"] or "") or not shown  # before PHP is up, always logged
        warnings.append(StartupWarning(
            diagnostic, text if shown else None, to_stderr if shown else False,
            diagnostic.log_line() if logged else None, current["error_log"] or None,
        ))
    return tuple(warnings)
