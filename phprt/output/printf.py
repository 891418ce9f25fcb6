"""PHP's formatted output: sprintf, vsprintf, printf, vprintf, fprintf, vfprintf (PRINTF-*).

The core (``format_bytes``) is ext/standard/formatted_print.c's ``php_formatted_print()``
on bytes, pure and I/O-free: a format is parsed once into a list of steps (remembered by
format and offset, PRINTF-PERF-1), then the steps run over the arguments. What the core
cannot decide alone -- converting an argument to a string (the ``precision`` ini, PHP's
"Array to string conversion" warning), raising a notice or a fatal error -- it asks of a
``Conversions`` object, which the Runtime's mixin (``PrintfFunctions``) provides. A str
format whose conversions Python's ``%`` writes as PHP does is also compiled, once, into a
Python function that formats the arguments it can vouch for (PRINTF-PERF-2); the rest take
the byte path. Every answer is PHP's: tests/output/printf_fuzz.json holds 800 random calls
recorded from ``php -n``.

PHP strings are bytes: widths and precisions count bytes, a str is encoded with the
Runtime's charset, and the result is decoded back with surrogateescape (as
``ob_get_contents()`` returns a buffer), or returned as bytes when the format was bytes.
"""

from __future__ import annotations

import io
import math
import re
from functools import lru_cache
from typing import Any, Callable, Protocol, Sequence, cast

from ..engine import constants as C
from ..engine.base import RuntimeBase
from ..engine.errors import ArgumentCountError
from ..engine.functions import php_function
from ..engine.ini_scanner import parse_quantity
from ..engine.values import PHP_BYTES, format_float, to_php_text, zval_type_name

__all__ = ["Conversions", "FieldTooLong", "PhpOutput", "PrintfFunctions", "compile_format", "compile_text",
           "format_bytes", "format_text", "parse", "zval_get_double", "zval_get_long"]

INT_MAX = 2**31 - 1
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
MAX_FLOAT_PRECISION = 53
FLOAT_PRECISION = 6

# -- PHP's conversions of an argument (zval_get_long, zval_get_double) ----------------------------

_NUMERIC_PREFIX = re.compile(rb"[ \t\n\r\v\f]*([+-]?(?:([0-9]+)(?:\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?)")


def dval_to_lval(value: float) -> int:
    """zend_dval_to_lval(): a float as PHP's int conversion makes it: 0 for INF and NAN,
    truncated when it fits, else modulo 2**64 as C's fmod() leaves it (PRINTF-ARG-2)."""
    if value != value or value in (math.inf, -math.inf):
        return 0
    number = int(value)
    if _LONG_MIN <= number <= _LONG_MAX:
        return number
    modulo = number % 2**64 if number >= 0 else -(-number % 2**64)
    if modulo > _LONG_MAX:
        modulo -= 2**64
    elif modulo < _LONG_MIN:
        modulo += 2**64
    return modulo


def _dval_to_lval_cap(value: float) -> int:
    # zend_dval_to_lval_cap(): saturating, for a numeric string's float
    if value != value or value in (math.inf, -math.inf):
        return 0
    number = int(value)
    return max(_LONG_MIN, min(_LONG_MAX, number))


def _string_number(data: bytes) -> int | float | None:
    # is_numeric_string() with errors allowed: the leading number, or None
    match = _NUMERIC_PREFIX.match(data)
    if match is None:
        return None
    text = match.group(1)
    if match.group(2) is not None and b"." not in text and match.group(3) is None:
        number = int(text)
        if _LONG_MIN <= number <= _LONG_MAX:
            return number
    return float(text)


def zval_get_long(value: Any, warn: Callable[[str], None], charset: str = "utf-8") -> int:
    """PHP's zval_get_long() of a Python value (PRINTF-ARG-2): bools and None as 0/1/0, a
    float by ``dval_to_lval``, a string by its leading number (a float there saturates),
    an array (list, tuple, dict) 0 when empty else 1, any other object 1 after PHP's
    warning. A Python int beyond 64 bits is the float PHP would hold."""
    cls = value.__class__
    if cls is int:
        return value if _LONG_MIN <= value <= _LONG_MAX else dval_to_lval(float(value))
    if value is None or value is False:
        return 0
    if value is True:
        return 1
    if isinstance(value, int):
        return zval_get_long(int(value), warn)
    if isinstance(value, float):
        return dval_to_lval(value)
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        data = value.encode(charset, PHP_BYTES) if isinstance(value, str) else bytes(value)
        number = _string_number(data)
        if number is None:
            return 0
        return number if isinstance(number, int) else _dval_to_lval_cap(number)
    if isinstance(value, (list, tuple, dict)):
        return 1 if value else 0
    warn(f"Object of class {cls.__name__} could not be converted to int")
    return 1


