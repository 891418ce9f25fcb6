"""HTTP/1.1 for ``python -m phprt serve``, free of I/O (SERVE-PARSE-*, SERVE-FRAME-*).

In the manner of h11: the server feeds what it receives to a ``RequestParser``
and asks it for the next event -- a request's head, then the whole request with
its body -- or gets an ``HttpError`` naming the status to answer before closing
the connection. The body goes, as it arrives, into what the parser's ``body``
factory makes (a ``Buffer`` in memory unless the server gives a file-backed
one, SERVE-BODY-1). ``plan_response`` decides how a response is delimited and
whether the connection stays open, ``render_head`` writes its head and
``BodyEncoder`` frames its body. Sockets are phprt/server.py's business.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

from ..engine.memo import Memo
from ..engine.records import record
from .body import BodySink, Buffer

__all__ = [
    "CLOSED", "NEED_DATA", "TOKEN", "BodyEncoder", "BodySink", "Buffer", "Framing", "HttpError", "Limits", "Request",
    "RequestHead", "RequestParser", "ResponseWriter", "body_allowed", "declared_length", "plan_response", "render_head",
]


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: ``next_event()``: more bytes are needed.
NEED_DATA = _Sentinel("NEED_DATA")
#: ``next_event()``: the client closed the connection between requests.
CLOSED = _Sentinel("CLOSED")

TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")
_TARGET = re.compile(rb"[\x21-\x7e]+")
_FIELD_VALUE_BAD = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_HOST = re.compile(r"[A-Za-z0-9\-._~%!$&'()*+,;=:\[\]]*")
_DIGITS = re.compile(r"[0-9]{1,18}")
_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(;[^\x00-\x08\x0a-\x1f\x7f]*)?")
_ABSOLUTE = re.compile(rb"(?i:https?)://([^/?#]+)([^#]*)")
#: A whole head in the common form (SERVE-PERF-1): an origin-form target, HTTP/1.x,
#: CRLF line ends, each field a token, a colon and a value without control bytes.
#: Matched against the head decoded as its fields are (UTF-8, surrogateescape).
_PLAIN_HEAD = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (/[\x21-\x7e]*) (HTTP/1\.([0-9]))\r\n"
                         r"((?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*\r\n)*)")
_PLAIN_FIELD = re.compile(r"([^:]+):(.*)\r\n")  # no lazy match: a run of blanks costs no backtracking


@record(frozen=True)
class Limits:
    """What one request may be (SERVE-LIMIT-1): the request line in bytes (414
    beyond), the header section in bytes and in fields (431 beyond), the body
    after decoding (413 beyond), and a chunk-size line with its extensions (400)."""

    request_line: int = 8192
    header_section: int = 65536
    header_count: int = 100
    body: int = 64 * 1024 * 1024
    chunk_line: int = 4096


class HttpError(Exception):
    """A request the server refuses: answer ``status`` and close the connection.
    ``head`` is the request's head when it was complete, ``version`` the
    request's HTTP version when its request line was read."""

    def __init__(self, status: int, reason: str, *, head: RequestHead | None = None,
                 version: tuple[int, int] = (1, 1), method: str = "", target: str = "") -> None:
        super().__init__(reason)
        self.status, self.head, self.version, self.method, self.target = status, head, version, method, target


