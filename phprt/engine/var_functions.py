"""serialize() and unserialize() (SER-*), on the pure codec of engine/serialize.py."""

from __future__ import annotations

from typing import Any

from . import constants as C
from .base import RuntimeBase
from .functions import php_function
from .ini import ini_integer
from .serialize import SerializeError, UnserializeError, serialize_value, unserialize_value
from .values import PHP_BYTES, zval_type_name

__all__ = ["SerializeFunctions"]


class SerializeFunctions(RuntimeBase):
    """PHP's serialize() format for the script."""

    @php_function
    def serialize(self, value: Any) -> str | bytes:
        """PHP's representation of ``value``, floats with serialize_precision
        (SER-FORMAT-1); a value PHP cannot serialize throws (SER-FORMAT-2)."""
        precision = self._serialize_precision()
        try:
            data = serialize_value(value, precision=precision, charset=self.charset)
        except SerializeError as refused:
            raise Exception(str(refused)) from None
        try:
            return data.decode(self.charset)
        except UnicodeDecodeError:
            return data

    @php_function
    def unserialize(self, data: Any, options: Any = None) -> Any:
        """The value ``data`` represents, or False with PHP's notice "Error at offset
        X of Y bytes" (SER-ERROR-1). ``allowed_classes`` (bool or class names) and
        ``max_depth`` (default unserialize_max_depth) bound what it makes: only
        stdClass is ever instantiated (SER-CLASS-1, SER-DEPTH-1, DEV-SER-CLASS-1)."""
        raw = data if isinstance(data, bytes) else self._string_arg("unserialize", 1, "data", data).encode(
            self.charset, PHP_BYTES)
        allowed: Any = True
        depth = ini_integer("unserialize_max_depth", self._ini_str("unserialize_max_depth"))
        if options is not None:
            if not isinstance(options, dict):
                raise TypeError(f"unserialize(): Argument #2 ($options) must be of type array, {zval_type_name(options)} given")
            if "allowed_classes" in options:
                value = options["allowed_classes"]
                if isinstance(value, (list, dict)):
                    names = {self._php_string(v).lower() for v in (value.values() if isinstance(value, dict) else value)}
                    allowed = lambda name: name.lower() in names  # noqa: E731
                elif isinstance(value, bool):
                    allowed = value
                else:
                    raise TypeError('unserialize(): Option "allowed_classes" must be of type array|bool, '
                                    f"{zval_type_name(value)} given")
            if "max_depth" in options:
                value = options["max_depth"]
                if not isinstance(value, int) or isinstance(value, bool):
                    raise TypeError(f'unserialize(): Option "max_depth" must be of type int, {zval_type_name(value)} given')
                if value < 0:
                    raise ValueError('unserialize(): Option "max_depth" must be greater than or equal to 0')
                depth = value
        if not raw:
            return False
        warnings: list[str] = []
        deprecations: list[str] | None = [] if self.version.unserialize_s_deprecated else None
        try:
            result, end = unserialize_value(raw, allowed_classes=allowed, max_depth=depth, charset=self.charset,
                                            warnings=warnings, deprecations=deprecations)
        except UnserializeError as error:
            for deprecation in deprecations or ():
                self._error(C.E_DEPRECATED, f"unserialize(): {deprecation}", docref=True)
            for warning in warnings + error.warnings:
                self._error(C.E_WARNING, f"unserialize(): {warning}", docref=True)
            # an E_NOTICE until 8.2, an E_WARNING from 8.3 (VER-UNSERIALIZE-1)
            level = C.E_WARNING if self.version.unserialize_warns else C.E_NOTICE
            self._error(level, f"unserialize(): Error at offset {error.offset} of {len(raw)} bytes", docref=True)
            return False
        for deprecation in deprecations or ():
            self._error(C.E_DEPRECATED, f"unserialize(): {deprecation}", docref=True)
        for warning in warnings:
            self._error(C.E_WARNING, f"unserialize(): {warning}", docref=True)
        if end < len(raw) and self.version.unserialize_warns:  # from 8.3 (VER-UNSERIALIZE-1)
            self._error(C.E_WARNING, f"unserialize(): Extra data starting at offset {end} of {len(raw)} bytes",
                        docref=True)
        return result
