"""A request's body as it arrives, where the protocol cores write it (SERVE-BODY-1, FCGI-LIMIT-1).

``RequestParser`` (HTTP) and ``Connection`` (FastCGI) write a body into a
``BodySink`` their server makes: a ``Buffer`` in memory by default, a ``Spool``
on the servers, which keeps what passes a bound in a temporary file.
"""

from __future__ import annotations

import tempfile
from typing import IO, Protocol

from ..http.request import StreamedBody

__all__ = ["BODY_BUFFER", "BodySink", "Buffer", "Spool"]

#: The bytes of a request body kept in memory while it arrives; past them it waits in a file.
BODY_BUFFER = 64 << 10


class BodySink(Protocol):
    """Where a request's body is written as it arrives."""

    def write(self, data: bytes, /) -> object: ...

    def close(self) -> None: ...


class Buffer(bytearray):
    """A body kept in memory: the protocol cores' default ``BodySink`` (it compares equal to its bytes)."""

    def write(self, data: bytes, /) -> None:
        self.extend(data)

    def close(self) -> None:
        pass


class Spool:
    """A request body as it arrives: in memory up to ``memory`` bytes, beyond that in an
    anonymous temporary file, so a body costs at most ``memory`` bytes of memory until
    its request runs (SERVE-BODY-1, FCGI-LIMIT-1)."""

    def __init__(self, memory: int) -> None:
        self.memory = memory
        self.size = 0
        self._data = bytearray()
        self._file: IO[bytes] | None = None

    @property
    def on_disk(self) -> bool:
        return self._file is not None

    def write(self, data: bytes, /) -> None:
        if self._file is None and self.size + len(data) > self.memory:
            self._file = tempfile.TemporaryFile(prefix="phprt-body-")
            self._file.write(self._data)
            self._data = bytearray()
        if self._file is not None:
            self._file.write(data)
        else:
            self._data += data
        self.size += len(data)

    def body(self) -> bytes:
        """The body as its request reads it: the bytes, when in memory; else a
        ``StreamedBody`` reading the file (``read``), from which a multipart/form-data
        body is parsed as it is read, never whole in memory, as PHP reads one
        (PERF-UPLOAD-2). The file stays open until ``close()``, or until the last holder
        of the spool or its body lets go of it."""
        if self._file is None:
            data, self._data = bytes(self._data), bytearray()
            return data
        self._file.seek(0)
        return StreamedBody(self, self.size)

    def read(self, count: int, /) -> bytes:
        """The next ``count`` bytes of the body in the file."""
        if self._file is None:
            raise ValueError("the body's file is closed")
        return self._file.read(count)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._data = bytearray()

    def __del__(self) -> None:
        self.close()