@record(frozen=True)
class RequestHead:
    """A request's head. ``target`` is in origin form (an absolute-form target is
    cut to its path and query; ``sent_target`` is what the client sent);
    ``headers`` are the fields in order, names as sent, values with the
    surrounding whitespace removed (bytes beyond ASCII kept by surrogateescape)."""

    method: str
    target: str
    sent_target: str
    version: tuple[int, int]
    protocol: str
    headers: tuple[tuple[str, str], ...]
    content_length: int | None = None
    chunked: bool = False

    def values(self, name: str) -> list[str]:
        """Every value of the fields named ``name`` (case-insensitively), in order."""
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]

    def tokens(self, name: str) -> list[str]:
        """The comma-separated members of the fields named ``name``, lowercased."""
        return [part.strip(" \t").lower() for value in self.values(name) for part in value.split(",") if part.strip(" \t")]

    @property
    def persistent(self) -> bool:
        """Whether the client asks to keep the connection: HTTP/1.1 unless it says
        ``close``, HTTP/1.0 only with ``keep-alive`` (SERVE-KEEP-1); worked out once
        (SERVE-PERF-1), without cached_property's lock."""
        known: bool | None = self.__dict__.get("_persistent")
        if known is None:
            tokens = self.tokens("connection")
            known = "close" not in tokens and (self.version >= (1, 1) or "keep-alive" in tokens)
            self.__dict__["_persistent"] = known  # a cache, not a field: the head stays as made
        return known

    @property
    def expects_continue(self) -> bool:
        """An HTTP/1.1 client waiting for ``100 Continue`` before it sends the body (SERVE-CONTINUE-1)."""
        has_body = self.chunked or bool(self.content_length)
        return has_body and self.version >= (1, 1) and "100-continue" in self.tokens("expect")


@record(frozen=True)
class Request:
    """A whole request: its head and its body (the sink the parser wrote it into),
    decoded from the chunked coding if it was sent so."""

    head: RequestHead
    body: BodySink


#: Heads of requests without a body read in the common form (SERVE-PERF-1), by their bytes, with
#: the limits they were read under: the last 256 of them, each of at most 4,096 bytes (SERVE-PERF-3).
_READ_HEADS: Memo[bytes, tuple[Limits, RequestHead]] = Memo(256, largest=4096)

# Parser states
_LINE, _HEADERS, _BODY, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _COMPLETE, _DONE = range(9)


