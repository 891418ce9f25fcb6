"""PHP 8.2's ini value parsing, written once (INI-PARSE-1 to INI-PARSE-7).

Two layers, both free of I/O:

* what a directive's on-update handler makes of a stored string: :func:`parse_quantity`
  (``zend_ini_parse_quantity()``, the K/M/G sizes of ``OnUpdateLong``, with PHP's "Invalid
  quantity" texts), :func:`parse_bool` (``zend_ini_parse_bool()``), :func:`c_atoi`,
  :func:`c_atol`, :func:`ini_long`, :func:`display_errors_mode`,
  :func:`zlib_output_compression`;
* what PHP's ini scanner and parser store for a php.ini or ``-d`` value
  (``Zend/zend_ini_scanner.l``, ``Zend/zend_ini_parser.y``): :func:`parse_ini_string` reads
  a whole file, :func:`evaluate_value` one value, :func:`define_line` turns a ``-d`` argument
  into the line the CLI and CGI feed that parser.

Strings are Python ``str``; a byte PHP sees that is not UTF-8 is a lone surrogate
(``surrogateescape``), as elsewhere in phprt.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from types import MappingProxyType
from typing import Callable, Iterator, Mapping, Sequence

from .records import field, record

__all__ = [
    "CLI_HARDCODED_INI", "DISPLAY_OFF", "DISPLAY_STDERR", "DISPLAY_STDOUT", "INI_CONSTANTS",
    "INI_E_ALL",
    "IniEntry", "IniResult", "IniSyntaxError", "c_atoi", "c_atol", "c_strtol", "define_line",
    "display_errors_mode", "evaluate_value", "ini_long", "parse_bool", "parse_ini_string",
    "parse_quantity", "quantity_warning", "zlib_output_compression",
]

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_ULONG_MAX = 2**64 - 1
_C_SPACE = " \t\n\v\f\r"  # C isspace() and zend_is_whitespace()
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _lower(text: str) -> str:
    # zend_string_equals_literal_ci() and strncasecmp() fold ASCII letters only.
    return text.lower() if text.isascii() else text


def _wrap(value: int, bits: int) -> int:
    # The value as a C integer of that width holds it (two's complement).
    half = 1 << (bits - 1)
    return (value + half) % (1 << bits) - half


# -- C conversions ------------------------------------------------------------------------


def c_strtol(text: str, base: int = 10) -> tuple[int, int]:
    """glibc strtol(): leading whitespace, a sign, digits in ``base`` (0: "0x" hex, "0" octal,
    else decimal); the value clamped to the C long range, and how many characters it used
    (0 when there are no digits)."""
    n, i = len(text), 0
    while i < n and text[i] in _C_SPACE:
        i += 1
    negative = i < n and text[i] == "-"
    if i < n and text[i] in "+-":
        i += 1
    if base in (0, 16) and text[i:i + 2] in ("0x", "0X") and i + 2 < n and text[i + 2] in "0123456789abcdefABCDEF":
        base, i = 16, i + 2
    elif base == 0:
        base = 8 if text[i:i + 1] == "0" else 10
    start, value = i, 0
    while i < n and text[i] in _DIGITS and int(text[i], 36) < base:
        value = value * base + int(text[i], 36)
        i += 1
    if i == start:
        return 0, 0
    value = -value if negative else value
    return max(_LONG_MIN, min(_LONG_MAX, value)), i


def c_atoi(text: str) -> int:
    """glibc atoi(): ``(int) strtol(text, NULL, 10)``, so wrapped to 32 bits ("4294967297" is
    1). What ``error_reporting`` (OnUpdateErrorReporting) and the ini parser's operators read
    (INI-PARSE-4)."""
    return _wrap(c_strtol(text)[0], 32)


def c_atol(text: str) -> int:
    """ZEND_ATOL(): decimal strtol(), clamped to the long range ("0x10" is 0). What
    ``precision``, ``serialize_precision`` and ``max_execution_time`` read (INI-PARSE-4)."""
    return c_strtol(text)[0]


def ini_long(text: str) -> int:
    """zend_ini_long(), the INI_INT() of directives without a handler (``max_file_uploads``,
    ``max_multipart_body_parts``): ``ZEND_STRTOL(value, NULL, 0)``, so "0x10" is 16 and "010"
    is 8 (INI-PARSE-4)."""
    return c_strtol(text, 0)[0]


# -- zend_ini_parse_quantity() ------------------------------------------------------------------


def _escaped(data: bytes) -> str:
    # smart_str_append_escaped(): control bytes, backslash and bytes over 126 as escapes.
    names = {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x0C: "\\f", 0x0B: "\\v", 0x5C: "\\\\", 0x1B: "\\e"}
    return "".join(
        names.get(byte, f"\\x{byte:02X}") if byte < 32 or byte == 0x5C or byte > 126 else chr(byte)
        for byte in data
    )


def _strtoul(data: bytes, start: int, end: int, base: int) -> tuple[int, int, bool]:
    # strtoull() on digits that start with a digit of the base (the caller made sure):
    # base 0 reads "0..." as octal. Returns value, end position, overflow (ERANGE).
    if base == 0:
        base = 8 if data[start:start + 1] == b"0" else 10
    i, value = start, 0
    while i < end and chr(data[i]) in _DIGITS and int(chr(data[i]), 36) < base:
        value = value * base + int(chr(data[i]), 36)
        i += 1
    if value > _ULONG_MAX:
        return _ULONG_MAX, i, True
    return value, i, False


def _consume_prefix(data: bytes, at: int, end: int) -> int:
    # zend_ini_consume_quantity_prefix(): where the digits after a second base prefix start.
    i = at
    while i < end and chr(data[i]) in _C_SPACE:
        i += 1
    if data[i:i + 1] in (b"+", b"-"):
        i += 1
    if data[i:i + 1] == b"0" and not data[i + 1:i + 2].isdigit():
        if i + 1 == end:
            return at
        if data[i + 1:i + 2] in (b"x", b"X", b"o", b"O", b"b", b"B"):
            i += 2
    return i


def parse_quantity(text: str) -> tuple[int, str | None]:
    """zend_ini_parse_quantity() (Zend/zend_ini.c), what OnUpdateLong reads: an integer --
    decimal, "0x"/"0o"/"0b" prefixed, or octal with a leading "0" -- and an optional k/K, m/M or
    g/G multiplier (1024, 1024², 1024³), whitespace allowed around it. Returns the value and
    the text of the warning PHP gives for an invalid quantity (None for a valid one); PHP
    keeps the value it returns either way (INI-PARSE-1)."""
    data = _bytes(text)
    shown = _escaped(data)
    start, end = 0, len(data)
    while start < end and chr(data[start]) in _C_SPACE:
        start += 1
    while start < end and chr(data[end - 1]) in _C_SPACE:
        end -= 1
    if start == end:
        return 0, None
    digits = start
    negative = data[digits:digits + 1] == b"-"
    if data[digits:digits + 1] in (b"+", b"-"):
        digits += 1
    no_digits = f'Invalid quantity "{shown}": no valid leading digits, interpreting as "0" for backwards compatibility'
    if not data[digits:digits + 1].isdigit():
        return 0, no_digits
    base = 0
    following = data[digits + 1:digits + 2]
    if data[digits:digits + 1] == b"0" and not following.isdigit():
        if digits + 1 == end:
            return 0, None
        if following.lower() not in (b"g", b"m", b"k"):  # "0K" is 0 times 1024
            bases = {b"x": 16, b"o": 8, b"b": 2}
            if following.lower() not in bases:
                prefix = _text(b"0" + following)
                return 0, f'Invalid prefix "{prefix}", interpreting as "0" for backwards compatibility'
            base = bases[following.lower()]
            digits += 2
            if digits == end or _consume_prefix(data, digits, end) != digits:
                return 0, f'Invalid quantity "{shown}": no digits after base prefix, interpreting as "0" for backwards compatibility'
    value, digits_end, overflow = _strtoul(data, digits, len(data), base)
    if not overflow:
        if negative and value == _LONG_MAX + 1:
            value = -value
        elif value > _LONG_MAX:
            overflow = True
        elif negative:
            value = -value
    if digits_end == digits:
        return 0, no_digits
    while digits_end < end and chr(data[digits_end]) in _C_SPACE:
        digits_end += 1
    if digits_end == end:
        return _wrap(value, 64), (
            f'Invalid quantity "{shown}": value is out of range, using overflow result for backwards compatibility'
            if overflow else None
        )
    interpreted = _escaped(data[start:digits_end])
    suffix = data[end - 1:end]
    factor = {b"g": 1 << 30, b"m": 1 << 20, b"k": 1 << 10}.get(suffix.lower())
    if factor is None:
        return _wrap(value, 64), (
            f'Invalid quantity "{shown}": unknown multiplier "{_escaped(suffix)}", '
            f'interpreting as "{interpreted}" for backwards compatibility'
        )
    signed = _wrap(value, 64)
    overflow = overflow or not (_LONG_MIN <= signed * factor <= _LONG_MAX)
    value = _wrap(signed * factor, 64)
    if digits_end != end - 1:
        return value, (
            f'Invalid quantity "{shown}", interpreting as "{interpreted}{_escaped(suffix)}" '
            "for backwards compatibility"
        )
    if overflow:
        return value, f'Invalid quantity "{shown}": value is out of range, using overflow result for backwards compatibility'
    return value, None


def quantity_warning(name: str, error: str) -> str:
    """zend_ini_parse_quantity_warn(): the E_WARNING text for directive ``name`` (INI-PARSE-1)."""
    return f'Invalid "{name}" setting. {error}'


def parse_bool(text: str) -> bool:
    """zend_ini_parse_bool(), what OnUpdateBool reads: "true", "yes" or "on" in any case and
    nothing around them, else C's atoi() of the string is not 0 (" on" is false, "2" true,
    "4294967296" false) (INI-PARSE-2)."""
    return _lower(text) in ("true", "yes", "on") or c_atoi(text) != 0


#: php_get_display_errors_mode()'s results.
DISPLAY_OFF, DISPLAY_STDOUT, DISPLAY_STDERR = 0, 1, 2


def display_errors_mode(text: str) -> int:
    """php_get_display_errors_mode() (main/main.c), what ``display_errors`` reads: "on", "yes",
    "true", "stdout" (any case) print to the output, "stderr" to stderr; anything else is
    ZEND_ATOL() kept in a byte: 0 off, 2 stderr, any other non-zero value stdout ("256" is
    off, " on" is off) (INI-PARSE-2)."""
    lowered = _lower(text)
    if lowered in ("on", "yes", "true", "stdout"):
        return DISPLAY_STDOUT
    if lowered == "stderr":
        return DISPLAY_STDERR
    mode = c_atol(text) % 256
    return mode if mode in (DISPLAY_OFF, DISPLAY_STDERR) else DISPLAY_STDOUT


def zlib_output_compression(text: str) -> tuple[int, str | None]:
    """OnUpdate_zlib_output_compression() (ext/zlib/zlib.c): "off" is 0, "on" is 1 (any case,
    nothing around them), anything else a quantity kept in a C int ("0x800" and "2K" are 2048,
    "4294967297" is 1); with the quantity's warning text, if any (INI-PARSE-1)."""
    lowered = _lower(text)
    if lowered in ("off", "on"):
        return int(lowered == "on"), None
    value, error = parse_quantity(text)
    return _wrap(value, 32), error


