"""readfile() and fpassthru(): a local file's bytes through the output layer (FILE-*).

PHP's ``_php_stream_passthru()`` (main/streams/streams.c) maps what is left of a
plain file and writes it in one PHPWRITE when it can -- the position is at a page
boundary and at most 4 MiB remain -- and otherwise reads and writes 8192 bytes at a
time; each write is one write into the output layer, as echo's (FILE-PASSTHRU-2).
"""

from __future__ import annotations

import errno
import os
from typing import Any

from ..engine import constants as C
from ..engine.base import RuntimeBase
from ..engine.functions import php_function
from ..engine.values import zval_type_name

__all__ = ["FileOutputFunctions", "passthru_chunks"]

_CHUNK = 8192  # php_stream_read()'s buffer in _php_stream_passthru()
_MMAP_MAX = 4 * 1024 * 1024  # _php_stream_mmap_range()'s limit


def passthru_chunks(position: int, remaining: int) -> list[int]:
    """The sizes of the writes PHP makes to pass ``remaining`` bytes from ``position``
    (FILE-PASSTHRU-2): one write when the mapping is possible, else 8192-byte ones."""
    if remaining <= 0:
        return []
    from mmap import PAGESIZE  # loaded by the first file passed through (PERF-IMPORT-1)

    if position % PAGESIZE == 0 and remaining <= _MMAP_MAX:
        return [remaining]
    return [min(_CHUNK, remaining - start) for start in range(0, remaining, _CHUNK)]


class FileOutputFunctions(RuntimeBase):
    """readfile() and fpassthru()."""

    @php_function
    def readfile(self, filename: Any, use_include_path: Any = False, context: Any = None) -> int | bool:
        """readfile(): write a local file into the output layer and return its length
        in bytes (FILE-READFILE-1). A file that cannot be opened is PHP's E_WARNING
        "readfile(NAME): Failed to open stream: REASON" and False; a directory is
        PHP's E_NOTICE "Read of 8192 bytes failed with errno=21 Is a directory" and -1;
        an empty name or one with a NUL byte is PHP's ValueError (FILE-READFILE-2).
        ``file://`` names a local path; ``use_include_path`` and ``context`` are
        accepted and not used (DEV-FILE-WRAPPERS-1)."""
        name = self._string_arg("readfile", 1, "filename", filename)
        self._bool_arg("readfile", 2, "use_include_path", use_include_path)
        if "\0" in name:
            raise ValueError("readfile(): Argument #1 ($filename) must not contain any null bytes")
        if not name:
            raise ValueError(self.version.empty("Path"))  # "must not" from 8.4 (VER-EMPTY-NAME-1)
        path = name[len("file://"):] if name.startswith("file://") else name
        try:
            stream = open(path.encode(self.charset, "surrogateescape"), "rb")
        except IsADirectoryError:
            self._error(C.E_NOTICE, f"readfile(): Read of {_CHUNK} bytes failed with errno={errno.EISDIR} "
                        f"{os.strerror(errno.EISDIR)}", docref=True)
            return -1
        except OSError as error:
            reason = os.strerror(error.errno) if error.errno else str(error)
            self._error(C.E_WARNING, f"readfile({name}): Failed to open stream: {reason}", docref=True)
            return False
        with stream:
            return self._passthru(stream)

    @php_function
    def fpassthru(self, stream: Any) -> int:
        """fpassthru(): write what is left of an open file (a Python file object, PHP's
        stream resource) into the output layer and return the number of bytes
        (FILE-FPASSTHRU-1); anything without ``read()`` is PHP's TypeError."""
        if not callable(getattr(stream, "read", None)):
            given = zval_type_name(stream)
            raise TypeError(f"fpassthru(): Argument #1 ($stream) must be of type resource, {given} given")
        return self._passthru(stream)

    def _passthru(self, stream: Any) -> int:
        # _php_stream_passthru() (FILE-PASSTHRU-2)
        try:
            position = stream.tell()
            remaining = os.fstat(stream.fileno()).st_size - position
            binary = isinstance(stream.read(0), bytes)
        except (OSError, AttributeError, ValueError):
            position, remaining, binary = 1, -1, False
        total = 0
        if binary and remaining >= 0:
            for size in passthru_chunks(position, remaining):
                data = stream.read(size)
                if not data:
                    break
                total += len(data)
                self._write_value(data)
            return total
        while True:  # a text stream, or one without a size: 8192 at a time
            data = stream.read(_CHUNK)
            if not data:
                return total
            if isinstance(data, str):
                data = data.encode(self.charset, "surrogateescape")
            total += len(data)
            self._write_value(data)