def zval_get_double(value: Any, warn: Callable[[str], None], charset: str = "utf-8") -> float:
    """PHP's zval_get_double() of a Python value (PRINTF-ARG-3): a string by its leading
    number (strtod: "1e999" is INF, "inf" is 0), arrays 0.0 or 1.0, objects 1.0 after
    PHP's warning."""
    cls = value.__class__
    if cls is float:
        return value  # type: ignore[no-any-return]
    if value is None or value is False:
        return 0.0
    if value is True:
        return 1.0
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        data = value.encode(charset, PHP_BYTES) if isinstance(value, str) else bytes(value)
        match = _NUMERIC_PREFIX.match(data)
        return 0.0 if match is None else float(match.group(1))
    if isinstance(value, (list, tuple, dict)):
        return 1.0 if value else 0.0
    warn(f"Object of class {cls.__name__} could not be converted to float")
    return 1.0


# -- the parsed format ------------------------------------------------------------------------------

# A step is a tuple; its first item says which:
_LIT = 0  # (_LIT, bytes)
_STAR_WIDTH = 1  # (_STAR_WIDTH, argnum or _NEXT, resume offset): the width comes from an argument
_STAR_PREC = 2  # (_STAR_PREC, argnum or _NEXT, resume offset)
_CONV = 3  # (_CONV, conversion byte, argnum or _NEXT, padding, left, always_sign, width, precision, expprec, offset)
_FAIL = 4  # (_FAIL, message): a ValueError the parse reached
_NEXT = -1  # the next argument (currarg++)

_DIGITS = frozenset(b"0123456789")
_ALPHA = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NUMBER = re.compile(rb"[0-9]*")


def _getnumber(fmt: bytes, pos: int) -> tuple[int, int]:
    # php_sprintf_getnumber(): strtol() of the digits at pos; -1 when >= INT_MAX
    end = _NUMBER.match(fmt, pos).end()  # type: ignore[union-attr]
    number = int(fmt[pos:end]) if end > pos else 0
    return (-1 if number >= INT_MAX else number), end


def _argnum(fmt: bytes, pos: int) -> tuple[int | None, int]:
    # php_sprintf_get_argnum(): "N$" -> N - 1, none -> _NEXT, an invalid N -> None
    end = _NUMBER.match(fmt, pos).end()  # type: ignore[union-attr]
    if fmt[end : end + 1] != b"$":
        return _NEXT, pos
    number, end = _getnumber(fmt, pos)
    if number <= 0:
        return None, end
    return number - 1, end + 1


_ARGNUM_ERROR = f"Argument number specifier must be greater than zero and less than {INT_MAX}"


@lru_cache(maxsize=2048)
def parse(fmt: bytes, pos: int = 0) -> tuple[tuple[Any, ...], ...]:
    """The steps of ``fmt`` from byte ``pos`` on, as php_formatted_print() reads them
    (PRINTF-PARSE-1). A missing argument makes PHP read on from the conversion
    character (or from after a ``*``) as literal text: the steps keep those offsets."""
    steps: list[tuple[Any, ...]] = []
    size = len(fmt)
    while pos < size:
        percent = fmt.find(b"%", pos)
        if percent < 0:
            steps.append((_LIT, fmt[pos:]))
            break
        if percent > pos:
            steps.append((_LIT, fmt[pos:percent]))
        pos = percent + 1
        if fmt[pos : pos + 1] == b"%":
            steps.append((_LIT, b"%"))
            pos += 1
            continue
        padding, left, always_sign, expprec = b" ", False, False, False
        width: int | None = 0
        precision: int | None = 0
        argnum: int | None = _NEXT
        if pos < size and fmt[pos] in _ALPHA:
            pass
        else:
            argnum, pos = _argnum(fmt, pos)
            if argnum is None:
                steps.append((_FAIL, _ARGNUM_ERROR))
                break
            while pos < size:  # the modifiers
                char = fmt[pos]
                if char == 32 or char == 48:  # " " or "0"
                    padding = fmt[pos : pos + 1]
                elif char == 45:  # "-"
                    left = True
                elif char == 43:  # "+"
                    always_sign = True
                elif char == 39:  # "'"
                    if pos + 1 >= size:
                        steps.append((_FAIL, "Missing padding character"))
                        return tuple(steps)
                    pos += 1
                    padding = fmt[pos : pos + 1]
                else:
                    break
                pos += 1
            if fmt[pos : pos + 1] == b"*":
                star, pos = _argnum(fmt, pos + 1)
                if star is None:
                    steps.append((_FAIL, _ARGNUM_ERROR))
                    break
                steps.append((_STAR_WIDTH, star, pos))
                width = None
            elif pos < size and fmt[pos] in _DIGITS:
                width, pos = _getnumber(fmt, pos)
                if width < 0:
                    steps.append((_FAIL, f"Width must be greater than zero and less than {INT_MAX}"))
                    break
            if fmt[pos : pos + 1] == b".":
                pos += 1
                if fmt[pos : pos + 1] == b"*":
                    star, pos = _argnum(fmt, pos + 1)
                    if star is None:
                        steps.append((_FAIL, _ARGNUM_ERROR))
                        break
                    steps.append((_STAR_PREC, star, pos))
                    precision, expprec = None, True
                elif pos < size and fmt[pos] in _DIGITS:
                    precision, pos = _getnumber(fmt, pos)
                    if precision < 0:
                        steps.append((_FAIL, f"Precision must be greater than zero and less than {INT_MAX}"))
                        break
                    expprec = True
        if fmt[pos : pos + 1] == b"l":
            pos += 1
        conversion = fmt[pos] if pos < size else 0
        steps.append((_CONV, conversion, argnum, padding, left, always_sign, width, precision, expprec, pos))
        pos += 1
    return tuple(steps)


