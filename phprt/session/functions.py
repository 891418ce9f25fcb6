"""PHP's session functions (SESS-*): ext/session/session.c ported onto the Runtime.

The session's state is the Runtime's (PHP's ``PS()`` globals are per request);
``rt.session`` is ``$_SESSION``. The data goes through a save module
(handlers.py): PHP's files handler (files.py) unless the script set its own with
session_set_save_handler(). The head is PHP's: the Set-Cookie line and the cache
limiter's headers go on the Runtime's header queue. The session is written and its
lock released by session_write_close() or at the end of the request, after the
shutdown functions and the output layer's end (SESS-END-1).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Callable

from ..engine import constants as C
from ..engine.base import UNSET, RuntimeBase, caller_scope
from ..engine.callables import InvalidCallable, resolve_callable
from ..engine.errors import PhpError
from ..engine.functions import php_function
from ..engine.ini import DIRECTIVES, INI_USER, ini_bool, ini_integer, ini_value
from ..engine.serialize import UnserializeError, is_integer_key, serialize_entries, serialize_value, unserialize_value
from ..engine.values import PHP_BYTES, leading_int, numeric_string, zval_type_name
from ..http.cookies import cookie_attributes
from ..http.headers import http_date
from .files import FilesModule
from .handlers import SaveModule, SessionHandlerInterface, UserModule, create_id, valid_id

__all__ = ["PHP_SESSION_ACTIVE", "PHP_SESSION_DISABLED", "PHP_SESSION_NONE", "SessionFunctions"]

PHP_SESSION_DISABLED, PHP_SESSION_NONE, PHP_SESSION_ACTIVE = 0, 1, 2

_FORBIDDEN_NAME = frozenset("=,;.[ \t\r\n\013\014")
_FORBIDDEN_NAME_TEXT = "'=,;.[ \\t\\r\\n\\013\\014'"
_DANGEROUS_ID = frozenset("\r\n\t <>'\"\\")
_NOCACHE_EXPIRES = "Expires: Thu, 19 Nov 1981 08:52:00 GMT"
_URL_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
_SERIALIZERS = ("php_serialize", "php", "php_binary")


def url_encode(text: str, charset: str) -> str:
    """php_url_encode() (urlencode()): space as +, all but A-Z a-z 0-9 - _ . as %XX."""
    out = []
    for byte in text.encode(charset, PHP_BYTES):
        out.append(chr(byte) if byte in _URL_SAFE else "+" if byte == 0x20 else f"%{byte:02X}")
    return "".join(out)


class SessionFunctions(RuntimeBase):
    """The session of one request."""

    _session_status = PHP_SESSION_NONE
    _session_id: str | None = None
    _session_module: SaveModule | None = None  # PS(mod) with its PS(mod_data)
    _session_opened = False  # PS(mod_data): the module is open
    _session_user: UserModule | None = None  # set by session_set_save_handler()
    _session_bound = False  # IF_SESSION_VARS(): $_SESSION is the session's
    _session_read: bytes | None = None  # PS(session_vars): the data read, for lazy_write
    _session_send_cookie = False
    _session_function = "session_start"  # whose name prefixes the warnings
    _session_shutdown_registered = False
    _session_vars: dict[Any, Any] | None = None
    _session_rinit_disabled: bool | None = None  # PHP_SESSION_DISABLED from the request's start

    # -- $_SESSION and the ini -------------------------------------------------------------------

    @property
    def session(self) -> dict[Any, Any]:
        """$_SESSION: an empty dict until session_start() fills it (SESS-VARS-1)."""
        if self._session_vars is None:
            self._session_vars = {}
        return self._session_vars

    @session.setter
    def session(self, value: dict[Any, Any]) -> None:
        self._session_vars = value

    def _sess(self, name: str) -> str:
        return self._ini_str("session." + name)

    def _sess_flag(self, name: str) -> bool:
        return ini_bool(self._sess(name))

    def _sess_int(self, name: str) -> int:
        return leading_int(self._sess(name).strip())

    def _sess_warn(self, message: str, level: int = C.E_WARNING) -> None:
        prefix = f"{self._session_function}(): " if self._session_function else "PHP Request Shutdown: "
        location = ("Unknown", 0) if self._session_function == "" else None
        self._error(level, prefix + message, location, docref=True)

    def _session_alter_ini(self, name: str, value: str, checks: bool) -> bool:
        """zend_alter_ini_entry() for a session.* directive with its on-update handler's
        checks and warnings (SESS-INI-1); ``checks``: also PHP's SESSION_CHECK_ACTIVE_STATE
        and SESSION_CHECK_OUTPUT_STATE, as ini_set() meets them."""
        directive = DIRECTIVES.get(name)
        if directive is None or not directive.modifiable & INI_USER:
            return False
        handler = directive.on_update or ""
        if checks and handler.startswith(("OnUpdateSession", "OnUpdateName", "OnUpdateSave", "OnUpdateSerializer",
                                          "OnUpdateCookie", "OnUpdateSid")):
            if self._session_status == PHP_SESSION_ACTIVE:
                self._sess_warn("Session ini settings cannot be changed when a session is active")
                return False
            if self._headers.sent:
                self._sess_warn("Session ini settings cannot be changed after headers have already been sent")
                return False
        if handler == "OnUpdateName" and (value == "" or numeric_string(value) is not None):
            self._sess_warn(f'session.name "{value}" cannot be numeric or empty')
            return False
        if handler == "OnUpdateCookieLifetime" and leading_int(value.strip()) < 0:
            self._sess_warn("CookieLifetime cannot be negative")
            return False
        if handler in ("OnUpdateSidLength", "OnUpdateSidBits"):
            low, high, what = (22, 256, "sid_length") if handler == "OnUpdateSidLength" else (4, 6, "sid_bits_per_character")
            if not (value.strip().lstrip("+-").isdigit() and low <= int(value) <= high):
                self._sess_warn(f'session.configuration "session.{what}" must be between {low} and {high}')
                return False
        if handler == "OnUpdateSerializer" and value.lower() not in _SERIALIZERS:
            self._sess_warn(f'Serialization handler "{value}" cannot be found')
            return False
        if handler == "OnUpdateSaveHandler":
            if value.lower() == "user" and self._session_user is None:
                self._sess_warn('Session save handler "user" cannot be set by ini_set()')
                return False
            if value.lower() not in ("files", "user"):
                self._sess_warn(f'Session save handler "{value}" cannot be found')
                return False
        self._ini[name] = value
        return True

    def _session_ini_set(self, option: str, value: str) -> bool:
        """ini_set() of a session.* directive: the session's checks (SESS-INI-1)."""
        self._session_function = "ini_set"
        return self._session_alter_ini(option, value, checks=True)

    # -- the module ---------------------------------------------------------------------------

    def _session_mod(self) -> SaveModule | None:
        if self._session_module is None:
            if self._session_user is not None:
                self._session_module = self._session_user
            elif self._sess("save_handler").lower() == "files":
                self._session_module = FilesModule()
            else:
                return None
        module = self._session_module
        module.warn = self._sess_warn
        module.notice = lambda message: self._sess_warn(message, C.E_NOTICE)
        module.deprecated = lambda message: self._sess_warn(message, C.E_DEPRECATED)
        module.error = lambda message: self._error(C.E_WARNING, message)
        module.id_length, module.id_bits = self._sess_int("sid_length"), self._sess_int("sid_bits_per_character")
        return module

    def _session_pending(self) -> None:
        # EG(exception) from a user handler: raised once session.c is done (SESS-HANDLER-3)
        if isinstance(self._session_module, UserModule):
            pending = self._session_module.take_pending()
            if pending is not None:
                try:
                    raise pending
                finally:  # this frame, in the traceback, holds no reference back to it (PERF-RELEASE-1)
                    del pending

    def _session_had_exception(self) -> bool:
        return isinstance(self._session_module, UserModule) and self._session_module.pending is not None

    def _session_close_module(self) -> None:
        # s_close() once per open: mod_data for files, mod_user_implemented for a user handler
        module = self._session_module
        if module is not None and self._session_opened:
            self._session_opened = False
            module.close()

    # -- encoding -------------------------------------------------------------------------------

    def _session_encode(self) -> bytes | None:
        """The serialize_handler's encoding of $_SESSION (SESS-SERIALIZER-1)."""
        precision = self._serialize_precision()
        data = self.session
        if self._sess("serialize_handler").lower() == "php_serialize":
            return serialize_value(dict(data), precision=precision, charset=self.charset)
        binary = self._sess("serialize_handler").lower() == "php_binary"
        entries: list[tuple[Any, Any]] = []
        for key, value in data.items():
            if isinstance(key, int) or (isinstance(key, str) and is_integer_key(key)):
                self._sess_warn(f"Skipping numeric key {int(key)}", C.E_WARNING)
                continue
            name = str(key)
            if "|" in name and not binary:
                return None
            entries.append((name, value))
        encoded = serialize_entries(entries, precision=precision, charset=self.charset, binary=binary)
        return encoded or None  # smart_str: NULL when empty

    def _session_decode(self, data: bytes) -> bool:
        """PS_SERIALIZER_DECODE_FUNC(php|php_serialize) into $_SESSION; on failure the
        session is destroyed, as php_session_cancel_decode() does (SESS-DECODE-1)."""
        depth = ini_integer("unserialize_max_depth", self._ini_str("unserialize_max_depth"))
        ok = True
        if self._sess("serialize_handler").lower() == "php_serialize":
            try:
                value, _ = unserialize_value(data, max_depth=depth, charset=self.charset)
            except UnserializeError:
                value, ok = {}, not data
            self.session = dict(enumerate(value)) if isinstance(value, list) else value if isinstance(value, dict) else {}
        else:
            binary = self._sess("serialize_handler").lower() == "php_binary"
            pos, target = 0, self.session
            while pos < len(data):
                if binary:  # PS_SERIALIZER_DECODE_FUNC(php_binary): a length byte, the name
                    length = data[pos] & 0x7F
                    if pos + length + 1 >= len(data):
                        ok = False
                        break
                    name_end, value_start = pos + 1 + length, pos + 1 + length
                    name = data[pos + 1:name_end].decode(self.charset, "surrogateescape")
                else:
                    bar = data.find(b"|", pos)
                    if bar < 0:
                        ok = False
                        break
                    name, value_start = data[pos:bar].decode(self.charset, "surrogateescape"), bar + 1
                try:
                    value, pos = unserialize_value(data, max_depth=depth, charset=self.charset, start=value_start)
                except UnserializeError:
                    ok = False
                    break
                target[name] = value
        if not ok:
            self._session_destroy()
            self.session = {}
            self._session_bound = True
            self._sess_warn("Failed to decode session object. Session has been destroyed")
        return ok

    # -- session.c --------------------------------------------------------------------------------

    def _session_send_cookie_line(self) -> None:
        # php_session_send_cookie() (SESS-COOKIE-1)
        if self._headers.sent:
            self._sess_warn("Session cookie cannot be sent after headers have already been sent")
            return
        name = self._sess("name")
        if not _FORBIDDEN_NAME.isdisjoint(name):
            self._sess_warn(f"session.name cannot contain any of the following {_FORBIDDEN_NAME_TEXT}")
            return
        e_name = url_encode(name, self.charset)
        line = f"Set-Cookie: {e_name}={url_encode(self._session_id or '', self.charset)}"
        lifetime = self._sess_int("cookie_lifetime")
        if lifetime > 0:
            line += f"; expires={http_date(int(time.time()) + lifetime)}; Max-Age={lifetime}"
        line += cookie_attributes(self._sess("cookie_path"), self._sess("cookie_domain"), self._sess_flag("cookie_secure"),
                                  self._sess_flag("cookie_httponly"), self._sess("cookie_samesite"))
        prefix = f"set-cookie: {e_name}=".lower()  # php_session_remove_cookie()
        self._headers.lines[:] = [h for h in self._headers.lines if not h.lower().startswith(prefix)]
        self._add_header(line, False)

    def _session_reset_id(self) -> bool:
        # php_session_reset_id()
        if self._session_id is None:
            self._sess_warn("Cannot set session ID - session ID is not initialized")
            return False
        if self._sess_flag("use_cookies") and self._session_send_cookie:
            self._session_send_cookie_line()
            self._session_send_cookie = False
        return True

    def _session_abort(self) -> bool:
        # php_session_abort(): close without writing
        if self._session_status != PHP_SESSION_ACTIVE:
            return False
        self._session_close_module()
        self._session_status = PHP_SESSION_NONE
        return True

    def _session_gc(self, immediate: bool) -> int:
        # php_session_gc()
        module = self._session_module
        if module is None or not self._session_opened:
            return -1
        collect = immediate
        probability = self._sess_int("gc_probability")
        if not collect and probability > 0:
            import random  # imported by the session that needs it, not at every start (issue 13)

            collect = random.randrange(max(self._sess_int("gc_divisor"), 1)) < probability
        if not collect:
            return -1
        result = module.gc(self._sess_int("gc_maxlifetime"))
        return -1 if result is None else result

    def _session_initialize(self) -> bool:
        """php_session_initialize(): open, an id, the cookie, read, gc, decode (SESS-START-2)."""
        self._session_status = PHP_SESSION_ACTIVE
        module = self._session_mod()
        if module is None:
            self._session_status = PHP_SESSION_DISABLED
            self._sess_warn("No storage module chosen - failed to initialize session")
            return False
        save_path, name = self._sess("save_path"), self._sess("name")
        if not module.open(save_path, name):
            self._session_abort()
            if not self._session_had_exception():
                self._sess_warn(f"Failed to initialize storage module: {module.name} (path: {save_path})")
            return False
        self._session_opened = True
        if not self._session_id:
            self._session_id = module.create_sid()
            if self._session_id is None:
                self._session_abort()
                if not self._session_had_exception():
                    raise _php_error(f"Failed to create session ID: {module.name} (path: {save_path})")
                return False
            if self._sess_flag("use_cookies"):
                self._session_send_cookie = True
        elif self._sess_flag("use_strict_mode") and module.has_validate_sid and not module.validate_sid(self._session_id):
            self._session_id = module.create_sid() or create_id(self._sess_int("sid_length"),
                                                                self._sess_int("sid_bits_per_character"))
            if self._sess_flag("use_cookies"):
                self._session_send_cookie = True
        if not self._session_reset_id():
            self._session_abort()
            return False
        self.session = {}
        self._session_bound = True
        data = module.read(self._session_id, self._sess_int("gc_maxlifetime"))
        if data is None:
            self._session_abort()
            if not self._session_had_exception():
                self._sess_warn(f"Failed to read session data: {module.name} (path: {save_path})")
            return False
        self._session_gc(False)
        self._session_read = data if self._sess_flag("lazy_write") else None
        if data:
            self._session_decode(data)
        return True

    def _session_cache_limiter(self) -> int:
        """php_session_cache_limiter(): the limiter's headers (SESS-CACHE-1)."""
        limiter = self._sess("cache_limiter")
        if not limiter:
            return 0
        if self._session_status != PHP_SESSION_ACTIVE:
            return -1
        if self._headers.sent:
            self._session_abort()
            self._sess_warn("Session cache limiter cannot be sent after headers have already been sent")
            return -2
        expire = self._sess_int("cache_expire") * 60
        kind = limiter.lower()
        if kind == "public":
            self._add_header(f"Expires: {http_date(int(time.time()) + expire)}", True)
            self._add_header(f"Cache-Control: public, max-age={expire}", True)
            self._last_modified()
        elif kind in ("private", "private_no_expire"):
            if kind == "private":
                self._add_header(_NOCACHE_EXPIRES, True)
            self._add_header(f"Cache-Control: private, max-age={expire}", True)
            self._last_modified()
        elif kind == "nocache":
            self._add_header(_NOCACHE_EXPIRES, True)
            self._add_header("Cache-Control: no-store, no-cache, must-revalidate", True)
            self._add_header("Pragma: no-cache", True)
        else:
            return -1
        return 0

    def _last_modified(self) -> None:
        # last_modified(): the script's mtime (SG(request_info).path_translated)
        path = self._received.get("SCRIPT_FILENAME") or self._received.get("PATH_TRANSLATED")
        if not path:
            return
        try:
            mtime = int(os.stat(path).st_mtime)
        except OSError:
            return
        self._add_header(f"Last-Modified: {http_date(mtime)}", True)

    def _session_begin(self) -> bool:
        """php_session_start() (SESS-START-1)."""
        self._session_send_cookie = self._sess_flag("use_cookies") or self._sess_flag("use_only_cookies")
        name = self._sess("name")
        if not self._session_id:
            if self._sess_flag("use_cookies") and name in self.cookie:
                value = self.cookie[name]
                self._session_id = value if isinstance(value, str) else None
                self._session_send_cookie = False
            if not self._sess_flag("use_only_cookies"):
                for source in (self.get, self.post):
                    if not self._session_id and name in source:
                        value = source[name]
                        self._session_id = value if isinstance(value, str) else None
                        self._session_send_cookie = not isinstance(value, str)
                referer, check = self.server.get("HTTP_REFERER"), self._sess("referer_check")
                if self._session_id and check and isinstance(referer, str) and referer and check not in referer:
                    self._session_id = None  # an id from a page of another site
        if self._session_id and not _DANGEROUS_ID.isdisjoint(self._session_id):
            self._session_id = None
        try:
            ok = self._session_initialize() and self._session_cache_limiter() != -2
        except BaseException:
            self._session_abort()
            raise
        if not ok:
            if self._session_status != PHP_SESSION_DISABLED:
                self._session_status = PHP_SESSION_NONE
            self._session_id = None
        if self._trace is not None:  # the session is open, its data read and (files) locked (TRACE-EVENT-1)
            self._trace.record("session", {"action": "start", "ok": ok, "id": self._session_id,
                                           "handler": self._sess("save_handler")}, ("SESS-START-1",))
        self._session_pending()
        return ok

    def _session_flush(self, write: bool) -> bool:
        """php_session_flush(): write (unless ``write`` is False) and close, releasing
        the lock (SESS-WRITE-1)."""
        if self._session_status != PHP_SESSION_ACTIVE:
            return False
        try:
            self._session_save(write)
        finally:
            self._session_status = PHP_SESSION_NONE
        self._session_pending()
        return True

    def _session_save(self, write: bool) -> None:
        # php_session_save_current_state()
        module = self._session_module
        try:
            if write and self._session_bound and module is not None and self._session_opened:
                sid, lifetime = self._session_id or "", self._sess_int("gc_maxlifetime")
                data = self._session_encode()
                operation = "write"
                if data is not None and self._sess_flag("lazy_write") and self._session_read is not None \
                        and module.has_update_timestamp and data == self._session_read:
                    ok = module.update_timestamp(sid, data, lifetime)
                    operation = "update_timestamp"
                else:
                    ok = module.write(sid, data if data is not None else b"", lifetime)
                if not ok and not self._session_had_exception():
                    save_path = self._sess("save_path")
                    if isinstance(module, UserModule):
                        if module.class_name is not None:
                            operation = f"{module.class_name}::{'updateTimestamp' if operation != 'write' else 'write'}"
                        self._sess_warn(f"Failed to write session data using user defined save handler. "
                                        f"(session.save_path: {save_path}, handler: {operation})")
                    else:
                        self._sess_warn(f"Failed to write session data ({module.name}). Please verify that the "
                                        f"current setting of session.save_path is correct ({save_path})")
        finally:
            self._session_close_module()
            if self._trace is not None:  # closed: the lock is released (TRACE-EVENT-1)
                ending = not self._session_function  # PHP_RSHUTDOWN_FUNCTION(session), not a function
                self._trace.record("session", {"action": "write and close" if write else "close unwritten",
                                               "id": self._session_id, "request_end": ending},
                                   ("SESS-END-1",) if ending else ("SESS-WRITE-1",))

    def _session_destroy(self) -> bool:
        # php_session_destroy()
        if self._session_status != PHP_SESSION_ACTIVE:
            self._sess_warn("Trying to destroy uninitialized session")
            return False
        ok = True
        module = self._session_module
        try:
            if self._session_id and module is not None and not module.destroy(self._session_id):
                ok = False
                if not self._session_had_exception():
                    self._sess_warn("Session object destruction failed")
        finally:
            self._session_rshutdown()
        return ok

    def _session_rshutdown(self) -> None:
        # php_rshutdown_session_globals() + php_rinit_session_globals(); nothing to undo for a
        # request whose session was never touched (PERF-START-4)
        if (self._session_module is None and self._session_status == PHP_SESSION_NONE and self._session_id is None
                and self._session_read is None and not self._session_bound):
            return
        self._session_bound = False
        try:
            self._session_close_module()
        finally:
            self._session_id = None
            self._session_read = None
            self._session_status = PHP_SESSION_NONE
            self._session_module = None

    def _session_request_end(self) -> None:
        """PHP_RSHUTDOWN_FUNCTION(session): an active session is written and its lock
        released, after the shutdown functions and the output layer's end; whatever
        happens, the module is closed (SESS-END-1)."""
        self._session_function = ""
        try:
            if self._session_status == PHP_SESSION_ACTIVE:
                self._session_flush(True)
        finally:
            self._session_rshutdown()

    # -- the PHP functions --------------------------------------------------------------------------

    def _enter(self, function: str) -> None:
        self._session_function = function

    def _active_warning(self, message: str) -> bool:
        if self._session_status == PHP_SESSION_ACTIVE:
            self._sess_warn(message)
            return True
        return False

    def _sent_warning(self, message: str) -> bool:
        if self._headers.sent:
            self._sess_warn(message)
            return True
        return False

    @php_function
    def session_start(self, options: Any = UNSET) -> bool:
        """Start or resume the session: its id from the cookie (or a new one, sent as
        PHP's Set-Cookie), its data read under the save handler's lock, the cache
        limiter's headers (SESS-START-1, SESS-COOKIE-1, SESS-CACHE-1, SESS-LOCK-1)."""
        self._enter("session_start")
        if options is not UNSET and not isinstance(options, (dict, list)):
            raise TypeError(f"session_start(): Argument #1 ($options) must be of type array, {zval_type_name(options)} given")
        if self._session_status == PHP_SESSION_ACTIVE:
            self._sess_warn("Ignoring session_start() because a session is already active", C.E_NOTICE)
            return True
        if self._sess_flag("use_cookies") and self._headers.sent:
            self._sess_warn("Session cannot be started after headers have already been sent")
            return False
        read_and_close = False
        items = options.items() if isinstance(options, dict) else enumerate(options) if isinstance(options, list) else ()
        for key, value in items:
            if not isinstance(key, str) or is_integer_key(key):
                raise ValueError("session_start(): Argument #1 ($options) must be of type array with keys as string")
            if not isinstance(value, (str, bool, int)) or isinstance(value, float):
                raise TypeError(f'session_start(): Option "{key}" must be of type string|int|bool, '
                                f"{zval_type_name(value)} given")
            if key == "read_and_close":
                if isinstance(value, str):
                    number = numeric_string(value)
                    if not isinstance(number, int):
                        raise TypeError(f'session_start(): Option "{key}" value must be of type compatible with int, '
                                        f'"{value}" given')
                    read_and_close = number > 0
                else:
                    read_and_close = int(value) > 0
            elif not self._session_alter_ini("session." + key, ini_value(value), checks=False):
                self._sess_warn(f'Setting option "{key}" failed')
        if self._session_disabled():
            unusable = self._session_unusable()
            if unusable is not None:
                self._sess_warn(unusable)
                return False
            self._session_rinit_disabled = False
        self._session_begin()
        if self._session_status != PHP_SESSION_ACTIVE:
            if self._session_bound:
                self.session.clear()
            return False
        if read_and_close:
            self._session_flush(False)
        return True

    @php_function
    def session_status(self) -> int:
        """PHP_SESSION_NONE or PHP_SESSION_ACTIVE; PHP_SESSION_DISABLED when the
        configured save or serialize handler does not exist (SESS-STATUS-1)."""
        if self._session_status == PHP_SESSION_NONE and self._session_disabled():
            return PHP_SESSION_DISABLED
        return self._session_status

    def _session_disabled(self) -> bool:
        # php_rinit_session(): PS(mod) and PS(serializer) from the request's starting ini;
        # disabled until a session_start() finds them
        if self._session_rinit_disabled is None:
            initial = self._configuration.directive_values()
            self._session_rinit_disabled = self._session_unusable(initial) is not None
        return self._session_rinit_disabled

    def _session_unusable(self, ini: Any = None) -> str | None:
        # php_session_start()'s case php_session_disabled: the handlers named now
        def value(name: str) -> str:
            return (ini.get("session." + name) or "") if ini is not None else self._sess(name)
        handler = value("save_handler")
        if not (handler.lower() == "files" or (handler.lower() == "user" and self._session_user is not None)):
            return f'Cannot find session save handler "{handler}" - session startup failed'
        serializer = value("serialize_handler")
        if serializer.lower() not in _SERIALIZERS:
            return f'Cannot find session serialization handler "{serializer}" - session startup failed'
        return None

    @php_function
    def session_id(self, id: Any = None) -> str | bool:
        """The session id ("" before there is one); with ``id``, the id the next
        session_start() uses (SESS-ID-3)."""
        self._enter("session_id")
        new = None if id is None else self._string_arg("session_id", 1, "id", id)
        if new is not None and self._active_warning("Session ID cannot be changed when a session is active"):
            return False
        if new is not None and self._sess_flag("use_cookies") and \
                self._sent_warning("Session ID cannot be changed after headers have already been sent"):
            return False
        old = (self._session_id or "").partition("\0")[0]
        if new is not None:
            self._session_id = new
        return old

    @php_function
    def session_name(self, name: Any = None) -> str | bool:
        """The session name (session.name); with ``name``, set it (SESS-NAME-1)."""
        self._enter("session_name")
        new = None if name is None else self._string_arg("session_name", 1, "name", name)
        if new is not None and self._active_warning("Session name cannot be changed when a session is active"):
            return False
        if new is not None and self._sent_warning("Session name cannot be changed after headers have already been sent"):
            return False
        old = self._sess("name")
        if new is not None:
            self._session_alter_ini("session.name", new, checks=False)
        return old

    @php_function
    def session_save_path(self, path: Any = None) -> str | bool:
        """session.save_path; with ``path``, set it (SESS-FILES-2)."""
        self._enter("session_save_path")
        new = None if path is None else self._string_arg("session_save_path", 1, "path", path)
        if new is not None and self._active_warning("Session save path cannot be changed when a session is active"):
            return False
        if new is not None and self._sent_warning("Session save path cannot be changed after headers have already been sent"):
            return False
        old = self._sess("save_path")
        if new is not None and "\0" not in new:
            self._ini["session.save_path"] = new
        return old

    @php_function
    def session_cache_limiter(self, value: Any = None) -> str | bool:
        """session.cache_limiter; with a value, set it (SESS-CACHE-1)."""
        self._enter("session_cache_limiter")
        new = None if value is None else self._string_arg("session_cache_limiter", 1, "value", value)
        if new is not None and self._active_warning("Session cache limiter cannot be changed when a session is active"):
            return False
        if new is not None and self._sent_warning("Session cache limiter cannot be changed after headers have already been sent"):
            return False
        old = self._sess("cache_limiter")
        if new is not None:
            self._ini["session.cache_limiter"] = new
        return old

    @php_function
    def session_cache_expire(self, value: Any = None) -> int | bool:
        """session.cache_expire in minutes; with a value, set it (SESS-CACHE-1)."""
        self._enter("session_cache_expire")
        new = None if value is None else self._int_arg("session_cache_expire", 1, "value", value)
        if new is not None and self._active_warning("Session cache expiration cannot be changed when a session is active"):
            return self._sess_int("cache_expire")
        if new is not None and self._sent_warning("Session cache expiration cannot be changed after headers have already been sent"):
            return False
        old = self._sess_int("cache_expire")
        if new is not None:
            self._ini["session.cache_expire"] = str(new)
        return old

    @php_function
    def session_get_cookie_params(self) -> dict[str, Any]:
        """The session cookie's lifetime, path, domain, secure, httponly, samesite (SESS-COOKIE-2)."""
        return {
            "lifetime": self._sess_int("cookie_lifetime"), "path": self._sess("cookie_path"),
            "domain": self._sess("cookie_domain"), "secure": self._sess_flag("cookie_secure"),
            "httponly": self._sess_flag("cookie_httponly"), "samesite": self._sess("cookie_samesite"),
        }

    @php_function
    def session_set_cookie_params(self, lifetime_or_options: Any, path: Any = None, domain: Any = None,
                                  secure: Any = None, httponly: Any = None) -> bool:
        """Set the session cookie's attributes, from an options array or the
        arguments (SESS-COOKIE-2)."""
        self._enter("session_set_cookie_params")
        options = lifetime_or_options if isinstance(lifetime_or_options, dict) else None
        if options is None:
            lifetime_value = self._int_arg("session_set_cookie_params", 1, "lifetime_or_options", lifetime_or_options, "array|int")
        if self._active_warning("Session cookie parameters cannot be changed when a session is active"):
            return False
        if self._sent_warning("Session cookie parameters cannot be changed after headers have already been sent"):
            return False
        values: dict[str, str] = {}
        if options is not None:
            for position, (argument, name) in enumerate(((path, "path"), (domain, "domain"), (secure, "secure"),
                                                         (httponly, "httponly")), start=2):
                if argument is not None:
                    raise ValueError(f"session_set_cookie_params(): Argument #{position} (${name}) must be null when "
                                     "argument #1 ($lifetime_or_options) is an array")
            for key, value in options.items():
                if not isinstance(key, str) or is_integer_key(key):
                    self._sess_warn("Argument #1 ($lifetime_or_options) cannot contain numeric keys")
                    continue
                lowered = key.lower()
                if lowered in ("lifetime", "path", "domain", "samesite"):
                    values[lowered] = self._php_string(value)
                elif lowered in ("secure", "httponly"):
                    values[lowered] = "1" if value and value != "0" else "0"
                else:
                    self._sess_warn(f'Argument #1 ($lifetime_or_options) contains an unrecognized key "{key}"')
            if not values:
                raise ValueError("session_set_cookie_params(): Argument #1 ($lifetime_or_options) must contain at "
                                 "least 1 valid key")
        else:
            values["lifetime"] = str(lifetime_value)
            if path is not None:
                values["path"] = self._string_arg("session_set_cookie_params", 2, "path", path)
            if domain is not None:
                values["domain"] = self._string_arg("session_set_cookie_params", 3, "domain", domain)
            if secure is not None:
                values["secure"] = "1" if self._bool_arg("session_set_cookie_params", 4, "secure", secure) else "0"
            if httponly is not None:
                values["httponly"] = "1" if self._bool_arg("session_set_cookie_params", 5, "httponly", httponly) else "0"
        for key in ("lifetime", "path", "domain", "secure", "httponly", "samesite"):
            if key in values and not self._session_alter_ini(f"session.cookie_{key}", values[key], checks=False):
                return False
        return True

    @php_function
    def session_write_close(self) -> bool:
        """Write the session and release its lock; False when none is active (SESS-WRITE-1)."""
        self._enter("session_write_close")
        return self._session_flush(True)

    @php_function
    def session_commit(self) -> bool:
        """session_write_close()'s alias (SESS-WRITE-1)."""
        self._enter("session_commit")
        return self._session_flush(True)

    @php_function
    def session_abort(self) -> bool:
        """Close the session without writing it, releasing its lock (SESS-WRITE-2)."""
        self._enter("session_abort")
        ok = self._session_abort()
        self._session_pending()
        return ok

    @php_function
    def session_reset(self) -> bool:
        """Read the session's stored data again into $_SESSION (SESS-WRITE-2)."""
        self._enter("session_reset")
        if self._session_status != PHP_SESSION_ACTIVE:
            return False
        self._session_initialize()
        self._session_pending()
        return True

    @php_function
    def session_destroy(self) -> bool:
        """Delete the session's stored data and end it; $_SESSION keeps its contents (SESS-DESTROY-1)."""
        self._enter("session_destroy")
        ok = self._session_destroy()
        self._session_pending()
        return ok

    @php_function
    def session_unset(self) -> bool:
        """Empty $_SESSION of an active session (SESS-DESTROY-1)."""
        if self._session_status != PHP_SESSION_ACTIVE:
            return False
        if self._session_bound:
            self.session.clear()
        return True

    @php_function
    def session_gc(self) -> int | bool:
        """Delete expired sessions now: how many, or False (SESS-GC-1)."""
        self._enter("session_gc")
        if self._session_status != PHP_SESSION_ACTIVE:
            self._sess_warn("Session cannot be garbage collected when there is no active session")
            return False
        count = self._session_gc(True)
        self._session_pending()
        return False if count < 0 else count

    @php_function
    def session_encode(self) -> str | bytes | bool:
        """$_SESSION in the serialize_handler's format (SESS-SERIALIZER-1)."""
        self._enter("session_encode")
        if not self._session_bound:
            self._sess_warn("Cannot encode non-existent session")
            return False
        data = self._session_encode()
        if data is None:
            return False
        try:
            return data.decode(self.charset)
        except UnicodeDecodeError:
            return data

    @php_function
    def session_decode(self, data: Any) -> bool:
        """Decode ``data`` into $_SESSION (SESS-DECODE-1)."""
        self._enter("session_decode")
        raw = data if isinstance(data, bytes) else self._string_arg("session_decode", 1, "data", data).encode(self.charset, PHP_BYTES)
        if self._session_status != PHP_SESSION_ACTIVE:
            self._sess_warn("Session data cannot be decoded when there is no active session")
            return False
        return self._session_decode(raw)

    @php_function
    def session_create_id(self, prefix: Any = "") -> str | bool:
        """A new session id, after ``prefix`` (SESS-ID-1)."""
        self._enter("session_create_id")
        text = self._string_arg("session_create_id", 1, "prefix", prefix)
        if text and not valid_id(text):
            self._sess_warn('Prefix cannot contain special characters. Only the A-Z, a-z, 0-9, "-", and "," '
                            "characters are allowed")
            return False
        module = self._session_module
        new: str | None
        if self._session_status == PHP_SESSION_ACTIVE and module is not None:
            new = None
            for _ in range(3):
                new = module.create_sid()
                if new is None or not module.has_validate_sid or not module.validate_sid(new):
                    break
                new = None
            self._session_pending()
        else:
            new = create_id(self._sess_int("sid_length"), self._sess_int("sid_bits_per_character"))
        if new is None:
            self._sess_warn("Failed to create new ID")
            return False
        return text + new

    @php_function
    def session_regenerate_id(self, delete_old_session: Any = False) -> bool:
        """Give the session a new id, keeping its data; the old data is written, or
        deleted with ``delete_old_session`` (SESS-ID-4)."""
        self._enter("session_regenerate_id")
        delete = self._bool_arg("session_regenerate_id", 1, "delete_old_session", delete_old_session)
        if self._session_status != PHP_SESSION_ACTIVE:
            self._sess_warn("Session ID cannot be regenerated when there is no active session")
            return False
        if self._sent_warning("Session ID cannot be regenerated after headers have already been sent"):
            return False
        module = self._session_module
        assert module is not None
        save_path, sid, lifetime = self._sess("save_path"), self._session_id or "", self._sess_int("gc_maxlifetime")
        if delete:
            if not module.destroy(sid):
                self._session_close_module()
                self._session_status = PHP_SESSION_NONE
                if not self._session_had_exception():
                    self._sess_warn(f"Session object destruction failed. ID: {module.name} (path: {save_path})")
                self._session_pending()
                return False
        else:
            data = self._session_encode()
            if not module.write(sid, data or b"", lifetime):
                self._session_close_module()
                self._session_status = PHP_SESSION_NONE
                self._sess_warn(f"Session write failed. ID: {module.name} (path: {save_path})")
                self._session_pending()
                return False
        self._session_close_module()
        self._session_read = None
        self._session_id = None
        if not module.open(save_path, self._sess("name")):
            self._session_status = PHP_SESSION_NONE
            self._session_pending()
            raise _php_error(f"Failed to open session: {module.name} (path: {save_path})")
        self._session_opened = True
        self._session_id = module.create_sid()
        if self._session_id is None:
            self._session_status = PHP_SESSION_NONE
            self._session_pending()
            raise _php_error(f"Failed to create new session ID: {module.name} (path: {save_path})")
        if self._sess_flag("use_strict_mode") and module.has_validate_sid:
            for _ in range(3):
                if not module.validate_sid(self._session_id):
                    break
                self._session_id = module.create_sid() or self._session_id
        if module.read(self._session_id, lifetime) is None:
            self._session_close_module()
            self._session_status = PHP_SESSION_NONE
            self._session_pending()
            raise _php_error(f"Failed to create(read) session ID: {module.name} (path: {save_path})")
        self._session_pending()
        if self._sess_flag("use_cookies"):
            self._session_send_cookie = True
        return self._session_reset_id()

    @php_function
    def session_set_save_handler(self, open: Any, close: Any = UNSET, read: Any = UNSET, write: Any = UNSET,
                                 destroy: Any = UNSET, gc: Any = UNSET, create_sid: Any = None,
                                 validate_sid: Any = None, update_timestamp: Any = None) -> bool:
        """Store sessions with the script's handler: an object shaped like PHP's
        SessionHandlerInterface (handlers.py) and ``register_shutdown``, or PHP's six
        to nine callables (SESS-HANDLER-1)."""
        self._enter("session_set_save_handler")
        if read is UNSET:
            if not isinstance(open, SessionHandlerInterface):
                raise TypeError("session_set_save_handler(): Argument #1 ($open) must be of type "
                                f"SessionHandlerInterface, {zval_type_name(open)} given")
            register_shutdown = True if close is UNSET else self._bool_arg(
                "session_set_save_handler", 2, "register_shutdown", close)
            if not self._handler_changeable():
                return False
            self._session_user = UserModule.from_object(open, self.charset)
            if register_shutdown and not self._session_shutdown_registered:
                self._session_shutdown_registered = True
                self.register_shutdown_function(self._session_register_shutdown)
        else:
            names = ("open", "close", "read", "write", "destroy", "gc", "create_sid", "validate_sid", "update_timestamp")
            given = (open, close, read, write, destroy, gc, create_sid, validate_sid, update_timestamp)
            if any(value is UNSET for value in given[:6]):
                raise TypeError("session_set_save_handler() expects at least 6 arguments")
            callbacks: dict[str, Callable[..., Any]] = {}
            for position, (name, value) in enumerate(zip(names, given), start=1):
                if value is None and position > 6:
                    continue
                try:
                    callbacks[name] = resolve_callable(value, caller_scope())
                except InvalidCallable as invalid:
                    raise TypeError(f"session_set_save_handler(): Argument #{position} (${name}) must be a valid "
                                    f"callback, {invalid}") from None
            if not self._handler_changeable():
                return False
            self._session_user = UserModule(callbacks, None, self.charset)
        self._session_module = None
        if self._session_status != PHP_SESSION_ACTIVE:
            self._ini["session.save_handler"] = "user"
        return True

    def _handler_changeable(self) -> bool:
        if self._active_warning("Session save handler cannot be changed when a session is active"):
            return False
        return not self._sent_warning("Session save handler cannot be changed after headers have already been sent")

    def _session_register_shutdown(self) -> None:
        # session_register_shutdown(): session_write_close() as the last shutdown function
        self.register_shutdown_function(self.session_write_close)

    if TYPE_CHECKING:  # the request variables (engine/runtime.py) and the lifecycle mixin
        _received: dict[str, Any]
        cookie: dict[Any, Any]
        get: dict[Any, Any]
        post: dict[Any, Any]

        def register_shutdown_function(self, callback: Any, *args: Any) -> None: ...


def _php_error(message: str) -> Exception:
    return PhpError(message)
