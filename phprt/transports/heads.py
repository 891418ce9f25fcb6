"""The head a SAPI profile gives (a ``ResponseHead``), as each front end writes it.

The Runtime hands every transport the same structured head: the status, its
reason and the lines as the SAPI profile writes them, parsed once
(``ResponseHead.parts``). A front end writes it in one of three forms, each here:

- ``http_form``: what the HTTP server writes after its status line (SERVE-HEAD-1).
- ``cgi_form``: the CGI head a FastCGI responder sends on STDOUT (FCGI-STDOUT-1).
- ``gateway_form``: a status and fields for a Python web server (WSGI-HEAD-1,
  WSGI-HOP-1, WSGI-STATUS-1).

Lines are never rebuilt from a name and a value: what a script wrote goes as it
wrote it.
"""

from __future__ import annotations

from ..engine.records import record, replace
from ..engine.values import PHP_BYTES
from ..http.headers import REASONS, ResponseHead, http_date
from ..net.http11 import TOKEN, body_allowed

__all__ = ["BAD_GATEWAY", "GatewayHead", "HOP_BY_HOP", "HttpHead", "INTERNAL_ERROR", "cgi_form", "gateway_form",
           "http_form"]


# -- HTTP ------------------------------------------------------------------------------


@record(frozen=True)
class HttpHead:
    """A head as the HTTP server writes it: the status and reason for its status line,
    the ``lines`` after it, and ``own_close``, the index among them of ``php -S``'s own
    ``Connection: close``."""

    status: int
    reason: str
    lines: tuple[str, ...]
    own_close: int | None = None
    charset: str = "utf-8"


def http_form(head: ResponseHead) -> HttpHead:
    """Under "cli-server" every line after ``php -S``'s status line; under another
    profile ``Date`` (unless the script set one) and the lines that are fields,
    without CGI's ``Status:`` (SERVE-HEAD-1). A status that is not a final status
    an HTTP/1.1 client can read is 500 (DEV-SERVE-STATUS-1)."""
    status, reason = head.status or 200, head.reason
    if head.status_line:
        lines = list(head.lines[1:])
        own_close = None if head.own_close is None else head.own_close - 1
    else:
        lines = [part.raw for part in head.parts if part.name is not None and part.name.lower() != "status"]
        if not head.named("date"):
            lines.insert(0, f"Date: {http_date()}")
        own_close = None
    if not 200 <= status <= 999:
        status, reason = 500, REASONS[500]
    return HttpHead(status, reason, tuple(lines), own_close, head.charset)


# -- CGI -------------------------------------------------------------------------------


def cgi_form(head: ResponseHead) -> bytes:
    """The head as a CGI head block: php-cgi's and PHP-FPM's as they are; under another
    profile without ``php -S``'s status line and with a ``Status:`` line first unless
    the code is 200 (FCGI-STDOUT-1)."""
    if not head.status_line and head.own_close is None and head.status in (None, 200):
        return head.block()  # php-cgi's and PHP-FPM's head for a 200 as it is (FCGI-PERF-1)
    lines = head.lines[1:] if head.status_line else head.lines
    if head.status not in (None, 200) and not head.named("status"):
        lines = (f"Status: {head.status} {head.reason}".rstrip(), *lines)
    return replace(head, lines=lines, status_line=False, own_close=None).block()


# -- a Python web server ---------------------------------------------------------------

#: Fields a gateway must not pass to the server: PEP 3333's hop-by-hop list,
#: which ``wsgiref`` asserts on (WSGI-HOP-1).
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade",
})


@record(frozen=True)
class GatewayHead:
    """A response head as a Python web server takes it: the status, its reason
    phrase and the fields, as bytes (the script's strings in its charset)."""

    status: int
    reason: bytes
    fields: tuple[tuple[bytes, bytes], ...]

    def body_allowed(self, method: str) -> bool:
        return body_allowed(method, self.status)


#: What the gateway answers when the script's head is not a valid HTTP head, as nginx
#: answers a FastCGI responder's (WSGI-STATUS-1).
BAD_GATEWAY = GatewayHead(502, b"Bad Gateway", ((b"Content-Length", b"0"),))
#: What the gateway answers when the script's thread ended without a head at all.
INTERNAL_ERROR = GatewayHead(500, b"Internal Server Error", ((b"Content-Length", b"0"),))


def gateway_form(head: ResponseHead) -> GatewayHead:
    """The head a server is given for PHP's: the status and reason the SAPI profile
    decided, the header fields in order without the hop-by-hop ones (WSGI-HOP-1);
    BAD_GATEWAY when the status is not a final status of three digits or a field
    name is not a token (WSGI-STATUS-1)."""
    status = head.status if head.status is not None else 200
    if not 200 <= status <= 999:
        return BAD_GATEWAY
    fields = []
    for name, value in head.fields:
        raw_name = name.encode(head.charset, PHP_BYTES)
        if not TOKEN.fullmatch(raw_name):
            return BAD_GATEWAY
        if name.lower() not in HOP_BY_HOP:
            fields.append((raw_name, value.encode(head.charset, PHP_BYTES)))
    return GatewayHead(status, head.reason.encode(head.charset, PHP_BYTES), tuple(fields))
