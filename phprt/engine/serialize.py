"""PHP's serialize() format, with no I/O (SER-*).

A port of ext/standard/var.c (``php_var_serialize``) and var_unserializer.re
(``php_var_unserialize``) for the values phprt maps to PHP's: None, bool, int,
float, str and bytes, lists and dicts as arrays, and simple objects. ``stdClass``
objects come back as ``types.SimpleNamespace``; an object of any other class comes
back as an ``IncompleteClass`` -- phprt never instantiates a class named by the
input (DEV-SER-CLASS-1). Arrays come back as a list when their keys are 0..n-1 in
order, else as a dict (SER-ARRAY-1). Strings come back as str when they decode in
the charset, else as bytes.

The unserializer is iterative and bounded by ``max_depth`` (SER-DEPTH-1); its
errors carry PHP's offsets (SER-ERROR-1).
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any, Callable

from .values import PHP_BYTES, format_float

__all__ = [
    "INCOMPLETE_NAME", "IncompleteClass", "SerializeError", "UnserializeError", "is_integer_key",
    "php_class_name", "php_properties", "serialize_value", "unserialize_value",
]

#: The property PHP keeps an incomplete object's class name in.
INCOMPLETE_NAME = "__PHP_Incomplete_Class_Name"
_LONG_MAX = 2**63 - 1
_LONG_MIN = -(2**63)


class IncompleteClass(SimpleNamespace):
    """PHP's ``__PHP_Incomplete_Class``: an object of a class that was not
    instantiated; its ``__PHP_Incomplete_Class_Name`` property names the class, and
    serialize() writes it back under that name (SER-CLASS-1)."""


class SerializeError(Exception):
    """serialize() refused a value, as PHP throws ``Exception`` for a Closure."""


class UnserializeError(Exception):
    """unserialize() failed at ``offset``; ``warnings`` are what PHP said first."""

    def __init__(self, offset: int, warnings: list[str]) -> None:
        super().__init__(offset)
        self.offset = offset
        self.warnings = warnings


def is_integer_key(key: str) -> bool:
    """Whether PHP stores the string ``key`` as an integer array key: "5", "-5", not "05", "+5" or "-0"."""
    digits = key[1:] if key.startswith("-") else key
    if not (digits.isascii() and digits.isdigit()) or (digits != "0" and digits.startswith("0")) or key == "-0":
        return False
    return _LONG_MIN <= int(key) <= _LONG_MAX


def php_properties(obj: Any) -> dict[str, Any]:
    """An object's PHP properties, in order: the entries of ``vars()`` (an incomplete
    class's name aside); none for an object without ``__dict__`` (DUMP-MAP-1)."""
    try:
        attributes = vars(obj)
    except TypeError:
        return {}
    if isinstance(obj, IncompleteClass):
        return {name: value for name, value in attributes.items() if name != INCOMPLETE_NAME}
    return dict(attributes)


def php_class_name(value: Any) -> str:
    """The PHP class an object serializes as (SER-CLASS-1)."""
    if isinstance(value, IncompleteClass):
        return str(getattr(value, INCOMPLETE_NAME, "__PHP_Incomplete_Class"))
    if type(value) is SimpleNamespace:
        return "stdClass"
    return type(value).__name__


# -- serialize --------------------------------------------------------------------------------


class _Serializer:
    """php_var_serialize() with its var_hash: every value written counts, an object
    written again is ``r:N;`` (SER-REF-1)."""

    def __init__(self, precision: int, charset: str) -> None:
        self.precision, self.charset = precision, charset
        self.count = 0
        self.objects: dict[int, int] = {}
        self.active: set[int] = set()
        self.keep: list[Any] = []  # objects seen, alive while their ids are remembered

    def text(self, value: str | bytes) -> bytes:
        return value if isinstance(value, bytes) else value.encode(self.charset, PHP_BYTES)

    def string(self, value: str | bytes) -> bytes:
        data = self.text(value)
        return b's:%d:"%s";' % (len(data), data)

    def key(self, key: Any) -> bytes:
        if isinstance(key, bool) or isinstance(key, int):
            return b"i:%d;" % int(key)
        if isinstance(key, float):
            return b"i:%d;" % int(key)
        if key is None:
            return b's:0:"";'
        if isinstance(key, str) and is_integer_key(key):
            return b"i:%s;" % key.encode()
        return self.string(key)

    def value(self, value: Any) -> bytes:
        self.count += 1
        if value is None:
            return b"N;"
        if value is True or value is False:
            return b"b:1;" if value else b"b:0;"
        if isinstance(value, int):
            if _LONG_MIN <= value <= _LONG_MAX:
                return b"i:%d;" % value
            value = float(value)
        if isinstance(value, float):
            return b"d:%s;" % format_float(value, self.precision if self.precision != -1 else -1).encode()
        if isinstance(value, (str, bytes)):
            return self.string(value)
        if isinstance(value, (list, tuple, dict)):
            if id(value) in self.active:  # a Python cycle: PHP's arrays have none
                return b"N;"
            self.active.add(id(value))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            parts = [b"a:%d:{" % len(value)]
            for key, item in items:
                parts.append(self.key(key))
                parts.append(self.value(item))
            self.active.discard(id(value))
            return b"".join(parts) + b"}"
        if callable(value) or not hasattr(value, "__dict__"):
            raise SerializeError(f"Serialization of '{type(value).__name__}' is not allowed")
        seen = self.objects.get(id(value))
        if seen is not None:
            return b"r:%d;" % seen
        self.objects[id(value)] = self.count
        self.keep.append(value)
        properties = php_properties(value)
        name = self.text(php_class_name(value))
        parts = [b'O:%d:"%s":%d:{' % (len(name), name, len(properties))]
        for key, item in properties.items():
            parts.append(self.string(str(key)))
            parts.append(self.value(item))
        return b"".join(parts) + b"}"


