"""The protocol layers' fast paths give what the long ways give (SERVE-PERF-*, FCGI-PERF-*).

No timing here: each fast path is checked against the way it short-cuts -- the HTTP parser
with its whole-head step turned off, every response's lines read one by one as the framing
rules say, the FastCGI records fed in every split -- on ordinary, odd and malformed input.
"""

from __future__ import annotations

import os
import random
import struct
from pathlib import Path
from typing import Any

import pytest

from phprt.engine.records import replace
from phprt.http.headers import ResponseHead
from phprt.net import fastcgi as fastcgi_protocol
from phprt.net import http11
from phprt.net.fastcgi import (
    END_REQUEST,
    GET_VALUES,
    PARAMS,
    REQUEST_COMPLETE,
    STDERR,
    STDIN,
    STDOUT,
    Connection,
    ProtocolError,
    decode_pairs,
    decode_text_pairs,
    encode_pairs,
    encode_record,
    encode_stream,
)
from phprt.net.fastcgi import Request as FcgiRequest
from phprt.net.fpm import fpm_server_variables
from phprt.net.http11 import (
    CLOSED,
    NEED_DATA,
    Framing,
    HttpError,
    Limits,
    Request,
    RequestHead,
    RequestParser,
    ResponseWriter,
    declared_length,
)
from phprt.transports.heads import cgi_form

# -- HTTP: the whole head at once (SERVE-PERF-1) ----------------------------------------------

SMALL = Limits(request_line=40, header_section=120, header_count=4, body=64, chunk_line=32)

HEADS = [
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n",
    b"GET /index.py?a=1&b=2 HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: Mozilla/5.0 (X11)\r\n"
    b"Accept: text/html,*/*;q=0.8\r\nCookie: a=1; b=2\r\nConnection: keep-alive\r\n\r\n",
    b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /next HTTP/1.1\r\nHost: h\r\n\r\n",
    b"POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
    b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/1.2\r\nHost: h\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\nX-U: caf\xc3\xa9 \xff\xfe\r\nX-E:\r\nX-S: \t  \t\r\nX-T:\t a\tb \t\r\n\r\n",
    b"GET / HTTP/1.1\r\nhost: h\r\nCONTENT-length: 0\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 2\r\n\r\nok",
    b"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",  # empty lines first: read line by line
    b"GET / HTTP/1.1\nHost: h\n\n",  # bare LF
    b"GET / HTTP/1.1\r\nHost: h\nX: 1\r\n\r\n",
    b"GET http://example.com/a?b HTTP/1.1\r\nHost: example.com\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
    b"CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET / HTTP/2.0\r\nHost: h\r\n\r\n",
    b"GET / http/1.1\r\nHost: h\r\n\r\n",
    b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
    b"G@T / HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET /a\x7fb HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost : h\r\n\r\n",
    b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
    b"GET / HTTP/1.1\r\n\r\n",  # no Host
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
    b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:  \r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n",  # over SMALL's body limit
    b"GET /" + b"a" * 26 + b" HTTP/1.1\r\nHost: h\r\n\r\n",  # a request line of 40 bytes
    b"GET /" + b"a" * 27 + b" HTTP/1.1\r\nHost: h\r\n\r\n",  # and of 41
    b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",  # 4 fields
    b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",  # 5
    b"GET / HTTP/1.1\r\nHost: h\r\nX: " + b"v" * 106 + b"\r\n\r\n",  # a section of 120 bytes
    b"GET / HTTP/1.1\r\nHost: h\r\nX: " + b"v" * 107 + b"\r\n\r\n",  # and of 121
    b"GET / HTTP/1.1\r\nHost: h\r\nX: a" + b" \t" * 3000 + b"b" + b" " * 3000 + b"\r\n\r\n",  # runs of blanks
    b"GET / HTTP/1.1\r\nHost: h\r\n",  # not whole
    b"GET / HT",
    b"",
]


