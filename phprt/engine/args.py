"""PHP's weak-mode argument coercion (zend_parse_parameters) and value conversions (VAL-*).

A PHP function's ``int``, ``bool`` and ``string`` parameters accept what PHP's
weak mode accepts: null with PHP 8.1's deprecation, numeric strings, floats
with the precision-loss deprecation; anything else is PHP's TypeError.
"""

from __future__ import annotations

from typing import Any

from . import constants as C
from .base import RuntimeBase
from .ini import ini_integer
from .values import format_float, is_stringable, numeric_string, to_php_text, zval_type_name

__all__ = ["ArgumentParsing"]


class ArgumentParsing(RuntimeBase):
    """Arguments of PHP's functions, converted as zend_parse_parameters() converts them."""

    def _int_arg(self, function: str, position: int, name: str, value: Any, type_name: str = "int") -> int:
        if isinstance(value, int):
            return int(value)
        if value is None:
            self._null_deprecated(function, position, name, type_name)
            return 0
        number = numeric_string(value) if isinstance(value, str) else value
        if isinstance(number, int):
            return number
        if not isinstance(number, float) or not -(2.0**63) <= number < 2.0**63:
            raise self._type_error(function, position, name, type_name, value)
        if number != int(number):
            shown = f'float-string "{value}"' if isinstance(value, str) else f"float {format_float(number, -1)}"
            self._error(C.E_DEPRECATED, f"Implicit conversion from {shown} to int loses precision")
        return int(number)

    def _bool_arg(self, function: str, position: int, name: str, value: Any, type_name: str = "bool") -> bool:
        if value is None:
            self._null_deprecated(function, position, name, "bool")
            return False
        if isinstance(value, str):
            return value not in ("", "0")
        if isinstance(value, (bool, int, float)):
            return bool(value)
        raise self._type_error(function, position, name, type_name, value)

    def _string_arg(self, function: str, position: int, name: str, value: Any) -> str:
        if value is None:
            self._null_deprecated(function, position, name, "string")
            return ""
        if not is_stringable(value):
            raise self._type_error(function, position, name, "string", value)
        return self._php_string(value)

    def _null_deprecated(self, function: str, position: int, name: str, type_name: str) -> None:
        message = f"{function}(): Passing null to parameter #{position} (${name}) of type {type_name} is deprecated"
        self._error(C.E_DEPRECATED, message)

    @staticmethod
    def _type_error(function: str, position: int, name: str, type_name: str, value: Any) -> TypeError:
        given = zval_type_name(value)
        return TypeError(f"{function}(): Argument #{position} (${name}) must be of type {type_name}, {given} given")

    def _php_string(self, value: Any) -> str:
        # zval_get_string(): PHP's string conversion, as a str
        text = to_php_text(value, self._precision(), self._array_to_string)
        return text if isinstance(text, str) else text.decode(self.charset, "surrogateescape")

    def _precision(self) -> int:
        return ini_integer("precision", self._ini_str("precision"))  # OnSetPrecision: ZEND_ATOL() (INI-PARSE-4)

    def _serialize_precision(self) -> int:
        # OnSetSerializePrecision: ZEND_ATOL() (INI-PARSE-4); -1 is the shortest that round-trips
        return ini_integer("serialize_precision", self._ini_str("serialize_precision"))

    def _array_to_string(self) -> None:
        self._error(C.E_WARNING, "Array to string conversion")