# -- formatting ---------------------------------------------------------------------------------------


class FieldTooLong(Exception):
    """PHP's fatal error for a field the result buffer cannot hold (PRINTF-WIDTH-2): the
    message of the E_ERROR the Runtime raises."""


class Conversions(Protocol):
    """What the core asks of its caller."""

    charset: str

    def string(self, value: Any) -> bytes:
        """zval_get_string(): the argument as PHP converts it to a string."""

    def warning(self, message: str) -> None:
        """An E_WARNING without a function prefix ("Object of class X could not be ...")."""

    def notice(self, message: str) -> None:
        """An E_NOTICE from the function (php_error_docref)."""

    def memory_limit(self) -> int:
        """memory_limit in bytes (-1: none)."""


_HUGE_FIELD = 1 << 20  # fields this wide are checked against PHP's memory accounting


def _pad(out: list[bytes], data: bytes, width: int, max_width: int, padding: bytes, left: bool,
         neg: bool, expprec: bool, always_sign: bool, conv: Conversions) -> None:
    # php_sprintf_appendstring(): ``data`` cut to ``max_width`` when a precision was
    # given, padded to ``width``; a sign is kept ahead of zero padding.
    copy_len = min(max_width, len(data)) if expprec else len(data)
    npad = 0 if width < copy_len else width - copy_len
    if width > _HUGE_FIELD:
        _check_field(sum(map(len, out)), max(width, copy_len), conv)
    if left:
        out.append(data[:copy_len] if expprec else data)
        if npad:
            out.append(padding * npad)
    else:
        if (neg or always_sign) and padding == b"0":
            out.append(b"-" if neg else b"+")
            data = data[1:]
            copy_len -= 1
        if npad:
            out.append(padding * npad)
        out.append(data[:copy_len])


def _check_field(length: int, m_width: int, conv: Conversions) -> None:
    # PHP's E_ERROR for a field past INT_MAX, and its memory manager's for a buffer past
    # memory_limit: the buffer starts at 240 bytes and doubles (PRINTF-WIDTH-2, DEV-PRINTF-MEMORY-1).
    if m_width > INT_MAX - length - 1:
        raise FieldTooLong(f"Field width {m_width} is too long")
    required, size = length + m_width + 1, 240
    while required > size:
        size <<= 1
    tried = (24 + size + 1 + 4095) // 4096 * 4096
    limit = conv.memory_limit()
    if limit >= 0 and tried + (2 << 20) > limit:
        raise FieldTooLong(f"Allowed memory size of {limit} bytes exhausted (tried to allocate {tried} bytes)")


_BASES = {111: "o", 120: "x", 88: "X", 98: "b"}
_KNOWN = frozenset(b"sduoxXbceEfFgGhH%")


