"""The transports, against real peers where they have one."""

from __future__ import annotations

import subprocess
import sys

import pytest

from phprt import MemoryTransport, Runtime, Transport


@pytest.mark.clause("TRANSPORT-MEMORY-1")
def test_memory_transport_records_everything_in_order() -> None:
    transport = MemoryTransport()
    with Runtime(transport=transport, sapi="cgi", ini={"expose_php": "0", "default_mimetype": ""}) as rt:
        rt.echo("a")
        rt.flush()
        rt.ob_start()
        rt.echo("b", "c")
    assert transport.status == 200 and transport.headers == []
    assert transport.body == b"abc"
    assert transport.chunks == [b"a", b"bc"]
    assert transport.events == [("headers", 200, []), ("write", b"a"), ("flush",), ("write", b"bc"), ("finish",)]


@pytest.mark.clause("TRANSPORT-MEMORY-2", "TRANSPORT-ABORT-1")
def test_memory_transport_client_disconnects_after_n_bytes() -> None:
    transport = MemoryTransport(disconnect_after=5)
    assert transport.write(b"abc") is True
    assert transport.write(b"defg") is True
    assert transport.write(b"h") is False and transport.flush() is False
    assert transport.body == b"abcde"
    assert transport.client_gone


@pytest.mark.clause("TRANSPORT-MEMORY-2")
def test_memory_transport_like_tcp_accepts_a_write_after_the_hang_up() -> None:
    transport = MemoryTransport(disconnect_after=2, lost_writes=1)
    assert transport.write(b"ab") is True
    assert transport.write(b"lost") is True
    assert transport.write(b"c") is False
    assert transport.body == b"ab"


@pytest.mark.clause("TRANSPORT-ORDER-1")
def test_the_base_transport_is_a_silent_sink() -> None:
    with Runtime(transport=Transport()) as rt:
        rt.echo("nowhere")
    assert Transport().write(b"x") is True and Transport().flush() is True


def _run(code: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, **kwargs)


@pytest.mark.clause("TRANSPORT-CLI-1")
def test_cli_transport_writes_stdout_and_stderr_of_a_real_process() -> None:
    completed = _run(
        "from phprt import Runtime, CliTransport\n"
        "with Runtime(transport=CliTransport(), ini={'log_errors': '1'}) as rt:\n"
        "    rt.ob_start(lambda b, p: b.upper())\n"
        "    rt.echo('hello ', b'\\xff')\n"
        "    rt.trigger_error('careful')\n"
    )
    assert completed.returncode == 0
    assert completed.stdout == b"HELLO \xff\nNOTICE: CAREFUL IN <STRING> ON LINE 5\n"
    assert completed.stderr == b"PHP Notice:  careful in <string> on line 5\n"


@pytest.mark.clause("TRANSPORT-CLI-1", "TRANSPORT-ABORT-1")
def test_cli_transport_reports_a_reader_that_went_away() -> None:
    completed = _run(
        "import os, sys\n"
        "from phprt import CliTransport\n"
        "r, w = os.pipe()\n"
        "os.close(r)\n"
        "transport = CliTransport(stdout=os.fdopen(w, 'wb', buffering=0))\n"
        "print(transport.write(b'x'), transport.flush())\n"
    )
    assert completed.stdout == b"False True\n", completed.stderr
