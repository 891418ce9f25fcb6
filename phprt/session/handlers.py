"""Session save modules: the protocol session.c calls, ids, and the adapter for a
script's own handler (SESS-HANDLER-*). No I/O here; the stores are files.py and
sqlite.py.

``SaveModule`` is PHP's ``ps_module``: open, close, read, write, destroy, gc, and
the optional create_sid, validate_sid and update_timestamp. Each returns PHP's
SUCCESS/FAILURE as True/False (read: the data, or None), and reports PHP's warnings
through ``warn``. ``UserModule`` is ext/session/mod_user.c: it calls an object
shaped like PHP's ``SessionHandlerInterface`` (``SessionHandlerInterface`` below).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Protocol, runtime_checkable

__all__ = [
    "ID_CHARACTERS", "SaveModule", "SessionHandlerInterface", "UserModule", "create_id", "valid_id",
]

#: session.c's hexconvtab: the characters of a generated id, 4 to 6 bits each.
ID_CHARACTERS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ,-"
_VALID = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,-")
MAX_ID_LENGTH = 256


def valid_id(sid: str) -> bool:
    """php_session_valid_key(): 1 to 256 of a-z A-Z 0-9 , - (up to a NUL) (SESS-ID-2)."""
    sid = sid.partition("\0")[0]
    return 0 < len(sid) <= MAX_ID_LENGTH and _VALID.issuperset(sid)


def create_id(length: int = 32, bits: int = 4) -> str:
    """php_session_create_id(): ``length`` random characters of ``bits`` bits each,
    as bin_to_readable() packs them (SESS-ID-1)."""
    data = os.urandom(length)  # what secrets.token_bytes() returns (CSPRNG bytes)
    out, word, have, index = [], 0, 0, 0
    mask = (1 << bits) - 1
    for _ in range(length):
        if have < bits:
            word |= data[index] << have
            index += 1
            have += 8
        out.append(ID_CHARACTERS[word & mask])
        word >>= bits
        have -= bits
    return "".join(out)


class SaveModule:
    """A save handler as session.c calls it (ps_module). ``name`` is how PHP's
    messages name it ("files", "user"); ``warn`` receives PHP's E_WARNING texts."""

    name = "files"
    #: Whether update_timestamp() is the module's own (else lazy_write writes).
    has_update_timestamp = False
    #: Whether validate_sid() is the module's own (strict mode asks it).
    has_validate_sid = False

    def __init__(self) -> None:
        self.warn: Callable[[str], None] = lambda message: None  # php_error_docref(): "function(): ..."
        self.error: Callable[[str], None] = lambda message: None  # php_error(): no function name
        self.notice: Callable[[str], None] = lambda message: None  # E_NOTICE with the function's name
        self.deprecated: Callable[[str], None] = lambda message: None  # E_DEPRECATED with the function's name
        self.id_length, self.id_bits = 32, 4

    def open(self, save_path: str, session_name: str) -> bool:
        raise NotImplementedError

    def close(self) -> bool:
        raise NotImplementedError

    def read(self, sid: str, maxlifetime: int) -> bytes | None:
        raise NotImplementedError

    def write(self, sid: str, data: bytes, maxlifetime: int) -> bool:
        raise NotImplementedError

    def destroy(self, sid: str) -> bool:
        raise NotImplementedError

    def gc(self, maxlifetime: int) -> int | None:
        raise NotImplementedError

    def create_sid(self) -> str | None:
        return create_id(self.id_length, self.id_bits)

    def validate_sid(self, sid: str) -> bool:
        return True

    def update_timestamp(self, sid: str, data: bytes, maxlifetime: int) -> bool:
        return True


@runtime_checkable
class SessionHandlerInterface(Protocol):
    """PHP's SessionHandlerInterface, as a Python store implements it: ``open(path,
    name) -> bool``, ``close() -> bool``, ``read(id) -> str | bytes | False`` ("" for
    a new session), ``write(id, data) -> bool``, ``destroy(id) -> bool``,
    ``gc(max_lifetime) -> int | False``. Optional, as PHP's SessionIdInterface and
    SessionUpdateTimestampHandlerInterface: ``create_sid() -> str``,
    ``validateId(id) -> bool`` (or ``validate_id``), ``updateTimestamp(id, data) ->
    bool`` (or ``update_timestamp``) (SESS-HANDLER-1)."""

    def open(self, path: str, name: str) -> bool: ...
    def close(self) -> bool: ...
    def read(self, id: str) -> str | bytes | bool: ...
    def write(self, id: str, data: str) -> bool: ...
    def destroy(self, id: str) -> bool: ...
    def gc(self, max_lifetime: int) -> int | bool: ...