class RequestParser:
    """Reads requests from a connection's bytes, one after the other (SERVE-PARSE-1).

    ``feed(data)`` and ``feed_eof()`` give it what arrived; ``next_event()`` returns
    ``NEED_DATA``, a ``RequestHead`` (once per request, as soon as the head is
    complete), then the ``Request``, or ``CLOSED`` when the client closed between
    requests. A request that breaks the rules raises ``HttpError``. After a
    ``Request``, ``next_request()`` starts on the next one; bytes already received
    (a pipelined request) stay. Each request's body goes into a sink ``body()``
    makes (default: a ``Buffer``); ``close()`` closes the one being written.
    """

    def __init__(self, limits: Limits | None = None, body: Callable[[], BodySink] = Buffer) -> None:
        self.limits = limits or Limits()
        self._new_body = body
        self._buffer = bytearray()
        self._eof = False
        self._reset()

    def _reset(self) -> None:
        self._state = _LINE
        self._head: RequestHead | None = None
        self._request_line: tuple[str, str, str, tuple[int, int], str] | None = None
        self._fields: list[tuple[str, str]] = []
        self._section = 0  # bytes of the header (or trailer) section so far
        self._body: BodySink | None = None  # made when the head is complete
        self._size = 0  # bytes of the body so far
        self._remaining = 0

    @property
    def started(self) -> bool:
        """Whether a byte of the current request has arrived."""
        return self._state != _LINE or bool(self._buffer.lstrip(b"\r\n"))

    def feed(self, data: bytes) -> None:
        if self._eof:
            raise RuntimeError("data after the end of the stream")
        self._buffer += data

    def feed_eof(self) -> None:
        self._eof = True

    def close(self) -> None:
        """Close the body of the request being read, if there is one."""
        if self._body is not None and self._state != _DONE:
            self._body.close()

    def next_request(self) -> None:
        if self._state != _DONE:
            raise RuntimeError("the current request is not complete")
        self._reset()

    def next_event(self) -> object:
        readers = self._READERS
        while True:
            if self._state == _DONE:
                raise RuntimeError("call next_request() first")
            event = readers[self._state](self)
            if event is not None:
                return event

    # -- the head ---------------------------------------------------------------------

    def _error(self, status: int, reason: str) -> HttpError:
        line = self._request_line
        if line is None:
            return HttpError(status, reason, head=self._head)
        method, target, _, version, _ = line
        return HttpError(status, reason, head=self._head, version=version, method=method, target=target)

    def _line(self, limit: int, status: int, what: str) -> bytes | None:
        # One line without its terminator (CRLF, or a bare LF), or None if it has not all arrived.
        end = self._buffer.find(b"\n", 0, limit + 2)
        if end < 0:
            if len(self._buffer) > limit + 1:
                raise self._error(status, f"{what} too long")
            if self._eof:
                raise self._error(400, "Unexpected EOF")
            return None
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        if line.endswith(b"\r"):
            line = line[:-1]
        if len(line) > limit:
            raise self._error(status, f"{what} too long")
        return line

    def _read_request_line(self) -> object:
        if not self._buffer:  # between requests (SERVE-PERF-1)
            return CLOSED if self._eof else NEED_DATA
        head = self._plain_head()
        if head is not None:
            return head
        while self._buffer[:2] == b"\r\n" or self._buffer[:1] == b"\n":  # empty lines before a request (RFC 9112 2.2)
            del self._buffer[: 2 if self._buffer[:1] == b"\r" else 1]
        if not self._buffer and self._eof:
            return CLOSED
        line = self._line(self.limits.request_line, 414, "request line")
        if line is None:
            return NEED_DATA
        parts = line.split(b" ")
        if len(parts) != 3 or not TOKEN.fullmatch(parts[0]):
            raise self._error(400, "Malformed request line")
        method_bytes, target_bytes, version_bytes = parts
        version = _VERSION.fullmatch(version_bytes)
        if version is None:
            raise self._error(400, "Malformed HTTP version")
        method, sent = method_bytes.decode("ascii"), target_bytes.decode("latin-1")
        numbers = (int(version[1]), int(version[2]))
        self._request_line = (method, sent, sent, numbers, version_bytes.decode("ascii"))
        if numbers[0] != 1:
            raise self._error(505, "Unsupported HTTP version")
        if not _TARGET.fullmatch(target_bytes):
            raise self._error(400, "Malformed request target")
        if method == "CONNECT":
            raise self._error(501, "CONNECT is not supported")
        if target_bytes.startswith(b"/") or (target_bytes == b"*" and method == "OPTIONS"):
            target = sent
        else:
            absolute = _ABSOLUTE.fullmatch(target_bytes)
            if absolute is None:
                raise self._error(400, "Malformed request target")
            rest = absolute[2].decode("latin-1")
            target = rest if rest.startswith("/") else "/" + rest
        self._request_line = (method, target, sent, numbers, version_bytes.decode("ascii"))
        self._state = _HEADERS
        return None

    def _plain_head(self) -> RequestHead | None:
        """The whole head at once, when it has arrived in the common form
        (SERVE-PERF-1): an origin-form target, HTTP/1.x, CRLF line ends, well-formed
        fields within the limits. It is what reading it line by line gives; any
        other head (or one not whole yet) is read line by line, which says what is
        wrong with it."""
        buffer, limits = self._buffer, self.limits
        end = buffer.find(b"\r\n\r\n", 0, limits.request_line + limits.header_section + 4)
        if end < 0:
            return None
        raw = bytes(buffer[:end + 4])
        known = _READ_HEADS.get(raw)
        if known is not None and (known[0] is limits or known[0] == limits):  # read before (SERVE-PERF-3)
            del buffer[:end + 4]
            head = known[1]
            self._request_line = (head.method, head.target, head.sent_target, head.version, head.protocol)
            return self._begin(head)
        text = raw[:-2].decode("utf-8", "surrogateescape")
        match = _PLAIN_HEAD.fullmatch(text)
        if match is None:
            return None
        method, target, protocol, minor, block = match.groups()
        # Over a limit (414, 431) or CONNECT (501): read line by line. What precedes the
        # fields is ASCII: its characters are its bytes.
        if match.end(3) > limits.request_line or end + 2 - match.start(5) > limits.header_section or method == "CONNECT":
            return None
        fields = [(name, value.lstrip(" \t")) for name, value in _PLAIN_FIELD.findall(block)]
        if len(fields) > limits.header_count:
            return None
        del buffer[:end + 4]
        version = (1, int(minor))
        self._request_line = (method, target, target, version, protocol)
        self._fields = fields
        head = self._end_of_head()
        if self._state == _COMPLETE:  # no body: the same bytes are the same head (SERVE-PERF-3)
            _READ_HEADS.keep(raw, (limits, head), len(raw))
        return head

    def _read_field(self) -> object:
        limits = self.limits
        line = self._line(limits.header_section - self._section, 431, "header section")
        if line is None:
            return NEED_DATA
        self._section += len(line) + 2
        if not line:
            return self._end_of_head() if self._state == _HEADERS else self._end_of_trailers()
        if line[:1] in (b" ", b"\t"):
            raise self._error(400, "Obsolete line folding")
        name, colon, value = line.partition(b":")
        if not colon or not TOKEN.fullmatch(name):
            raise self._error(400, "Malformed header field")
        value = value.lstrip(b" \t")  # its trailing blanks kept, as php -S keeps them (SERVE-PARSE-2)
        if _FIELD_VALUE_BAD.search(value):
            raise self._error(400, "Invalid character in a header field")
        if len(self._fields) >= limits.header_count:
            raise self._error(431, "Too many header fields")
        self._fields.append((name.decode("ascii"), value.decode("utf-8", "surrogateescape")))
        return None

    def _end_of_head(self) -> RequestHead:
        assert self._request_line is not None
        method, target, sent, version, protocol = self._request_line
        fields, self._fields = tuple(self._fields), []
        hosts: list[str] = []
        lengths: list[str] = []
        codings: list[str] = []  # the Transfer-Encoding fields' values
        for name, value in fields:  # one pass for the fields the framing reads (SERVE-PERF-1)
            key = name.lower()
            if key == "host":
                hosts.append(value)
            elif key == "content-length":
                lengths.append(value)
            elif key == "transfer-encoding":
                codings.append(value)
        if len(hosts) > 1 or (version >= (1, 1) and not hosts):
            raise self._error(400, "An HTTP/1.1 request needs exactly one Host field")
        if hosts and not _HOST.fullmatch(hosts[0].rstrip(" \t")):
            raise self._error(400, "Malformed Host field")
        length: int | None = None
        chunked = False
        if codings:  # SERVE-SMUGGLE-1
            tokens = [part.strip(" \t").lower() for value in codings for part in value.split(",") if part.strip(" \t")]
            chunked = bool(tokens)
            if lengths:
                raise self._error(400, "Both Transfer-Encoding and Content-Length")
            if version < (1, 1):
                raise self._error(400, "Transfer-Encoding in an HTTP/1.0 request")
            if not tokens or tokens[-1] != "chunked" or tokens.count("chunked") > 1:
                raise self._error(400, "The chunked coding must be the last coding, once")
            if len(tokens) > 1:
                raise self._error(501, f"Unsupported transfer coding {tokens[0]!r}")
        elif lengths:
            length = declared_length(lengths)
            if length is None:
                raise self._error(400, "Invalid Content-Length")
            if length > self.limits.body:
                raise self._error(413, "Request body too large")
        return self._begin(RequestHead(method, target, sent, version, protocol, fields, length, chunked))

    def _begin(self, head: RequestHead) -> RequestHead:
        # The head is complete: its body (if any) is read next, into a sink of its own.
        self._head = head
        self._body = self._new_body()
        if head.chunked:
            self._state = _CHUNK_SIZE
        elif head.content_length:
            self._state, self._remaining = _BODY, head.content_length
        else:
            self._state = _COMPLETE
        return head

    # -- the body ---------------------------------------------------------------------

    def _complete(self) -> Request:
        assert self._head is not None and self._body is not None
        self._state = _DONE
        return Request(self._head, self._body)

    def _take(self) -> None:
        assert self._body is not None
        taken = bytes(self._buffer[: self._remaining])
        del self._buffer[: len(taken)]
        if taken:
            self._body.write(taken)
        self._size += len(taken)
        self._remaining -= len(taken)

    def _read_body(self) -> object:
        self._take()
        if not self._remaining:
            return self._complete()
        if self._eof:
            raise self._error(400, "Unexpected EOF")
        return NEED_DATA

    def _read_chunk_size(self) -> object:
        end = self._buffer.find(b"\r\n", 0, self.limits.chunk_line + 2)
        if end < 0:
            if len(self._buffer) > self.limits.chunk_line + 1 or b"\n" in self._buffer:
                raise self._error(400, "Malformed chunk size line")
            if self._eof:
                raise self._error(400, "Unexpected EOF")
            return NEED_DATA
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        match = _CHUNK_LINE.fullmatch(line)
        if match is None:
            raise self._error(400, "Malformed chunk size line")
        size = int(match[1], 16)
        if not size:
            self._state, self._section = _TRAILERS, 0
            return None
        if self._size + size > self.limits.body:
            raise self._error(413, "Request body too large")
        self._state, self._remaining = _CHUNK_DATA, size
        return None

    def _read_chunk_data(self) -> object:
        self._take()
        if not self._remaining:
            self._state = _CHUNK_END
            return None
        if self._eof:
            raise self._error(400, "Unexpected EOF")
        return NEED_DATA

    def _read_chunk_end(self) -> object:
        if len(self._buffer) < 2:
            if self._eof:
                raise self._error(400, "Unexpected EOF")
            return NEED_DATA
        if self._buffer[:2] != b"\r\n":
            raise self._error(400, "Chunk data not followed by CRLF")
        del self._buffer[:2]
        self._state = _CHUNK_SIZE
        return None

    def _end_of_trailers(self) -> object:
        self._fields = []  # trailer fields are read and dropped
        return self._complete()

    #: What reads the input in each state, in the order of the states (_LINE to _COMPLETE).
    _READERS: tuple[Callable[[RequestParser], object], ...] = (
        _read_request_line, _read_field, _read_body, _read_chunk_size, _read_chunk_data, _read_chunk_end,
        _read_field, _complete)