def _float(out: list[bytes], number: float, width: int, padding: bytes, left: bool, precision: int, fmt: int,
           always_sign: bool, conv: Conversions) -> None:
    # php_sprintf_appenddouble(), the precision already checked
    if number != number or number in (math.inf, -math.inf):
        # INF and NaN ignore the width; zero padding overwrites their first letter with the sign.
        if number == -math.inf and getattr(conv, "signed_infinity", False):  # from 8.4 (VER-PRINTF-INF-1)
            _pad(out, b"-INF", 4, 0, padding, left, True, False, always_sign, conv)
            return
        text = b"NaN" if number != number else b"INF"
        _pad(out, text, 3, 0, padding, left, number < 0, False, always_sign, conv)
        return
    if fmt == 102 or fmt == 70:  # f, F: php_conv_fp()
        negative = number < 0
        text = f"{abs(number):.{precision}f}".encode()
    elif fmt == 101 or fmt == 69:  # e, E
        negative = number < 0
        mantissa, exponent = f"{abs(number):.{precision}e}".split("e")
        power = int(exponent)
        text = f"{mantissa}{chr(fmt)}{'-' if power < 0 else '+'}{-power if power < 0 else power}".encode()
    else:  # g, G, h, H: zend_gcvt()
        text = format_float(number, precision or 1).encode()
        if fmt == 103 or fmt == 104:  # g, h
            text = text.replace(b"E", b"e")
        negative = text[:1] == b"-"
        if negative:
            text = text[1:]
    if negative:
        text = b"-" + text
    elif always_sign:
        text = b"+" + text
    _pad(out, text, width, 0, padding, left, negative, False, always_sign, conv)


def _convert(out: list[bytes], value: Any, conv: Conversions, conversion: int, padding: bytes, left: bool,
             always_sign: bool, width: int, precision: int, expprec: bool) -> None:
    # One known conversion of one argument (PRINTF-CONV-*), appended to ``out``.
    if conversion == 115:  # s
        data = value.encode(conv.charset, PHP_BYTES) if value.__class__ is str else conv.string(value)
        if not width and not expprec:
            out.append(data)
        else:
            _pad(out, data, width, precision, padding, left, False, expprec, False, conv)
    elif conversion in b"eEfFgGhH":
        number = zval_get_double(value, conv.warning, conv.charset)
        if not expprec:
            digits = FLOAT_PRECISION
        elif precision > MAX_FLOAT_PRECISION:
            conv.notice(f"Requested precision of {precision} digits was truncated to PHP maximum of "
                        f"{MAX_FLOAT_PRECISION} digits")
            digits = MAX_FLOAT_PRECISION
        else:
            digits = precision
        _float(out, number, width, padding, left, digits, conversion, always_sign, conv)
    elif conversion == 37:  # %
        out.append(b"%")
    else:
        integer = _long(value, conv)
        if conversion == 100:  # d
            data = b"%d" % integer
            if always_sign and integer >= 0:
                data = b"+" + data
            if left and padding == b"0":
                padding = b" "  # "Can't right-pad 0's on integers"
            _pad(out, data, width, 0, padding, left, integer < 0, False, always_sign, conv)
        elif conversion == 99:  # c: one byte, no padding
            out.append(bytes((integer & 0xFF,)))
        elif conversion == 117:  # u
            if left and padding == b"0":
                padding = b" "
            _pad(out, b"%d" % (integer & 0xFFFFFFFFFFFFFFFF), width, 0, padding, left, False, False, False, conv)
        else:  # o, x, X, b: the bits, cut to nothing by any precision
            data = format(integer & 0xFFFFFFFFFFFFFFFF, _BASES[conversion]).encode()
            _pad(out, data, width, 0, padding, left, False, expprec, False, conv)


# The fast path (PRINTF-PERF-1): a format whose steps need no "*" and hold no error is
# compiled once into literals and (argument index, renderer) pairs; it runs whenever the
# call has every argument the format names.
Renderer = Callable[[list[bytes], Any, Conversions], None]


def _plain_s(out: list[bytes], value: Any, conv: Conversions) -> None:
    out.append(value.encode(conv.charset, PHP_BYTES) if value.__class__ is str else conv.string(value))


def _long(value: Any, conv: Conversions) -> int:
    # zval_get_long(); from PHP 8.5 a float an int cannot hold warns first (VER-FLOAT-CAST-1)
    if getattr(conv, "float_cast_warns", False):
        number = float(value) if value.__class__ is int and not _LONG_MIN <= value <= _LONG_MAX else value
        if number.__class__ is float and not -9223372036854775808.0 <= number < 9223372036854775808.0:
            conv.warning(f"The float {format_float(number, -1)} is not representable as an int, cast occurred")
    return zval_get_long(value, conv.warning, conv.charset)


