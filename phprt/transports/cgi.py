"""CgiTransport: a CGI/1.1 response on stdout, as php-cgi writes it (TRANSPORT-CGI-*)."""

from __future__ import annotations

import sys
from typing import BinaryIO, Mapping

from ..http.headers import ResponseHead
from ..http.request import StreamedBody
from .cli import CliTransport

__all__ = ["CgiTransport"]


class CgiTransport(CliTransport):
    """Writes the head (the lines the SAPI profile formatted, then a blank line) and
    the body to a binary stream, stdout by default, and errors to stderr. The
    request variables are the environment, as a CGI server passes them
    (``environ`` replaces ``os.environ``), and the request body is CONTENT_LENGTH
    bytes of stdin (``stdin`` replaces it), read when the request starts, as php-cgi
    reads it (TRANSPORT-CGI-2): a multipart/form-data body as it is parsed, its files
    spooled as they arrive (PERF-UPLOAD-1). Run with ``sapi="cgi"`` the bytes are php-cgi's."""

    def __init__(
        self, stdout: BinaryIO | None = None, stderr: BinaryIO | None = None, environ: Mapping[str, str] | None = None,
        stdin: BinaryIO | None = None,
    ) -> None:
        super().__init__(stdout if stdout is not None else sys.stdout.buffer, stderr, environ)
        length = str(self.server.get("CONTENT_LENGTH", "")).strip()
        if length.isdigit() and int(length) > 0 and "REQUEST_METHOD" in self.server:
            self.input = StreamedBody(stdin if stdin is not None else sys.stdin.buffer, int(length))

    def send_headers(self, head: ResponseHead) -> None:
        self.write(head.block())
