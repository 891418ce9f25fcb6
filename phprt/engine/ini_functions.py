"""ini_get(), ini_set(), ini_restore() and ini_get_all(): the script's view of the ini settings
(INI-GET-1, INI-SET-1, INI-RESTORE-1, INI-GETALL-1)."""

from __future__ import annotations

from typing import Any

from . import constants as C
from .base import RuntimeBase
from .functions import php_function
from .ini import INI_SYSTEM, INI_USER, ini_bool, ini_quantity_warning, ini_value
from .ini_files import RequestIni, request_ini, write_errors
from .ini_table import EXTENSIONS, PHP_DIRECTIVES, SAPI_DIRECTIVES
from .values import encodable

__all__ = ["IniFunctions"]


#: The on-update handlers (``DIRECTIVES[name].on_update``) whose change does more than
#: store the value, as the Runtime method that does it; False refuses the change (INI-SET-1).
_ON_UPDATE = {
    "OnUpdateDefaultCharset": "_update_header_default",
    "OnUpdateDefaultMimeTye": "_update_header_default",
    "OnUpdate_zlib_output_compression": "_update_zlib_compression",
    "OnUpdate_zlib_output_handler": "_update_zlib_output_handler",
    "OnUpdateTimeout": "_update_timeout",
}


class IniFunctions(RuntimeBase):
    """The ini functions, and the directives' values as the other concerns read them."""

    #: The directives PHP_ADMIN_VALUE set for this request: ini_set() cannot change them (CONF-FPM-1).
    _ini_locked: frozenset[str] = frozenset()
    #: What php-cgi and PHP-FPM changed and said for this request (CONF-USERINI-1).
    _ini_messages: RequestIni | None = None
    #: The directives ini_set() changed in this request: ini_restore() restores them (INI-RESTORE-1).
    _ini_changed: frozenset[str] = frozenset()

    def _request_ini(self) -> None:
        """What php-cgi and PHP-FPM change before the request starts -- PHP_VALUE and
        PHP_ADMIN_VALUE, [HOST=]/[PATH=] sections, .user.ini files (CONF-SECTION-1,
        CONF-USERINI-1, CONF-FPM-1); their messages wait for the request's start."""
        found = request_ini(self._configuration, self.server, "fpm" if self.sapi.fastcgi else self.sapi.name)
        self._ini.update(found.changes)
        self._ini_locked = found.locked
        self._ini_messages = found

    def _ini_file_errors(self) -> None:
        """At module startup: php.ini's syntax errors, which php and php-cgi print on stderr
        before anything else (a server printed them once when it started) (CONF-SYNTAX-1);
        then those of .user.ini files (php-cgi's stderr; PHP-FPM's worker's own, not the
        request's) and PHP-FPM's messages about PHP_VALUE, sent as FastCGI stderr records."""
        source = self._configuration.source
        lines = list(source.errors) if source is not None and self.sapi.name in ("cli", "cgi") else []
        found = self._ini_messages
        if found is not None and self.sapi.name == "cgi":
            lines += found.errors
        elif found is not None and found.errors:  # no stderr flush for nothing (PERF-START-3)
            write_errors(found.errors)
        for line in lines:
            self.transport.write_stderr(line.encode("utf-8", "surrogateescape"))
        for message in found.fpm_log if found is not None else ():  # joined as PHP-FPM joins a request's log
            separator = "; " if getattr(self, "_fpm_logged", False) else ""  # ErrorFunctions' flag (SAPI-FPM-2)
            setattr(self, "_fpm_logged", True)
            self._sink.write_stderr(f"{separator}{message}".encode("utf-8", "surrogateescape"))

    @php_function
    def ini_get(self, option: str) -> str | bool:
        """The directive's value as a string, or False for one phprt does not know (INI-GET-1)."""
        if option not in self._ini:
            return False
        return self._ini_str(option)

    def _ini_str(self, name: str) -> str:
        return self._ini[name] or ""

    def _ini_flag(self, name: str) -> bool:
        return ini_bool(self._ini_str(name))

    @php_function
    def get_cfg_var(self, option: str) -> str | bool:
        """The value php.ini or ``-d`` gave ``option`` -- ``Runtime(ini=...)`` here --, known
        directive or not, or False when none did (INI-UNKNOWN-1)."""
        return self._configuration.get(option, False)

    def _user_may_change(self, option: str) -> bool:
        # zend_alter_ini_entry_ex() at run time: a directive PHP registers, with PHP_INI_USER
        # access, not locked by PHP_ADMIN_VALUE (INI-SET-1, CONF-FPM-1)
        directive = self._configuration.known.get(option)
        return directive is not None and bool(directive.modifiable & INI_USER) and option not in self._ini_locked

    @php_function(aliases=("ini_alter",))
    def ini_set(self, option: str, value: Any) -> str | bool:
        """Set a directive changeable at run time; returns the old value, or False (INI-SET-1).
        A directive phprt does not model is only stored (INI-TABLE-2, DEV-INI-DIRECTIVES-1)."""
        if not self._user_may_change(option):
            return False
        old, new = self._ini_str(option), ini_value(value)
        warning = ini_quantity_warning(option, new)
        if warning is not None:  # zend_ini_parse_quantity_warn(): the value is kept (INI-SET-4)
            self._error(C.E_WARNING, warning)
        if not self._ini_update(option, new):
            return False
        self._ini_changed = self._ini_changed | {option}
        return old

    ini_alter = ini_set

    def _ini_update(self, option: str, new: str) -> bool:
        """The directive's on-update handler, where phprt models one, then the value stored;
        False: the handler refused it (INI-SET-1)."""
        hook = _ON_UPDATE.get(self._configuration.known[option].on_update or "")
        if option.startswith("session.") and not getattr(self, "_session_ini_set")(option, new):  # SESS-INI-1
            return False
        if hook is not None and not getattr(self, hook)(new):
            return False
        self._ini[option] = new
        return True

    def _master(self, name: str) -> str | None:
        # the value before the request started: php.ini's, -d's or the default, or what PHP-FPM's
        # PHP_VALUE / PHP_ADMIN_VALUE wrote as the master value (INI-RESTORE-1, INI-GETALL-1)
        found = self._ini_messages
        if found is not None and name in found.master:
            return found.master[name]
        return self._configuration.directives.get(name)

    @php_function
    def ini_restore(self, option: str) -> None:
        """Give a directive the script may change its value from before the request started:
        php.ini's, ``-d``'s or the default, not .user.ini's; nothing for a name PHP does not
        know or one only php.ini may change (INI-RESTORE-1)."""
        if not self._user_may_change(option):
            return
        master = self._master(option)
        if option not in self._ini_changed and self._ini.get(option) == master:
            return  # not modified: PHP's handler is not called
        if master is None:
            if self._ini_update(option, ""):
                self._ini[option] = None
        else:
            self._ini_update(option, master)
        self._ini_changed = self._ini_changed - {option}

    @php_function
    def ini_get_all(self, extension: str | None = None, details: bool = True) -> dict[str, Any] | bool:
        """Every directive PHP registers, in PHP's order (by name, case-insensitively), or those
        of ``extension`` (a lower-case module name; "core" is all of them): with ``details``,
        each as ``{"global_value", "local_value", "access"}``, else its value; None for no
        value. An extension PHP does not have warns and returns false (INI-GETALL-1)."""
        known = self._configuration.known
        if extension is not None:
            if extension not in EXTENSIONS.get(self._configuration.sapi, EXTENSIONS["cli"]):
                self._error(C.E_WARNING, f'ini_get_all(): Extension "{extension}" cannot be found', docref=True)
                return False
        result: dict[str, Any] = {}
        for name in sorted(known, key=str.lower):
            module = _module(name, self._configuration.sapi)
            if extension not in (None, "core") and module != extension:
                continue
            local = self._ini.get(name)
            if not details:
                result[name] = local
                continue
            master = self._master(name)
            modified = name in self._ini_changed or local != master
            access = INI_SYSTEM if name in self._ini_locked else known[name].modifiable
            # zend: orig_value when modified, else the value; a modified one without value shows its new one
            result[name] = {"global_value": master if modified and master is not None else local,
                            "local_value": local, "access": access}
        return result

    def _update_header_default(self, value: str) -> bool:
        # OnUpdateDefaultCharset, OnUpdateDefaultMimeTye: no CR, LF or NUL (HDR-DEFAULT-3),
        # and nothing the charset cannot encode (DEV-HEADER-BYTES-1)
        return not any(char in value for char in "\r\n\0") and encodable(value, self.charset)


def _module(name: str, sapi: str) -> str:
    """The extension that registers directive ``name`` ("core": PHP itself) (INI-TABLE-1)."""
    entry = PHP_DIRECTIVES.get(name) or SAPI_DIRECTIVES.get(sapi, {}).get(name)
    return entry[2] if entry is not None else "core"