def _plain_d(out: list[bytes], value: Any, conv: Conversions) -> None:
    if value.__class__ is int and _LONG_MIN <= value <= _LONG_MAX:
        out.append(b"%d" % value)
    else:
        out.append(b"%d" % _long(value, conv))


def _renderer(step: tuple[Any, ...]) -> Renderer:
    _, conversion, _, padding, left, always_sign, width, precision, expprec, _ = step
    if not width and not expprec and not always_sign:
        if conversion == 115:
            return _plain_s
        if conversion == 100:
            return _plain_d

    def render(out: list[bytes], value: Any, conv: Conversions) -> None:
        _convert(out, value, conv, conversion, padding, left, always_sign, width, precision, expprec)

    return render


@lru_cache(maxsize=2048)
def compile_format(fmt: bytes) -> tuple[tuple[bytes | tuple[int, Renderer], ...], int] | None:
    """The fast plan of ``fmt`` and the highest argument index it uses, or None when
    only the step-by-step reading can say what PHP does (a ``*``, an error)."""
    plan: list[bytes | tuple[int, Renderer]] = []
    currarg = highest = 0
    highest = -1
    for step in parse(fmt, 0):
        kind = step[0]
        if kind == _LIT:
            last = plan[-1] if plan else None
            if isinstance(last, bytes):
                plan[-1] = last + step[1]
            else:
                plan.append(step[1])
            continue
        if kind != _CONV or step[1] not in _KNOWN:
            return None
        argnum = step[2]
        if argnum == _NEXT:
            argnum, currarg = currarg, currarg + 1
        highest = max(highest, argnum)
        plan.append((argnum, _renderer(step)))
    return tuple(plan), highest


# The str fast path (PRINTF-PERF-2): a UTF-8 str format whose conversions are only %s, %f
# and the integer ones, as Python's %-formatting writes them as PHP does, becomes a Python
# format string; a call whose arguments pass the checks (a str, ASCII when a width counts
# its bytes; an int in 64 bits, not negative for u, x, X, o; a finite float or an int for
# f) is then one ``%`` operation.
_ANY_STR, _ASCII_STR, _INT64, _UINT64, _FLOAT = 0, 1, 2, 3, 4


@lru_cache(maxsize=2048)
def compile_text(fmt: str) -> Callable[[Sequence[Any]], str | None] | None:
    """For ``fmt``, a function of the arguments that formats them with a Python format
    string when they pass the checks and returns None otherwise; None when only the byte
    path can say what PHP does. The function is generated once per format, as
    ``collections.namedtuple`` generates its classes: the checks inline, no loop."""
    data = fmt.encode("utf-8", PHP_BYTES)
    pieces: list[str] = []
    argnums: list[int] = []
    checks: list[int] = []
    currarg = 0
    for step in parse(data, 0):
        if step[0] == _LIT:
            pieces.append(step[1].decode("utf-8", "surrogateescape").replace("%", "%%"))
            continue
        if step[0] != _CONV:
            return None
        _, conversion, argnum, padding, left, always_sign, width, precision, expprec, _ = step
        flags = "-" if left else ""
        if width > _HUGE_FIELD:  # PHP's field and memory checks
            return None
        if conversion == 115:  # s: PHP pads strings with its padding byte, and cuts by bytes
            if expprec or (padding != b" " and width):
                return None
            check = _ASCII_STR if width else _ANY_STR
            spec = "s"
        elif conversion in b"duxXo":
            if padding not in (b" ", b"0") or (expprec and conversion != 100 and conversion != 117):
                return None
            if left and padding == b"0" and conversion in b"xXo":  # PHP pads these with zeros on the right
                return None
            if padding == b"0" and not left:
                flags += "0"
            if conversion == 100:
                check, spec = _INT64, "d"
                if always_sign:
                    flags += "+"
            else:
                check, spec = _UINT64, "d" if conversion == 117 else chr(conversion)
        elif conversion in b"fF":  # PHP's zero padding of a left-aligned float is on the right
            if padding not in (b" ", b"0") or (left and padding == b"0") or (expprec and precision > 53):
                return None
            if padding == b"0":
                flags += "0"
            if always_sign:
                flags += "+"
            check, spec = _FLOAT, f".{precision}f" if expprec else "f"
        else:
            return None
        if argnum == _NEXT:
            argnum, currarg = currarg, currarg + 1
        pieces.append(f"%{flags}{width or ''}{spec}")
        argnums.append(argnum)
        checks.append(check)
    used = sorted(set(argnums))
    tests = []
    for argnum, check in dict(zip(argnums, checks)).items():
        value = f"a{argnum}"
        if check == _ANY_STR:
            tests.append(f"{value}.__class__ is not str")
        elif check == _ASCII_STR:
            tests.append(f"{value}.__class__ is not str or not {value}.isascii()")
        elif check == _FLOAT:  # a finite float, or an int PHP converts to one
            tests.append(f"not (({value}.__class__ is float and {value} - {value} == 0.0) or "
                         f"({value}.__class__ is int and {_LONG_MIN} <= {value} <= {_LONG_MAX}))")
        else:
            low = 0 if check == _UINT64 else _LONG_MIN
            tests.append(f"{value}.__class__ is not int or not {low} <= {value} <= {_LONG_MAX}")
    for argnum in used:  # a value used twice must pass both checks
        kinds = {check for number, check in zip(argnums, checks) if number == argnum}
        if len(kinds) > 1:
            return None
    lines = ["def fast(args):",
             f"    if len(args) < {max(used, default=-1) + 1}:",
             "        return None"]
    lines += [f"    a{argnum} = args[{argnum}]" for argnum in used]
    if tests:
        lines += [f"    if {' or '.join(f'({test})' for test in tests)}:", "        return None"]
    # + 0.0 turns -0.0 into 0.0: PHP's %f prints no sign for a negative zero
    values = "".join(f"a{argnum} + 0.0, " if check == _FLOAT else f"a{argnum}, " for argnum, check in zip(argnums, checks))
    lines.append(f"    return {''.join(pieces)!r} % ({values})")
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from the parsed format only
    function: Callable[[Sequence[Any]], str | None] = namespace["fast"]
    return function


