"""The response head: PHP's header queue and response code, with no I/O (HDR-*).

This follows main/SAPI.c (``sapi_header_op``, ``sapi_send_headers``) and the
SAPIs' ``send_headers`` functions. The queue keeps header lines as PHP keeps them
-- one string per line, verbatim -- with the response code and the status line a
``header("HTTP/...")`` set. When the headers go, a SAPI profile turns the queue
into a ``ResponseHead``: the lines exactly as that SAPI writes them.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, NamedTuple

from ..engine.memo import Memo
from ..engine.records import record, replace
from ..engine.values import PHP_BYTES, encodable, leading_int

__all__ = ["HeadLine", "HeaderError", "HeaderQueue", "ResponseHead", "REASONS", "head_for", "http_date"]

#: main/http_status_codes.h: the reason phrases PHP knows.
REASONS: Mapping[int, str] = {
    100: "Continue", 101: "Switching Protocols",
    200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information", 204: "No Content",
    205: "Reset Content", 206: "Partial Content",
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
    305: "Use Proxy", 307: "Temporary Redirect", 308: "Permanent Redirect",
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required",
    408: "Request Timeout", 409: "Conflict", 410: "Gone", 411: "Length Required", 412: "Precondition Failed",
    413: "Request Entity Too Large", 414: "Request-URI Too Long", 415: "Unsupported Media Type",
    416: "Requested Range Not Satisfiable", 417: "Expectation Failed", 426: "Upgrade Required",
    428: "Precondition Required", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
    451: "Unavailable For Legal Reasons",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout", 505: "HTTP Version Not Supported", 506: "Variant Also Negotiates",
    511: "Network Authentication Required",
}

_C_SPACE = " \t\n\v\f\r"  # C's isspace()
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_date_cache: tuple[int, str] = (-1, "")


def http_date(now: float | None = None) -> str:
    """An HTTP date (RFC 9110's IMF-fixdate, "Thu, 04 Dec 2026 01:28:05 GMT") for ``now``
    (default: the time), in English whatever the locale: the Date header, and PHP's
    ``date("D, d M Y H:i:s \\G\\M\\T")`` of a cookie's expiry. The text of the last second
    asked for is kept, so a Date header is made once a second (PERF-START-1)."""
    global _date_cache
    second = int(time.time() if now is None else now)
    if _date_cache[0] != second:
        t = time.gmtime(second)
        _date_cache = (second, f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
                               f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")
    return _date_cache[1]
_CGI_MAX_HEADER = 1024  # SAPI_CGI_MAX_HEADER_LENGTH


class HeaderError(Exception):
    """A header operation PHP refuses with a warning; the message is PHP's."""


def unencodable(charset: str) -> str:
    """The warning for a header no PHP string could hold: a str with a character
    ``charset`` cannot encode (DEV-HEADER-BYTES-1)."""
    return f"Header may not contain characters that {charset} cannot encode"


def _name_is(line: str, name: str) -> bool:
    # strncasecmp(line, "Name:", len) with the line longer than the prefix
    return len(line) > len(name) and line[: len(name)].lower() == name


def c_atoi(text: str) -> int:
    """C's atoi(): leading whitespace, a sign, digits; 0 when there are none."""
    return leading_int(text.lstrip(_C_SPACE))


class HeadLine(NamedTuple):
    """One header line of a head: ``raw`` as written, ``name`` before its first colon
    as written (None for a line without one, HDR-HEADER-5), ``value`` after it
    without the surrounding spaces and tabs."""

    raw: str
    name: str | None
    value: str


@record(frozen=True)
class ResponseHead:
    """What the transport is given once, when PHP sends the headers (TRANSPORT-HEAD-1).

    ``status`` is the response code a client sees (None under the CLI, which sends
    no head) and ``reason`` its phrase; ``lines`` are the header lines exactly as the
    SAPI writes them, in order -- for CGI and FPM that includes the ``Status:`` line,
    for ``php -S`` the status line (``status_line``: ``lines[0]`` is one). ``own_close``
    is the index of ``php -S``'s own ``Connection: close`` in ``lines``, which says
    nothing of the script's wishes. ``charset`` encodes them as the script's strings.
    ``parts`` are the lines parsed once; the front ends write the head from them.
    """

    status: int | None
    reason: str
    lines: tuple[str, ...]
    charset: str = "utf-8"
    status_line: bool = False
    own_close: int | None = None

    def block(self) -> bytes:
        """The head as the SAPI writes it: each line and a blank one, CRLF-terminated; made once."""
        block: bytes | None = self.__dict__.get("_block")
        if block is None:
            block = "".join(f"{line}\r\n" for line in (*self.lines, "")).encode(self.charset, PHP_BYTES)
            object.__setattr__(self, "_block", block)  # a cache, as ``parts`` is
        return block

    @property
    def parts(self) -> tuple[HeadLine, ...]:
        """Each line as a ``HeadLine``, in order; made once (without cached_property's lock)."""
        parts: tuple[HeadLine, ...] | None = self.__dict__.get("_parts")
        if parts is None:
            made = []
            for line in self.lines:
                name, colon, value = line.partition(":")
                made.append(HeadLine(line, name if colon else None, value.strip(" \t")))
            parts = tuple(made)
            object.__setattr__(self, "_parts", parts)  # a cache, not a field: the head stays as made
        return parts

    def named(self, name: str) -> list[HeadLine]:
        """The lines named ``name`` (compared case-insensitively), in order."""
        lowered = name.lower()
        return [part for part in self.parts if part.name is not None and part.name.lower() == lowered]

    @property
    def fields(self) -> list[tuple[str, str]]:
        """The header lines as (name, value) pairs, without CGI's ``Status:``; a line
        without a colon has no field and is left out."""
        if not self.lines:  # the CLI's head (PERF-START-3)
            return []
        return [(part.name, part.value) for part in self.parts
                if part.name is not None and part.name.lower() != "status"]


class HeaderQueue:
    """SG(sapi_headers): the header lines, the response code and the status line.

    ``stores`` is False under the CLI, whose SAPI accepts header() but keeps nothing
    (HDR-CLI-1). ``ini`` reads default_charset and default_mimetype when they are
    needed; ``redirect_code`` (or what calling it gives, when a Location header needs
    it) is 303 for a SAPI that reports an HTTP/1.1 non-GET request, else 302 (HDR-LOCATION-1).
    """

    def __init__(self, ini: Callable[[str], str], *, stores: bool, response_code: int,
                 redirect_code: int | Callable[[], int] = 302, charset: str = "utf-8") -> None:
        self.lines: list[str] = []
        self.charset = charset
        self.response_code = response_code
        self.status_line: str | None = None
        self.sent = False
        self.send_default_content_type = True
        self.stores = stores
        self._ini = ini
        self._redirect_code = redirect_code
        #: Called when a Content-Length header is set (it turns zlib compression off).
        self.on_content_length: Callable[[], None] = _nothing

    def set_response_code(self, code: int) -> None:
        """sapi_update_response_code(): a new code forgets the status line."""
        if code != self.response_code:
            self.status_line = None
            self.response_code = code

    def header(self, line: str, replace: bool = True, response_code: int = 0) -> None:
        """sapi_header_op(ADD or REPLACE) on a queue whose headers are not sent (HDR-HEADER-*)."""
        if not line:
            return
        line = line.rstrip(_C_SPACE)
        if "\r" in line or "\n" in line:
            raise HeaderError("Header may not contain more than a single header, new line detected")
        if "\0" in line:
            raise HeaderError("Header may not contain NUL bytes")
        if not line.isascii() and not encodable(line, self.charset):
            raise HeaderError(unencodable(self.charset))
        if line[:5].lower() == "http/":
            self.set_response_code(_extract_response_code(line))
            self.status_line = line
            return
        name, colon, value = line.partition(":")
        if colon:
            lowered = name.lower()
            if lowered == "content-type":
                mimetype = value.lstrip(" ")
                charset = self._ini("default_charset")
                if charset and mimetype.startswith("text/") and "charset=" not in mimetype:
                    line = f"Content-type: {mimetype};charset={charset}"
                self.send_default_content_type = False
            elif lowered == "content-length":
                self.on_content_length()
            elif lowered == "location":
                code = self.response_code
                if not 300 <= code <= 399 and code != 201:
                    redirect = self._redirect_code  # worked out when a Location needs it (PERF-START-3)
                    self.set_response_code(response_code or (redirect() if callable(redirect) else redirect))
            elif lowered == "www-authenticate":
                self.set_response_code(401)
        if response_code:
            self.set_response_code(response_code)
        if self.stores:  # add(), with the name already split off (PERF-START-3)
            if replace and colon:
                self.remove(name)
            self.lines.append(line)

    def add(self, line: str, replace: bool) -> None:
        """sapi_header_add_op(): with ``replace``, first drop the lines of that name."""
        if not self.stores:
            return
        name, colon, _ = line.partition(":")
        if replace and colon:
            self.remove(name)
        self.lines.append(line)

    def remove(self, name: str) -> None:
        """sapi_remove_header(): every line named ``name``, compared case-insensitively."""
        prefix = name.lower() + ":"
        length = len(prefix)
        self.lines = [line for line in self.lines if line[:length].lower() != prefix]

    def delete(self, name: str) -> None:
        """sapi_header_op(DELETE), header_remove(name) (HDR-REMOVE-1)."""
        if not name:
            return
        name = name.rstrip(_C_SPACE)
        if ":" in name:
            raise HeaderError("Header to delete may not contain colon.")
        self.remove(name)

    def add_default_content_type(self) -> None:
        """The first step of sapi_send_headers(): the default Content-type (HDR-DEFAULT-2)."""
        if self.send_default_content_type:
            self.send_default_content_type = False
            if not self.stores:  # the CLI keeps no line (HDR-CLI-1): nothing to make (PERF-START-3)
                return
            content_type = default_content_type(self._ini("default_mimetype"), self._ini("default_charset"))
            if content_type:
                self.add(f"Content-type: {content_type}", False)


def _nothing() -> None:
    pass


def _extract_response_code(line: str) -> int:
    # sapi_extract_response_code(): atoi after the first space not followed by a space
    for index, char in enumerate(line):
        if char == " " and line[index + 1 : index + 2] != " ":
            return c_atoi(line[index + 1 :])
    return 200


def default_content_type(mimetype: str, charset: str) -> str:
    """get_default_content_type(): the mimetype, with "; charset=" for text/ types."""
    if charset and mimetype[:5].lower() == "text/":
        return f"{mimetype}; charset={charset}"
    return mimetype


# -- the head each SAPI writes ---------------------------------------------------------


#: php-cgi's and PHP-FPM's heads made lately, by what they were made of: the same queue
#: makes the same head, shared (it is immutable) with its block (PERF-HEAD-1).
#: A head whose lines are longer than 2,048 bytes is made each time: the memo stays small.
_CGI_HEADS: Memo[tuple[Any, ...], ResponseHead] = Memo(64, largest=2048)


def cgi_head(queue: HeaderQueue) -> ResponseHead:
    """sapi_cgi_send_headers() of php-cgi and php-fpm (HDR-CGI-*): a ``Status:`` line
    unless the code is 200, the user's first ``Status:`` header otherwise, no
    Content-Type for a 304, no empty lines. Remembered for the queue's code, status
    line and lines (PERF-HEAD-1)."""
    key = (queue.response_code, queue.status_line, *queue.lines)
    head = _CGI_HEADS.get(key)
    if head is None:
        head = _CGI_HEADS.keep(key, _cgi_head(queue), sum(map(len, queue.lines)))
    return head


def _cgi_head(queue: HeaderQueue) -> ResponseHead:
    code = queue.response_code
    response_status = code
    written: list[str] = []
    first_status = ""  # the first Status: line written (PERF-START-4)
    ignore_status = False
    if code != 200:
        has_status = False
        line = queue.status_line
        space = line.find(" ") if line else -1
        if line and space >= 5 and line[:5].lower() == "http/":
            first_status = ("Status:" + line[space:])[:_CGI_MAX_HEADER - 1]  # slprintf() into 1024 bytes
            written.append(first_status)
            response_status = c_atoi(line[space + 1 :])
        elif any(_name_is(header, "status:") for header in queue.lines):
            has_status = True
        else:
            reason = REASONS.get(code)
            first_status = f"Status: {code} {reason}" if reason else f"Status: {code}"
            written.append(first_status)
        ignore_status = not has_status
    for header in queue.lines:
        if not header:
            continue
        if _name_is(header, "status:"):
            if not ignore_status:
                ignore_status = True
                first_status = header
                written.append(header)
        elif not (response_status == 304 and _name_is(header, "content-type:")):
            written.append(header)
    status, reason = 200, "OK"
    if first_status:
        text = first_status[7:].lstrip(_C_SPACE)
        status = c_atoi(text)
        reason = text.partition(" ")[2] or REASONS.get(status, "")
    return ResponseHead(status, reason, tuple(written))


#: ``php -S``'s heads made lately, by what they were made of (its Date changes once a second) (PERF-HEAD-1).
_SERVER_HEADS: Memo[tuple[Any, ...], ResponseHead] = Memo(64, largest=2048)


def cli_server_head(queue: HeaderQueue, request: Mapping[str, str], date: str) -> ResponseHead:
    """sapi_cli_server_send_headers() of ``php -S`` (HDR-SERVER-1): the status line,
    Host, Date (unless the script set one) and ``Connection: close``, then the lines.
    Remembered, as ``cgi_head``'s are, for what it is made of (PERF-HEAD-1)."""
    key = (queue.response_code, queue.status_line, request.get("SERVER_PROTOCOL"), request.get("HTTP_HOST"), date,
           *queue.lines)
    head = _SERVER_HEADS.get(key)
    if head is None:
        head = _SERVER_HEADS.keep(key, _cli_server_head(queue, request, date), sum(map(len, queue.lines)))
    return head


def _cli_server_head(queue: HeaderQueue, request: Mapping[str, str], date: str) -> ResponseHead:
    code = queue.response_code or 200
    reason = REASONS.get(code, "Unknown Status Code")
    if queue.status_line:
        status_line = queue.status_line
        reason = queue.status_line.partition(" ")[2].partition(" ")[2]
    else:
        status_line = f"{request.get('SERVER_PROTOCOL') or 'HTTP/1.0'} {code} {reason}"
    lines = [status_line]
    if "HTTP_HOST" in request:
        lines.append(f"Host: {request['HTTP_HOST']}")
    if not any(_name_is(header, "date:") for header in queue.lines):
        lines.append(f"Date: {date}")
    lines.append("Connection: close")
    own_close = len(lines) - 1
    lines += [header for header in queue.lines if header]
    return ResponseHead(code, reason, tuple(lines), status_line=True, own_close=own_close)


def server_head(queue: HeaderQueue) -> ResponseHead:
    """A web server module such as apache2handler: the code, PHP's reason phrase and
    the non-empty lines; the server writes its own status line."""
    code = queue.response_code or 200
    return ResponseHead(code, REASONS.get(code, ""), tuple(header for header in queue.lines if header))


#: The CLI's head, one per charset: it is always the same (PERF-START-3).
_CLI_HEADS: dict[str, ResponseHead] = {}


def head_for(sapi: str, queue: HeaderQueue, request: Mapping[str, str], date: str, charset: str) -> ResponseHead:
    """The head the SAPI named ``sapi`` writes for ``queue``; the CLI writes none."""
    if sapi == "cli":
        head = _CLI_HEADS.get(charset)
        if head is None:
            head = _CLI_HEADS[charset] = ResponseHead(None, "", (), charset)
        return head
    if sapi in ("cgi", "fpm-fcgi"):
        head = cgi_head(queue)
    elif sapi == "cli-server":
        head = cli_server_head(queue, request, date)
    else:
        head = server_head(queue)
    return head if head.charset == charset else replace(head, charset=charset)