# -- the ini scanner and parser --------------------------------------------------------------

#: E_ALL as php.ini and ``-d`` being parsed read it: 32767, or the Runtime's version's (VER-E-ALL-1).
INI_E_ALL: ContextVar[int] = ContextVar("phprt_ini_e_all", default=32767)


class _Constants(Mapping[str, "int | str"]):
    """Fixed values, but E_ALL's is ``INI_E_ALL``'s where the ini is parsed (VER-E-ALL-1)."""

    def __init__(self, values: dict[str, int | str]) -> None:
        self._values = MappingProxyType(values)

    def __getitem__(self, name: str) -> int | str:
        return INI_E_ALL.get() if name == "E_ALL" else self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


#: The constants PHP 8.2 has registered when it parses php.ini and ``-d`` (``get_cfg_var()``
#: of each, recorded from ``php -n``), less the install-dependent paths and ``PHP_SAPI`` (the
#: SAPI's name: add it). A constant's value reads as PHP converts it to a string.
INI_CONSTANTS: Mapping[str, int | str] = _Constants({
    "E_ERROR": 1, "E_WARNING": 2, "E_PARSE": 4, "E_NOTICE": 8, "E_CORE_ERROR": 16,
    "E_CORE_WARNING": 32, "E_COMPILE_ERROR": 64, "E_COMPILE_WARNING": 128, "E_USER_ERROR": 256,
    "E_USER_WARNING": 512, "E_USER_NOTICE": 1024, "E_STRICT": 2048, "E_RECOVERABLE_ERROR": 4096,
    "E_DEPRECATED": 8192, "E_USER_DEPRECATED": 16384, "E_ALL": 32767,
    "DEBUG_BACKTRACE_PROVIDE_OBJECT": 1, "DEBUG_BACKTRACE_IGNORE_ARGS": 2,
    "ZEND_THREAD_SAFE": "", "ZEND_DEBUG_BUILD": "", "TRUE": "1", "FALSE": "", "NULL": "",
    "PHP_VERSION": "8.2.36", "PHP_MAJOR_VERSION": 8, "PHP_MINOR_VERSION": 2,
    "PHP_RELEASE_VERSION": 36, "PHP_EXTRA_VERSION": "", "PHP_VERSION_ID": 80236, "PHP_ZTS": 0,
    "PHP_DEBUG": 0, "PHP_OS": "Linux", "PHP_OS_FAMILY": "Linux", "PHP_EOL": "\n",
    "PHP_MAXPATHLEN": 4096, "PHP_INT_MAX": 9223372036854775807,
    "PHP_INT_MIN": -9223372036854775808, "PHP_INT_SIZE": 8, "PHP_FD_SETSIZE": 1024,
    "PHP_FLOAT_DIG": 15, "PHP_FLOAT_EPSILON": "2.0E-16", "PHP_FLOAT_MAX": "2.0E+308",
    "PHP_FLOAT_MIN": "2.0E-308",
    "PHP_OUTPUT_HANDLER_START": 1, "PHP_OUTPUT_HANDLER_WRITE": 0, "PHP_OUTPUT_HANDLER_FLUSH": 4,
    "PHP_OUTPUT_HANDLER_CLEAN": 2, "PHP_OUTPUT_HANDLER_FINAL": 8, "PHP_OUTPUT_HANDLER_CONT": 0,
    "PHP_OUTPUT_HANDLER_END": 8, "PHP_OUTPUT_HANDLER_CLEANABLE": 16,
    "PHP_OUTPUT_HANDLER_FLUSHABLE": 32, "PHP_OUTPUT_HANDLER_REMOVABLE": 64,
    "PHP_OUTPUT_HANDLER_STDFLAGS": 112, "PHP_OUTPUT_HANDLER_STARTED": 4096,
    "PHP_OUTPUT_HANDLER_DISABLED": 8192,
    "UPLOAD_ERR_OK": 0, "UPLOAD_ERR_INI_SIZE": 1, "UPLOAD_ERR_FORM_SIZE": 2,
    "UPLOAD_ERR_PARTIAL": 3, "UPLOAD_ERR_NO_FILE": 4, "UPLOAD_ERR_NO_TMP_DIR": 6,
    "UPLOAD_ERR_CANT_WRITE": 7, "UPLOAD_ERR_EXTENSION": 8,
})

