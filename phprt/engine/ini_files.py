"""php.ini files as PHP 8.2 finds, reads and applies them (CONF-*): the search of
``php_init_config()`` (``-c``, ``-n``, ``PHPRC``, ``PHP_INI_SCAN_DIR``), the presets
``-c production`` / ``-c development``, the ``php --ini`` report, and per request, as php-cgi
and PHP-FPM apply them, the [HOST=...] and [PATH=...] sections, ``.user.ini`` files and
FastCGI's ``PHP_VALUE`` / ``PHP_ADMIN_VALUE``. The parsing is :mod:`.ini_scanner`'s."""

from __future__ import annotations

import os
import stat
import sys
import threading
import time
from typing import Any, Mapping, MutableMapping

from .ini import INI_PERDIR, Configuration, IniSource, configure, ini_integer, sapi_directives
from .ini_presets import PRESETS
from .ini_scanner import INI_CONSTANTS, INI_E_ALL, IniEntry, parse_ini_string
from .memo import Memo
from .records import field, record

__all__ = [
    "PRESETS", "RequestIni", "find_ini", "ini_report", "load_configuration", "read_ini_files", "request_ini",
]

#: The name php_init_config() looks for first in each directory: ``php-SAPI.ini`` with PHP's
#: name of the SAPI (CONF-LOAD-1).
_SAPI_NAMES = {"cli": "cli", "cgi": "cgi-fcgi", "fpm": "fpm-fcgi", "cli-server": "cli-server",
               "apache2handler": "apache2handler"}


def _read(path: str) -> str:
    with open(path, "rb") as file:
        return file.read().decode("utf-8", "surrogateescape")


