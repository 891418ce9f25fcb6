"""PHP's value printers: print_r, var_dump and var_export (DUMP-*).

The formatting core is pure and does no I/O: :func:`print_r_text`,
:func:`var_dump_pieces` and :func:`var_export_text` port
``zend_print_zval_r_to_buf()`` (Zend/zend.c), ``php_var_dump()`` and
``php_var_export_ex()`` (ext/standard/var.c). ``DumpFunctions`` is the Runtime
mixin that writes their text through the output layer, as ``echo`` does.

The values phprt maps to PHP's (DUMP-MAP-1): None, bool, int, float, str and
bytes are PHP's scalars; dict, list and tuple are PHP arrays (a dict's keys as
PHP stores them: "5" and True become 5, None becomes ""); any other object is a
PHP object of its class's name (``types.SimpleNamespace`` is ``stdClass``) whose
properties are the entries of ``vars()``, as serialize() sees them.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable

from ..engine import constants as C
from ..engine.base import RuntimeBase
from ..engine.functions import php_function
from ..engine.serialize import is_integer_key, php_class_name, php_properties
from ..engine.values import PHP_BYTES, format_float, to_php_text

__all__ = ["DumpFunctions", "php_items", "php_key", "php_number", "php_properties", "print_r_text", "var_dump_pieces",
           "var_export_text"]

_ARRAYS = (dict, list, tuple)
_SCALARS = (type(None), bool, int, float, str, bytes, bytearray)
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def php_key(key: Any) -> int | str | bytes:
    """The key PHP stores for a dict key (DUMP-MAP-1): an int, True/False as 1/0, a
    float truncated, None as "", and a str or bytes that is a canonical decimal
    integer ("5", "-5"; not "05", "-0", " 5") as that int."""
    if isinstance(key, (bool, int)):
        return int(key)
    if isinstance(key, float):
        return int(key) if math.isfinite(key) else 0
    if key is None:
        return ""
    if isinstance(key, (bytes, bytearray)):
        text = bytes(key).decode("latin-1")
        return int(text) if is_integer_key(text) else bytes(key)
    text = key if isinstance(key, str) else str(key)
    return int(text) if is_integer_key(text) else text


def php_number(value: int) -> int | float:
    """An int as PHP holds it: beyond 64 bits, a float (INF past the float range), as a PHP
    integer literal that overflows is one (DUMP-MAP-1)."""
    if _LONG_MIN <= value <= _LONG_MAX:
        return int(value)
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def php_items(array: Any) -> Iterable[tuple[int | str | bytes, Any]]:
    """A PHP array's (key, value) pairs in order: a list or tuple's indexes, a dict's keys as PHP's."""
    if isinstance(array, dict):
        return ((php_key(key), value) for key, value in array.items())
    return enumerate(array)


class _Printer:
    """The conversions the three printers share: str for PHP's bytes (bytes decode
    with surrogateescape, as phprt's output layer encodes them back)."""

    def __init__(self, precision: int, charset: str) -> None:
        self.precision, self.charset = precision, charset

    def text(self, value: str | bytes | bytearray) -> str:
        return value if isinstance(value, str) else bytes(value).decode(self.charset, "surrogateescape")

    def length(self, value: str | bytes | bytearray) -> int:
        return len(value.encode(self.charset, PHP_BYTES)) if isinstance(value, str) else len(value)

    def key(self, key: int | str | bytes) -> str:
        return str(key) if isinstance(key, int) else self.text(key)


def _no_warning() -> None:
    """Arrays never reach to_php_text() here: print_r prints them itself."""


# -- print_r ----------------------------------------------------------------------------------