def format_text(fmt: str, args: Sequence[Any]) -> str | None:
    """``fmt`` with ``args`` on the str fast path (PRINTF-PERF-2), or None when the call
    needs the byte path."""
    fast = compile_text(fmt)
    return None if fast is None else fast(args)


def format_bytes(fmt: bytes, args: Sequence[Any], extra: int, conv: Conversions) -> bytes:
    """php_formatted_print(): ``fmt`` with ``args`` (PRINTF-*). ``extra`` is how many
    parameters precede the values in PHP's signature (1 for sprintf and printf, 2 for
    fprintf), or -1 when they came in an array (vsprintf, vprintf, vfprintf): it picks
    PHP's error for missing arguments. Raises PHP's ValueError and ArgumentCountError,
    and FieldTooLong for PHP's fatal errors."""
    compiled = compile_format(fmt)
    if compiled is not None and compiled[1] < len(args):
        out: list[bytes] = []
        for item in compiled[0]:
            if isinstance(item, bytes):
                out.append(item)
            else:
                render = item[1]
                render(out, args[item[0]], conv)
        return b"".join(out)
    return _interpret(fmt, args, extra, conv)


def _interpret(fmt: bytes, args: Sequence[Any], extra: int, conv: Conversions) -> bytes:
    # The step-by-step reading, exactly as php_formatted_print() reads (PRINTF-PARSE-1).
    argc = len(args)
    out: list[bytes] = []
    currarg = 0
    max_missing = -1
    steps = parse(fmt, 0)
    index = 0
    width = precision = 0
    while index < len(steps):
        step = steps[index]
        index += 1
        kind = step[0]
        if kind == _LIT:
            out.append(step[1])
            continue
        if kind == _CONV:
            _, conversion, argnum, padding, left, always_sign, spec_width, spec_precision, expprec, offset = step
            if spec_width is not None:
                width = spec_width
            if spec_precision is not None:
                precision = spec_precision
            if argnum == _NEXT:
                argnum = currarg
                currarg += 1
            if argnum >= argc:
                max_missing = max(max_missing, argnum)
                steps, index = parse(fmt, offset), 0  # PHP reads on from the conversion character
                continue
            if expprec and precision == -1 and conversion not in b"gGhH":
                raise ValueError("Precision -1 is only supported for %g, %G, %h and %H")
            if conversion in _KNOWN:
                _convert(out, args[argnum], conv, conversion, padding, left, always_sign, width, precision, expprec)
            elif conversion == 0 and offset >= len(fmt):
                raise ValueError("Missing format specifier at end of string")
            else:  # PHP's message is a C string: a NUL ends it
                char = bytes((conversion,)).decode(conv.charset, "surrogateescape") if conversion else ""
                raise ValueError(f'Unknown format specifier "{char}' + ('"' if conversion else ""))
            width = precision = 0
            continue
        if kind == _FAIL:
            raise ValueError(step[1])
        # a "*" width or precision: an int argument
        _, argnum, offset = step
        if argnum == _NEXT:
            argnum = currarg
            currarg += 1
        if argnum >= argc:
            max_missing = max(max_missing, argnum)
            steps, index = parse(fmt, offset), 0
            continue
        value = args[argnum]
        if value.__class__ is not int:
            raise ValueError("Width must be an integer" if kind == _STAR_WIDTH else "Precision must be an integer")
        if kind == _STAR_WIDTH:
            if not 0 <= value <= INT_MAX:
                raise ValueError(f"Width must be greater than zero and less than {INT_MAX}")
            width = value
        else:
            if not -1 <= value <= INT_MAX:
                raise ValueError(f"Precision must be between -1 and {INT_MAX}")
            precision = value
    if max_missing >= 0:
        if extra == -1:
            raise ValueError(f"The arguments array must contain {max_missing + 1} items, {argc} given")
        raise ArgumentCountError(f"{max_missing + extra + 1} arguments are required, {argc + extra} given")
    return b"".join(out)