def _events(data: bytes, pieces: int | None, limits: Limits) -> list[Any]:
    """What the parser makes of ``data`` fed whole (None) or ``pieces`` bytes at a time, then its end."""
    parser = RequestParser(limits)
    out: list[Any] = []
    chunks = [data] if pieces is None else [data[i:i + pieces] for i in range(0, len(data), pieces)]
    try:
        for chunk in [*chunks, None]:
            if chunk is None:
                parser.feed_eof()
            else:
                parser.feed(chunk)
            while True:
                event = parser.next_event()
                if event is NEED_DATA:
                    break
                if event is CLOSED:
                    out.append("closed")
                    return out
                if isinstance(event, RequestHead):
                    out.append(("head", event, event.persistent, event.expects_continue))
                else:
                    assert isinstance(event, Request)
                    out.append(("request", bytes(event.body)))  # type: ignore[arg-type]
                    parser.next_request()
    except HttpError as error:
        out.append(("refused", error.status, str(error), error.head, error.version, error.method, error.target))
    return out


def _line_by_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RequestParser, "_plain_head", lambda self: None)


def _mutations(count: int) -> list[bytes]:
    chooser = random.Random(13)
    alphabet = b" \t\r\n:,\x00\x7f\xff/aZ0"
    out = []
    for _ in range(count):
        data = bytearray(chooser.choice(HEADS[:12]))
        for _ in range(chooser.randint(1, 3)):
            where = chooser.randrange(len(data) + 1)
            action = chooser.randrange(3)
            if action == 0 and where < len(data):
                data[where] = chooser.choice(alphabet)
            elif action == 1:
                data[where:where] = bytes([chooser.choice(alphabet)])
            else:
                del data[where:where + 1]
        out.append(bytes(data))
    return out