def print_r_text(value: Any, precision: int = 14, charset: str = "utf-8") -> str:
    """What print_r() prints for ``value`` (DUMP-PRINT-R-1): scalars as echo converts
    them (floats with ``precision``), arrays as ``Array\\n(\\n    [k] => v\\n)\\n``
    indented by 8 spaces a level, objects as ``Class Object\\n(...)``, and an array
    or object met again inside itself as `` *RECURSION*`` (DUMP-RECURSION-1)."""
    printer = _Printer(precision, charset)
    out: list[str] = []
    _print_r(printer, value, 0, out, set())
    return "".join(out)


def _print_r(printer: _Printer, value: Any, indent: int, out: list[str], active: set[int]) -> None:
    # zend_print_zval_r_to_buf()
    if isinstance(value, _ARRAYS):
        out.append("Array\n")
        items: Iterable[tuple[Any, Any]] = value.items() if value.__class__ is dict else php_items(value)
    elif not isinstance(value, _SCALARS):
        out.append(f"{php_class_name(value)} Object\n")
        items = php_properties(value).items()
    else:
        out.append(_print_r_scalar(printer, value))
        return
    if id(value) in active:
        out.append(" *RECURSION*")
        return
    active.add(id(value))
    # print_hash(); a str key prints as itself, PHP's integer key or not ("5" is 5), an int
    # key and a str or int value as they are, with no conversion looked up (PERF-DUMP-1)
    out.append(" " * indent + "(\n")
    pad = " " * (indent + 4) + "["
    for key, item in items:
        kind = key.__class__
        out.append(pad + (key if kind is str else str(key) if kind is int else printer.key(php_key(key))) + "] => ")
        cls = item.__class__
        if cls is str:
            out.append(item)
        elif cls is int and _LONG_MIN <= item <= _LONG_MAX:
            out.append(str(item))
        else:
            _print_r(printer, item, indent + 8, out, active)
        out.append("\n")
    out.append(" " * indent + ")\n")
    active.discard(id(value))


def _print_r_scalar(printer: _Printer, value: Any) -> str:
    # A scalar as echo converts it (floats with ``precision``), an int beyond 64 bits as PHP's float
    scalar = php_number(value) if isinstance(value, int) and not isinstance(value, bool) else value
    return printer.text(to_php_text(scalar, printer.precision, _no_warning))


# -- var_dump ---------------------------------------------------------------------------------


def var_dump_pieces(value: Any, serialize_precision: int = -1, charset: str = "utf-8",
                    handle: Callable[[Any], int] = lambda obj: 1) -> list[str]:
    """What var_dump() prints for one value, as the pieces PHP writes one by one
    (each php_printf(), PHPWRITE() and PUTS() is one write into the output layer, none
    for an empty string, DUMP-VAR-DUMP-2): ``int(1)``, ``float(0.1)`` (``serialize_precision``),
    ``string(N) "..."`` (N in bytes), ``bool(true)``, ``NULL``, ``array(N) {`` with
    ``[key]=>`` lines indented 2 spaces a level, ``object(Class)#H (N) {`` with
    ``handle(obj)`` its handle, and ``*RECURSION*`` (DUMP-VAR-DUMP-1, DUMP-RECURSION-1)."""
    printer = _Printer(serialize_precision, charset)
    out: list[str] = []
    _var_dump(printer, value, 1, out, set(), handle)
    return out