# -- php://output --------------------------------------------------------------------------------------


class PhpOutput(io.RawIOBase):
    """PHP's ``fopen("php://output", "w")``: a binary file whose writes are ``echo`` in
    its Runtime, through the output buffers (PRINTF-OUTPUT-1). ``write`` takes bytes
    or, as PHP strings would be written, str; it returns the byte count. Reading is
    not supported (PHP's stream reads nothing); flush() does nothing, as PHP's."""

    def __init__(self, runtime: PrintfFunctions) -> None:
        super().__init__()
        self._runtime = runtime

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        runtime = self._runtime
        if data.__class__ is not bytes:
            data = data.encode(runtime.charset, PHP_BYTES) if isinstance(data, str) else bytes(data)
        runtime._out.write(data)
        runtime._raise_pending()
        return len(data)


# -- the PHP functions ----------------------------------------------------------------------------------


class PrintfFunctions(RuntimeBase):
    """sprintf and its family, on the Runtime (PRINTF-*)."""

    def _format_arg(self, function: str, fmt: Any, position: int) -> str | bytes:
        # Z_PARAM_STRING for the format, parameter ``position``: str and bytes as they are
        if fmt.__class__ is str or fmt.__class__ is bytes:
            return fmt
        if isinstance(fmt, (bytes, bytearray)):
            return bytes(fmt)
        return self._string_arg(function, position, "format", fmt)

    def _format(self, function: str, fmt: str | bytes, values: Sequence[Any], extra: int,
                fast: bool = True) -> str | bytes:
        # php_formatted_print(): a str from the fast path (PRINTF-PERF-2) unless the caller
        # tried it, else bytes
        if isinstance(fmt, str):
            if fast and self.charset == "utf-8":
                text = format_text(fmt, values)
                if text is not None:
                    return text
            fmt = fmt.encode(self.charset, PHP_BYTES)
        conversions = _RuntimeConversions(self, function)
        try:
            return format_bytes(fmt, values, extra, conversions)
        except FieldTooLong as error:
            self._error(C.E_ERROR, str(error))
            raise  # pragma: no cover - _error raised Bailout

    def _values(self, function: str, position: int, values: Any) -> Sequence[Any]:
        # Z_PARAM_ARRAY_HT: a list, a tuple or a dict's values, in order
        if isinstance(values, dict):
            return list(values.values())
        if isinstance(values, (list, tuple)):
            return values
        raise TypeError(f"{function}(): Argument #{position} ($values) must be of type array, "
                        f"{zval_type_name(values)} given")

    def _result(self, fmt: Any, data: str | bytes) -> Any:
        if data.__class__ is str:
            return data
        return data if isinstance(fmt, (bytes, bytearray)) else data.decode(self.charset, "surrogateescape")  # type: ignore[union-attr]

    def _bytes(self, data: str | bytes) -> bytes:
        return data.encode(self.charset, PHP_BYTES) if isinstance(data, str) else data

    def _print(self, data: str | bytes) -> int:
        # PHPWRITE(): through the output layer, as echo writes (its fast path too: an
        # empty write does nothing either way); the byte count
        if data:
            cast(Any, self).echo(data)  # the echo of output/functions.py, fast path and all
        if isinstance(data, str):
            return len(data) if data.isascii() else len(data.encode(self.charset, PHP_BYTES))
        return len(data)

    @php_function
    def sprintf(self, format: Any, *values: Any) -> Any:
        """PHP's sprintf(): the format with its conversions replaced (PRINTF-*); a str,
        or bytes for a bytes format (PRINTF-RESULT-1)."""
        if format.__class__ is str and self.charset == "utf-8":  # the fast path, inline (PRINTF-PERF-2)
            fast = compile_text(format)
            if fast is not None:
                text = fast(values)
                if text is not None:
                    return text
        return self._result(format, self._format("sprintf", self._format_arg("sprintf", format, 1), values, 1, fast=False))

    @php_function
    def vsprintf(self, format: Any, values: Any) -> Any:
        """PHP's vsprintf(): sprintf with the values in an array (PRINTF-ARRAY-1)."""
        fmt = self._format_arg("vsprintf", format, 1)
        return self._result(format, self._format("vsprintf", fmt, self._values("vsprintf", 2, values), -1))

    @php_function
    def printf(self, format: Any, *values: Any) -> int:
        """PHP's printf(): sprintf's result written as echo writes; the number of bytes
        (PRINTF-PRINT-1)."""
        return self._print(self._format("printf", self._format_arg("printf", format, 1), values, 1))

    @php_function
    def vprintf(self, format: Any, values: Any) -> int:
        """PHP's vprintf(): printf with the values in an array (PRINTF-PRINT-1, PRINTF-ARRAY-1)."""
        fmt = self._format_arg("vprintf", format, 1)
        return self._print(self._format("vprintf", fmt, self._values("vprintf", 2, values), -1))

    @php_function
    def fprintf(self, stream: Any, format: Any, *values: Any) -> int:
        """PHP's fprintf(): sprintf's result written to ``stream`` -- ``php_output()``
        (php://output, through the output buffers), or a Python file, binary or text;
        the number of bytes formatted (PRINTF-STREAM-1)."""
        write = self._stream("fprintf", stream)
        data = self._bytes(self._format("fprintf", self._format_arg("fprintf", format, 2), values, 2))
        write(data)
        return len(data)

    @php_function
    def vfprintf(self, stream: Any, format: Any, values: Any) -> int:
        """PHP's vfprintf(): fprintf with the values in an array (PRINTF-STREAM-1, PRINTF-ARRAY-1)."""
        write = self._stream("vfprintf", stream)
        fmt = self._format_arg("vfprintf", format, 2)
        data = self._bytes(self._format("vfprintf", fmt, self._values("vfprintf", 3, values), -1))
        write(data)
        return len(data)

    def _stream(self, function: str, stream: Any) -> Callable[[bytes], Any]:
        if isinstance(stream, io.TextIOBase):
            charset = self.charset
            return lambda data: stream.write(data.decode(charset, "surrogateescape"))
        write = getattr(stream, "write", None)
        if not callable(write):
            raise TypeError(f"{function}(): Argument #1 ($stream) must be of type resource, "
                            f"{zval_type_name(stream)} given")
        return write  # type: ignore[no-any-return]

    def php_output(self) -> PhpOutput:
        """PHP's ``fopen("php://output", "w")``: a file whose writes are echo (PRINTF-OUTPUT-1)."""
        return PhpOutput(self)


