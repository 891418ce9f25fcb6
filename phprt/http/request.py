"""PHP's request variables: $_GET, $_POST, $_COOKIE, $_FILES, $_REQUEST and
php://input, built from a request as PHP 8.2 builds them at request startup
(REQ-*), without any I/O.

The code follows php-src: ``php_default_treat_data()`` and
``php_register_variable_ex()`` (main/php_variables.c) for the query string, the
cookie header and parse_str(); ``php_std_post_handler()`` for
application/x-www-form-urlencoded bodies; ``sapi_read_post_data()`` and
``sapi_read_standard_form_data()`` (main/SAPI.c) for when a body is read; and
``rfc1867_post_handler()`` (main/rfc1867.c) for multipart/form-data, whose
5 KiB read buffer is reproduced so that a body PHP cuts or mis-reads is cut and
mis-read the same way. Every rule was checked against php-cgi 8.2
(spec/cases/request-vars.toml, spec/recorded/request-vars.json).

PHP strings are bytes; here they are ``str``, decoded with ``encoding`` (the
Runtime's charset, UTF-8 by default) and ``surrogateescape``, as the rest of
phprt decodes PHP strings, so that ``value.encode(encoding, "surrogateescape")``
gives PHP's bytes back exactly (REQ-VARS-1). PHP arrays are dicts in PHP's
order; keys PHP makes integers ("5", "-3", not "05") are ``int``.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Any, Callable, Mapping, Protocol, TypeAlias, Union

from ..engine.constants import E_WARNING
from ..engine.ini_scanner import (
    DISPLAY_OFF,
    c_atoi,
    c_strtol,
    display_errors_mode,
    ini_long,
    parse_bool,
    parse_quantity,
)
from ..engine.memo import Memo
from ..engine.records import field, record

__all__ = [
    "PhpArray",
    "REQUEST_INI_DEFAULTS",
    "RequestVariables",
    "StreamedBody",
    "UPLOAD_ERR_CANT_WRITE",
    "UPLOAD_ERR_EXTENSION",
    "UPLOAD_ERR_FORM_SIZE",
    "UPLOAD_ERR_INI_SIZE",
    "UPLOAD_ERR_NO_FILE",
    "UPLOAD_ERR_NO_TMP_DIR",
    "UPLOAD_ERR_OK",
    "UPLOAD_ERR_PARTIAL",
    "UploadedFile",
    "parse_str",
    "request_variables",
]

#: A PHP array: a dict in PHP's order, with int keys where PHP has integer keys.
PhpArray: TypeAlias = "dict[Union[int, str], PhpValue]"
#: A value in a request array: a string, an int ($_FILES' error and size) or an array.
PhpValue: TypeAlias = Union[str, int, PhpArray]

UPLOAD_ERR_OK = 0
UPLOAD_ERR_INI_SIZE = 1
UPLOAD_ERR_FORM_SIZE = 2
UPLOAD_ERR_PARTIAL = 3
UPLOAD_ERR_NO_FILE = 4
UPLOAD_ERR_NO_TMP_DIR = 6
UPLOAD_ERR_CANT_WRITE = 7
UPLOAD_ERR_EXTENSION = 8

#: The directives this module reads, with PHP 8.2's built-in defaults (``php -n``).
#: ``request_order`` is unset (None) by default.
REQUEST_INI_DEFAULTS: Mapping[str, str | None] = {
    "variables_order": "EGPCS",
    "request_order": None,
    "arg_separator.input": "&",
    "max_input_vars": "1000",
    "max_input_nesting_level": "64",
    "post_max_size": "8M",
    "upload_max_filesize": "2M",
    "max_file_uploads": "20",
    "max_multipart_body_parts": "-1",
    "file_uploads": "1",
    "enable_post_data_reading": "1",
    "display_errors": "1",
    "display_startup_errors": "1",
    "error_reporting": None,
    "output_buffering": "0",
    "output_handler": None,
}

_STARTUP = "PHP Request Startup: "
_FILLUNIT = 5 * 1024  # rfc1867.c's read unit and smallest buffer
_INPUT_CHUNK = 8192  # what file_get_contents() asks php://input for at a time
_READ_AHEAD = 256 * 1024  # how much of a streamed body is read at a time (PERF-UPLOAD-1)
_UNLIMITED = 2**62
_E_ALL = 32767
_LONG_MAX = 2**63 - 1
_LONG_MIN = -(2**63)
_C_SPACE = b" \t\n\v\f\r"  # isspace() in the C locale
_NUMERIC_KEY = re.compile(rb"(?:0|-?[1-9][0-9]*)\Z")
_URL_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")
#: A variable name PHP registers as it is: no NUL to cut at, no space or dot to replace, no bracket
_PLAIN_NAME = re.compile(rb"[^\0 .\[]+")


class UploadedFile:
    """A file PHP would have stored in a temporary file: one multipart part with a
    filename that was received whole (error UPLOAD_ERR_OK). phprt gives its bytes as
    ``content`` instead of a file (DEV-UPLOAD-1): from a body in memory they are kept
    in memory; from a streamed one (php-cgi's stdin) they wait in an unnamed temporary
    file, read back when ``content`` is asked for (PERF-UPLOAD-1). ``tmp_name`` is the
    name $_FILES shows for it and the key of ``RequestVariables.uploads`` (what PHP's
    is_uploaded_file() checks). ``field`` is the part's name as sent (``f[a]``).

    A plain class with a dataclass's constructor, equality and repr (PERF-IMPORT-1), whose
    ``content`` may be read from its spool."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, field: str, name: str, full_path: str, type: str, tmp_name: str, size: int,
                 content: bytes | _Spool, error: int = UPLOAD_ERR_OK) -> None:
        self.field, self.name, self.full_path, self.type = field, name, full_path, type
        self.tmp_name, self.size, self._content, self.error = tmp_name, size, content, error

    @property
    def content(self) -> bytes:
        """The file's bytes."""
        content = self._content
        return content if isinstance(content, bytes) else content.content()

    @content.setter
    def content(self, value: bytes) -> None:
        self._content = value

    def _fields(self) -> tuple[object, ...]:
        return (self.field, self.name, self.full_path, self.type, self.tmp_name, self.size, self.content, self.error)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, UploadedFile)
        return self._fields() == other._fields()

    def __repr__(self) -> str:
        names = ("field", "name", "full_path", "type", "tmp_name", "size", "content", "error")
        return "UploadedFile(" + ", ".join(f"{n}={v!r}" for n, v in zip(names, self._fields())) + ")"