def _var_dump(printer: _Printer, value: Any, level: int, out: list[str], active: set[int],
              handle: Callable[[Any], int]) -> None:
    # php_var_dump()
    if level > 1:
        out.append(" " * (level - 1))
    if value is None:
        out.append("NULL\n")
    elif value is True or value is False:
        out.append(f"bool({'true' if value else 'false'})\n")
    elif isinstance(value, int) and isinstance(php_number(value), int):
        out.append(f"int({int(value)})\n")
    elif isinstance(value, (int, float)):
        out.append(f"float({format_float(php_number(value) if isinstance(value, int) else value, printer.precision)})\n")
    elif isinstance(value, (str, bytes, bytearray)):
        out += [f'string({printer.length(value)}) "', printer.text(value), '"\n'] if value else ['string(0) "', '"\n']
    elif id(value) in active:
        out.append("*RECURSION*\n")
    elif isinstance(value, _ARRAYS):
        active.add(id(value))
        out.append(f"array({len(value)}) {{\n")
        for key, item in php_items(value):
            if isinstance(key, int):
                out.append(f"{' ' * (level + 1)}[{key}]=>\n")
            else:
                out += [f'{" " * (level + 1)}["', printer.text(key), '"]=>\n'] if key else [f'{" " * (level + 1)}["', '"]=>\n']
            _var_dump(printer, item, level + 2, out, active, handle)
        _close(out, level)
        active.discard(id(value))
    else:
        active.add(id(value))
        properties = php_properties(value)
        out.append(f"object({php_class_name(value)})#{handle(value)} ({len(properties)}) {{\n")
        for name, item in properties.items():
            out += [f"{' ' * (level + 1)}[", '"', printer.text(name), '"', "]=>\n"]  # php_object_property_dump()
            _var_dump(printer, item, level + 2, out, active, handle)
        _close(out, level)
        active.discard(id(value))


def _close(out: list[str], level: int) -> None:
    if level > 1:
        out.append(" " * (level - 1))
    out.append("}\n")


# -- var_export -------------------------------------------------------------------------------


def var_export_text(value: Any, serialize_precision: int = -1, charset: str = "utf-8",
                    circular: Callable[[], None] = lambda: None) -> str:
    """What var_export() prints for ``value`` (DUMP-VAR-EXPORT-1): PHP code --
    ``NULL``, ``true``, ints, floats with ``serialize_precision`` and ``.0`` added to
    an integral one, strings in single quotes with ``'`` and ``\\`` escaped and NUL
    as ``' . "\\0" . '``, ``array (\\n  k => v,\\n)``, ``(object) array(`` for
    stdClass and ``\\Class::__set_state(array(`` for other classes. An array or
    object met again inside itself is ``NULL`` after ``circular()`` (PHP's warning,
    DUMP-RECURSION-1)."""
    printer = _Printer(serialize_precision, charset)
    out: list[str] = []
    _var_export(printer, value, 1, out, set(), circular)
    return "".join(out)


def _quote(printer: _Printer, value: str | bytes | bytearray) -> str:
    text = printer.text(value).replace("\\", "\\\\").replace("'", "\\'")
    return text.replace("\0", "' . \"\\0\" . '")


def _var_export(printer: _Printer, value: Any, level: int, out: list[str], active: set[int],
                circular: Callable[[], None]) -> None:
    # php_var_export_ex()
    if value is None:
        out.append("NULL")
    elif value is True or value is False:
        out.append("true" if value else "false")
    elif isinstance(value, int) and isinstance(php_number(value), int):
        # ZEND_LONG_MIN as an expression PHP can read back (bug76717.phpt, DUMP-VAR-EXPORT-1)
        out.append("-9223372036854775807-1" if value == -(2**63) else str(int(value)))
    elif isinstance(value, (int, float)):
        number = php_number(value) if isinstance(value, int) else value
        text = format_float(number, printer.precision)  # smart_str_append_double(..., zero_frac=true)
        out.append(text + ".0" if math.isfinite(number) and not any(c in text for c in ".eE") else text)
    elif isinstance(value, (str, bytes, bytearray)):
        out.append(f"'{_quote(printer, value)}'")
    elif id(value) in active:
        out.append("NULL")
        circular()
    else:
        active.add(id(value))
        if level > 1:
            out.append("\n" + " " * (level - 1))
        if isinstance(value, _ARRAYS):
            out.append("array (\n")
            pad = " " * (level + 1)
            # a str key is shown as PHP's integer key it may be, else quoted, an int key and a str
            # or int value (not ZEND_LONG_MIN's expression) as they are, with no conversion looked up
            # (PERF-DUMP-1)
            entries: Iterable[tuple[Any, Any]] = value.items() if value.__class__ is dict else php_items(value)
            for key, item in entries:
                kind = key.__class__
                shown: str
                if kind is str:
                    shown = key if is_integer_key(key) else f"'{_quote(printer, key)}'"
                elif kind is int:
                    shown = str(key)
                else:
                    stored = php_key(key)
                    shown = str(stored) if isinstance(stored, int) else f"'{_quote(printer, stored)}'"
                cls = item.__class__
                if cls is str:
                    out.append(f"{pad}{shown} => '{_quote(printer, item)}',\n")
                    continue
                if cls is int and _LONG_MIN < item <= _LONG_MAX:
                    out.append(f"{pad}{shown} => {item},\n")
                    continue
                out.append(f"{pad}{shown} => ")
                _var_export(printer, item, level + 2, out, active, circular)
                out.append(",\n")
            closing = ")"
        else:
            name = php_class_name(value)
            stdclass = name == "stdClass"
            out.append("(object) array(\n" if stdclass else f"\\{name}::__set_state(array(\n")
            for prop, item in php_properties(value).items():
                out.append(f"{' ' * (level + 2)}'{_quote(printer, prop)}' => ")
                _var_export(printer, item, level + 2, out, active, circular)
                out.append(",\n")
            closing = ")" if stdclass else "))"
        if level > 1:
            out.append(" " * (level - 1))
        out.append(closing)
        active.discard(id(value))