class _RuntimeConversions:
    """The Conversions of one call: the Runtime's, its notices prefixed "function(): "."""

    __slots__ = ("runtime", "function", "charset", "signed_infinity", "float_cast_warns")

    def __init__(self, runtime: PrintfFunctions, function: str) -> None:
        self.runtime, self.function, self.charset = runtime, function, runtime.charset
        self.signed_infinity = runtime.version.printf_signed_infinity  # VER-PRINTF-INF-1
        self.float_cast_warns = runtime.version.float_cast_warns  # VER-FLOAT-CAST-1

    def string(self, value: Any) -> bytes:
        runtime = self.runtime
        text = to_php_text(value, runtime._precision(), runtime._array_to_string)
        return text if text.__class__ is bytes else text.encode(self.charset, PHP_BYTES)  # type: ignore[union-attr]

    def warning(self, message: str) -> None:
        self.runtime._error(C.E_WARNING, message)

    def notice(self, message: str) -> None:
        self.runtime._error(C.E_NOTICE, f"{self.function}(): {message}", docref=True)

    def memory_limit(self) -> int:
        # ini_get() once phprt models the directive; until then the value configured (DEV-PRINTF-MEMORY-1)
        runtime: Any = self.runtime
        value = runtime.ini_get("memory_limit")
        if not isinstance(value, str):
            value = runtime.get_cfg_var("memory_limit")
        return parse_quantity(value if isinstance(value, str) else "128M")[0]
