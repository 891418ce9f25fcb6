"""CgiTransport: a CGI/1.1 response on stdout, as php-cgi writes it (TRANSPORT-CGI-*)."""

from __future__ import annotations

import sys
from typing import BinaryIO, Mapping

from .._headers import ResponseHead
from .cli import CliTransport

__all__ = ["CgiTransport"]


class CgiTransport(CliTransport):
    """Writes the head (the lines the SAPI profile formatted, then a blank line) and
    the body to a binary stream, stdout by default, and errors to stderr. The
    request variables are the environment, as a CGI server passes them
    (``environ`` replaces ``os.environ``). Run with ``sapi="cgi"`` the bytes are
    php-cgi's."""

    def __init__(
        self, stdout: BinaryIO | None = None, stderr: BinaryIO | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(stdout if stdout is not None else sys.stdout.buffer, stderr, environ)

    def send_headers(self, head: ResponseHead) -> None:
        self.write(head.block())