#: What php_cli.c puts before the ``-d`` lines (HARDCODED_INI): the CLI's first ``-d`` is on
#: line 7 of the text PHP parses, which its syntax errors name (INI-PARSE-6).
CLI_HARDCODED_INI = (
    "html_errors=0\nregister_argc_argv=1\nimplicit_flush=1\noutput_buffering=0\n"
    "max_execution_time=0\nmax_input_time=-1\n"
)


class IniSyntaxError(ValueError):
    """A syntax error of PHP's ini parser. ``message`` is PHP's text without the "PHP:  "
    PHP prints before it on stderr, e.g. "syntax error, unexpected '=' in Unknown on line 1"."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@record(frozen=True)
class IniEntry:
    """One statement the parser passed on, in order: a section (``section`` set, nothing
    else), ``name=value``, ``name[offset]=value``, or a bare ``name`` (value None, which
    php.ini ignores)."""

    name: str = ""
    value: str | None = None
    offset: str | None = None
    section: str | None = None


@record
class IniResult:
    """What :func:`parse_ini_string` read: every entry up to the first syntax error, and that
    error (None when there was none). PHP keeps the entries before an error."""

    entries: list[IniEntry] = field(default_factory=list)
    error: IniSyntaxError | None = None

    def configuration(self) -> dict[str, str]:
        """The configuration hash php.ini's entries make (php_ini_parser_cb(), what
        ``get_cfg_var()`` and ``${NAME}`` read): ``name=value`` entries, the last of a name
        winning, up to the first [PATH...] or [HOST...] section, whose entries (and all after
        it) PHP keeps apart; ``extension`` and ``zend_extension`` load extensions instead."""
        configuration = _Configuration({})
        for entry in self.entries:
            configuration.add(entry)
        return configuration.values


class _Configuration:
    # php_ini_parser_cb()'s configuration hash, entry by entry.

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.special = False  # in a [PATH...]/[HOST...] section
        self.apart = False  # one with a path or host was seen: later entries go to it

    def add(self, entry: IniEntry) -> None:
        if entry.section is not None:
            self.special = entry.section[:4].lower() in ("path", "host")
            self.apart = self.apart or self.special and len(entry.section) > 4
        elif entry.value is None or entry.offset is not None or self.apart:
            return
        elif self.special or entry.name.lower() not in ("extension", "zend_extension"):
            self.values[entry.name] = entry.value


# Token kinds, named as bison names them in its messages.
END = "end of file"
_ENCLOSED_START = ("TC_DOLLAR_CURLY", "TC_CONSTANT", "TC_RAW", "TC_NUMBER", "TC_STRING", "TC_WHITESPACE", "'\"'")

_CONSTANT = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_NUMBER = re.compile(r"-?[0-9]+|[0-9]*\.[0-9]+|[0-9]+\.[0-9]*")
_BOOL = re.compile(r"(?:(true|on|yes)|(false|off|none|no)|(null))[ \t]*", re.IGNORECASE | re.ASCII)
_LABEL_STOP = set('=\n\r\t;&|^$~(){}!"[')
_VALUE_STOP = set("$= \t\n\r;&|^~()!\"'\0")
_SECTION_STOP = set("$\n\r;\"']\\")


class _End(Exception):
    # The scanner returns 0 ("end of file"): no rule matches (<*>[^]), or a rule read past
    # the NUL after the text (re2c's YYFILL), as an unclosed 'raw string' or a comment on
    # the last line without a newline do.
    pass


class _Scanner:
    """ini_lex() of Zend/zend_ini_scanner.l in ZEND_INI_SCANNER_NORMAL mode (PHP 8.2)."""

    def __init__(self, text: str) -> None:
        self.text = text
        # A BOM is skipped when something follows it.
        self.pos = 1 if text.startswith("\ufeff") and len(text) > 1 else 0
        self.line = 1
        self.state = "INITIAL"
        self.stack: list[str] = []
        self.rules: dict[str, Callable[[], tuple[str, str] | None]] = {
            "INITIAL": self._initial, "ST_VALUE": self._value, "ST_DOUBLE_QUOTES": self._double_quotes,
            "ST_VARNAME": self._varname, "ST_SECTION_VALUE": lambda: self._enclosed(section=True),
            "ST_OFFSET": lambda: self._enclosed(section=False),
        }

    def at(self, i: int) -> str:
        # The text, then the NUL bytes after it; reading further is an overrun.
        if i < len(self.text):
            return self.text[i]
        if i == len(self.text):
            return "\0"
        raise _End

    def newline(self, i: int) -> int:
        # The length of the NEWLINE at i ("\r\n", "\r" or "\n"), 0 when there is none.
        if self.at(i) == "\r":
            return 2 if self.at(i + 1) == "\n" else 1
        return 1 if self.at(i) == "\n" else 0

    def blanks(self, i: int) -> int:
        while self.at(i) in " \t":
            i += 1
        return i

    def token(self) -> tuple[str, str]:
        try:
            return self._token()
        except _End:
            self.pos = len(self.text)
            return END, ""

    def _token(self) -> tuple[str, str]:
        while True:
            if self.pos >= len(self.text):
                if self.state == "ST_VALUE":
                    self.state = "INITIAL"
                    return "END_OF_LINE", ""
                return END, ""
            token = self.rules[self.state]()
            if token is not None:
                return token

    def take(self, end: int, kind: str, value: str = "") -> tuple[str, str]:
        self.pos = end
        return kind, value

    def push(self, state: str) -> None:
        self.stack.append(self.state)
        self.state = state

    def pop(self) -> None:
        self.state = self.stack.pop()

    def comment(self, i: int) -> int | None:
        # {TABS_AND_SPACES}*[;][^\r\n]*{NEWLINE}: where it ends, None when it is not one.
        i = self.blanks(i)
        if self.at(i) != ";":
            return None
        while self.at(i) not in "\r\n":
            i += 1
        return i + self.newline(i)

    def label_end(self, i: int) -> int:
        while self.at(i) not in _LABEL_STOP:
            i += 1
        return i

    def _initial(self) -> tuple[str, str] | None:
        p, char = self.pos, self.at(self.pos)
        if char == "[":
            self.state = "ST_SECTION_VALUE"
            return self.take(p + 1, "TC_SECTION")
        label = self.label_end(p)
        blanks = self.blanks(p)
        candidates: list[tuple[int, int, str]] = []  # (length, -rule order, kind)
        if label > p:
            if self.at(label) == "[":
                candidates.append((self.blanks(label + 1) - p, -2, "TC_OFFSET"))
            candidates.append((label - p, -6, "TC_LABEL"))
        word = _BOOL.match(self.text, p)
        if word:
            candidates.append((word.end() - p, -3, "BOOL"))
        if self.at(blanks) == "=":
            candidates.append((self.blanks(blanks + 1) - p, -7, "'='"))
        if self.newline(blanks):
            candidates.append((blanks + self.newline(blanks) - p, -10, "NEWLINE"))
        comment = self.comment(p)
        if comment is not None:
            candidates.append((comment - p, -11, "COMMENT"))
        if blanks > p:
            candidates.append((blanks - p, -9, "BLANKS"))
        if char in "\"()&|^$!~{}":
            candidates.append((1, -8, f"'{char}'"))
        if not candidates:
            raise _End
        length, _, kind = max(candidates)
        end = p + length
        if kind == "TC_OFFSET":
            self.state = "ST_OFFSET"
            return self.take(end, kind, self.text[p:label].lstrip(" \t").rstrip(" \t\r\n"))
        if kind == "TC_LABEL":
            return self.take(end, kind, self.text[p:end].lstrip(" \t").rstrip(" \t\r\n"))
        if kind == "BOOL":
            assert word is not None
            return self.take(end, *self._bool(word))
        if kind == "'='":
            self.state = "ST_VALUE"
            return self.take(end, kind)
        if kind in ("NEWLINE", "COMMENT"):
            self.line += 1
            return self.take(end, "END_OF_LINE")
        if kind == "BLANKS":
            self.pos = end
            return None
        return self.take(end, kind)

    @staticmethod
    def _bool(word: re.Match[str]) -> tuple[str, str]:
        if word.group(1):
            return "BOOL_TRUE", "1"
        return ("BOOL_FALSE", "") if word.group(2) else ("NULL_NULL", "")

    def raw_string(self, p: int) -> int | None:
        # "'"{SINGLE_QUOTED_CHARS}+"'": where it ends; None when "''" (no match).
        if self.at(p + 1) == "'":
            return None
        i = p + 1
        while self.at(i) != "'":
            i += 1
        return i + 1

    def value_run(self, i: int, stop: set[str]) -> int:
        # ({VALUE_CHARS}|{LITERAL_DOLLAR})+ and its section sibling: where the run ends.
        while True:
            char = self.at(i)
            if char == "$":
                after = self.at(i + 1)
                if after in "{\0":
                    return i
                i += 3 if after == "\\" else 2  # "$\\"{ANY_CHAR} or "$" and one more
            elif char == "\\" and "\\" in stop:
                i += 2  # "\\"{ANY_CHAR} in section values and offsets
                self.at(i - 1)
            elif char in stop:
                return i
            else:
                i += 1

    def _value(self) -> tuple[str, str] | None:
        p, char = self.pos, self.at(self.pos)
        if char == "'":
            end = self.raw_string(p)
            if end is not None:
                return self.take(end, "TC_RAW", self.text[p + 1:end - 1])
        if char == "$" and self.at(p + 1) == "{":
            self.push("ST_VARNAME")
            return self.take(p + 2, "TC_DOLLAR_CURLY")
        blanks = self.blanks(p)
        if self.newline(blanks):
            self.state = "INITIAL"
            self.line += 1
            return self.take(blanks + self.newline(blanks), "END_OF_LINE")
        if self.at(blanks) == ";" and (end := self.comment(p)) is not None:
            self.state = "INITIAL"
            self.line += 1
            return self.take(end, "END_OF_LINE")
        if self.at(blanks) == '"':
            self.push("ST_DOUBLE_QUOTES")
            return self.take(blanks + 1, "'\"'")
        if blanks > p:
            return self.take(blanks, "TC_WHITESPACE", self.text[p:blanks])
        if char in "&|^~()!":
            return self.take(self.blanks(p + 1), f"'{char}'")
        if char == "=":
            self.state = "INITIAL"
            return self.take(p, "END_OF_LINE")
        run = self.value_run(p, _VALUE_STOP)
        word = _BOOL.match(self.text, p)
        if word and word.end() - p >= run - p:
            return self.take(word.end(), *self._bool(word))
        if run > p:
            return self.take(run, self._kind(p, run), self.text[p:run])
        self.state = "INITIAL"
        return self.take(p + 1, "END_OF_LINE")

    def _kind(self, p: int, end: int) -> str:
        # Of TC_CONSTANT, TC_NUMBER and TC_STRING matching the same run, the first rule wins.
        for kind, pattern in (("TC_CONSTANT", _CONSTANT), ("TC_NUMBER", _NUMBER)):
            if pattern.fullmatch(self.text, p, end):
                return kind
        return "TC_STRING"

    def _double_quotes(self) -> tuple[str, str] | None:
        p, char = self.pos, self.at(self.pos)
        if char == '"':
            self.pop()
            return self.take(self.blanks(p + 1), "'\"'")
        if char == "$" and self.at(p + 1) == "{":
            self.push("ST_VARNAME")
            return self.take(p + 2, "TC_DOLLAR_CURLY")
        text, n, i = self.text, len(self.text), p
        while i < n:
            char, i = text[i], i + 1
            if char == '"' or char == "$" and i < n and text[i] == "{":
                i -= 1
                break
            if char == "\\" and i < n:
                escaped, i = text[i], i + 1
                if escaped == '"' and (i >= n or text[i] in "\r\n"):
                    i -= 1  # a Windows path: key="C:\path\"
                    break
        self.pos = i
        return "TC_QUOTED_STRING", self._unescape(text[p:i])

    def _unescape(self, raw: str) -> str:
        # zend_ini_escape_string(): \" \\ \$ lose the backslash; lines are counted.
        out, i, n = [], 0, len(raw)
        while i < n:
            char = raw[i]
            if char == "\\":
                i += 1
                if i >= n:
                    out.append("\\")
                    continue
                char = raw[i]
                out.append(char if char in '"\\$' else "\\" + char)
            else:
                out.append(char)
            if char == "\n" or char == "\r" and raw[i + 1:i + 2] != "\n":
                self.line += 1
            i += 1
        return "".join(out)

    def _varname(self) -> tuple[str, str] | None:
        p = self.pos
        if self.at(p) == "}":
            self.pop()
            return self.take(p + 1, "'}'")
        end = self.label_end(p)
        if end == p:
            raise _End
        return self.take(end, "TC_VARNAME", self.text[p:end].lstrip(" \t").rstrip(" \t\r\n"))

    def _enclosed(self, section: bool) -> tuple[str, str]:
        # A section name or an option's offset.
        p, char = self.pos, self.at(self.pos)
        if char == "'":
            end = self.raw_string(p)
            if end is not None:
                return self.take(end, "TC_RAW", self.text[p + 1:end - 1])
        blanks = self.blanks(p)
        if section and char == "]":
            self.state = "INITIAL"
            self.line += 1
            end = self.blanks(p + 1)
            return self.take(end + self.newline(end), "']'")
        if not section and self.at(blanks) == "]":
            self.state = "INITIAL"
            return self.take(blanks + 1, "']'")
        if char == "$" and self.at(p + 1) == "{":
            self.push("ST_VARNAME")
            return self.take(p + 2, "TC_DOLLAR_CURLY")
        run = self.value_run(p, _SECTION_STOP)
        if run > blanks:
            return self.take(run, self._kind(p, run), self.text[p:run])
        if self.at(blanks) == '"':
            self.push("ST_DOUBLE_QUOTES")
            return self.take(blanks + 1, "'\"'")
        if blanks > p:
            return self.take(blanks, "TC_WHITESPACE", self.text[p:blanks])
        raise _End


def _do_op(op: str, left: str, right: str = "") -> str:
    # zend_ini_do_op(): the operands as atoi() reads them, the result a C int in decimal.
    a, b = c_atoi(left), c_atoi(right)
    result = {"|": a | b, "&": a & b, "^": a ^ b, "~": ~a, "!": int(not a)}[op]
    return str(_wrap(result, 32))


class _Parser:
    """Zend/zend_ini_parser.y (PHP 8.2) as a recursive-descent parser that stops where
    bison's tables stop, with bison's "unexpected X, expecting Y or Z" texts."""

    def __init__(
        self, text: str, constants: Mapping[str, int | str], config: dict[str, str], env: Mapping[str, str],
        filename: str,
    ) -> None:
        self.scanner = _Scanner(text)
        self.constants = constants
        self.env = env
        self.filename = filename
        self.configuration = _Configuration(config)
        self.result = IniResult()
        self.pending: tuple[str, str] | None = None

    def next(self) -> tuple[str, str]:
        if self.pending is not None:
            token, self.pending = self.pending, None
            return token
        return self.scanner.token()

    def error(self, token: tuple[str, str], expected: Sequence[str] = ()) -> IniSyntaxError:
        message = f"syntax error, unexpected {token[0]}"
        if expected:
            message += ", expecting " + " or ".join(expected)
        line = self.scanner.line
        return IniSyntaxError(f"{message} in {self.filename} on line {line}", line)

    def run(self) -> IniResult:
        try:
            self.statements()
        except IniSyntaxError as error:
            self.result.error = error.with_traceback(None)  # its message and line: no frames of the parse kept
        return self.result

    def emit(self, entry: IniEntry) -> None:
        self.result.entries.append(entry)
        self.configuration.add(entry)

    def statements(self) -> None:
        while True:
            token = self.next()
            kind, text = token
            if kind == END:
                return
            if kind == "END_OF_LINE":
                continue
            if kind == "TC_SECTION":
                token = self.next()
                name = ""
                if token[0] in _ENCLOSED_START:
                    name, token = self.strings(token, lookup=False)
                if token[0] != "']'":
                    raise self.error(token, ["']'"])
                self.emit(IniEntry(section=name))
            elif kind == "TC_LABEL":
                token = self.next()
                if token[0] == "'='":
                    self.emit(IniEntry(text, self.string_or_value()))
                else:
                    self.emit(IniEntry(text))
                    self.pending = token
            elif kind == "TC_OFFSET":
                token = self.next()
                offset = ""
                if token[0] in _ENCLOSED_START:
                    offset, token = self.strings(token, lookup=True)
                if token[0] != "']'":
                    raise self.error(token, ["']'"])
                token = self.next()
                if token[0] != "'='":
                    raise self.error(token, ["'='"])
                self.emit(IniEntry(text, self.string_or_value(), offset=offset))
            else:
                raise self.error(token)

    def string_or_value(self) -> str:
        token = self.next()
        if token[0] in ("BOOL_TRUE", "BOOL_FALSE", "NULL_NULL"):
            return token[1]
        if token[0] == "END_OF_LINE":
            return ""
        value, self.pending = self.expr(token)
        return value

    def expr(self, token: tuple[str, str]) -> tuple[str, tuple[str, str]]:
        # expr: with '|', '&', '^' of one precedence, left-associative.
        value, token = self.operand(token)
        while token[0] in ("'|'", "'&'", "'^'"):
            right, after = self.operand(self.next())
            value, token = _do_op(token[0][1], value, right), after
        return value, token

    def operand(self, token: tuple[str, str]) -> tuple[str, tuple[str, str]]:
        kind = token[0]
        if kind in ("'~'", "'!'"):
            value, after = self.operand(self.next())
            return _do_op(kind[1], value), after
        if kind == "'('":
            value, after = self.expr(self.next())
            if after[0] != "')'":
                raise self.error(after, ["'^'", "'|'", "'&'", "')'"])
            return value, self.next()
        if kind in _ENCLOSED_START:
            return self.strings(token, lookup=True)
        raise self.error(token)

    def strings(self, token: tuple[str, str], lookup: bool) -> tuple[str, tuple[str, str]]:
        # var_string_list (constants looked up) or var_string_list_section (not).
        parts: list[str] = []
        while token[0] in _ENCLOSED_START:
            kind, text = token
            if kind == "TC_DOLLAR_CURLY":
                parts.append(self.variable())
            elif kind == "'\"'":
                parts.append(self.quoted())
            elif kind == "TC_CONSTANT" and lookup and text in self.constants:
                parts.append(_constant_text(self.constants[text]))
            else:
                parts.append(text)
            token = self.next()
        return "".join(parts), token

    def quoted(self) -> str:
        parts: list[str] = []
        while True:
            token = self.next()
            if token[0] == "'\"'":
                return "".join(parts)
            if token[0] == "TC_DOLLAR_CURLY":
                parts.append(self.variable())
            elif token[0] == "TC_QUOTED_STRING":
                parts.append(token[1])
            else:
                raise self.error(token, ["TC_DOLLAR_CURLY", "TC_QUOTED_STRING", "'\"'"])

    def variable(self) -> str:
        # cfg_var_ref: ${NAME}, a directive parsed earlier or else an environment variable.
        token = self.next()
        if token[0] != "TC_VARNAME":
            raise self.error(token, ["TC_VARNAME"])
        name = token[1]
        token = self.next()
        if token[0] != "'}'":
            raise self.error(token, ["'}'"])
        return self.configuration.values.get(name, self.env.get(name, ""))


def _constant_text(value: int | str) -> str:
    return value if isinstance(value, str) else str(value)


def parse_ini_string(
    text: str,
    constants: Mapping[str, int | str] = INI_CONSTANTS,
    env: Mapping[str, str] | None = None,
    *,
    config: Mapping[str, str] | None = None,
    filename: str = "Unknown",
) -> IniResult:
    """zend_parse_ini_string() / zend_parse_ini_file() in ZEND_INI_SCANNER_NORMAL mode, as
    PHP 8.2 reads php.ini and the ``-d`` lines: sections, ``name=value``,
    ``name[offset]=value``; values are bare words, numbers, constants (``constants``),
    ``"double-quoted"`` (\\", \\\\ and \\$ escapes) or ``'raw'`` strings and ``${NAME}``
    (a directive of ``config`` or of this text parsed before, else ``env``; unset is ""), joined
    as they stand, or expressions of them with ``|``, ``&``, ``^``, ``~``, ``!`` and
    parentheses, evaluated as C ints; On/Yes/True read "1", Off/No/False/None/Null "". A syntax
    error stops the parse with PHP's message, naming ``filename`` ("Unknown" for ``-d``) and
    the line; the entries before it stay (INI-PARSE-3, INI-PARSE-5, INI-PARSE-7)."""
    return _Parser(text, constants, dict(config or {}), env or {}, filename).run()


def define_line(argument: str) -> str:
    """The php.ini line php_cli.c and cgi_main.c make of a ``-d`` argument: "name" is
    "name=1"; a value that does not start with an ASCII letter or digit, a quote or nothing is
    put in double quotes (so ``-d x=~E_ALL`` stays the string "~E_ALL" and ``-d x=${HOME}``
    expands); the line ends in "\\n" (INI-PARSE-6)."""
    name, equals, value = argument.partition("=")
    if not equals:
        return f"{argument}=1\n"
    if value and not (value[0].isascii() and value[0].isalnum()) and value[0] not in "\"'":
        return f'{name}="{value}"\n'
    return f"{argument}\n"


def evaluate_value(
    raw: str,
    constants: Mapping[str, int | str] = INI_CONSTANTS,
    env: Mapping[str, str] | None = None,
    *,
    config: Mapping[str, str] | None = None,
    define: bool = False,
) -> str:
    """What PHP's ini parser stores for one value: ``raw`` as it stands after "name=" on a
    php.ini line, or, with ``define=True``, as given to ``-d name=raw`` (quoted first as
    :func:`define_line` says). ``E_ALL & ~E_NOTICE`` is "32759", ``On`` "1", ``none`` "",
    ``"quoted"`` "quoted", ``${HOME}`` the environment's HOME. Raises IniSyntaxError with
    PHP's message when PHP reports one (PHP keeps what it read before the error:
    :func:`parse_ini_string` gives that) (INI-PARSE-3, INI-PARSE-5, INI-PARSE-6)."""
    line = define_line("x=" + raw) if define else f"x={raw}\n"
    result = parse_ini_string(line, constants, env, config=config)
    if result.error is not None:
        raise result.error
    first = result.entries[0]
    return first.value if first.value is not None else ""