@record
class RequestVariables:
    """What PHP's request startup gives a script (REQ-VARS-1).

    ``get``, ``post``, ``cookie``, ``files`` and ``request`` are $_GET, $_POST,
    $_COOKIE, $_FILES and $_REQUEST; ``input`` is what php://input reads;
    ``diagnostics`` the warnings PHP raised meanwhile, as (level, message), each
    reported by PHP "in Unknown on line 0" (REQ-VARS-2); ``uploads`` the stored
    files by tmp_name (REQ-FILES-5); ``early_diagnostics`` how many diagnostics
    come before PHP starts output buffering (REQ-POST-1)."""

    get: PhpArray
    post: PhpArray
    cookie: PhpArray
    files: PhpArray
    request: PhpArray
    input: bytes
    diagnostics: list[tuple[int, str]] = field(default_factory=list)
    uploads: dict[str, UploadedFile] = field(default_factory=dict)
    #: How many of ``diagnostics`` (the first ones) PHP raises while reading the body
    #: (sapi_activate()), before it starts output buffering; the others come after.
    early_diagnostics: int = 0


# -- settings ---------------------------------------------------------------------------------


def _ini_lookup(ini: Callable[[str], object] | None, name: str) -> str | None:
    # A directive's value: what ``ini`` returns when it is a string, else PHP's default.
    value = ini(name) if ini is not None else None
    return value if isinstance(value, str) else REQUEST_INI_DEFAULTS[name]


def _strtol(data: bytes) -> int:
    # C's strtol(data, NULL, 10) on a PHP string's bytes (CONTENT_LENGTH, MAX_FILE_SIZE).
    return c_strtol(data.decode("latin-1"))[0]


class _Settings:
    """The directives, read as PHP's handlers read them (REQ-VARS-3)."""

    def __init__(self, ini: Callable[[str], object] | None) -> None:
        def get(name: str) -> str:
            return _ini_lookup(ini, name) or ""

        def unempty(name: str) -> str | None:
            # OnUpdateStringUnempty: an empty value is refused, the default stays.
            return _ini_lookup(ini, name) or REQUEST_INI_DEFAULTS[name]

        def at_least_zero(name: str) -> int:
            # OnUpdateLongGEZero: a negative value is refused, the default stays.
            value = parse_quantity(get(name))[0]
            return value if value >= 0 else parse_quantity(REQUEST_INI_DEFAULTS[name] or "")[0]

        self.variables_order = unempty("variables_order") or ""
        # OnUpdateString: "" is a value (no letters: an empty $_REQUEST), unlike unset.
        self.request_order = _ini_lookup(ini, "request_order")
        self.separators = (unempty("arg_separator.input") or "&").encode("latin-1", "replace")
        self.max_input_vars = at_least_zero("max_input_vars")
        self.max_nesting = at_least_zero("max_input_nesting_level")
        self.post_max_size = parse_quantity(get("post_max_size"))[0]
        self.upload_max_filesize = parse_quantity(get("upload_max_filesize"))[0]
        self.max_file_uploads = ini_long(get("max_file_uploads"))
        self.max_body_parts = ini_long(get("max_multipart_body_parts"))
        self.file_uploads = parse_bool(get("file_uploads"))
        self.enable_post_data_reading = parse_bool(get("enable_post_data_reading"))
        self.display_errors = display_errors_mode(get("display_errors")) != DISPLAY_OFF
        # A warning during request startup reaches the output when it is reported and
        # displayed (display_startup_errors), and sends the headers unless output
        # buffering already runs; php-cgi and PHP-FPM print even display_errors=stderr
        # to the output (REQ-POST-1).
        reporting = _ini_lookup(ini, "error_reporting")
        reported = (c_atoi(reporting) if reporting is not None else _E_ALL) & E_WARNING
        self.startup_warnings_shown = bool(reported) and self.display_errors and parse_bool(get("display_startup_errors"))
        self.output_buffered = bool(get("output_handler")) or parse_quantity(get("output_buffering"))[0] != 0

    def reads(self, letter: str) -> bool:
        return letter in self.variables_order or letter.lower() in self.variables_order


_SETTINGS: Memo[tuple[object, ...], _Settings] = Memo(64)


def _settings(ini: Callable[[str], object] | None) -> _Settings:
    # _Settings, read once per set of what ``ini`` gives for the directives (issue 13,
    # PERF-START-5): a request looks up only the values, not the quantities and flags they spell.
    values = (None,) if ini is None else tuple(map(ini, REQUEST_INI_DEFAULTS))
    settings = _SETTINGS.get(values)
    if settings is None:
        settings = _SETTINGS.keep(values, _Settings(ini))
    return settings


# -- strings ------------------------------------------------------------------------------------


def _cstr(data: bytes) -> bytes:
    # A C string: up to the first NUL byte.
    nul = data.find(b"\0")
    return data if nul < 0 else data[:nul]


def _url_decode(data: bytes) -> bytes:
    """php_url_decode(): "+" is a space, "%XX" (two hex digits) a byte; anything else,
    an invalid escape included, stays as it is (REQ-GET-1)."""
    return _raw_url_decode(data.replace(b"+", b" "))


def _raw_url_decode(data: bytes) -> bytes:
    """php_raw_url_decode(): _url_decode() without "+" (REQ-COOKIE-1)."""
    if b"%" not in data:
        return data
    return _URL_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def _strtok(data: bytes, separators: bytes) -> list[bytes]:
    # php_strtok_r(): the pieces between any of the separator bytes, empty ones skipped.
    return [piece for piece in _separator_pattern(separators).split(data) if piece]


@lru_cache(maxsize=16)
def _separator_pattern(separators: bytes) -> re.Pattern[bytes]:
    # any one of the separator bytes (arg_separator.input's, "&" by default), compiled once
    return re.compile(b"[" + b"".join(re.escape(bytes([c])) for c in set(separators)) + b"]")


class _Array(dict):  # type: ignore[type-arg]
    """A PHP array being built: a dict that knows its next free integer key."""

    next_free: int | None = None


def _plain(table: dict[Any, Any]) -> PhpArray:
    # The finished array: plain dicts all the way down.
    if not table:
        return {}
    return {key: _plain(item) if isinstance(item, dict) else item for key, item in table.items()}