# -- the response ---------------------------------------------------------------------------


@record(frozen=True)
class Framing:
    """How a response's body is delimited (SERVE-FRAME-1): ``"none"`` (no body may
    follow), ``"length"`` (``length`` bytes), ``"chunked"``, ``"close"`` (the body
    ends when the connection closes) or ``"verbatim"`` (the script sent its own
    Transfer-Encoding; its bytes go as they are and the connection closes).
    ``persistent``: the connection stays open for another request (SERVE-KEEP-1)."""

    mode: str
    length: int | None
    persistent: bool


#: What a line that names Connection, Content-Length or Transfer-Encoding can begin with.
_FRAMING_INITIALS = frozenset("CcTt \t")
#: ``_scan()``'s reading: Content-Length values, a Transfer-Encoding, Connection tokens, own_close's tokens.
Scan = tuple[tuple[str, ...], bool, tuple[str, ...], tuple[str, ...]]


#: Responses' framing and head bytes, ``ResponseWriter.head()``, by all they are made of: the
#: same response to the same kind of request (``php -S``'s Date changes once a second) is read
#: and written once (SERVE-PERF-2); longer lines than 2,048 bytes are read each time.
_HEADS: Memo[tuple[Any, ...], tuple[Framing, bytes]] = Memo(64, largest=2048)