@pytest.mark.clause("SERVE-PERF-1", "SERVE-PARSE-1", "SERVE-PARSE-2", "SERVE-SMUGGLE-1", "SERVE-LIMIT-1")
@pytest.mark.parametrize("limits", [Limits(), SMALL], ids=["default", "small"])
def test_the_whole_head_at_once_is_what_reading_it_line_by_line_gives(
        limits: Limits, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = HEADS + _mutations(300)
    fast = [_events(data, None, limits) for data in corpus]
    in_pieces = [_events(data, 7, limits) for data in corpus]
    _line_by_line(monkeypatch)
    slow = [_events(data, None, limits) for data in corpus]
    for data, got, expected, pieces in zip(corpus, fast, slow, in_pieces):
        assert got == expected, data
        assert pieces == expected, data


@pytest.mark.clause("SERVE-PERF-1")
def test_an_ordinary_head_is_read_in_one_step() -> None:
    parser = RequestParser()
    parser.feed(HEADS[1])
    head = parser._plain_head()
    assert head is not None and head.target == "/index.py?a=1&b=2" and len(head.headers) == 5
    assert head.headers[0] == ("Host", "localhost:8080") and head.persistent
    for data in (HEADS[12], HEADS[13], HEADS[15], HEADS[17], b"GET / HTTP/1.1\r\nHost: h\r\n"):
        parser = RequestParser()
        parser.feed(data)
        assert parser._plain_head() is None  # read line by line


@pytest.mark.clause("SERVE-PERF-3", "SERVE-PERF-1", "SERVE-LIMIT-1")
def test_a_head_read_before_is_that_head_again_and_one_with_a_body_is_read_anew() -> None:
    http11._READ_HEADS.clear()
    kept_alive = _events(HEADS[1] * 3, None, Limits())
    heads = [event[1] for event in kept_alive if event[0] == "head"]
    assert len(heads) == 3 and heads[0] is heads[1] is heads[2]  # one head, read once
    assert [event if isinstance(event, str) else event[0] for event in kept_alive] == ["head", "request"] * 3 + ["closed"]
    posted = b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok"
    first, second = (event[1] for event in _events(posted * 2, None, Limits()) if event[0] == "head")
    assert first == second and first is not second  # a head with a body: not remembered
    assert list(http11._READ_HEADS.items()) == [(HEADS[1], (Limits(), heads[0]))]
    # the same bytes under other limits are read under those: here a header section too long
    assert _events(HEADS[1], None, SMALL)[0][:3] == ("refused", 431, "header section too long")


# -- HTTP: the response's lines read once (SERVE-PERF-2) ------------------------------------------


def _reference(request: RequestHead, status: int, lines: list[str], own_close: int | None,
               closing: bool) -> tuple[tuple[str, int | None, bool], bytes]:
    """SERVE-FRAME-1, SERVE-KEEP-1 and SERVE-HEAD-1 read from every line, one by one."""
    def fields(skip: int | None) -> list[tuple[str, str]]:
        pairs = []
        for index, line in enumerate(lines):
            name, colon, value = line.partition(":")
            if colon and index != skip:
                pairs.append((name.strip(" \t").lower(), value.strip(" \t")))
        return pairs

    def tokens(pairs: list[tuple[str, str]]) -> list[str]:
        return [part.strip(" \t").lower() for key, value in pairs if key == "connection" for part in value.split(",")]

    seen = fields(own_close)
    lengths = [value for key, value in seen if key == "content-length"]
    length = None
    if not http11.body_allowed(request.method, status):
        mode = "none"
    elif any(key == "transfer-encoding" for key, _ in seen):
        mode = "verbatim"
    elif lengths:
        length = declared_length(lengths)
        mode = "close" if length is None else "length"
    else:
        mode = "chunked" if request.version >= (1, 1) else "close"
    persistent = (request.persistent and not closing and mode in ("none", "length", "chunked")
                  and "close" not in tokens(seen))
    out = [f"{'HTTP/1.1' if request.version >= (1, 1) else 'HTTP/1.0'} {status} R"]
    out += [line for index, line in enumerate(lines) if not (index == own_close and persistent)]
    connection = tokens(fields(own_close if persistent else None))
    if persistent and request.version < (1, 1) and "keep-alive" not in connection:
        out.append("Connection: keep-alive")
    if not persistent and "close" not in connection:
        out.append("Connection: close")
    if mode == "chunked":
        out.append("Transfer-Encoding: chunked")
    return (mode, length, persistent), "".join(f"{line}\r\n" for line in (*out, "")).encode()


@pytest.mark.clause("SERVE-PERF-2", "SERVE-FRAME-1", "SERVE-HEAD-1", "SERVE-KEEP-1")
def test_the_lines_read_once_give_the_framing_and_head_of_every_line_read() -> None:
    own = ["Host: h", "Date: d", "Connection: close"]
    extra = [[], ["Content-Length: 3"], ["content-length: 3, 3"], ["Content-Length: x"], ["Connection: close"],
             ["connection: Keep-Alive"], ["\tContent-Length: 4"], [" Transfer-Encoding: chunked"],
             ["Transfer-Encoding: gzip"], ["Connection: upgrade, CLOSE"], ["No colon line"], [""],
             ["X-Connection: close", "XContent-Length: 9"], ["Content-type: text/html", "Content-Length: 0"],
             ["T: 1", "c: 2", "Cookie: a"]]
    requests = [RequestHead(method, "/", "/", version, "HTTP/1.x", headers)
                for method in ("GET", "HEAD") for version in ((1, 1), (1, 0))
                for headers in ((), (("Connection", "keep-alive"),), (("Connection", "close"),))]
    for request in requests:
        for status in (200, 204, 304, 404):
            for more in extra:
                for lines, own_close in ((own + more, 2), (more, None), (["Connection: keep-alive", *more], 0)):
                    for closing in (False, True):
                        writer = ResponseWriter(request, closing=lambda closing=closing: closing)
                        head = writer.head(status, "R", lines, own_close=own_close)
                        framing, expected = _reference(request, status, lines, own_close, closing)
                        assert writer.framing is not None
                        assert (writer.framing.mode, writer.framing.length, writer.framing.persistent) == framing
                        assert head == expected
                        planned = http11.plan_response(request, status, lines, own_close=own_close, closing=closing)
                        assert planned == writer.framing
                        assert http11.render_head(request, status, "R", lines, planned, own_close=own_close) == head


# -- FastCGI: the protocol core (FCGI-PERF-1) -------------------------------------------------------


def _stream() -> bytes:
    params = encode_pairs([(b"SCRIPT_FILENAME", b"/srv/index.py"), (b"REQUEST_METHOD", b"POST"),
                           (b"HTTP_X", b"v" * 300), (b"N" * 130, b""), (b"QUERY_STRING", b"a=1")])
    return (encode_record(GET_VALUES, 0, encode_pairs([(b"FCGI_MPXS_CONNS", b"")]))
            + encode_record(1, 1, struct.pack(">HB5x", 1, 1)) + encode_record(PARAMS, 2, b"other")
            + encode_record(PARAMS, 1, params[:100]) + encode_record(PARAMS, 1, params[100:])
            + encode_record(PARAMS, 1) + encode_record(99, 1, b"?") + encode_record(STDIN, 1, b"bo")
            + encode_record(STDIN, 1, b"dy") + encode_record(STDIN, 1)
            + encode_record(PARAMS, 1, b"late") + encode_record(STDIN, 1, b"late"))  # after its end: ignored


def _received(pieces: list[bytes]) -> list[Any]:
    connection = Connection()
    out: list[Any] = []
    for piece in pieces:
        for event in connection.receive(piece):
            out.append((type(event).__name__, getattr(event, "params", None), bytes(getattr(event, "stdin", b""))))
    return [*out, connection.data_to_send(), connection.request_id, connection.started]


@pytest.mark.clause("FCGI-PERF-1", "FCGI-RECORD-1", "FCGI-PAIRS-1")
def test_records_cut_by_offset_give_the_same_events_in_every_split() -> None:
    stream = _stream()
    whole = _received([stream])
    assert [event[0] for event in whole[:-3]] == ["Request"] and whole[0][2] == b"body"
    assert len(whole[0][1]) == 5 and whole[-3]  # the replies: GET_VALUES_RESULT, UNKNOWN_TYPE
    for cut in range(1, len(stream)):
        assert _received([stream[:cut], stream[cut:]]) == whole, cut
    assert _received([bytes([byte]) for byte in stream]) == whole
    assert _received([bytearray(stream)]) == whole  # what arrives may be a bytearray
    assert _received([stream[:-3]])[-1] is True  # an unfinished record waits
    for bad in (b"\x02" + bytes(7), encode_record(STDIN, 1) + b"\x00" + bytes(7)):
        with pytest.raises(ProtocolError):
            Connection().receive(bad)


@pytest.mark.clause("FCGI-PERF-1", "FCGI-PAIRS-1")
def test_pairs_decoded_in_one_pass_round_trip_and_refuse_every_cut() -> None:
    chooser = random.Random(7)
    sizes = (0, 1, 126, 127, 128, 129, 300)
    pairs = [(bytes(chooser.randrange(256) for _ in range(chooser.choice(sizes))),
              bytes(chooser.randrange(256) for _ in range(chooser.choice(sizes)))) for _ in range(40)]
    encoded = encode_pairs(pairs)
    assert decode_pairs(encoded) == pairs
    assert all(type(name) is bytes and type(value) is bytes for name, value in decode_pairs(encoded))
    short = encode_pairs(pairs[:3])
    for cut in range(1, len(short)):
        if cut in (len(encode_pairs(pairs[:1])), len(encode_pairs(pairs[:2]))):
            assert decode_pairs(short[:cut]) == pairs[:len(decode_pairs(short[:cut]))]
            continue
        with pytest.raises(ProtocolError):
            decode_pairs(short[:cut])


@pytest.mark.clause("FCGI-PERF-1", "FCGI-LIMIT-1")
def test_params_in_many_records_are_joined_and_bounded() -> None:
    params = encode_pairs([(b"A", b"x" * 50), (b"B", b"y")])
    begin = encode_record(1, 1, struct.pack(">HB5x", 1, 0))
    records = b"".join(encode_record(PARAMS, 1, params[i:i + 3]) for i in range(0, len(params), 3))
    events = Connection().receive(begin + records + encode_record(PARAMS, 1) + encode_record(STDIN, 1))
    assert events[0].params == ((b"A", b"x" * 50), (b"B", b"y"))  # type: ignore[union-attr]
    Connection(max_params=len(params)).receive(begin + records)
    with pytest.raises(ProtocolError):
        Connection(max_params=len(params) - 1).receive(begin + records)


@pytest.mark.clause("FCGI-PERF-1", "FCGI-END-1", "FCGI-STDOUT-1")
def test_the_ending_and_one_record_streams_are_the_records_spelled_out() -> None:
    for request_id in (1, 2, 258, 65535):
        for stderr in (False, True):
            connection = Connection()
            connection.receive(encode_record(1, request_id, struct.pack(">HB5x", 1, 1)))
            if stderr:
                connection.stderr(request_id, b"log")
            expected = encode_record(STDOUT, request_id) + (encode_record(STDERR, request_id) if stderr else b"")
            expected += encode_record(END_REQUEST, request_id, struct.pack(">iB3x", 0, REQUEST_COMPLETE))
            assert connection.end_request(request_id) == expected
    for size in (1, 7, 8, 9, 65535):
        data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
        assert encode_stream(STDOUT, 9, data) == encode_record(STDOUT, 9, data)


# -- FastCGI: $_SERVER and the head (FCGI-PERF-2) ------------------------------------------------


@pytest.mark.clause("FCGI-PERF-2", "FCGI-SERVER-1", "FCGI-PATHINFO-1")
def test_the_request_hash_and_the_path_check_are_those_of_the_long_way(tmp_path: Path) -> None:
    server, _ = fpm_server_variables([("A", "1"), ("FCGI_ROLE", "X"), ("B", "2"), ("A", "3")], now=1.0)
    assert list(server)[:3] == ["B", "A", "FCGI_ROLE"] and server["A"] == "3" and server["FCGI_ROLE"] == "X"
    (tmp_path / "a..b").mkdir()
    (tmp_path / "d").mkdir()
    for name in ("a..b/x.py", "..x.py", "x.py"):
        (tmp_path / name).write_text("")
    root = str(tmp_path)
    for path, valid in ((f"{root}/a..b/x.py", True), (f"{root}/..x.py", True), (f"{root}/d/../x.py", False),
                        (f"{root}/x.py", True), (f"{root}/d/..", False)):
        script = fpm_server_variables([("SCRIPT_FILENAME", path)], now=1.0)[1]
        assert (script is not None) is valid, path


@pytest.mark.clause("FCGI-PERF-2", "FCGI-STDOUT-1")
def test_a_cgi_head_for_a_200_is_the_head_block_as_it_is() -> None:
    lines = ("X-Powered-By: PHP/8.2", "Content-type: text/html; charset=UTF-8")
    for head in (ResponseHead(200, "OK", lines), ResponseHead(None, "", lines), ResponseHead(200, "OK", ()),
                 ResponseHead(200, "OK", lines, charset="iso-8859-1")):
        assert cgi_form(head) == replace(head, status_line=False, own_close=None).block()
    assert cgi_form(ResponseHead(404, "Not Found", lines)).startswith(b"Status: 404 Not Found\r\n")
    with_status_line = ResponseHead(200, "OK", ("HTTP/1.1 200 OK", *lines), status_line=True, own_close=None)
    assert cgi_form(with_status_line) == "".join(f"{line}\r\n" for line in (*lines, "")).encode()



# -- FastCGI: PARAMS as text, one stat, the head block made once (FCGI-PERF-3) ------------------


def _text_pairs_long_way(data: bytes) -> dict[str, str]:
    variables: dict[str, str] = {}
    for name, value in decode_pairs(data):
        variables[name.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
    return variables


@pytest.mark.clause("FCGI-PERF-3", "FCGI-PERF-5", "FCGI-PAIRS-1")
@pytest.mark.parametrize("decoder", ["c", "python"])
def test_params_as_text_are_the_pairs_decoded_one_by_one(decoder: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # the C decoder where it is compiled (FCGI-PERF-5), and the Python one, give the same dicts and errors
    if decoder == "python":
        monkeypatch.setattr(fastcgi_protocol, "_c_decode_ascii_pairs", None)
    elif fastcgi_protocol._c_decode_ascii_pairs is None:
        pytest.skip("phprt.net._speedups is not compiled")
    chooser = random.Random(13)
    ascii_pairs = [(b"REQUEST_METHOD", b"GET"), (b"X", b""), (b"", b"v"), (b"A", b"1"), (b"B", b"x" * 127),
                   (b"A", b"3"), (b"SCRIPT_FILENAME", b"/srv/www/index.py")]
    streams = [encode_pairs(ascii_pairs), b"",
               encode_pairs([(b"H", b"y" * 128)]),  # a 4-byte length: not all ASCII
               encode_pairs([(b"N\xc3\xa9", b"caf\xc3\xa9"), (b"BAD", b"\xff\xfe")])]
    for _ in range(30):
        streams.append(encode_pairs([(bytes(chooser.randrange(128) for _ in range(chooser.choice((0, 1, 5, 127)))),
                                      bytes(chooser.randrange(256 if chooser.random() < 0.2 else 128)
                                            for _ in range(chooser.choice((0, 3, 127, 200)))))
                                     for _ in range(chooser.randrange(1, 12))]))
    for stream in streams:
        assert decode_text_pairs(stream) == _text_pairs_long_way(stream)
        assert list(decode_text_pairs(stream)) == list(_text_pairs_long_way(stream))  # the same order
    plain = encode_pairs(ascii_pairs)
    for cut in range(1, len(plain)):
        try:
            expected: Any = _text_pairs_long_way(plain[:cut])
        except ProtocolError:
            expected = ProtocolError
        if expected is ProtocolError:
            with pytest.raises(ProtocolError):
                decode_text_pairs(plain[:cut])
        else:
            assert decode_text_pairs(plain[:cut]) == expected


@pytest.mark.clause("FCGI-PERF-3", "FCGI-BEGIN-1", "FCGI-PAIRS-1")
def test_a_request_carries_its_params_as_sent_and_as_text() -> None:
    pairs = [(b"A", b"1"), (b"N\xc3\xa9", b"\xff"), (b"A", b"2")]
    begin = encode_record(1, 1, struct.pack(">HB5x", 1, 0))
    events = Connection().receive(begin + encode_record(PARAMS, 1, encode_pairs(pairs)) + encode_record(PARAMS, 1)
                                  + encode_record(STDIN, 1))
    request = events[0]
    assert isinstance(request, FcgiRequest)
    assert request.params == tuple(pairs)
    assert request.variables == {"A": "2", "N\u00e9": "\udcff"}


@pytest.mark.clause("FCGI-PERF-3", "FCGI-SCRIPT-1", "RT-SCRIPT-2")
def test_a_fastcgi_request_asks_the_file_system_about_its_script_once(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from phprt.engine.runtime import Runtime
    from phprt.engine.script import execute
    from phprt.net.docroot import DocumentRoot
    from phprt.net.fpm import fpm_request
    from phprt.transports.memory import MemoryTransport

    script = tmp_path / "index.py"
    script.write_text("print('one', end='')\n")
    root = DocumentRoot(tmp_path)
    params = {"REQUEST_METHOD": "GET", "SCRIPT_FILENAME": str(script), "DOCUMENT_ROOT": str(tmp_path),
              "SCRIPT_NAME": "/index.py"}
    real_stat = os.stat
    asked: list[str] = []

    def counting_stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        asked.append(os.fspath(path))
        return real_stat(path, *args, **kwargs)

    def request() -> bytes:
        server, path, status = fpm_request(params)
        assert path is not None
        found = root.script(path, status)
        transport = MemoryTransport(server=server)
        execute(Runtime(transport=transport, sapi="cgi", capture_print=True), found, [path], status)
        return transport.body

    assert request() == b"one"
    monkeypatch.setattr(os, "stat", counting_stat)
    assert request() == b"one"
    assert asked.count(str(script)) == 1 and all(os.path.basename(name) != "index.py" or name == str(script)
                                                 for name in asked)
    script.write_text("print('two, changed', end='')\n")  # a change is seen by the next request
    assert request() == b"two, changed"


@pytest.mark.clause("FCGI-PERF-3", "FCGI-STDOUT-1")
def test_the_head_block_php_fpm_made_is_the_cgi_head_sent(tmp_path: Path) -> None:
    import socket

    from phprt.transports.fastcgi import FastCgiTransport, FcgiConnection

    lines = ("X-Powered-By: PHP/8.2", "Content-type: text/html; charset=UTF-8")
    heads = [ResponseHead(200, "OK", lines), ResponseHead(None, "", lines), ResponseHead(200, "OK", ()),
             ResponseHead(404, "Not Found", ("Status: 404 Not Found", *lines)),
             ResponseHead(404, "Not Found", lines),
             ResponseHead(200, "OK", ("HTTP/1.1 200 OK", *lines), status_line=True),
             ResponseHead(200, "OK", lines, charset="iso-8859-1")]
    left, right = socket.socketpair()
    with left, right:
        channel = FcgiConnection(left, 1.0, Connection())
        for head in heads:
            short, long = FastCgiTransport(channel, 1, {}, b""), FastCgiTransport(channel, 1, {}, b"")
            short.send_cgi_block(head, head.block())
            long.send_headers(head)
            assert short._head == long._head == cgi_form(head), head


# -- FastCGI: a request that arrives whole, read in one pass (FCGI-PERF-4) --------------------------


class _RecordByRecord(Connection):
    """The long way only: every read goes through the records one by one."""

    def _whole(self, data: bytes) -> None:
        return None


def _outcome(connection: Connection, pieces: list[bytes]) -> list[Any]:
    out: list[Any] = []
    for piece in pieces:
        try:
            events = connection.receive(piece)
        except ProtocolError as error:
            out.append(("ProtocolError", str(error)))
            break
        for event in events:
            if isinstance(event, FcgiRequest):
                out.append(("Request", event.request_id, event.params, event.variables, event.keep_conn,
                            bytes(event.stdin)))  # type: ignore[call-overload]
            else:
                out.append(event)
    state = (connection.request_id, connection.started, connection.should_close, connection.data_to_send(),
             connection._phase, connection._keep, connection._stream_params, connection._stdin_size)
    return [*out, state]


def _both(pieces: list[bytes], before: list[bytes] = [], **limits: int) -> list[Any]:  # noqa: B006
    results = []
    for kind in (Connection, _RecordByRecord):
        connection = kind(**limits)
        _outcome(connection, before)
        if connection.request_id is not None:
            connection.end_request(connection.request_id)
        results.append(_outcome(connection, pieces))
        if connection.request_id is not None:  # the connection goes on as the long way's does
            connection.end_request(connection.request_id)
            results.append(_outcome(connection, pieces))
    assert results[:len(results) // 2] == results[len(results) // 2:]
    return results[0]


def _nginx_request(request_id: int = 1, flags: int = 1, role: int = 1, padding: bool = True) -> bytes:
    pairs = [(b"SCRIPT_FILENAME", b"/srv/index.py"), (b"REQUEST_METHOD", b"GET"), (b"QUERY_STRING", b"a=1"),
             (b"REQUEST_URI", b"/index.py?a=1" if padding else b"/index.py?a=12")]
    return (encode_record(1, request_id, struct.pack(">HB5x", role, flags))
            + encode_record(PARAMS, request_id, encode_pairs(pairs)) + encode_record(PARAMS, request_id)
            + encode_record(STDIN, request_id))


@pytest.mark.clause("FCGI-PERF-4", "FCGI-RECORD-1", "FCGI-PAIRS-1", "FCGI-BEGIN-1", "FCGI-MALFORMED-1")
def test_a_request_read_whole_in_one_pass_is_the_request_its_records_give() -> None:
    requests = [_nginx_request(request_id, flags, padding=padding)
                for request_id in (1, 258) for flags in (0, 1, 3) for padding in (True, False)]
    assert all(Connection()._whole(request) is not None for request in requests)  # the short way is taken
    for request in requests:
        whole = _both([request])
        assert whole[0][0] == "Request" and whole[0][3]["REQUEST_METHOD"] == "GET"
        _both([request], before=[request])  # the next request on a kept connection
        _both([request], before=[_nginx_request(7)[:20]])  # a record begun before: the long way
        _both([request], before=[_nginx_request()[:-8]])  # a request still being read
        _both([request], max_params=len(request) - 64)  # PARAMS over the bound
        for cut in range(1, len(request)):
            _both([request[:cut], request[cut:]])
            _both([request[:cut]])
        _both([request + encode_record(STDIN, 1, b"x")])  # more than the request: the long way
        _both([request + b"\x01"])
        _both([bytearray(request)])
        for position in range(len(request)):
            for value in {0, 1, 2, 4, 5, 0x7F, 0x80, 0xFF, request[position] ^ 1}:
                mutated = request[:position] + bytes([value]) + request[position + 1:]
                _both([mutated])
    for other in (_nginx_request(role=2), _nginx_request(request_id=0), _stream()):
        assert Connection()._whole(other) is None
        _both([other])


@pytest.mark.clause("SERVE-PERF-2", "SERVE-FRAME-1", "SERVE-FRAME-2")
def test_the_lines_read_are_remembered_within_bounds_and_completeness_follows_the_body() -> None:
    lines = ["Host: h", "Date: d", "Connection: close", "Content-Length: 3"]
    assert http11._scan(lines, 2) == (("3",), False, (), ("close",))
    assert http11._scan(lines, None) == (("3",), False, ("close",), ())  # own_close is part of what is read
    request = RequestHead("GET", "/", "/", (1, 1), "HTTP/1.1", ())
    plain = RequestHead("GET", "/", "/", (1, 0), "HTTP/1.0", ())

    def head(request: RequestHead, lines: list[str], own_close: int | None = None, status: int = 200,
             closing: bool = False) -> tuple[Framing | None, bytes]:
        writer = ResponseWriter(request, closing=lambda: closing)
        block = writer.head(status, "OK", lines, own_close=own_close)
        return writer.framing, block

    first = head(request, lines, 2)
    assert first == (Framing("length", 3, True), b"HTTP/1.1 200 OK\r\nHost: h\r\nDate: d\r\nContent-Length: 3\r\n\r\n")
    again = head(request, list(lines), 2)
    assert again[0] is first[0] and again[1] is first[1]  # remembered: the same framing and bytes
    assert head(request, lines) == (Framing("length", 3, False),  # own_close is part of what is made of
                                    b"HTTP/1.1 200 OK\r\nHost: h\r\nDate: d\r\nConnection: close\r\n"
                                    b"Content-Length: 3\r\n\r\n")
    assert head(request, lines, 2, closing=True)[0] == Framing("length", 3, False)  # and the server closing
    assert head(plain, lines, 2) == (Framing("length", 3, False),  # and the request's version
                                     b"HTTP/1.0 200 OK\r\nHost: h\r\nDate: d\r\nConnection: close\r\n"
                                     b"Content-Length: 3\r\n\r\n")
    assert head(request, ["Host: h"], None, 304)[0] == Framing("none", None, True)  # and the status
    long = ["X-Big: " + "y" * 4096, "Content-Length: 1"]
    assert head(request, long)[1] is not head(request, long)[1]  # too long to keep: made each time
    for index in range(200):
        head(request, [f"X-N: {index}"])
    assert len(http11._HEADS) <= http11._HEADS.size
    for mode_lines, writes, complete in (
            (["Content-Length: 3"], [b"ab", b"cd"], [False, True]),  # the length reached: no more goes
            ([], [b"ab", b"cd"], [False, False]),  # chunked: complete at its end
            (["Content-Length: 0"], [], [])):
        writer = ResponseWriter(request)
        writer.head(200, "OK", mode_lines)
        encoder = writer.encoder
        assert encoder is not None and encoder.complete is (mode_lines == ["Content-Length: 0"])
        assert [(writer.body(data), encoder.complete)[1] for data in writes] == complete
        writer.end()
        assert encoder.complete is (encoder.mode != "length" or encoder.remaining == 0)