def _set(table: _Array, key: int | str, value: object) -> None:
    # zend_hash_update(): an existing key keeps its place; an integer key moves the
    # next free key past it (PHP 8.2: past a negative one too).
    table[key] = value
    if isinstance(key, int) and (table.next_free is None or key >= table.next_free):
        table.next_free = key + 1 if key < _LONG_MAX else _LONG_MAX


def _append(table: _Array, value: object) -> bool:
    # zend_hash_next_index_insert(): fails when the next free key is taken (PHP_INT_MAX).
    key = 0 if table.next_free is None else table.next_free
    if key in table:
        return False
    _set(table, key, value)
    return True


# -- registering a variable ---------------------------------------------------------------------


class _Parser:
    """One request's (or one parse_str() call's) registrations and diagnostics."""

    def __init__(self, settings: _Settings, encoding: str, prefix: str) -> None:
        self.settings = settings
        self.encoding = encoding
        self.prefix = prefix  # "PHP Request Startup: " or "parse_str(): "
        self.diagnostics: list[tuple[int, str]] = []

    def warn(self, message: str, *, docref: bool = True) -> None:
        self.diagnostics.append((E_WARNING, (self.prefix if docref else "") + message))

    def text(self, data: bytes) -> str:
        return data.decode(self.encoding, "surrogateescape")

    def key(self, data: bytes) -> int | str:
        """A key as PHP's symbol tables store it: an integer for a canonical decimal
        integer in PHP's range, else the string (REQ-NAME-3)."""
        if _NUMERIC_KEY.match(data) and data != b"-0":
            number = int(data)
            if _LONG_MIN <= number <= _LONG_MAX:
                return number
        return self.text(data)

    def register(self, var_name: bytes, value: object, track: _Array, *,
                 cookie: bool = False, copies: int = 1) -> None:
        """php_register_variable_ex(): store ``value`` under a name with PHP's array
        syntax (REQ-NAME-1 .. REQ-NAME-6). ``cookie`` makes the first top-level value
        of a name win (REQ-COOKIE-2); ``copies`` is how many times PHP registers the
        variable (2 for GET, POST and COOKIE, whose raw copy the filter extension
        registers first), which is how often a nesting warning appears."""
        if _PLAIN_NAME.fullmatch(var_name):  # nothing to cut, replace or nest: its key as it is (PERF-START-5)
            key = self.key(var_name)
            if not (cookie and key in track):
                _set(track, key, value)
            return
        original = _cstr(var_name).lstrip(b" ")
        buf = bytearray(original + b"\0")  # the C buffer, NUL-terminated
        p = 0
        is_array = False
        while buf[p]:
            if buf[p] in b" .":
                buf[p] = ord("_")
            elif buf[p] == ord("["):
                is_array = True
                buf[p] = 0
                break
            p += 1
        if p == 0:  # an empty name
            return

        def cstring(at: int) -> bytes:
            return bytes(buf[at:buf.index(0, at)])

        def forbidden(key: bytes) -> bool:
            # php_is_forbidden_variable_name() (REQ-NAME-5)
            return any(key.startswith(prefix) and not original.startswith(prefix)
                       for prefix in (b"__Host-", b"__Secure-"))

        table = track
        index: int | None = 0  # where the current key starts in buf; None: "[]"
        if is_array:
            ip = p
            nest_level = 0
            while True:
                nest_level += 1
                if nest_level > self.settings.max_nesting:
                    track.pop(self.key(cstring(0)), None)
                    if not self.settings.display_errors:
                        for _ in range(copies):
                            self.warn(f"Input variable nesting level exceeded {self.settings.max_nesting}. "
                                      "To increase the limit change max_input_nesting_level in php.ini.")
                    return
                ip += 1
                index_s: int | None = ip
                if buf[ip] and buf[ip] in _C_SPACE:
                    ip += 1
                if buf[ip] == ord("]"):
                    index_s = None
                else:
                    close = buf.find(b"]", ip, buf.index(0, ip))
                    if close < 0:
                        # not an index: the "[" and every " ", "." or "[" after it become "_"
                        assert index_s is not None
                        buf[index_s - 1] = ord("_")
                        for q in range(index_s, buf.index(0, index_s)):
                            if buf[q] in b" .[":
                                buf[q] = ord("_")
                        break
                    buf[close] = 0
                    ip = close
                if index is None:
                    child = _Array()
                    if not _append(table, child):
                        return
                else:
                    name = cstring(index)
                    if forbidden(name):
                        return
                    key = self.key(name)
                    existing = table.get(key)
                    if isinstance(existing, _Array):
                        child = existing
                    else:
                        child = _Array()
                        _set(table, key, child)
                table = child
                index = index_s
                ip += 1
                if buf[ip] == ord("["):
                    buf[ip] = 0
                else:
                    break
        # plain_var
        if index is None:
            _append(table, value)
            return
        name = cstring(index)
        if forbidden(name):
            return
        key = self.key(name)
        if cookie and table is track and key in table:
            return
        _set(table, key, value)

    # -- the query string, cookies, parse_str() ------------------------------------------------

    def treat_data(self, data: bytes, track: _Array, *, cookie: bool = False, copies: int = 2) -> None:
        """php_default_treat_data() for $_GET and parse_str() (REQ-GET-1, REQ-GET-2)
        and for $_COOKIE (REQ-COOKIE-1)."""
        separators = b";" if cookie else self.settings.separators
        count = 0
        for var in _strtok(_cstr(data), separators):
            equals = var.find(b"=")
            start = 0
            if cookie:
                while start < len(var) and var[start] in _C_SPACE:
                    start += 1
                if start == len(var) or start == equals:
                    continue
            count += 1
            if count > self.settings.max_input_vars:
                self.warn(f"Input variables exceeded {self.settings.max_input_vars}. "
                          "To increase the limit change max_input_vars in php.ini.")
                break
            if equals >= 0:
                name, raw = var[start:equals], var[equals + 1:]
            else:
                name, raw = var[start:], b""
            value = _raw_url_decode(raw) if cookie else _url_decode(raw)
            if not cookie:
                name = _cstr(_url_decode(name))
            self.register(name, self.text(value), track, cookie=cookie, copies=copies)

    # -- application/x-www-form-urlencoded -----------------------------------------------------

    def urlencoded(self, body: bytes, track: _Array) -> None:
        """php_std_post_handler(): "&" only separates, every piece counts, and the
        piece over max_input_vars is stored before the warning stops it (REQ-POST-3)."""
        pieces = body.split(b"&")
        if not pieces[-1]:
            pieces.pop()
        count = 0
        for piece in pieces:
            name, equals, raw = piece.partition(b"=")
            self.register(_cstr(_url_decode(name)), self.text(_url_decode(raw) if equals else b""), track, copies=2)
            count += 1
            if count > self.settings.max_input_vars:
                self.warn(f"Input variables exceeded {self.settings.max_input_vars}. "
                          "To increase the limit change max_input_vars in php.ini.")
                break


