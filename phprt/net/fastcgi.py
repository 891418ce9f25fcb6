"""The FastCGI 1.0 protocol for a responder, free of I/O (FCGI-*).

In the manner of h11: a ``Connection`` is fed the bytes a web server sent
(``receive``) and answers with events -- a complete ``Request``, an ``Abort`` of
it, the web server's hang-up (``Closed``) -- while the replies the protocol makes
by itself (GET_VALUES_RESULT, UNKNOWN_TYPE, END_REQUEST with UNKNOWN_ROLE or
CANT_MPX_CONN) wait in ``data_to_send()``. The response goes out through
``stdout``/``stderr``/``end_request``, which return the bytes to write. A
request's STDIN goes, as it arrives, into what the ``stdin`` factory makes (a
``Buffer`` in memory unless the server gives a file-backed one, FCGI-LIMIT-1).
Nothing here reads a socket, a clock or the file system; malformed input raises
``ProtocolError``, after which the connection is closed.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Union

from ..engine.records import record
from .body import BodySink as Sink
from .body import Buffer

_c_decode_ascii_pairs: Callable[[bytes], Union[dict[str, str], None]] | None
try:
    from ._speedups import VERSION as _C_VERSION
    from ._speedups import decode_ascii_pairs as _c_decode_ascii_pairs
    if _C_VERSION != 1:  # built from another _speedups.c: not this decoder
        _c_decode_ascii_pairs = None
except ImportError:  # not compiled: decode_text_pairs() decodes in Python, to the same dict
    _c_decode_ascii_pairs = None

__all__ = [
    "Abort", "Buffer", "Closed", "Connection", "Event", "ProtocolError", "Record", "RecordReader", "Request", "Sink",
    "decode_pairs", "decode_text_pairs", "encode_pairs", "encode_record", "encode_stream",
]

VERSION_1 = 1
BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR, DATA = 1, 2, 3, 4, 5, 6, 7, 8
GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE = 9, 10, 11
RESPONDER, AUTHORIZER, FILTER = 1, 2, 3
KEEP_CONN = 1
REQUEST_COMPLETE, CANT_MPX_CONN, OVERLOADED, UNKNOWN_ROLE = 0, 1, 2, 3
MAX_CONTENT = 0xFFFF  # a record's contentLength is 16 bits
#: What PHP-FPM answers to GET_VALUES: main/fastcgi.c registers FCGI_MPXS_CONNS only
#: (its FCGI_MAX_CONNS and FCGI_MAX_REQS code is disabled) (FCGI-VALUES-1).
MANAGEMENT_VALUES = {b"FCGI_MPXS_CONNS": b"0"}

_HEADER = struct.Struct(">BBHHBx")
#: BEGIN_REQUEST's header and body: version, type, id, length, padding, role, flags.
_BEGIN = struct.Struct(">BBHHBxHB5x")
#: The record types a web server sends; any other is answered UNKNOWN_TYPE (FCGI-UNKNOWN-1).
_FROM_SERVER = frozenset({BEGIN_REQUEST, ABORT_REQUEST, PARAMS, STDIN, DATA, GET_VALUES})
#: A record's padding, by its length.
_ZEROS = tuple(bytes(n) for n in range(8))


class ProtocolError(Exception):
    """The peer broke the protocol; the connection must be closed (FCGI-MALFORMED-1)."""


@record(frozen=True)
class Record:
    type: int
    request_id: int
    content: bytes


def encode_record(kind: int, request_id: int, content: bytes = b"") -> bytes:
    """One record: the 8-byte header, the content, padding to a multiple of 8 (FCGI-RECORD-1)."""
    if len(content) > MAX_CONTENT:
        raise ValueError("a record holds at most 65535 bytes")
    padding = -len(content) % 8
    return _HEADER.pack(VERSION_1, kind, request_id, len(content), padding) + content + bytes(padding)


def encode_stream(kind: int, request_id: int, data: bytes) -> bytes:
    """``data`` as records of at most 65535 bytes each; nothing for no data (an
    empty record would end the stream) (FCGI-STDOUT-1). Data that fits one record
    is framed without slicing (FCGI-PERF-1)."""
    if len(data) <= MAX_CONTENT:
        if not data:
            return b""
        padding = -len(data) % 8
        return _HEADER.pack(VERSION_1, kind, request_id, len(data), padding) + data + _ZEROS[padding]
    view = memoryview(data)
    return b"".join(encode_record(kind, request_id, bytes(view[i:i + MAX_CONTENT])) for i in range(0, len(data), MAX_CONTENT))


def _length(n: int) -> bytes:
    return bytes([n]) if n < 0x80 else struct.pack(">I", n | 0x80000000)


def encode_pairs(pairs: Iterable[tuple[bytes, bytes]]) -> bytes:
    """Name-value pairs: each length in 1 byte below 128, else 4 bytes with the high bit set (FCGI-PAIRS-1)."""
    return b"".join(_length(len(name)) + _length(len(value)) + name + value for name, value in pairs)


def decode_pairs(data: bytes) -> list[tuple[bytes, bytes]]:
    """The name-value pairs of a whole PARAMS or GET_VALUES stream, in order (FCGI-PAIRS-1).
    One pass with both lengths read inline: a request has dozens (FCGI-PERF-1)."""
    pairs: list[tuple[bytes, bytes]] = []
    append = pairs.append
    position, end = 0, len(data)
    try:
        while position < end:
            name_length = data[position]
            if name_length < 0x80:
                position += 1
            else:
                if position + 4 > end:
                    raise ProtocolError("a name-value pair's length is cut short")
                name_length = int.from_bytes(data[position:position + 4], "big") & 0x7FFFFFFF
                position += 4
            value_length = data[position]  # IndexError: the pair ends after its name's length
            if value_length < 0x80:
                position += 1
            else:
                if position + 4 > end:
                    raise ProtocolError("a name-value pair's length is cut short")
                value_length = int.from_bytes(data[position:position + 4], "big") & 0x7FFFFFFF
                position += 4
            middle = position + name_length
            stop = middle + value_length
            if stop > end:
                raise ProtocolError("a name-value pair runs past the end of its stream")
            append((data[position:middle], data[middle:stop]))
            position = stop
    except IndexError:
        raise ProtocolError("a name-value pair is cut short") from None
    return pairs


def decode_text_pairs(data: bytes) -> dict[str, str]:
    """The pairs of a whole PARAMS stream as PHP-FPM's request hash holds them: names
    and values as str, decoded as UTF-8 with ``surrogateescape``, each name in the
    place it was first sent with the last value sent for it (FCGI-PAIRS-1,
    FCGI-SERVER-1). A stream all ASCII -- every length below 128, as nginx's usually
    are -- is decoded once and its pairs cut out of the text (FCGI-PERF-3), in C where
    phprt/net/_speedups.c is compiled (FCGI-PERF-5); any other goes through
    ``decode_pairs``. Malformed input is the same ``ProtocolError``."""
    if _c_decode_ascii_pairs is not None:
        decoded = _c_decode_ascii_pairs(data)
        if decoded is not None:
            return decoded
    if not data.isascii():
        return {name.decode("utf-8", "surrogateescape"): value.decode("utf-8", "surrogateescape")
                for name, value in decode_pairs(data)}
    text = data.decode("ascii")
    variables: dict[str, str] = {}
    position, end = 0, len(data)
    try:
        while position < end:
            start = position + 2
            middle = start + data[position]
            position = middle + data[position + 1]  # IndexError: the pair ends after its name's length
            variables[text[start:middle]] = text[middle:position]
    except IndexError:
        raise ProtocolError("a name-value pair is cut short") from None
    if position > end:  # only the last pair can run past the end: the loop ends with it
        raise ProtocolError("a name-value pair runs past the end of its stream")
    return variables


@lru_cache(maxsize=64)
def _tail(request_id: int) -> bytes:
    # The empty PARAMS and the empty STDIN that end a request's streams (FCGI-PERF-4).
    return _HEADER.pack(VERSION_1, PARAMS, request_id, 0, 0) + _HEADER.pack(VERSION_1, STDIN, request_id, 0, 0)


@lru_cache(maxsize=64)
def _ending(request_id: int, app_status: int, stderr_used: bool) -> bytes:
    # What ends a response (FCGI-END-1), made once per request id (FCGI-PERF-1).
    data = encode_record(STDOUT, request_id)
    if stderr_used:
        data += encode_record(STDERR, request_id)
    return data + encode_record(END_REQUEST, request_id, struct.pack(">iB3x", app_status, REQUEST_COMPLETE))


class RecordReader:
    """Splits a byte stream into records. A version other than 1 is a
    ``ProtocolError``; ``eof()`` says whether a record was left unfinished."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Record]:
        return [Record(kind, request_id, content) for kind, request_id, content in self.split(data)]

    def split(self, data: bytes) -> list[tuple[int, int, bytes]]:
        """``feed`` as (type, request id, content) tuples. The records are cut out of
        what arrived by their offsets; only an unfinished record's bytes wait in the
        buffer (FCGI-PERF-1)."""
        buffer = self._buffer
        if buffer:
            buffer += data
            data = bytes(buffer)
            buffer.clear()
        elif type(data) is not bytes:
            data = bytes(data)
        records = []
        position, end = 0, len(data)
        unpack = _HEADER.unpack_from
        while end - position >= 8:
            version, kind, request_id, length, padding = unpack(data, position)
            if version != VERSION_1:
                buffer += data[position:]
                raise ProtocolError(f"FastCGI version {version}, not 1")
            start = position + 8
            stop = start + length
            if stop + padding > end:
                break
            records.append((kind, request_id, data[start:stop]))
            position = stop + padding
        if position < end:
            buffer += data[position:] if position else data
        return records

    @property
    def pending(self) -> bool:
        """Bytes of an unfinished record are waiting."""
        return bool(self._buffer)