def _method(handler: Any, *names: str) -> Callable[..., Any] | None:
    for name in names:
        method = getattr(handler, name, None)
        if callable(method):
            return method  # type: ignore[no-any-return]
    return None


class UserModule(SaveModule):
    """mod_user.c: the script's handler, called as PHP calls it. A return value
    that is not a bool is PHP's TypeError (SESS-HANDLER-2); an exception the handler
    raises fails the operation without PHP's warning and is raised again once
    session.c is done with it (``pending``), as EG(exception) is (SESS-HANDLER-3)."""

    name = "user"

    def __init__(self, callbacks: dict[str, Callable[..., Any]], class_name: str | None, charset: str) -> None:
        super().__init__()
        self.callbacks = callbacks
        self.class_name = class_name
        self.charset = charset
        self.pending: BaseException | None = None
        self.has_validate_sid = "validate_sid" in callbacks
        self.has_update_timestamp = "update_timestamp" in callbacks

    @classmethod
    def from_object(cls, handler: Any, charset: str) -> UserModule:
        callbacks = {}
        for key, names in (("open", ("open",)), ("close", ("close",)), ("read", ("read",)), ("write", ("write",)),
                           ("destroy", ("destroy",)), ("gc", ("gc",)), ("create_sid", ("create_sid",)),
                           ("validate_sid", ("validateId", "validate_id")),
                           ("update_timestamp", ("updateTimestamp", "update_timestamp"))):
            method = _method(handler, *names)
            if method is not None:
                callbacks[key] = method
        return cls(callbacks, type(handler).__name__, charset)

    def _call(self, key: str, *args: Any) -> Any:
        if self.pending is not None:
            return None
        try:
            return self.callbacks[key](*args)
        except Exception as exception:
            self.pending = exception
            return None

    def _bool(self, key: str, *args: Any) -> bool:
        # verify_bool_return_type_userland_calls()
        value = self._call(key, *args)
        if self.pending is not None:
            return False
        if value is True or value is False:
            return value
        if type(value) is int and value in (0, -1):  # PHP 7's int returns, deprecated
            self.deprecated(f"Session callback must have a return value of type bool, {_type_name(value)} returned")
            return value == 0
        self.pending = TypeError(f"Session callback must have a return value of type bool, {_type_name(value)} returned")
        return False

    def _text(self, data: bytes) -> str:
        return data.decode(self.charset, "surrogateescape")

    def open(self, save_path: str, session_name: str) -> bool:
        return self._bool("open", save_path, session_name)

    def close(self) -> bool:
        return self._bool("close")

    def read(self, sid: str, maxlifetime: int) -> bytes | None:
        value = self._call("read", sid)
        if isinstance(value, str):
            return value.encode(self.charset, "surrogateescape")
        return value if isinstance(value, bytes) else None

    def write(self, sid: str, data: bytes, maxlifetime: int) -> bool:
        return self._bool("write", sid, self._text(data))

    def destroy(self, sid: str) -> bool:
        return self._bool("destroy", sid)

    def gc(self, maxlifetime: int) -> int | None:
        value = self._call("gc", maxlifetime)
        if value is True:
            return 1
        return value if type(value) is int else None

    def create_sid(self) -> str | None:
        if "create_sid" not in self.callbacks:
            return super().create_sid()
        value = self._call("create_sid")
        if isinstance(value, str):
            return value
        if self.pending is None:
            self.pending = TypeError("Session id must be a string")
        return None

    def validate_sid(self, sid: str) -> bool:
        return self._bool("validate_sid", sid) if self.has_validate_sid else True

    def update_timestamp(self, sid: str, data: bytes, maxlifetime: int) -> bool:
        return self._bool("update_timestamp", sid, self._text(data)) if self.has_update_timestamp else True

    def take_pending(self) -> BaseException | None:
        pending, self.pending = self.pending, None
        return pending


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "string"
    if isinstance(value, float):
        return "float"
    if isinstance(value, int):
        return "int"
    if isinstance(value, (list, dict)):
        return "array"
    return type(value).__name__