# -- multipart/form-data ----------------------------------------------------------------------


class Readable(Protocol):
    """What a ``StreamedBody`` reads from: a binary stream, a pipe, a spooled body."""

    def read(self, count: int, /) -> bytes: ...


class StreamedBody(bytes):
    """A request body still in its stream, as php-cgi's is on stdin when its request
    starts: ``request_variables()`` reads a multipart/form-data body from it as the
    parser asks, so that neither the body nor an uploaded file is ever held whole in
    memory, and any other body whole, as PHP reads it (PERF-UPLOAD-1). It is a (empty)
    ``bytes`` so that it can stand where a transport keeps its body (``Transport.input``);
    ``length`` bytes (at most) are read from ``stream``."""

    stream: Readable
    length: int

    def __new__(cls, stream: Readable, length: int) -> StreamedBody:
        body = super().__new__(cls)
        body.stream, body.length = stream, length
        return body

    def read(self, count: int) -> bytes:
        """Up to ``count`` of the bytes not read yet; b"" at the end."""
        count = min(count, self.length)
        data = self.stream.read(count) if count > 0 else b""
        while data and len(data) < count:  # a pipe gives what it has: read on to count or EOF
            more = self.stream.read(count - len(data))
            if not more:
                break
            data += more
        self.length = self.length - len(data) if data else 0
        return data

    def whole(self) -> bytes:
        """The rest of the body, read at once."""
        return self.read(self.length)


class _Body:
    """The request body as the multipart parser reads it (sapi_module.read_post): the
    bytes held (``data``, from the body's offset ``base``) and, for a streamed body, the
    stream they are read from ``_READ_AHEAD`` at a time (PERF-UPLOAD-1). ``read_bytes``
    is what rfc1867.c's buffer has pulled. Once more than ``limit`` bytes were read
    (post_max_size, when a negative CONTENT_LENGTH let the body past the first check)
    the parser gets no more; the warning comes after it (REQ-POST-2)."""

    def __init__(self, data: bytes, limit: int = 0, stream: StreamedBody | None = None) -> None:
        self.data = data
        self.base = 0
        self.stream = stream
        self.read_bytes = 0
        self.limit = limit

    @property
    def over_limit(self) -> bool:
        return 0 < self.limit < self.read_bytes

    @property
    def held(self) -> int:
        """The body's offset after the last byte held."""
        return self.base + len(self.data)

    def more(self, keep: int) -> bool:
        """Read the next piece of a streamed body, dropping the bytes before offset
        ``keep``; False at the body's end."""
        piece = self.stream.read(_READ_AHEAD) if self.stream is not None else b""
        if not piece:
            return False
        self.data = self.data[keep - self.base:] + piece
        self.base = keep
        return True

    def rest(self) -> bytes:
        """The body from ``read_bytes`` on: what php://input may still give (REQ-INPUT-1)."""
        held = self.data[self.read_bytes - self.base:]
        return held + self.stream.whole() if self.stream is not None else held


def _memstr(haystack: bytes, start: int, end: int, needle: bytes, partial: bool) -> int:
    """php_ap_memstr() on haystack[start:end]: where the first match of needle is;
    with ``partial``, a prefix of it at the very end counts too. -1 when there is none."""
    found = haystack.find(needle, start, end)
    if found >= 0 or not partial or not needle:
        return found
    # A prefix at the end starts with the needle's first byte: only those places are tried.
    first = needle[:1]
    at = haystack.find(first, max(start, end - len(needle) + 1), end)
    while at >= 0:
        if needle.startswith(haystack[at:end]):
            return at
        at = haystack.find(first, at + 1, end)
    return -1


class _Spool:
    """An uploaded file's bytes as they arrive from a streamed body: in an unnamed
    temporary file, which goes when it is closed (PERF-UPLOAD-1); in memory where no
    such file can be made or written."""

    def __init__(self) -> None:
        self.size = 0
        self.pieces: list[bytes] = []
        self.fd: int | None = None
        try:
            self.fd = _unnamed_file()
        except OSError:
            pass

    def write(self, data: bytes | memoryview) -> None:
        self.size += len(data)
        if self.fd is None:
            self.pieces.append(bytes(data))
            return
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError:  # a full disk: what was written comes back into memory, and the rest stays there
            self.pieces = [self._written(self.size - len(view)), bytes(view)]
            self.close()

    def _written(self, size: int) -> bytes:
        assert self.fd is not None
        parts, at = [], 0
        while at < size and (part := os.pread(self.fd, size - at, at)):
            parts.append(part)
            at += len(part)
        return b"".join(parts)

    def content(self) -> bytes:
        return self._written(self.size) if self.fd is not None else b"".join(self.pieces)

    def close(self, _close: Callable[[int], None] = os.close) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            _close(fd)

    def __del__(self) -> None:
        self.close()


def _unnamed_file() -> int:
    # A temporary file without a name (O_TMPFILE), or one whose name is removed at once.
    import tempfile

    directory = tempfile.gettempdir()
    flags = os.O_RDWR | os.O_CLOEXEC
    if hasattr(os, "O_TMPFILE"):
        try:
            return os.open(directory, flags | os.O_TMPFILE, 0o600)
        except OSError:
            pass  # a file system without O_TMPFILE
    fd, path = tempfile.mkstemp(prefix="php")
    os.unlink(path)
    return fd


