"""``python -m phprt trace`` (TRACE-CLI-1) and its terminal timeline (TRACE-TEXT-1)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from phprt.engine.trace import Trace
from phprt.trace.cli import main
from tests.support import ROOT
from tests.support.spec import defined_clauses

SCRIPT = '''\
from phprt.php import *
import time

register_shutdown_function(lambda: echo(f"[{connection_status()}]"))
ob_start()
echo("held ")
sleep(30)
ob_end_flush()
start = time.thread_time()
while time.thread_time() - start < 15:  # CPU: the time limit of 1 second stops it
    pass
'''


def _trace(tmp_path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "spin.py"
    script.write_text(SCRIPT)
    return subprocess.run([sys.executable, "-m", "phprt", "trace", *options, str(script)], capture_output=True,
                          text=True, cwd=ROOT, timeout=60, check=False)


@pytest.mark.clause("TRACE-CLI-1")
@pytest.mark.clause("TRACE-TEXT-1")
def test_trace_command(tmp_path: Path) -> None:
    out = tmp_path / "trace.json"
    done = _trace(tmp_path, "--sapi", "cgi", "--time-limit", "1", "--no-sleep", "--json", str(out),
                  "--html", str(tmp_path / "trace.html"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["time", "script", "line", "in", "client", "has", "status", "what", "happened"]
    table = lines[2:lines.index("")]
    assert "\x1b[" not in done.stdout  # not a terminal: no colour
    column = lines[0].index("what happened")
    assert all(len(line) > column and line[column - 1] == " " for line in table)  # aligned
    assert any("spin.py:6" in line and "5 B 'held '" in line for line in table)
    indented = next(line for line in table if "5 B 'held '" in line)
    assert indented[column:].startswith("  5 B")  # one buffer on the stack: one step in
    assert any("sleep 30 s (skipped by --no-sleep)" in line for line in table)
    assert any("TIME LIMIT of 1 s exceeded" in line for line in table)
    assert "--- what the client received ---" in done.stdout and "Fatal error" in done.stdout
    assert done.stdout.rstrip().endswith("[2]")  # the shutdown function saw CONNECTION_TIMEOUT
    document = json.loads(out.read_text())
    trace = Trace.from_dict(document)
    kinds = [event.kind for event in trace.events]
    assert kinds.index("sleep") < kinds.index("buffer-end") < kinds.index("time-limit") < kinds.index("shutdown-function")
    assert document["meta"]["defines"] == ["max_execution_time=1"]
    defined = defined_clauses()
    assert all(clause in defined for event in trace.events for clause in event.clauses)
    assert (tmp_path / "trace.html").read_text().startswith("<!DOCTYPE html>")


@pytest.mark.clause("TRACE-TEXT-1")
def test_colour_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "hello.py"
    script.write_text("from phprt.php import *\necho('hi')\n")
    assert main(["--colour", "always", str(script)]) == 0
    out = capsys.readouterr().out
    assert "\x1b[1;34m== script ==\x1b[0m" in out and "\x1b[32m-> client: 2 B 'hi'\x1b[0m" in out