class Request:
    """A request ready to run: its PARAMS and its whole STDIN, in the sink it was
    written into. ``keep_conn``: the web server keeps the connection for more
    requests. ``variables`` is the PARAMS stream as PHP-FPM's request hash holds it
    (``decode_text_pairs``), made once as the stream ends; ``params`` the pairs in
    the order sent, names and values as bytes, decoded again only when asked for."""

    __slots__ = ("request_id", "stdin", "keep_conn", "variables", "_stream", "_params")

    def __init__(self, request_id: int, stream: bytes, stdin: Sink, keep_conn: bool,
                 variables: dict[str, str] | None = None) -> None:
        self.request_id, self.stdin, self.keep_conn = request_id, stdin, keep_conn
        self.variables = decode_text_pairs(stream) if variables is None else variables
        self._stream = stream
        self._params: tuple[tuple[bytes, bytes], ...] | None = None

    @property
    def params(self) -> tuple[tuple[bytes, bytes], ...]:
        """The PARAMS pairs in the order sent, names and values as bytes (FCGI-PAIRS-1)."""
        if self._params is None:
            self._params = tuple(decode_pairs(self._stream))
        return self._params

    def __repr__(self) -> str:
        return f"Request(request_id={self.request_id!r}, params={self.params!r}, keep_conn={self.keep_conn!r})"