class _MultipartBuffer:
    """rfc1867.c's multipart_buffer: a read buffer of max(5 KiB, boundary + 6) bytes,
    lines ending in LF (a CR before it dropped), data read up to "\\n--boundary".

    The buffer is a window on the bytes the body holds: it starts at the body's offset
    ``start`` and ends at ``end`` (what PHP has read), so nothing is copied to fill it."""

    def __init__(self, body: _Body, boundary: bytes) -> None:
        self.body = body
        self.size = max(len(boundary) + 6, _FILLUNIT)
        self.start = 0  # the body's offset of the first unread byte in the buffer
        self.end = 0  # the body's offset after the buffer's last byte
        self.boundary = b"--" + boundary
        self.boundary_next = b"\n--" + boundary

    @property
    def position(self) -> int:
        """Where in the body the unread bytes of the buffer begin."""
        return self.start

    def fill(self) -> int:
        body = self.body
        if body.over_limit:
            return 0
        target = self.start + self.size
        while target > body.held and body.more(self.start):
            pass
        end = min(target, body.held)
        added, self.end = end - self.end, end
        body.read_bytes = max(body.read_bytes, end)
        return added

    def eof(self) -> bool:
        return self.start == self.end and self.fill() < 1

    def next_line(self) -> bytes | None:
        data, base, start = self.body.data, self.body.base, self.start
        lf = data.find(b"\n", start - base, self.end - base)
        if lf >= 0:
            cut = lf - 1 if lf > start - base and data[lf - 1] == 13 else lf  # a CR before the LF
            self.start = lf + 1 + base
            return _cstr(data[start - base:cut])
        if self.end - start < self.size:
            return None
        self.start = self.end  # a full buffer without LF: one partial line
        return _cstr(data[start - base:self.end - base])

    def get_line(self) -> bytes | None:
        line = self.next_line()
        if line is None:
            self.fill()
            line = self.next_line()
        return line

    def find_boundary(self) -> bool:
        while (line := self.get_line()) is not None:
            if line == self.boundary:
                return True
        return False

    def headers(self) -> list[tuple[bytes, bytes]] | None:
        """multipart_buffer_headers(): None when no further boundary line."""
        if not self.find_boundary():
            return None
        headers: list[tuple[bytes, bytes]] = []
        key: bytes | None = None
        value: list[bytes] | None = None  # the pieces of the value, joined once
        while (line := self.get_line()) is not None and line:
            colon = -1 if line[0] in _C_SPACE else line.find(b":")
            if colon >= 0:
                if value is not None and key is not None:
                    headers.append((key, b"".join(value)))
                key, rest = line[:colon], line[colon + 1:]
                value = [rest.lstrip(_C_SPACE)]
            elif value is not None:
                value.append(line)  # a continuation line, joined without a separator
        if value is not None and key is not None:
            headers.append((key, b"".join(value)))
        return headers

    def read(self, count: int) -> tuple[bytes, bool]:
        """multipart_buffer_read(): up to count - 1 bytes before a (possible) boundary,
        a CR right before it dropped; and whether the whole boundary is in the buffer."""
        if count > self.end - self.start:
            self.fill()
        data, base = self.body.data, self.body.base
        start, end = self.start - base, self.end - base
        bound = _memstr(data, start, end, self.boundary_next, True)
        found = False
        if bound >= 0:
            limit = bound
            found = _memstr(data, start, end, self.boundary_next, False) >= 0
        else:
            limit = end
        length = min(limit - start, count - 1)
        if bound >= 0 and length > 0 and data[start + length - 1] == 13:
            length -= 1  # the CR stays for the next read
        if length <= 0:
            return b"", found
        self.start += length
        return data[start:start + length], found

    def skip(self, most: int) -> int:
        """Pass over at most ``most`` chunks that read(_FILLUNIT) would give whole, at
        once (PERF-UPLOAD-1): chunks whose buffer (refilled to 5 KiB before each) holds
        no boundary, not even the start of one at its end, so that each is 5119 bytes.
        The state afterwards is the one those reads leave (the buffer's unread byte after
        the last chunk); the bytes passed are ``body.data`` from the offset the buffer
        started at to ``start``. How many chunks it passed; a window the body does not
        hold yet, or one that may see a boundary, is left to read()."""
        body = self.body
        data, base, start = body.data, body.base, self.start
        held = body.held if body.limit <= 0 else min(body.held, body.limit)
        unit = _FILLUNIT - 1
        if self.size != _FILLUNIT or most <= 0 or held < start + _FILLUNIT:
            return 0
        count = min(most, (held - start - _FILLUNIT) // unit + 1, 64)  # 64: a search spans at most ~320 KiB
        # Chunk j (from 0) is the body's [start + unit*j, start + unit*(j+1)), read through
        # the buffer [start + unit*j, stop(j)), stop(j) = first_stop + unit*j: the buffers
        # overlap by the one byte a chunk leaves. Each check below lowers ``count`` to the
        # first buffer that might see a boundary or the start of one.
        needle = self.boundary_next
        first_stop = start + _FILLUNIT

        def last(count: int) -> int:  # stop(count - 1), where the last buffer passed ends
            return first_stop + unit * (count - 1)

        # a whole boundary starts with the "\n--" the last check looks for: none, no boundary
        reach = min(held, last(count) + len(needle) - 1) - base
        at = data.find(b"\n", start - base, reach)  # memchr() first: no "\n", no "\n--" either
        at = data.find(needle[:3], at, reach) if at >= 0 else -1
        found = data.find(needle, at, reach) if at >= 0 else -1
        if found >= 0:  # a whole boundary: the buffers that reach it are not passed
            count = min(count, max(0, (found + base - first_stop) // unit + 1))
        if count > 0:  # a buffer ending in "\n"
            lf = data[first_stop - 1 - base:last(count) - base:unit].find(b"\n")
            if lf >= 0:
                count = lf
        if count > 0:  # a buffer ending in "\n-"
            ends = data[first_stop - 2 - base:last(count) - 1 - base:unit]
            lf = ends.find(b"\n")
            while lf >= 0 and data[first_stop + unit * lf - 1 - base] != 45:
                lf = ends.find(b"\n", lf + 1)
            if lf >= 0:
                count = lf
        if at >= last(count) - base or count <= 0:
            at = -1
        while at >= 0:  # a buffer ending in a longer start of the boundary
            chunk = max(0, -(-(at + base + 3 - first_stop) // unit))  # the first buffer ending past the "\n--"
            if chunk >= count:
                break
            if first_stop + unit * chunk < at + base + len(needle):
                count = chunk
                break
            at = data.find(needle[:3], at + 1, last(count) - base)
        if count <= 0:
            return 0
        self.start = start + unit * count
        self.end = self.start + 1
        body.read_bytes = max(body.read_bytes, self.end)
        return count

    def read_body(self) -> bytes:
        parts = []
        while True:
            start = self.start
            if self.skip(_UNLIMITED):
                parts.append(self.body.data[start - self.body.base:self.start - self.body.base])
            chunk = self.read(_FILLUNIT)[0]
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name.lower():
            return value
    return None


def _getword(line: bytes, stop: int) -> tuple[bytes, bytes]:
    """php_ap_getword(): the text up to ``stop`` outside quotes, and what follows the
    run of ``stop`` bytes after it."""
    pos, n = 0, len(line)
    while pos < n and line[pos] != stop:
        quote = line[pos]
        if quote in b"\"'":
            pos += 1
            while pos < n and line[pos] != quote:
                pos += 2 if line[pos] == ord("\\") and pos + 1 < n and line[pos + 1] == quote else 1
            if pos < n:
                pos += 1
        else:
            pos += 1
    if pos >= n:
        return line, b""
    word = line[:pos]
    while pos < n and line[pos] == stop:
        pos += 1
    return word, line[pos:]


def _getword_conf(text: bytes) -> bytes:
    """php_ap_getword_conf(): a quoted value up to its closing quote (backslash
    escapes the quote and itself), or an unquoted one up to whitespace."""
    text = text.lstrip(_C_SPACE)
    if not text:
        return b""
    quote = 0
    if text[0] in b"\"'":
        quote, text = text[0], text[1:]
        length = len(text)
    else:
        length = next((i for i, c in enumerate(text) if c in _C_SPACE), len(text))
    out = bytearray()
    i = 0
    while i < length and text[i] != quote:
        if text[i] == ord("\\") and i + 1 < len(text) and (text[i + 1] == ord("\\") or (quote and text[i + 1] == quote)):
            i += 1
        out.append(text[i])
        i += 1
    return bytes(out)


def _basename(path: bytes) -> bytes:
    # php_ap_basename(): after the last "/" or "\"
    cut = max(path.rfind(b"/"), path.rfind(b"\\"))
    return path[cut + 1:] if cut >= 0 else path


def _normalize_protected(name: bytes) -> bytes:
    """normalize_protected_variable(): leading spaces gone, " " and "." before the
    first "[" made "_", leading whitespace inside each [...] dropped, and anything
    after the last "]" that does not open another "[" cut (REQ-FILES-1)."""
    name = name.lstrip(b" ")
    bracket = name.find(b"[")
    base = (name if bracket < 0 else name[:bracket]).replace(b" ", b"_").replace(b".", b"_")
    if bracket < 0:
        return base
    out, rest = bytearray(base + b"["), name[bracket + 1:]
    while True:
        rest = rest.lstrip(b" \r\n\t")
        close = rest.find(b"]")
        segment = rest if close < 0 else rest[:close + 1]
        out += segment
        rest = rest[len(segment):]
        if not rest.startswith(b"["):
            return bytes(out)
        out += b"["
        rest = rest[1:]


def _brackets_balanced(name: bytes) -> bool:
    # rfc1867.c: "never repair potential malicious user input"
    depth = 0
    for i, c in enumerate(name):
        if c == ord("["):
            depth += 1
        elif c == ord("]"):
            depth -= 1
            if i + 1 < len(name) and name[i + 1] != ord("["):
                return False
        if depth < 0:
            return False
    return depth == 0


def _file_entry_names(param: bytes) -> Callable[[bytes], bytes]:
    """The names a file part's entries are registered under: ``f[name]`` for a part
    named ``f``, ``f[name][a][b]`` for ``f[a][b]`` (everything between the first "["
    and the final "]" goes after the entry's key) (REQ-FILES-1)."""
    start = param.find(b"[")
    if start >= 0 and param.endswith(b"]"):
        base, array_index = param[:start], param[start + 1:-1]
        return lambda key: base + b"[" + key + b"][" + array_index + b"]"
    return lambda key: param + b"[" + key + b"]"


def _multipart(parser: _Parser, content_type: bytes, content_length: int, body: _Body,
               post: _Array, files: _Array, uploads: dict[str, UploadedFile],
               store_upload: Callable[[bytes], str] | None) -> None:
    """rfc1867_post_handler() (REQ-POST-4 .. REQ-POST-6, REQ-FILES-*)."""
    settings = parser.settings
    if settings.post_max_size > 0 and content_length > settings.post_max_size:
        parser.warn(f"POST Content-Length of {content_length} bytes exceeds the limit of "
                    f"{settings.post_max_size} bytes", docref=False)
        return
    upload_cnt = settings.max_file_uploads
    body_parts = settings.max_body_parts
    if body_parts < 0:
        body_parts = settings.max_input_vars + upload_cnt
    body_parts_limit = body_parts

    at = content_type.find(b"boundary")
    if at < 0:
        at = content_type.lower().find(b"boundary")
    equals = content_type.find(b"=", at) if at >= 0 else -1
    if equals < 0:
        parser.warn("Missing boundary in multipart/form-data POST data", docref=False)
        return
    boundary = content_type[equals + 1:]
    if boundary.startswith(b'"'):
        close = boundary.find(b'"', 1)
        if close < 0:
            parser.warn("Invalid boundary in multipart/form-data POST data", docref=False)
            return
        boundary = boundary[1:close]
    else:
        cut = [i for i in (boundary.find(b","), boundary.find(b";")) if i >= 0]
        if cut:
            boundary = boundary[:min(cut)]
    if len(boundary) > _FILLUNIT - 4:
        parser.warn("Boundary too large in multipart/form-data POST data", docref=False)
        return

    buffer = _MultipartBuffer(body, boundary)
    streamed = body.stream is not None
    protected: set[bytes] = set()
    skip_upload = False  # once set, it stays set for the rest of the body
    anonymous_index = 0
    count = 0
    max_file_size = 0

    def register_file(var: bytes, value: object, override: bool = False) -> None:
        normalized = _normalize_protected(var)
        if override or normalized not in protected:
            parser.register(normalized, value, files)

    while not buffer.eof():
        headers = buffer.headers()
        if headers is None:
            break
        disposition = _header(headers, b"Content-Disposition")
        if disposition is None:
            continue
        body_parts -= 1
        if body_parts < 0:
            parser.warn(f"Multipart body parts limit exceeded {body_parts_limit}. "
                        "To increase the limit change max_multipart_body_parts in php.ini.")
            break
        param: bytes | None = None
        filename: bytes | None = None
        rest = disposition.lstrip(_C_SPACE)
        while rest:
            pair, rest = _getword(rest, ord(";"))
            rest = rest.lstrip(_C_SPACE)
            if b"=" in pair:
                key, pair = _getword(pair, ord("="))
                if key.lower() == b"name":
                    param = _getword_conf(pair)
                elif key.lower() == b"filename":
                    filename = _getword_conf(pair)

        if filename is None and param is not None:  # a form field
            value = buffer.read_body()
            count += 1
            if count <= settings.max_input_vars:
                parser.register(param, parser.text(value), post, copies=2)
            elif count == settings.max_input_vars + 1:
                parser.warn(f"Input variables exceeded {settings.max_input_vars}. "
                            "To increase the limit change max_input_vars in php.ini.")
            if param.lower() == b"max_file_size":
                max_file_size = _strtol(_cstr(value))
            continue

        if not settings.file_uploads:
            skip_upload = True
        elif upload_cnt <= 0:
            skip_upload = True
            if upload_cnt == 0:
                upload_cnt -= 1
                parser.warn("Maximum number of allowable file uploads has been exceeded", docref=False)
        if param is None and filename is None:
            parser.warn("File Upload Mime headers garbled", docref=False)
            break
        if param is None:
            param = str(anonymous_index).encode()
            anonymous_index += 1
        if not skip_upload and not _brackets_balanced(param):
            skip_upload = True
        if skip_upload:
            continue
        assert filename is not None

        error = UPLOAD_ERR_NO_FILE if not filename else UPLOAD_ERR_OK
        end = False
        # The chunks read are one run of the body's bytes (a CR held back before a possible
        # boundary is read with the next chunk): from a body in memory they are counted here
        # and copied once at the end; from a streamed one they go to a spool as they come.
        start, size = buffer.position, 0
        spool = _Spool() if not error and streamed else None
        if not error:
            upload_cnt -= 1  # PHP opens the temporary file here
            # read; while no error and the chunk is not empty: count it, read the next
            # (PHP reads once more after the chunk that set the error)
            while True:
                # the whole chunks that no limit can refuse pass at once (PERF-UPLOAD-1)
                room = _UNLIMITED
                if settings.upload_max_filesize > 0:
                    room = settings.upload_max_filesize - size
                if max_file_size:
                    room = min(room, max_file_size - size)
                passed_from = buffer.position
                passed = buffer.skip(room // (_FILLUNIT - 1)) if not error else 0
                if passed:
                    size += passed * (_FILLUNIT - 1)
                    if spool is not None:
                        data, base = buffer.body.data, buffer.body.base
                        spool.write(memoryview(data)[passed_from - base:buffer.position - base])
                chunk, found = buffer.read(_FILLUNIT)
                end = end or found
                if error or not chunk:
                    break
                if settings.upload_max_filesize > 0 and size + len(chunk) > settings.upload_max_filesize:
                    error = UPLOAD_ERR_INI_SIZE
                elif max_file_size and size + len(chunk) > max_file_size:
                    error = UPLOAD_ERR_FORM_SIZE
                else:
                    size += len(chunk)
                    if spool is not None:
                        spool.write(chunk)
        if not error and not end:
            error = UPLOAD_ERR_PARTIAL

        tmp_name = ""
        if not error:
            content: bytes | _Spool = spool if spool is not None else buffer.body.data[start:start + size]
            if store_upload is not None:
                tmp_name = store_upload(content if isinstance(content, bytes) else content.content())
            else:
                tmp_name = f"phprt://upload/{len(uploads) + 1}"
            uploads[tmp_name] = UploadedFile(
                field=parser.text(param), name=parser.text(_basename(filename)),
                full_path=parser.text(filename), type="", tmp_name=tmp_name, size=size, content=content)
        elif spool is not None:
            spool.close()

        entry = _file_entry_names(param)

        content_type_value = _header(headers, b"Content-Type")
        if error or content_type_value is None:
            mime = b""
        else:
            mime = content_type_value.split(b";", 1)[0]
        if tmp_name:
            uploads[tmp_name].type = parser.text(mime)
        register_file(entry(b"name"), parser.text(_basename(filename)))
        register_file(entry(b"full_path"), parser.text(filename))
        register_file(entry(b"type"), parser.text(mime))
        protected.add(_normalize_protected(param))
        protected.add(_normalize_protected(entry(b"tmp_name")))
        register_file(entry(b"tmp_name"), tmp_name, override=True)
        register_file(entry(b"error"), error)
        register_file(entry(b"size"), 0 if error else size)


# -- the request ----------------------------------------------------------------------------------


def _merge(dest: _Array, src: Mapping[object, object]) -> None:
    """php_autoglobal_merge(): arrays present on both sides merge recursively; any
    other value replaces the one before it (REQ-REQUEST-1)."""
    for key, value in src.items():
        existing = dest.get(key)
        if isinstance(value, dict) and isinstance(existing, _Array):
            _merge(existing, value)
        else:
            _set(dest, key, _copy(value))  # type: ignore[arg-type]


def _copy(value: object) -> object:
    if isinstance(value, dict):
        copy = _Array()
        for key, item in value.items():
            _set(copy, key, _copy(item))
        return copy
    return value


def _handed_out(server: Mapping[str, str], body: bytes, encoding: str, whole_body: bool) -> bytes:
    # What the SAPI hands out of the body: at most CONTENT_LENGTH bytes under CGI and
    # FPM (all of them for a negative one, none when it is absent), all under php -S.
    if isinstance(body, StreamedBody):
        body = body.whole()
    if whole_body or not body:  # nothing to cut: no CONTENT_LENGTH to read (PERF-START-4)
        return body
    length_text = server.get("CONTENT_LENGTH")
    content_length = _strtol(length_text.encode(encoding, "surrogateescape")) if length_text is not None else 0
    return body if content_length < 0 else body[:content_length]


def request_variables(
    server: Mapping[str, str],
    body: bytes,
    ini: Callable[[str], object] | None = None,
    *,
    encoding: str = "utf-8",
    store_upload: Callable[[bytes], str] | None = None,
    whole_body: bool = False,
) -> RequestVariables:
    """From $_SERVER (QUERY_STRING, HTTP_COOKIE, REQUEST_METHOD, CONTENT_TYPE,
    CONTENT_LENGTH) and the raw body (bytes, or a ``StreamedBody``), what PHP 8.2's request startup makes of them,
    as php-cgi and PHP-FPM do (REQ-VARS-1).

    ``ini(name)`` gives a directive's value as a string, or anything else (None,
    or False as ini_get() gives for a directive it does not know) for one that is
    not set, which then has PHP's built-in default (REQUEST_INI_DEFAULTS,
    REQ-VARS-3). Only request_order tells "" from unset: PHP's default is unset
    (GET, POST, COOKIE from variables_order), while "" gives an empty $_REQUEST. ``encoding`` decodes PHP's bytes into str (REQ-VARS-1).
    ``store_upload``, if given, is called with each received file's content and
    returns the tmp_name $_FILES shows for it (a real temporary file, if the caller
    writes one); by default files stay in memory (DEV-UPLOAD-1), or, from a
    ``StreamedBody``, in unnamed temporary files (PERF-UPLOAD-1). Server values are
    encoded back to bytes with ``encoding`` and surrogateescape. ``whole_body`` is
    ``php -S``'s way: the SAPI hands PHP the whole body it received, whatever
    CONTENT_LENGTH says or whether it is there (REQ-POST-7).
    """
    method = server.get("REQUEST_METHOD")
    if method != "POST" and not server.get("QUERY_STRING") and not server.get("HTTP_COOKIE"):
        # Nothing to parse, whatever the directives say (a GET without query or cookies):
        # the arrays are empty and php://input is what the SAPI hands out (issue 13).
        return RequestVariables(get={}, post={}, cookie={}, files={}, request={},
                                input=_handed_out(server, body, encoding, whole_body))
    settings = _settings(ini)
    parser = _Parser(settings, encoding, _STARTUP)

    def server_bytes(name: str) -> bytes | None:
        value = server.get(name)
        return None if value is None else value.encode(encoding, "surrogateescape")

    # CGI and FPM: an absent CONTENT_TYPE is "", an absent CONTENT_LENGTH 0, and the
    # SAPI hands out at most CONTENT_LENGTH bytes (all of them for a negative one).
    content_type = server_bytes("CONTENT_TYPE") or b""
    length_text = server_bytes("CONTENT_LENGTH")
    content_length = _strtol(length_text) if length_text is not None else 0

    # sapi_activate() -> sapi_read_post_data(): REQ-POST-1, REQ-POST-2
    kind: str | None = None
    request_body: bytes | None = None
    if method == "POST" and settings.enable_post_data_reading:
        semicolon = re.search(rb"[;, ]", content_type)
        mime = (content_type if semicolon is None else content_type[:semicolon.start()]).lower()
        content_type = mime + content_type[len(mime):]
        if mime == b"multipart/form-data":
            kind = "multipart"
        else:
            kind = "urlencoded" if mime == b"application/x-www-form-urlencoded" else "other"
    # A streamed multipart body is read as it is parsed (PERF-UPLOAD-1); any other whole.
    stream = body if isinstance(body, StreamedBody) and kind == "multipart" else None
    if stream is not None and not whole_body and content_length >= 0:  # as _handed_out()
        stream.length = min(stream.length, content_length)
    available = b"" if stream is not None else _handed_out(server, body, encoding, whole_body)
    source = _Body(available, settings.post_max_size, stream)
    if kind in ("urlencoded", "other"):
        if settings.post_max_size > 0 and content_length > settings.post_max_size:
            parser.warn(f"POST Content-Length of {content_length} bytes exceeds the limit of "
                        f"{settings.post_max_size} bytes")
        elif settings.post_max_size > 0 and len(available) > settings.post_max_size:
            parser.warn("Actual POST length does not match Content-Length, and exceeds "
                        f"{settings.post_max_size} bytes")
        else:
            request_body = available

    early = len(parser.diagnostics)  # shown before output buffering starts
    get, post, cookie, files = _Array(), _Array(), _Array(), _Array()
    uploads: dict[str, UploadedFile] = {}
    if settings.reads("G"):
        query = server_bytes("QUERY_STRING")
        if query:
            parser.treat_data(query, get)
    rest_of_input: bytes | None = None
    # A warning that reached the output sent the headers, and PHP parses no body once
    # the headers are sent (REQ-POST-1): one from reading the body always does, one
    # from the query string unless output buffering has started by then.
    shown = settings.startup_warnings_shown
    headers_sent = shown and (early > 0 or (len(parser.diagnostics) > early and not settings.output_buffered))
    if settings.reads("P") and method is not None and method.upper() == "POST" and not headers_sent:
        if kind == "urlencoded" and request_body is not None:
            parser.urlencoded(request_body, post)
        elif kind == "multipart":
            _multipart(parser, content_type, content_length, source, post, files, uploads, store_upload)
            if source.over_limit:
                parser.warn("Actual POST length does not match Content-Length, and exceeds "
                            f"{settings.post_max_size} bytes", docref=False)
            # php://input only asks the SAPI for more while it has handed out fewer bytes
            # than the reader asks for (file_get_contents(): 8 KiB), so it gives what the
            # parser left unread only when the parser read less than that (REQ-INPUT-1).
            rest_of_input = source.rest() if source.read_bytes < _INPUT_CHUNK else b""
    if rest_of_input is None:  # the body was not parsed: php://input gives it all
        rest_of_input = source.rest()
    if settings.reads("C"):
        cookies = server_bytes("HTTP_COOKIE")
        if cookies:
            parser.treat_data(cookies, cookie, cookie=True)

    request = _Array()
    order = settings.request_order if settings.request_order is not None else settings.variables_order
    sources = {"G": get, "P": post, "C": cookie}
    for letter in order.upper():
        source_array = sources.pop(letter, None)  # each merged once
        if source_array:
            _merge(request, source_array)

    return RequestVariables(
        get=_plain(get), post=_plain(post), cookie=_plain(cookie), files=_plain(files),
        request=_plain(request), input=rest_of_input,
        diagnostics=parser.diagnostics, uploads=uploads, early_diagnostics=early,
    )


def parse_str(
    query: str | bytes,
    *,
    ini: Callable[[str], object] | None = None,
    encoding: str = "utf-8",
    diagnostics: list[tuple[int, str]] | None = None,
) -> PhpArray:
    """PHP's parse_str(): the string parsed as $_GET is (REQ-GET-3). It ends at a NUL
    byte; warnings (prefixed "parse_str(): ") go to ``diagnostics`` when given."""
    data = query if isinstance(query, bytes) else query.encode(encoding, "surrogateescape")
    parser = _Parser(_Settings(ini), encoding, "parse_str(): ")
    result = _Array()
    parser.treat_data(data, result, copies=1)
    if diagnostics is not None:
        diagnostics.extend(parser.diagnostics)
    return _plain(result)
