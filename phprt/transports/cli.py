"""CliTransport: the body to stdout, as ``php script.php`` (TRANSPORT-CLI-*)."""

from __future__ import annotations

import errno
import io
import os
import sys
from typing import Any, BinaryIO, Mapping, TextIO, cast

from .base import Transport

__all__ = ["CliTransport"]


class _Closed(io.RawIOBase):
    """A standard stream the process was started without (``php script.php >&-``):
    every write fails, as write(2) on the closed descriptor does (EBADF)."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        raise OSError(errno.EBADF, "Bad file descriptor")


def _standard(stream: TextIO | None) -> BinaryIO:
    return stream.buffer if stream is not None else cast(BinaryIO, _Closed())


class CliTransport(Transport):
    """Writes the body to a binary stream (stdout by default) and errors to
    another (stderr). Headers are not sent, as in PHP's CLI. A write that fails
    because the reader is gone (EPIPE) reports the client gone. The request
    variables are the environment, as PHP's CLI puts it in $_SERVER (``environ``
    replaces ``os.environ``)."""

    def __init__(
        self, stdout: BinaryIO | None = None, stderr: BinaryIO | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        self._stdout = stdout if stdout is not None else _standard(sys.stdout)
        self._stderr = stderr if stderr is not None else _standard(sys.stderr)
        self.server = dict(os.environ if environ is None else environ)

    def write(self, data: bytes) -> bool:
        # PHP's CLI and CGI write(2) each piece: a reader that is gone shows at once
        try:
            self._stdout.write(data)
            self._stdout.flush()
        except (OSError, ValueError):  # EPIPE, or EBADF where stdout was closed: any failed write(2)
            return False
        return True

    def flush(self) -> bool:
        try:
            self._stdout.flush()
        except (OSError, ValueError):
            return False
        return True

    def write_stderr(self, data: bytes) -> None:
        try:
            self._stderr.write(data)
            self._stderr.flush()
        except (OSError, ValueError):
            pass

    def finish(self) -> None:
        self.flush()