class _Sections:
    """php_ini_parser_cb() (main/php_ini.c), entry by entry: the configuration hash, and the
    [PATH=...] / [HOST=...] hashes. Once such a section with a name has been seen, every later
    entry goes to the last one named, whatever sections follow (CONF-SECTION-1)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.per_dir: dict[str, dict[str, str]] = {}
        self.per_host: dict[str, dict[str, str]] = {}
        self.active: dict[str, str] | None = None
        self.special = False

    def add(self, entry: IniEntry) -> None:
        if entry.section is not None:
            kind = entry.section[:4].lower()
            self.special = kind in ("path", "host")
            if self.special and len(entry.section) > 4:
                key = entry.section[4:]
                if kind == "host":  # host names are case-insensitive (ASCII)
                    key = "".join(c.lower() if c.isascii() else c for c in key)
                key = key.rstrip("/\\").lstrip("= \t")
                table = self.per_dir if kind == "path" else self.per_host
                self.active = table.setdefault(key, {})
            return
        if entry.value is None or entry.offset is not None:
            return
        if not self.special and entry.name.lower() in ("extension", "zend_extension"):
            return  # loads an extension: phprt has none to load
        target = self.values if self.active is None else self.active
        target[entry.name] = entry.value


def read_ini_files(files: list[tuple[str, str]], sapi: str = "cli", env: Mapping[str, str] | None = None,
                   base: Mapping[str, str] | None = None) -> tuple[_Sections, list[str], list[str]]:
    """Parse ``files`` -- each the name PHP gives it and the path to open -- in order into one
    configuration (``base`` first, e.g. a preset): the sections, the names of the files that
    parsed without error, and the "PHP:  syntax error ... in NAME on line N" lines PHP prints for
    the others, which keep what came before their error (CONF-SYNTAX-1)."""
    sections = _Sections()
    sections.values.update(base or {})
    constants = {**INI_CONSTANTS, "PHP_SAPI": _SAPI_NAMES.get(sapi, sapi)}
    environment = os.environ if env is None else env
    parsed, errors = [], []
    for name, path in files:
        result = parse_ini_string(_read(path), constants, environment, config=sections.values,
                                  filename=name)
        for entry in result.entries:
            sections.add(entry)
        if result.error is not None:
            errors.append(f"PHP:  {result.error.message}\n")
        else:
            parsed.append(name)
    return sections, parsed, errors


def _is_file(path: str) -> bool:
    try:
        return not stat.S_ISDIR(os.stat(path).st_mode) and os.access(path, os.R_OK)
    except OSError:
        return False


def _search(search_path: str, sapi: str) -> str | None:
    # php_fopen_with_path() over the ':'-separated search path: php-SAPI.ini, then php.ini.
    for name in (f"php-{_SAPI_NAMES.get(sapi, sapi)}.ini", "php.ini"):
        for directory in search_path.split(":"):
            if not directory:
                continue
            candidate = os.path.join(directory, name)
            if _is_file(candidate):
                return os.path.abspath(candidate)
    return None


def _scanned(scan_dir: str, here: str) -> list[tuple[str, str]]:
    # Each directory's regular files whose name ends in ".ini", in strcmp() order: each as
    # PHP names it (the directory as given, "/", the name) and as phprt opens it.
    files = []
    for directory in scan_dir.split(":"):
        if not directory:
            continue
        full = os.path.join(here, directory)
        try:
            names = sorted(os.listdir(full), key=lambda name: name.encode("utf-8", "surrogateescape"))
        except OSError:
            continue
        for name in names:
            if name.endswith(".ini") and len(name) > 4 and _is_regular(os.path.join(full, name)):
                files.append((f"{directory}/{name}", os.path.join(full, name)))
    return files


def _is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def find_ini(sapi: str = "cli", option: str | None = None, *, no_ini: bool = False,
             env: Mapping[str, str] | None = None, cwd: str | None = None) -> IniSource | None:
    """Find and read php.ini as php_init_config() does for ``php -c OPTION`` (CONF-LOAD-1):

    * ``no_ini`` (``-n``): nothing, not even PHP_INI_SCAN_DIR; None.
    * ``option`` "production" or "development": that preset (CONF-PRESET-1).
    * ``option`` an existing file: that file. Otherwise ``option`` is the search path (':'
      separated directories): ``php-SAPI.ini`` (php-cli.ini, php-cgi-fcgi.ini, php-fpm-fcgi.ini,
      php-cli-server.ini) then ``php.ini`` in it; a path that names neither loads nothing, as
      PHP does not look elsewhere then.
    * no ``option``: the ``PHPRC`` environment variable, a file or a search path as above, then
      for "cgi" the current directory, as php-cgi searches it. phprt has no compiled-in
      directory (PHP's PHP_CONFIG_FILE_PATH and the binary's directory): DEV-CONF-PATH-1.

    Then the files of the PHP_INI_SCAN_DIR directories (':' separated, each's ``*.ini`` in
    name order), whether or not a php.ini was found (CONF-SCAN-1). Relative paths are
    resolved against ``cwd``."""
    if no_ini:
        return None
    environment = os.environ if env is None else env
    here = os.getcwd() if cwd is None else cwd
    preset = None
    path = None
    if option in PRESETS:
        preset = option
    elif option is not None:
        target = os.path.join(here, option)
        path = os.path.abspath(target) if _is_file(target) else _search(_absolute(option, here), sapi)
    else:
        phprc = environment.get("PHPRC") or ""
        if phprc and _is_file(os.path.join(here, phprc)):
            path = os.path.abspath(os.path.join(here, phprc))
        else:
            search = _absolute(phprc, here) if phprc else ""
            if sapi == "cgi":
                search += ":" + here
            path = _search(search, sapi)
    scan_dir = environment.get("PHP_INI_SCAN_DIR") or None
    scan = _scanned(scan_dir, here) if scan_dir else []
    files = ([(path, path)] if path else []) + scan  # scanned files named as PHP names them
    sections, parsed, errors = read_ini_files(files, sapi, environment, PRESETS[preset] if preset else None)
    scanned = [shown for shown, _ in scan if shown in parsed]
    shown = f"php.ini-{preset} (phprt's preset)" if preset else path
    return IniSource(shown, scan_dir, tuple(scanned), sections.values, sections.per_dir, sections.per_host,
                     tuple(errors))


def _absolute(search_path: str, here: str) -> str:
    return ":".join(os.path.join(here, part) if part else part for part in search_path.split(":"))


def ini_report(source: IniSource | None) -> str:
    """What ``php --ini`` prints for ``source`` (CONF-REPORT-1). phprt has no compiled-in
    configuration directory, so the first line says "(none)" (DEV-CONF-PATH-1)."""
    loaded = source.path if source is not None and source.path else "(none)"
    scan = source.scan_dir if source is not None and source.scan_dir else "(none)"
    files = ",\n".join(source.scanned) + "\n" if source is not None and source.scanned else "(none)"
    return (
        "Configuration File (php.ini) Path: (none)\n"
        f"Loaded Configuration File:         {loaded}\n"
        f"Scan for additional .ini files in: {scan}\n"
        f"Additional .ini files parsed:      {files}\n"
    )


def load_configuration(sapi: str, ini: Mapping[str, Any] | Configuration | None = None,
                       ini_file: str | os.PathLike[str] | IniSource | None = None, *,
                       parsed: bool = False) -> Configuration:
    """The Configuration of ``Runtime(ini_file=..., ini=...)`` and of the servers and
    applications: ``ini_file`` found and read as ``-c ini_file`` (a file, a directory, a
    preset name) or an IniSource already read; ``ini`` on top, as ``-d`` (CONF-ORDER-1). Without
    ``ini_file``: no php.ini, as ``php -n`` (CONF-API-1)."""
    if ini_file is None:
        return configure(sapi, ini, parsed=parsed)
    if isinstance(ini, Configuration):
        raise ValueError("ini_file goes with ini values, not with a Configuration already made (it has its php.ini)")
    source = ini_file if isinstance(ini_file, IniSource) else find_ini(sapi, os.fspath(ini_file))
    return configure(sapi, ini, parsed=parsed, source=source)


# -- per request: [HOST=]/[PATH=] sections, .user.ini, PHP_VALUE ------------------------------


@record
class RequestIni:
    """What php-cgi and PHP-FPM change for one request before it starts: ``changes`` the
    directives' new values, ``locked`` the names PHP_ADMIN_VALUE set (ini_set() refuses them),
    ``errors`` the lines PHP writes on its stderr, ``fpm_log`` the messages PHP-FPM sends as
    FastCGI stderr records, ``master`` what PHP_VALUE and PHP_ADMIN_VALUE set, which PHP-FPM
    writes as the directives' master values (what ini_restore() and ini_get_all() see,
    INI-RESTORE-1, INI-GETALL-1)."""

    changes: dict[str, str]
    locked: frozenset[str]
    errors: list[str]
    fpm_log: list[str]
    master: dict[str, str] = field(default_factory=dict)


_NOTHING = RequestIni({}, frozenset(), [], [])
#: .user.ini files read, by the script's directory: when they expire and what they set
#: (php_cgi_ini_activate_user_config()'s cache, one per process as one per PHP worker).
_user_cache: dict[str, tuple[int, dict[str, str]]] = {}
_user_cache_lock = threading.Lock()


#: request_ini()'s results without messages, by what they are made of; each with the .user.ini
#: cache entry it read (or None) -- valid while that entry is the cache's and unexpired (PERF-START-4).
_request_cache: Memo[tuple[Any, ...], tuple[Configuration, RequestIni, str, tuple[int, dict[str, str]] | None]] = Memo(256)


def request_ini(configuration: Configuration, server: Mapping[str, Any], sapi: str,
                now: float | None = None) -> RequestIni:
    """``_request_ini()``, remembered as PHP-FPM's user_ini cache remembers .user.ini files: a
    result with no messages is reused for the same Configuration, SAPI, E_ALL, PHP_VALUE,
    PHP_ADMIN_VALUE (without ``$``: no environment read), SERVER_NAME, SCRIPT_FILENAME and
    DOCUMENT_ROOT while the .user.ini cache entry it read is the cache's and has not expired,
    when ``_request_ini()`` would give the same (PERF-START-4). The result is shared: read it only."""
    if sapi not in ("cgi", "fpm"):
        return _NOTHING
    get = server.get
    key = (id(configuration), sapi, INI_E_ALL.get(), get("PHP_VALUE"), get("PHP_ADMIN_VALUE"), get("SERVER_NAME"),
           get("SCRIPT_FILENAME"), get("DOCUMENT_ROOT"))
    try:
        cached = _request_cache.get(key)
    except TypeError:  # a value that is not hashable: not remembered
        return _request_ini(configuration, server, sapi, now)
    stamp = int(time.time() if now is None else now)
    if cached is not None and cached[0] is configuration:
        entry = cached[3]
        if entry is None or (_user_cache.get(cached[2]) is entry and not stamp > entry[0]):
            return cached[1]
    read: list[tuple[str, tuple[int, dict[str, str]]]] = []
    found = _request_ini(configuration, server, sapi, stamp, read)
    if found.errors or found.fpm_log or "$" in f"{key[3]}{key[4]}":
        return found
    _request_cache.keep(key, (configuration, found, *read[0]) if read else (configuration, found, "", None))
    return found


def _request_ini(configuration: Configuration, server: Mapping[str, Any], sapi: str,
                 now: float | None = None, read: list[tuple[str, tuple[int, dict[str, str]]]] | None = None,
                 ) -> RequestIni:
    """The per-request configuration of php-cgi ("cgi") and PHP-FPM ("fpm"); nothing for the
    other SAPIs, which do none of it (CONF-SECTION-1, CONF-USERINI-1, CONF-FPM-1). In PHP's
    order: PHP_VALUE (any directive, as fpm_php_zend_ini_alter_master() ignores where it may
    change) and PHP_ADMIN_VALUE (the same, then locked), then [HOST=SERVER_NAME], then
    [PATH=...] for each directory from the root down to the script's, then the ``.user.ini``
    files (``user_ini.filename``) from DOCUMENT_ROOT down to the script's directory, which
    change only PHP_INI_PERDIR directives not locked; ``read`` gets the .user.ini cache entry
    it read, with its directory."""
    source = configuration.source
    changes: dict[str, str] = {}
    locked: set[str] = set()
    errors: list[str] = []
    fpm_log: list[str] = []
    if sapi == "fpm":
        for param, admin in (("PHP_VALUE", False), ("PHP_ADMIN_VALUE", True)):
            text = server.get(param)
            if isinstance(text, str):
                _fastcgi_values(text, admin, changes, locked, errors, fpm_log)
    master = dict(changes)
    per_host = source.per_host if source is not None else {}
    per_dir = source.per_dir if source is not None else {}
    name = server.get("SERVER_NAME")
    if per_host and isinstance(name, str):
        _activate(per_host.get(name.lower(), {}), changes, configuration.known)
    script = server.get("SCRIPT_FILENAME")
    if not isinstance(script, str) or not script:
        return RequestIni(changes, frozenset(locked), errors, fpm_log, master)
    path = script if script.endswith("/") else os.path.dirname(script) + "/"
    if per_dir:
        for index in range(1, len(path)):
            if path[index] == "/" and path[:index] in per_dir:
                _activate(per_dir[path[:index]], changes, configuration.known)
    directives = configuration.directives
    filename = changes.get("user_ini.filename", directives.get("user_ini.filename")) or ""
    doc_root = server.get("DOCUMENT_ROOT")
    if filename and isinstance(doc_root, str):
        ttl = ini_integer("user_ini.cache_ttl", changes.get("user_ini.cache_ttl", directives.get("user_ini.cache_ttl")) or "")
        entry = _user_ini(path, filename, doc_root, ttl, int(time.time() if now is None else now), errors)
        if read is not None:
            read.append((path, entry))
        user = entry[1]
        for key, value in user.items():
            directive = configuration.known.get(key)
            if directive is not None and directive.modifiable & INI_PERDIR and key not in locked:
                changes[key] = value
    return RequestIni(changes, frozenset(locked), errors, fpm_log, master)


def _activate(values: Mapping[str, str], changes: MutableMapping[str, str], known: Mapping[str, Any]) -> None:
    # php_ini_activate_config(..., PHP_INI_SYSTEM, ...): every directive PHP knows (INI-TABLE-1).
    for key, value in values.items():
        if key in known:
            changes[key] = value


def _fastcgi_values(text: str, admin: bool, changes: dict[str, str], locked: set[str], errors: list[str],
                    fpm_log: list[str]) -> None:
    # fpm_main.c: the param plus "\n" parsed as php.ini; fastcgi_ini_parser() for each entry.
    result = parse_ini_string(text + "\n", env=os.environ)
    for entry in result.entries:
        if entry.section is not None or entry.offset is not None:
            fpm_log.append("Passing INI directive through FastCGI: only classic entries are allowed")
        elif entry.value is None:
            fpm_log.append(f"Passing INI directive through FastCGI: empty value for key '{entry.name}'")
        elif entry.name not in sapi_directives("fpm"):  # PHP-FPM's own directives too (INI-TABLE-1)
            fpm_log.append(f"Passing INI directive through FastCGI: unable to set '{entry.name}'")
        else:
            changes[entry.name] = entry.value
            if admin:
                locked.add(entry.name)
    if result.error is not None:
        errors.append(f"PHP:  {result.error.message}\n")


def _user_ini(path: str, filename: str, doc_root: str, ttl: int, now: int,
              errors: list[str]) -> tuple[int, dict[str, str]]:
    """php_cgi_ini_activate_user_config(): the .user.ini values for the script directory
    ``path`` (ending in "/"), with when they expire, from the cache until it expires (``now`` past ``user_ini.cache_ttl``
    seconds after it was read), else read again: when ``path`` starts with DOCUMENT_ROOT (one
    trailing "/" ignored; compared as strings), the file in each directory from the document
    root down to the script's, else only the script's (CONF-USERINI-1)."""
    key = path
    with _user_cache_lock:
        cached = _user_cache.get(key)
        if cached is not None and not now > cached[0]:
            return cached
    if not os.path.isabs(path):
        path = os.path.realpath(path)
    root_length = len(doc_root) - doc_root.endswith("/")  # one trailing "/" ignored
    directories = []
    within = len(path) > root_length  # the string the loop walks is the script's path
    first, second, length = (doc_root, path, root_length) if within else (path, doc_root, len(path))
    if first[:length] == second[:length]:
        index = second.find("/", root_length)
        while index != -1:  # PHP cuts the path it walks; walking DOCUMENT_ROOT, it reads the path whole
            directories.append(path[:index] if within else path)
            index = second.find("/", index + 1)
    else:
        directories.append(path)
    sections = _Sections()
    for directory in directories:
        file = f"{directory}/{filename}"
        if not _is_regular(file):
            continue
        try:
            result = parse_ini_string(_read(file), env=os.environ, filename=file)
        except OSError:
            continue
        for entry in result.entries:
            sections.add(entry)
        if result.error is not None:
            errors.append(f"PHP:  {result.error.message}\n")
    made = (now + ttl, sections.values)
    with _user_cache_lock:
        _user_cache[key] = made
    return made


def write_errors(lines: list[str] | tuple[str, ...]) -> None:
    """Print ini syntax errors on the process's stderr, as PHP does before it starts."""
    for line in lines:
        sys.stderr.write(line)
    sys.stderr.flush()


IniFile = str | os.PathLike[str] | IniSource | None


def server_configuration(sapi: str, ini: Mapping[str, Any] | Configuration | None,
                         ini_file: IniFile) -> Mapping[str, Any] | Configuration | None:
    """What a server or application built with ``ini_file`` runs its requests with: ``ini``
    as it is without one; else the Configuration ``ini_file`` and ``ini`` make, whose syntax
    errors are printed on stderr now, once, as PHP prints them when it starts (CONF-API-1)."""
    if ini_file is None:
        return ini
    configuration = load_configuration(sapi, ini, ini_file)
    source = configuration.source
    if source is not None and source.errors:
        write_errors(source.errors)
    return configuration
