"""PHP's conversions of values to strings, as echo and print perform them (VAL-*)."""

from __future__ import annotations

import codecs
import math
import re
from typing import Any, Callable

from .errors import PhpError

__all__ = ["PHP_BYTES", "Ref", "encodable", "c_int", "format_float", "is_stringable", "leading_int", "numeric_string", "to_php_bytes", "to_php_text", "zval_type_name"]

#: The codec error handler that turns any str into the bytes of a PHP string (VAL-BYTES-1).
PHP_BYTES = "phprt.bytes"


def _php_bytes(error: UnicodeError) -> tuple[bytes, int]:
    # surrogateescape for U+DC80..U+DCFF (the bytes phprt decoded them from); any other
    # surrogate as UTF-8 encodes it with surrogatepass, anything else as "?".
    if not isinstance(error, UnicodeEncodeError):
        raise error
    utf8 = codecs.lookup(error.encoding).name == "utf-8"
    out = bytearray()
    for char in error.object[error.start : error.end]:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(code - 0xDC00)
        elif utf8 and 0xD800 <= code <= 0xDFFF:
            out += char.encode("utf-8", "surrogatepass")
        else:
            out += b"?"
    return bytes(out), error.end


codecs.register_error(PHP_BYTES, _php_bytes)


def encodable(text: str, charset: str) -> bool:
    """Whether ``text`` is a string of bytes in ``charset``: each character encodes, a
    lone surrogate only as one of the bytes phprt decodes into U+DC80..U+DCFF."""
    if text.isascii():
        return True
    try:
        text.encode(charset, "surrogateescape")
    except UnicodeEncodeError:
        return False
    return True


def format_float(value: float, precision: int = 14) -> str:
    """Format a float as PHP's echo does with the ``precision`` ini (VAL-FLOAT-1).

    This is ``zend_gcvt()``: ``precision`` significant digits (0 counts as 1; -1 means
    the shortest round-trip digits), exponential form ``1.0E+25`` when the decimal
    exponent is below -4 or at least the digit count, and ``INF``/``NAN`` cut to
    ``precision + 1`` bytes by ``snprintf`` exactly as PHP cuts them.
    """
    ndigit = precision if precision else 1
    if math.isinf(value) or math.isnan(value):
        text = "NAN" if math.isnan(value) else ("-INF" if value < 0 else "INF")
        return text[: 17 if ndigit < 0 else ndigit]
    negative = math.copysign(1.0, value) < 0
    if ndigit < 0:
        digits, decpt = _shortest_digits(abs(value))
        ndigit = 17
    else:
        digits, decpt = _rounded_digits(abs(value), ndigit)
    sign = "-" if negative else ""
    if (decpt < -3) if decpt < 0 else (decpt > ndigit):
        exponent = decpt - 1
        mantissa = digits[0] + "." + (digits[1:] or "0")
        return f"{sign}{mantissa}E{'-' if exponent < 0 else '+'}{abs(exponent)}"
    if decpt <= 0:
        return f"{sign}0.{'0' * -decpt}{digits}"
    whole, fraction = digits[:decpt].ljust(decpt, "0"), digits[decpt:]
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def _rounded_digits(value: float, ndigit: int) -> tuple[str, int]:
    # zend_dtoa mode 2: correctly rounded to ndigit significant digits, zeros stripped.
    if value == 0:
        return "0", 1
    mantissa, exponent = f"{value:.{ndigit - 1}e}".split("e")
    return mantissa.replace(".", "").rstrip("0") or "0", int(exponent) + 1


def _shortest_digits(value: float) -> tuple[str, int]:
    # zend_dtoa mode 0: the shortest digits that round-trip (what repr() prints).
    if value == 0:
        return "0", 1
    import decimal  # only for precision=-1 conversions: not at every start (issue 13)

    sign, digit_tuple, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    return digits, len(digits) + int(exponent)


def zval_type_name(value: Any) -> str:
    """The PHP type name of a Python value, as PHP's TypeError messages print it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, (str, bytes, bytearray)):
        return "string"
    if isinstance(value, (list, tuple, dict)):
        return "array"
    return type(value).__name__


def to_php_text(
    value: Any, precision: int, array_warning: Callable[[], None]
) -> str | bytes:
    """Convert a value to a PHP string the way ``echo`` does (VAL-ECHO-1).

    str and bytes pass unchanged; True is "1", False and None are ""; ints in
    decimal; floats by :func:`format_float`; lists, tuples and dicts (PHP arrays)
    become "Array" after ``array_warning()`` reports PHP's E_WARNING; an object
    converts through its own ``__str__``, and an object without one raises
    PHP's Error "Object of class X could not be converted to string".
    """
    cls = value.__class__
    if cls is str or cls is bytes:
        return value  # type: ignore[no-any-return]
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return format_float(value, precision)
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (list, tuple, dict)):
        array_warning()
        return "Array"
    if not is_stringable(value):
        raise PhpError(f"Object of class {cls.__name__} could not be converted to string")
    return str(value)


def is_stringable(value: Any) -> bool:
    """Whether PHP could convert the value to a string: a scalar, or an object whose
    class (or a base other than object) defines ``__str__`` (DEV-OBJECT-STR-1)."""
    return value is None or isinstance(value, (str, bytes, bytearray, memoryview, bool, int, float)) or (
        not isinstance(value, (list, tuple, dict)) and type(value).__str__ is not object.__str__  # type: ignore[comparison-overlap]
    )


def to_php_bytes(
    value: Any, precision: int, array_warning: Callable[[], None], charset: str
) -> bytes:
    """:func:`to_php_text`, encoded: PHP strings are bytes."""
    text = to_php_text(value, precision, array_warning)
    return text if text.__class__ is bytes else text.encode(charset, PHP_BYTES)  # type: ignore[union-attr]


def leading_int(text: str) -> int:
    """C's atol(): the leading decimal integer of a string, 0 when there is none."""
    text = text.lstrip()
    end = 1 if text[:1] in ("-", "+") else 0
    while end < len(text) and text[end].isdigit():
        end += 1
    try:
        return int(text[:end])
    except ValueError:
        return 0


#: Compiled by its first use, in re's cache, not at every start (PERF-IMPORT-1).
_NUMERIC = r"[ \t\n\r\v\f]*([+-]?(?:[0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?)[ \t\n\r\v\f]*\Z"


def numeric_string(text: str) -> int | float | None:
    """PHP 8's numeric strings: an int or float, surrounding whitespace allowed;
    None for anything else (including leading-numeric strings like "10abc")."""
    match = re.match(_NUMERIC, text)
    if match is None:
        return None
    number = match.group(1)
    if match.group(2) is None and match.group(3) is None:
        value = int(number)
        if -(2**63) <= value < 2**63:
            return value
    return float(number)


def c_int(value: int) -> int:
    """The value as a C int holds it: wrapped to 32 bits."""
    return (value + 2**31) % 2**32 - 2**31


class Ref:
    """A by-reference argument: PHP's ``headers_sent($file, $line)`` becomes
    ``headers_sent(file := Ref(), line := Ref())`` and the function sets ``.value``."""

    __slots__ = ("value",)

    def __init__(self, value: Any = None) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Ref({self.value!r})"
