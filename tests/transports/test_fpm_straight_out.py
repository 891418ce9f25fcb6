"""Output appended straight out to PHP-FPM's record buffer (PERF-OB-5) leaves it when
fcgi_write() would: main/fastcgi.c keeps a STDOUT write in its 8 KiB ``out_buf`` while it fits
(``len < sizeof(out_buf) - pos``, an 8-byte record header counted when a record opens) and
writes the buffer out at the write that does not fit -- at once, which is when a client that
has gone is noticed. The records this cuts are php-fpm8.2's (recorded:
tests/frontends/test_fastcgi.py, test_output_appended_straight_out_is_cut_into_php_fpms_records).
"""

from __future__ import annotations

import pytest

from phprt import MemoryTransport, Runtime
from phprt.transports.fpm import FpmRecords

SIZE, HEADER = 8192, 8


def _first_delivery(piece: str, ini: dict[str, str]) -> tuple[int, int, bytes]:
    # The echo (by index) at which the first bytes reached the transport, the head's length, and
    # the body then.
    transport = MemoryTransport()
    with Runtime(transport=transport, sapi="fpm", ini=ini) as rt:
        assert isinstance(rt._sink, FpmRecords)
        for index in range(10000):
            rt.echo(piece, index % 10)
            if transport.chunks:
                break
        assert transport.head is not None
        return index, len(transport.head.block()), transport.body
    raise AssertionError("the request ended early")


@pytest.mark.clause("PERF-OB-5", "SAPI-FPM-1")
@pytest.mark.parametrize("piece", ["abcd", "abcdefghi", "x"])
def test_the_write_that_does_not_fit_sends_the_buffer_at_once(piece: str) -> None:
    index, head, body = _first_delivery(piece, {})
    each = len(piece) + 1
    # echo i writes at pos = HEADER + head + each * i (one record open since the head): the first
    # that does not fit is the first with pos + each >= SIZE
    expected = next(i for i in range(10000) if HEADER + head + each * i + each >= SIZE)
    assert index == expected
    assert len(body) == SIZE - HEADER - head  # the buffer, full: the rest of that echo waits in it


@pytest.mark.clause("PERF-OB-5", "OUT-IMPLICIT-1")
def test_implicit_flush_sends_each_write() -> None:
    index, _, body = _first_delivery("abcd", {"implicit_flush": "1"})
    assert index == 0 and body == b"abcd0"


@pytest.mark.clause("PERF-OB-5", "SAPI-FPM-1")
def test_appended_output_goes_before_a_log_message_and_a_flush() -> None:
    transport = MemoryTransport()
    with Runtime(transport=transport, sapi="fpm") as rt:
        rt.echo("one")  # the head and the first output: from now on appended straight out
        rt.echo("two", 2)
        assert rt._sink.text == ["two2"] and not transport.chunks
        rt.error_log("log")  # the appended text is written into the records first
        assert rt._sink.text == []
        rt.echo("three")
        rt.flush()
        assert transport.body == b"onetwo2three" and transport.stderr == b"PHP message: log"
        rt.ob_implicit_flush(True)  # nothing is appended while each write is flushed
        rt.echo("four")
        assert rt._out.target[0] is None and transport.body.endswith(b"four")