def serialize_value(value: Any, *, precision: int = -1, charset: str = "utf-8") -> bytes:
    """serialize(): PHP's representation of ``value`` (SER-FORMAT-1); floats with
    ``serialize_precision`` (``precision``, -1: the shortest that round-trips)."""
    return _Serializer(precision, charset).value(value)


def serialize_entries(entries: list[tuple[str | bytes, Any]], *, precision: int = -1, charset: str = "utf-8",
                      binary: bool = False) -> bytes:
    """The session ``php`` handler's encoding: ``name|value`` for each entry (``php_binary``:
    the name's length as one byte, the name, the value; names over 127 bytes left out), one
    var_hash for all of them, so an object met twice is ``r:N;`` (SESS-SERIALIZER-1)."""
    serializer = _Serializer(precision, charset)
    out = []
    for name, value in entries:
        raw = serializer.text(name)
        if not binary:
            out.append(raw + b"|" + serializer.value(value))
        elif len(raw) <= 127:
            out.append(bytes([len(raw)]) + raw + serializer.value(value))
    return b"".join(out)


# -- unserialize ------------------------------------------------------------------------------

_PATTERNS: list[re.Pattern[bytes]] = []


def _patterns() -> list[re.Pattern[bytes]]:
    # The tokens' patterns, compiled by the first unserialize(), not at every start (PERF-IMPORT-1).
    if not _PATTERNS:
        _PATTERNS.extend(re.compile(pattern) for pattern in (
            rb"i:([+-]?[0-9]+);",
            rb"d:(NAN|-?INF|[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?);",
            rb"([0-9]+):",
            rb"([rR]):([0-9]+);",
        ))
    return _PATTERNS


class _Frame:
    __slots__ = ("array", "object", "remaining", "key", "has_key", "slot")

    def __init__(self, remaining: int, slot: int, obj: Any = None) -> None:
        self.array: dict[Any, Any] = {}
        self.object = obj
        self.remaining = remaining
        self.key: Any = None
        self.has_key = False
        self.slot = slot


def _as_array(items: dict[Any, Any]) -> Any:
    return list(items.values()) if all(k == i for i, k in enumerate(items)) and all(
        type(k) is int for k in items) else items


