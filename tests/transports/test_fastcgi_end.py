"""PHP-FPM's end of a response: its last records and END_REQUEST in one write (FPM-END-1).

Recorded with strace on php-fpm8.2 (pm = static, one child) for
``<?php echo "Hello, world!\\n";``: the child's only write to the web server is 112 bytes,
the STDOUT record with the head and body and END_REQUEST together.
"""

from __future__ import annotations

import socket

import pytest

from phprt import Runtime
from phprt.net.fastcgi import (
    BEGIN_REQUEST,
    END_REQUEST,
    PARAMS,
    STDIN,
    STDOUT,
    Connection,
    RecordReader,
    encode_pairs,
    encode_record,
)
from phprt.transports.fastcgi import FastCgiTransport, FcgiConnection

REQUEST = (encode_record(BEGIN_REQUEST, 1, b"\0\1\1\0\0\0\0\0")
           + encode_record(PARAMS, 1, encode_pairs([(b"REQUEST_METHOD", b"GET")])) + encode_record(PARAMS, 1)
           + encode_record(STDIN, 1))


class _Counted(FcgiConnection):
    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock, 10.0, Connection())
        self.sends: list[bytes] = []

    def send(self, data: bytes) -> bool:
        if data:
            self.sends.append(data)
        return super().send(data)


def _run(script: str) -> tuple[list[bytes], list[tuple[int, bytes]]]:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        channel = _Counted(ours)
        channel.in_loop = False
        channel.protocol.receive(REQUEST)
        transport = FastCgiTransport(channel, 1, {"REQUEST_METHOD": "GET"}, b"")
        with Runtime(transport=transport, sapi="fpm", ini={"expose_php": "0"}) as rt:
            exec(script, {"rt": rt})
        theirs.settimeout(10)
        received, reader, records = b"", RecordReader(), []
        while not any(record.type == END_REQUEST for record in records):
            chunk = theirs.recv(65536)
            assert chunk, "the connection ended before END_REQUEST"
            received += chunk
            records += reader.feed(chunk)
    assert received == b"".join(channel.sends)
    return channel.sends, [(record.type, record.content) for record in records]


@pytest.mark.clause("FPM-END-1")
def test_a_response_within_the_record_buffer_goes_out_with_end_request_in_one_write() -> None:
    sends, records = _run("rt.echo('Hello, world!\\n')")
    assert len(sends) == 1
    assert records[0] == (STDOUT, b"Content-type: text/html; charset=UTF-8\r\n\r\nHello, world!\n")
    assert records[-1][0] == END_REQUEST


@pytest.mark.clause("FPM-END-1", "SAPI-FPM-1")
def test_a_flush_still_writes_at_once_and_only_the_rest_waits_for_end_request() -> None:
    sends, records = _run("rt.echo('one'); rt.flush(); rt.echo('two')")
    assert len(sends) == 2
    assert [content for kind, content in records if kind == STDOUT and content][1:] == [b"two"]
    assert records[-1][0] == END_REQUEST