def _scan(lines: Sequence[str], own_close: int | None) -> Scan:
    """What the framing reads in a response's header ``lines``, in one pass
    (SERVE-PERF-1): the Content-Length values, whether there is a Transfer-Encoding,
    the Connection tokens (lowercased), all but ``own_close``'s, and ``own_close``'s."""
    lengths: list[str] = []
    transfer = False
    connection: list[str] = []
    own: list[str] = []
    for index, line in enumerate(lines):
        if line[:1] not in _FRAMING_INITIALS:
            continue  # not a field the framing reads
        name, colon, value = line.partition(":")
        if not colon:
            continue
        key = name.strip(" \t").lower()
        if key == "connection":
            (own if index == own_close else connection).extend(
                part.strip(" \t").lower() for part in value.split(","))
        elif index == own_close:
            continue
        elif key == "content-length":
            lengths.append(value.strip(" \t"))
        elif key == "transfer-encoding":
            transfer = True
    return tuple(lengths), transfer, tuple(connection), tuple(own)


def body_allowed(method: str, status: int) -> bool:
    """Whether a response may have a body: not for a HEAD request, a 1xx, 204 or 304
    (RFC 9110 6.4.1; SERVE-FRAME-1, WSGI-EARLY-1)."""
    return method != "HEAD" and status >= 200 and status not in (204, 304)


