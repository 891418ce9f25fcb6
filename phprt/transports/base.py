"""The transport interface: what a Runtime tells the outside world (TRANSPORT-*).

A transport is PHP's SAPI seen from the Python side. The Runtime calls it with
plain values; the transport does the I/O and reports back whether the client is
still there. It never calls into the Runtime.

The calls, in the order a request makes them:

- ``send_headers(head)`` -- once, just before the first body byte or at the end
  of the request if there was no output: a ``ResponseHead`` with the status, its
  reason and the header lines exactly as the SAPI profile writes them. (A header
  callback that outputs makes PHP send its head twice, and so the Runtime.)
- ``write(body)`` -- non-empty body bytes, as they leave the output layer.
- ``flush()`` -- PHP's ``sapi_flush()``: ``flush()``, or implicit flush.
- ``write_stderr(data)`` -- the process's stderr: ``log_errors`` lines and
  ``display_errors=stderr``.
- ``finish()`` -- the response is complete: once, at the end of the request, or
  earlier for ``fastcgi_finish_request()`` where ``can_end_early`` is set.

``write`` and ``flush`` return False once the client is gone (TRANSPORT-ABORT-1).

The transport also fills ``server``: the request variables (CGI/1.1 names such as
REQUEST_METHOD, SERVER_PROTOCOL and HTTP_* headers), which the Runtime copies into
``Runtime.server``, PHP's $_SERVER (REQ-SERVER-1); and ``input``, the request body
as received, from which the Runtime parses $_POST and which is php://input.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..http.headers import ResponseHead

__all__ = ["ResponseHead", "Transport"]


class Transport:
    """Base class of transports. Every hook has a working default, so a transport
    overrides only what it delivers: the base class discards the body."""

    #: The request variables ($_SERVER); none by default.
    server: Mapping[str, Any] = {}
    #: The request body, as received (php://input).
    input = b""
    #: Whether ``finish()`` can complete the response while the script goes on
    #: (fastcgi_finish_request()); after it, the Runtime writes nothing more.
    can_end_early = False
    #: Whether fastcgi_finish_request() exists under every profile here, not only
    #: PHP-FPM's, as on phprt's network transports (DEV-FINISH-1).
    finish_request = False
    #: Whether output after ``finish()`` still goes to it rather than nowhere: PHP-FPM's
    #: record buffer (phprt/transports/fpm.py), which fails a write that reaches
    #: the closed socket (FPM-FINISH-2).
    writes_after_finish = False
    #: Whether consecutive writes are kept together until a flush, the end or a full
    #: buffer, so that one write of them all leaves as their writes one by one would:
    #: PHP-FPM's record buffer (PERF-ECHO-4).
    joins_writes = False

    def send_headers(self, head: ResponseHead) -> bool | None:
        """Deliver the response head. The default sends nothing, as PHP's CLI. False
        says the client is gone (only a transport that buffers the head as output
        knows it here)."""
        return None

    def write(self, data: bytes) -> bool:
        """Deliver body bytes; return False if the client is gone."""
        return True

    def flush(self) -> bool:
        """Push delivered bytes to the client; return False if the client is gone."""
        return True

    def write_stderr(self, data: bytes) -> None:
        """Write to the error stream. The default discards it."""

    def ending(self) -> None:
        """What is written from now until ``finish()`` is the end of the response: a
        transport may hold it to go out with its end, in one write, as PHP-FPM's
        fcgi_flush(req, 1) writes its last records with END_REQUEST (FPM-END-1). The
        default does nothing."""

    def finish(self) -> None:
        """The response is complete."""