# -- the PHP functions ----------------------------------------------------------------------------


class DumpFunctions(RuntimeBase):
    """print_r, var_dump and var_export, written through the output layer."""

    _object_handles: dict[int, tuple[int, Any]] | None = None  # var_dump's #N, per request

    def _object_handle(self, obj: Any) -> int:
        # An object's handle, numbered 1, 2, ... in the order var_dump() first meets
        # objects in this request; the object is kept alive meanwhile (DEV-DUMP-HANDLE-1).
        if self._object_handles is None:
            self._object_handles = {}
        entry = self._object_handles.get(id(obj))
        if entry is None:
            entry = self._object_handles[id(obj)] = (len(self._object_handles) + 1, obj)
        return entry[0]

    @php_function
    def print_r(self, value: Any, return_: Any = False) -> str | bool:
        """print_r(): print ``value`` in one write and return True, or with ``return_``
        (PHP's ``$return``) return the text instead (DUMP-PRINT-R-1, DUMP-PRINT-R-2)."""
        return_ = self._bool_arg("print_r", 2, "return", return_)
        text = print_r_text(value, self._precision(), self.charset)
        if return_:
            return text
        self._write_value(text)
        return True

    @php_function
    def var_dump(self, value: Any, *values: Any) -> None:
        """var_dump(): dump each argument, piece by piece as PHP writes it (DUMP-VAR-DUMP-1,
        DUMP-VAR-DUMP-2)."""
        precision = self._serialize_precision()
        target = self._out.target
        for each in (value, *values):
            pieces = var_dump_pieces(each, precision, self.charset, self._object_handle)
            if target[0] is not None and target[1] is None and self._trace is None:
                target[0].extend(pieces)  # a write each, into a buffer that takes a write as it is (PERF-DUMP-1)
                continue
            for piece in pieces:
                self._write_value(piece)

    @php_function
    def var_export(self, value: Any, return_: Any = False) -> str | None:
        """var_export(): print ``value`` as PHP code in one write, or with ``return_``
        return it (DUMP-VAR-EXPORT-1, DUMP-VAR-EXPORT-2). A circular structure is
        PHP's E_WARNING "var_export does not handle circular references" (DUMP-RECURSION-1)."""
        return_ = self._bool_arg("var_export", 2, "return", return_)
        text = var_export_text(value, self._serialize_precision(), self.charset, self._circular_warning)
        if return_:
            return text
        self._write_value(text)
        return None

    def _circular_warning(self) -> None:
        self._error(C.E_WARNING, "var_export does not handle circular references")