def declared_length(values: Sequence[str], *, last_only: bool = False) -> int | None:
    """The body length the Content-Length ``values`` (every such field's value, in
    order) declare, or None where they declare none that is valid.

    By default as an HTTP/1.1 recipient reads them (RFC 9110 8.6, SERVE-FRAME-1):
    one decimal number, which a comma list or a repeated field may repeat.
    ``last_only`` reads them as nginx 1.22 reads a FastCGI responder's: the last
    field, whose value must be a decimal number alone (WSGI-EARLY-1)."""
    if last_only:
        members = {values[-1].strip(" \t")} if values else set()
    else:
        members = {part.strip(" \t") for value in values for part in value.split(",")}
    if len(members) != 1:
        return None
    member = members.pop()
    return int(member) if _DIGITS.fullmatch(member) else None


def plan_response(request: RequestHead, status: int, lines: Sequence[str], *, own_close: int | None = None,
                  closing: bool = False) -> Framing:
    """The framing of a response to ``request`` with ``status`` and the header
    ``lines`` (after the status line); ``own_close`` is the index of ``php -S``'s
    own ``Connection: close`` line in them, which says nothing about the script's
    wishes. ``closing``: the server closes the connection anyway."""
    return _plan(request, status, _scan(lines, own_close), closing)


def _plan(request: RequestHead, status: int, scan: Scan,
          closing: bool) -> Framing:
    lengths, transfer, connection, _ = scan
    length: int | None = None
    if not body_allowed(request.method, status):
        mode = "none"
    elif transfer:
        mode = "verbatim"
    elif lengths:
        length = declared_length(lengths)
        mode = "close" if length is None else "length"
    elif request.version >= (1, 1):
        mode = "chunked"
    else:
        mode = "close"
    persistent = (request.persistent and not closing and mode in ("none", "length", "chunked")
                  and "close" not in connection)
    return Framing(mode, length, persistent)


def render_head(request: RequestHead, status: int, reason: str, lines: Sequence[str], framing: Framing, *,
                own_close: int | None = None, charset: str = "utf-8") -> bytes:
    """The head the server writes (SERVE-HEAD-1): the status line in the request's
    HTTP version, the ``lines`` without ``own_close`` when the connection stays
    open, then ``Connection: keep-alive`` for a persistent HTTP/1.0 connection,
    ``Connection: close`` for a closing one that says so nowhere else, and
    ``Transfer-Encoding: chunked`` for a chunked body."""
    return _render(request, status, reason, lines, framing, own_close, _scan(lines, own_close), charset)


def _render(request: RequestHead, status: int, reason: str, lines: Sequence[str], framing: Framing,
            own_close: int | None, scan: Scan, charset: str) -> bytes:
    out = [f"{'HTTP/1.1' if request.version >= (1, 1) else 'HTTP/1.0'} {status} {reason}", *lines]
    connection = scan[2]
    if framing.persistent:
        if own_close is not None and 0 <= own_close < len(lines):
            del out[own_close + 1]
        if request.version < (1, 1) and "keep-alive" not in connection:
            out.append("Connection: keep-alive")
    elif "close" not in connection and "close" not in scan[3]:
        out.append("Connection: close")
    if framing.mode == "chunked":
        out.append("Transfer-Encoding: chunked")
    return ("\r\n".join(out) + "\r\n\r\n").encode(charset, "surrogateescape")