def unserialize_value(
    data: bytes,
    *,
    allowed_classes: bool | Callable[[str], bool] = True,
    max_depth: int = 4096,
    charset: str = "utf-8",
    start: int = 0,
    warnings: list[str] | None = None,
    deprecations: list[str] | None = None,
) -> tuple[Any, int]:
    """php_var_unserialize() from ``start``: the value and the offset after it, or
    UnserializeError at PHP's offset (SER-ERROR-1). Objects of classes not allowed,
    and of every class but stdClass, become IncompleteClass (SER-CLASS-1); nesting
    deeper than ``max_depth`` (0: unbounded) fails with PHP's warning (SER-DEPTH-1).
    Warnings that do not fail (an integer out of range) are appended to ``warnings``; with
    ``deprecations`` (PHP 8.4+), an 'S' string appends its deprecation there (VER-UNSERIALIZE-1)."""
    if warnings is None:
        warnings = []
    _INT, _FLOAT, _UINT_COLON, _REF = _patterns()
    pos = start
    end = len(data)
    stack: list[_Frame] = []
    slots: list[Any] = []

    def fail(offset: int, *warnings: str) -> UnserializeError:
        return UnserializeError(offset, list(warnings))

    def text(raw: bytes) -> str | bytes:
        try:
            return raw.decode(charset)
        except UnicodeDecodeError:
            return raw

    def allowed(name: str) -> bool:
        return allowed_classes(name) if callable(allowed_classes) else bool(allowed_classes)

    while True:
        expecting_key = bool(stack) and not stack[-1].has_key
        top = stack[-1] if stack else None
        if top is not None and top.remaining == 0 and not top.has_key:
            if pos >= end or data[pos] != 0x7D:  # '}'
                raise fail(pos)
            pos += 1
            stack.pop()
            if top.object is not None:
                for k, v in top.array.items():
                    setattr(top.object, str(k), v)
                value: Any = top.object
            else:
                value = _as_array(top.array)
            slots[top.slot] = value
        else:
            token_start = pos
            tag = data[pos:pos + 2]
            value = None
            container: _Frame | None = None
            if data[pos:pos + 2] == b"N;":
                pos += 2
            elif tag == b"b:" and data[pos + 2:pos + 3] in (b"0", b"1") and data[pos + 3:pos + 4] == b";":
                value = data[pos + 2] == 0x31
                pos += 4
            elif tag == b"i:" and (m := _INT.match(data, pos)):
                number = int(m.group(1))
                if not _LONG_MIN <= number <= _LONG_MAX:
                    number = _LONG_MAX if number > 0 else _LONG_MIN
                    warnings.append("Numerical result out of range")
                value, pos = number, m.end()
            elif tag == b"d:" and (m := _FLOAT.match(data, pos)):
                raw = m.group(1)
                value = float("nan") if raw == b"NAN" else float(raw.replace(b"INF", b"inf"))
                pos = m.end()
            elif tag in (b"s:", b"S:") and (m := _UINT_COLON.match(data, pos + 2)) and data[m.end():m.end() + 1] == b'"':
                length = int(m.group(1))
                body = m.end() + 1
                if tag == b"s:":
                    if end - body < length:
                        raise fail(token_start + 2)
                    raw = data[body:body + length]
                    pos = body + length
                else:
                    if deprecations is not None:
                        deprecations.append("Unserializing the 'S' format is deprecated")
                    out, i = bytearray(), body
                    while len(out) < length:
                        if i >= end:
                            raise fail(token_start)
                        if data[i] == 0x5C:
                            try:
                                out.append(int(data[i + 1:i + 3], 16))
                            except ValueError:
                                raise fail(token_start) from None
                            i += 3
                        else:
                            out.append(data[i])
                            i += 1
                    raw, pos = bytes(out), i
                if data[pos:pos + 1] != b'"':
                    raise fail(pos)
                if data[pos + 1:pos + 2] != b";":
                    raise fail(pos + 1)
                pos += 2
                value = text(raw)
            elif tag == b"a:" and (m := _UINT_COLON.match(data, pos + 2)) and data[m.end():m.end() + 1] == b"{":
                if expecting_key:
                    raise fail(m.end() + 1)
                pos = m.end() + 1
                container = _Frame(int(m.group(1)), len(slots))
            elif tag == b"O:" and (m := _UINT_COLON.match(data, pos + 2)) and data[m.end():m.end() + 1] == b'"':
                length = int(m.group(1))
                name_start = m.end() + 1
                name = data[name_start:name_start + length].decode("latin-1")
                after = name_start + length
                count = _UINT_COLON.match(data, after + 2) if data[after:after + 2] == b'":' else None
                if count is None or data[count.end():count.end() + 1] != b"{" or not re.fullmatch(r"[A-Za-z0-9_\\\x80-\xff]+", name):
                    raise fail(token_start)
                if expecting_key:
                    raise fail(count.end() + 1)
                pos = count.end() + 1
                if name.lower() == "stdclass" and allowed("stdClass"):
                    obj: Any = SimpleNamespace()
                else:
                    obj = IncompleteClass(**{INCOMPLETE_NAME: name})
                container = _Frame(int(count.group(1)), len(slots), obj)
            elif (m := _REF.match(data, pos)) and not expecting_key:
                pos = m.end()
                index = int(m.group(2)) - 1
                if index < 0 or index >= len(slots) or slots[index] is _PENDING and m.group(1) == b"r":
                    raise fail(pos)
                value = slots[index]
                if m.group(1) == b"r" and not hasattr(value, "__dict__"):
                    raise fail(pos)
            elif tag == b"E:" and (m := _UINT_COLON.match(data, pos + 2)):
                name = data[m.end() + 1:m.end() + 1 + int(m.group(1))].decode("latin-1").partition(":")[0]
                raise fail(token_start, f"Class '{name}' not found")
            else:
                raise fail(token_start)
            if container is not None:
                if max_depth > 0 and len(stack) + 1 > max_depth:
                    raise fail(pos, f"Maximum depth of {max_depth} exceeded. The depth limit can be changed using "
                                    "the max_depth unserialize() option or the unserialize_max_depth ini setting")
                slots.append(container.object if container.object is not None else _PENDING)
                stack.append(container)
                continue
            if expecting_key:
                assert top is not None
                if not isinstance(value, (int, str)) or isinstance(value, bool) or tag in (b"N;",):
                    raise fail(pos)
                if top.object is not None:
                    value = str(value)
                elif isinstance(value, str) and is_integer_key(value):
                    value = int(value)
                top.key, top.has_key = value, True
                continue
            if data[token_start:token_start + 1] != b"R":  # R: adds no slot
                slots.append(value)
        # a value is complete: it belongs to the frame below, or it is the result
        if not stack:
            return value, pos
        frame = stack[-1]
        frame.array[frame.key] = value
        frame.has_key = False
        frame.remaining -= 1


_PENDING: Any = object()