@record(frozen=True)
class Abort:
    """ABORT_REQUEST for the running request: its client is gone (FCGI-ABORT-1)."""

    request_id: int


@record(frozen=True)
class Closed:
    """The web server closed the connection; ``request_id`` the request it abandoned, if one ran."""

    request_id: int | None


Event = Union[Request, Abort, Closed]


class Connection:
    """One transport connection from a web server, serving one request at a time.

    States: waiting for BEGIN_REQUEST; reading PARAMS, then STDIN (``Request`` is
    emitted when STDIN ends); responding (``Abort`` may come), until
    ``end_request``. Then the connection waits for the next request if the web
    server asked to keep it (``KEEP_CONN``), else ``should_close`` is set.
    ``max_params`` and ``max_stdin`` bound what one request may send; its STDIN
    goes into a sink ``stdin()`` makes (default: a ``Buffer``).
    """

    def __init__(self, *, max_params: int = 256 << 10, max_stdin: int = 64 << 20,
                 stdin: Callable[[], Sink] = Buffer) -> None:
        self.max_params, self.max_stdin = max_params, max_stdin
        self._new_stdin = stdin
        self._reader = RecordReader()
        self._out = bytearray()
        self._id: int | None = None  # the request being read or answered
        self._keep = False
        self._phase = "idle"  # idle, params, stdin, running
        self._params: list[bytes] = []  # the PARAMS stream's records so far
        self._params_size = 0
        self._stream_params = b""  # the whole PARAMS stream, once it has ended
        self._variables: dict[str, str] = {}
        self._stdin: Sink | None = None
        self._stdin_size = 0
        self._stderr_used = False
        self.should_close = False  # the protocol wants the connection closed now
        self.closed = False  # the web server has closed it

    @property
    def request_id(self) -> int | None:
        """The request being read or answered, if any."""
        return self._id

    @property
    def started(self) -> bool:
        """A request is being read or answered, or a record has begun to arrive."""
        return self._id is not None or self._reader.pending

    def discard(self) -> None:
        """Close the STDIN of a request that was being read (the connection is closing)."""
        if self._stdin is not None:
            self._stdin.close()
            self._stdin = None

    def data_to_send(self) -> bytes:
        """The replies the protocol made by itself since the last call."""
        if not self._out:
            return b""
        data, self._out = bytes(self._out), bytearray()
        return data

    def receive(self, data: bytes) -> list[Event]:
        """Take bytes from the web server; ``b""`` is its hang-up. Raises
        ``ProtocolError`` on malformed input (FCGI-MALFORMED-1)."""
        if not data:
            self.closed = True
            running = self._id if self._phase == "running" else None
            return [Closed(running)]
        if self._id is None and type(data) is bytes and not self._reader.pending:
            request = self._whole(data)
            if request is not None:
                return [request]
        events: list[Event] = []
        for kind, request_id, content in self._reader.split(data):
            event = self._record(kind, request_id, content)
            if event is not None:
                events.append(event)
        return events

    def _whole(self, data: bytes) -> Request | None:
        """A request that came whole in ``data`` and nothing else -- BEGIN_REQUEST for a
        responder, one PARAMS record with the pairs, the empty PARAMS and the empty STDIN
        that end the streams, as nginx sends a request without a body -- read in one pass,
        to the same ``Request`` and state the records give one by one; None (nothing
        done) for any other bytes, which go the long way (FCGI-PERF-4)."""
        end = len(data)
        if end < 48 or data[1] != BEGIN_REQUEST:
            return None
        version, _, request_id, length, padding, role, flags = _BEGIN.unpack_from(data)
        if version != VERSION_1 or length != 8 or padding or role != RESPONDER or not request_id:
            return None
        version, kind, params_id, length, padding = _HEADER.unpack_from(data, 16)
        stop = 24 + length
        if (version != VERSION_1 or kind != PARAMS or params_id != request_id or not length
                or length > self.max_params or stop + padding + 16 != end or not data.endswith(_tail(request_id))):
            return None
        stream = data[24:stop]
        try:
            variables = decode_text_pairs(stream)
        except ProtocolError:
            return None  # the long way raises it, in the state the records leave
        self._id, self._keep, self._phase, self._stderr_used = request_id, bool(flags & KEEP_CONN), "running", False
        self._stream_params, self._stdin_size = stream, 0
        return Request(request_id, stream, self._new_stdin(), self._keep, variables)

    def _record(self, kind: int, request_id: int, content: bytes) -> Event | None:
        if request_id == self._id and (kind == PARAMS or kind == STDIN):
            return self._stream(kind, request_id, content)  # the active request's streams first (FCGI-PERF-1)
        if kind not in _FROM_SERVER:
            # FCGI-UNKNOWN-1: the spec's reply for a type this side does not know
            self._out += encode_record(UNKNOWN_TYPE, 0, bytes([kind]) + bytes(7))
            return None
        if kind == GET_VALUES:
            if request_id != 0:
                raise ProtocolError("GET_VALUES belongs to request 0")
            asked = decode_pairs(content)
            answer = [(name, MANAGEMENT_VALUES[name]) for name, _ in asked if name in MANAGEMENT_VALUES]
            self._out += encode_record(GET_VALUES_RESULT, 0, encode_pairs(answer))  # FCGI-VALUES-1
            return None
        if request_id == 0:
            raise ProtocolError(f"record type {kind} needs a request id")
        if kind == BEGIN_REQUEST:
            return self._begin(request_id, content)
        if request_id != self._id:
            return None  # records of a request that is not active are ignored (FCGI-MPX-1)
        if kind == ABORT_REQUEST:
            return self._abort(request_id)
        return None  # DATA (a FILTER's stream): ignored

    def _stream(self, kind: int, request_id: int, content: bytes) -> Event | None:
        # A PARAMS or STDIN record of the active request.
        if kind == PARAMS and self._phase == "params":
            if not content:  # the stream is whole: its pairs are decoded now
                chunks = self._params
                stream = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                self._variables, self._stream_params = decode_text_pairs(stream), stream
                self._params, self._params_size, self._phase = [], 0, "stdin"
                self._stdin, self._stdin_size = self._new_stdin(), 0
                return None
            self._params_size += len(content)
            if self._params_size > self.max_params:
                raise ProtocolError("PARAMS too long")
            self._params.append(content)
            return None
        if kind == STDIN and self._phase == "stdin":
            assert self._stdin is not None
            if content:
                self._stdin_size += len(content)
                if self._stdin_size > self.max_stdin:
                    raise ProtocolError("STDIN too long")
                self._stdin.write(content)
                return None
            self._phase = "running"
            stdin, self._stdin = self._stdin, None
            variables, self._variables = self._variables, {}
            return Request(request_id, self._stream_params, stdin, self._keep, variables)
        if self._phase != "running":
            raise ProtocolError("a stream record out of order")
        return None  # input after its end: ignored

    def _begin(self, request_id: int, content: bytes) -> Event | None:
        if len(content) != 8:
            raise ProtocolError("BEGIN_REQUEST's body is 8 bytes")
        role, flags = struct.unpack_from(">HB", content)
        if self._id is not None:
            if request_id == self._id:
                raise ProtocolError("BEGIN_REQUEST for a request already active")
            # FCGI-MPX-1: one request at a time on a connection
            self._out += self._end_record(request_id, 0, CANT_MPX_CONN)
            return None
        if role != RESPONDER:
            # FCGI-ROLE-1: phprt is a responder only
            self._out += self._end_record(request_id, 0, UNKNOWN_ROLE)
            if not flags & KEEP_CONN:
                self.should_close = True
            return None
        self._id, self._keep, self._phase = request_id, bool(flags & KEEP_CONN), "params"
        self._stderr_used = False
        return None

    def _abort(self, request_id: int) -> Event | None:
        if self._phase == "running":
            return Abort(request_id)
        # FCGI-ABORT-1: aborted before it ran: it ends at once
        self._params, self._params_size = [], 0
        self.discard()
        self._out += self.end_request(request_id)
        return None

    # -- the response ------------------------------------------------------------------

    def stdout(self, request_id: int, data: bytes) -> bytes:
        """STDOUT records for ``data`` (FCGI-STDOUT-1)."""
        return encode_stream(STDOUT, request_id, data)

    def stderr(self, request_id: int, data: bytes) -> bytes:
        """STDERR records for ``data`` (FCGI-STDERR-1)."""
        if data:
            self._stderr_used = True
        return encode_stream(STDERR, request_id, data)

    def end_request(self, request_id: int, app_status: int = 0) -> bytes:
        """The end of the response: the empty records that end STDOUT (and STDERR
        if it was used), then END_REQUEST with REQUEST_COMPLETE (FCGI-END-1). The
        connection is then free for the next request, or ``should_close``."""
        data = _ending(request_id, app_status, self._stderr_used)
        if request_id == self._id:
            self._id, self._phase, self._stderr_used = None, "idle", False
            if not self._keep:
                self.should_close = True
        return data

    @staticmethod
    def _end_record(request_id: int, app_status: int, protocol_status: int) -> bytes:
        return encode_record(END_REQUEST, request_id, struct.pack(">iB3x", app_status, protocol_status))