class BodyEncoder:
    """Frames a response's body bytes as ``framing`` says (SERVE-FRAME-1).

    ``encode(data)`` returns the bytes to send: nothing for a response without a
    body, at most what is left of a declared length (the rest is dropped,
    SERVE-FRAME-2), a chunk, or the bytes themselves. ``end()`` returns the last
    chunk. ``complete`` is true once nothing more may be sent; ``intact`` is false
    when a declared length was not reached, so the connection must close."""

    def __init__(self, framing: Framing) -> None:
        self.mode = framing.mode
        self.remaining = framing.length or 0
        self.ended = False
        #: Nothing more may be sent: no body, a declared length reached, or ended (an
        #: attribute kept up to date, read once per write, SERVE-PERF-2).
        self.complete = self.mode == "none" or (self.mode == "length" and self.remaining == 0)

    @property
    def intact(self) -> bool:
        return self.mode != "length" or self.remaining == 0

    def encode(self, data: bytes) -> bytes:
        if self.complete or not data:
            return b""
        if self.mode == "length":
            data = data[: self.remaining]
            self.remaining -= len(data)
            self.complete = self.remaining == 0
            return data
        if self.mode == "chunked":
            return b"%X\r\n%b\r\n" % (len(data), data)
        return data

    def end(self) -> bytes:
        if self.ended:
            return b""
        self.ended = True
        if self.mode != "length":
            self.complete = True
        return b"0\r\n\r\n" if self.mode == "chunked" else b""


class ResponseWriter:
    """One response to ``request`` on an HTTP connection: its head, its framed body
    and its end, and the one decision whether the connection carries another
    request after it (SERVE-KEEP-1). ``closing()`` says that the server closes the
    connection anyway (it is stopping).

    ``head`` plans and renders the head; ``body`` frames body bytes, nothing once
    past a declared length or for a response without a body (SERVE-FRAME-2);
    ``end`` gives the last chunk, once. ``shut_now`` is true once the response is
    whole on a connection that is not kept, whose sending side can then be shut
    while the script goes on (SERVE-EARLY-1)."""

    def __init__(self, request: RequestHead, *, closing: Callable[[], bool] = lambda: False) -> None:
        self.request = request
        self.framing: Framing | None = None
        self.status: int | None = None
        self._closing = closing
        self._encoder: BodyEncoder | None = None

    @property
    def started(self) -> bool:
        """Whether the head went."""
        return self._encoder is not None

    def head(self, status: int, reason: str, lines: Sequence[str], *, own_close: int | None = None,
             charset: str = "utf-8") -> bytes:
        """The head for ``status`` and the header ``lines`` after the status line
        (``own_close`` as ``plan_response`` takes it) (SERVE-HEAD-1), remembered with
        its framing for all it is made of (SERVE-PERF-2)."""
        request, closing = self.request, self._closing()
        key = (status, reason, own_close, charset, request.method, request.version, request.persistent, closing,
               *lines)
        made = _HEADS.get(key)
        if made is None:
            scan = _scan(lines, own_close)  # the lines read once for both (SERVE-PERF-1)
            framing = _plan(request, status, scan, closing)
            block = _render(request, status, reason, lines, framing, own_close, scan, charset)
            made = _HEADS.keep(key, (framing, block), sum(map(len, lines)))
        framing, block = made
        self.framing, self.status, self._encoder = framing, status, BodyEncoder(framing)
        return block

    @property
    def complete(self) -> bool:
        """Whether nothing more of the body may go."""
        return self._encoder is not None and self._encoder.complete

    def body(self, data: bytes) -> bytes:
        assert self._encoder is not None, "the head goes first"
        return self._encoder.encode(data)

    @property
    def encoder(self) -> BodyEncoder | None:
        """What frames the body, once the head is made."""
        return self._encoder

    def end(self) -> bytes:
        return self._encoder.end() if self._encoder is not None else b""

    @property
    def shut_now(self) -> bool:
        return self.complete and self.framing is not None and not self.framing.persistent

    def keep_alive(self, client_gone: bool) -> bool:
        """Whether the connection carries another request: the client asked for it,
        the response's framing allows it, it was sent whole and ended, the client is
        still there and the server is not closing (SERVE-KEEP-1)."""
        encoder, framing = self._encoder, self.framing
        return (framing is not None and encoder is not None and framing.persistent and encoder.intact
                and encoder.ended and not client_gone and not self._closing())
