"""A ported script run in a Runtime of its own, for what PHP prints about it."""

from __future__ import annotations

import runpy
import time
from pathlib import Path

import pytest

from phprt import MemoryTransport, Runtime


def uncaught_output(directory: Path, source: str, match: str) -> str:
    """What the port ``source`` (saved in ``directory``) outputs in a Runtime when it ends by
    an uncaught exception whose message matches ``match``, which goes on its way once PHP's
    report is out (DEV-UNCAUGHT-1). The script's path reads ``%s``; as a string argument in
    a trace, shortened to 15 bytes and "...", ``%t``."""
    script = directory / "port.py"
    script.write_text(source)
    transport = MemoryTransport()
    with pytest.raises(Exception, match=match):
        with Runtime(transport=transport):
            runpy.run_path(str(script))
    return transport.body.decode().replace(str(script), "%s").replace(str(script)[:15] + "...", "%t")


def spin(seconds: float) -> None:
    """A script's runaway loop: ``seconds`` of the thread's CPU time, which a time limit stops first
    (30 s of wall time at most, a safety net), in a frame of its own, as a script's code runs
    (DEV-ASYNC-EXC-1)."""
    deadline = time.monotonic() + 30
    start = time.thread_time()
    while time.thread_time() - start < seconds and time.monotonic() < deadline:
        pass
