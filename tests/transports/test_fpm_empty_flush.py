"""PHP-FPM's flush() with an empty record buffer still writes (SAPI-FPM-3).

Recorded with strace on php-fpm8.2 (one static child, unix socket) for ``echo 11 bytes;
flush(); usleep(300000); flush();`` with a client that reads 10 body bytes and hangs up: the
second flush() is ``write(4, "", 0) = -1 EPIPE``, the script stops there and its shutdown
function sees connection_status() 1 (spec/cases/fuzz.toml, fuzz-fpm-empty-flush-after-hang-up).
Here the transport runs on a socketpair with no server loop, so only that zero-length write
can notice the peer is gone.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from phprt import Runtime
from phprt.net.fastcgi import BEGIN_REQUEST, PARAMS, STDIN, Connection, encode_pairs, encode_record
from phprt.transports.fastcgi import FastCgiTransport, FcgiConnection
from phprt.transports.fpm import RecordBuffer

REQUEST = (encode_record(BEGIN_REQUEST, 1, b"\0\1\1\0\0\0\0\0")
           + encode_record(PARAMS, 1, encode_pairs([(b"REQUEST_METHOD", b"GET")])) + encode_record(PARAMS, 1)
           + encode_record(STDIN, 1))


def _run(hang_up: bool) -> dict[str, Any]:
    """echo 11 bytes, flush(), the peer reads (and closes if ``hang_up``), flush()."""
    ours, theirs = socket.socketpair()
    seen: dict[str, Any] = {}
    with ours, theirs:
        channel = FcgiConnection(ours, 10.0, Connection())
        channel.in_loop = False  # the request's thread, as the responder runs it
        channel.protocol.receive(REQUEST)
        transport = FastCgiTransport(channel, 1, {"REQUEST_METHOD": "GET"}, b"")
        with Runtime(transport=transport, sapi="fpm", ini={"expose_php": "0"}) as rt:
            rt.register_shutdown_function(lambda: seen.update(status=rt.connection_status()))
            rt.echo("h" * 11)
            rt.flush()
            theirs.settimeout(10)
            assert b"hhhhhhhhhhh" in theirs.recv(65536)
            if hang_up:
                theirs.shutdown(socket.SHUT_RDWR)
                theirs.close()
            rt.flush()  # nothing buffered
            seen["ran on"] = True
    return seen


@pytest.mark.clause("SAPI-FPM-3", "CONN-ABORT-1")
def test_an_empty_flush_after_the_peer_closed_is_a_client_abort() -> None:
    assert _run(hang_up=True) == {"status": 1}


@pytest.mark.clause("SAPI-FPM-3")
def test_an_empty_flush_with_the_peer_there_succeeds() -> None:
    assert _run(hang_up=False) == {"status": 0, "ran on": True}


@pytest.mark.clause("SAPI-FPM-3", "SAPI-FPM-1")
def test_the_record_buffer_writes_on_a_flush_with_nothing_buffered() -> None:
    writes: list[list[tuple[int, bytes]]] = []

    def deliver(pieces: list[tuple[int, bytes]]) -> bool:
        writes.append(pieces)
        return len(writes) < 2  # the client is gone from the second write on

    records = RecordBuffer(deliver)
    assert records.flush() is True
    assert records.flush() is False  # the second write met a client that had gone
    assert writes == [[], []]
    records.close()  # fcgi_end(): the last write, END_REQUEST's
    assert len(writes) == 3
    assert records.flush() is False and len(writes) == 3  # fcgi_close(): no socket to write to
