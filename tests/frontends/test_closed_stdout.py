"""``python -m phprt run`` with a stdout nobody reads or none at all, beside ``php -n`` recorded the same way.

The expected bytes were recorded from PHP 8.2.36: ``php -n -d log_errors=1 SCRIPT`` with
stdout a pipe whose reading end is closed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

THROWING_CALLBACK = '''from phprt.php import *
def hc_throw():
    raise Exception("in callback")
header_register_callback(hc_throw)
ob_end_clean()
'''


def run_unread(tmp_path: Path, *arguments: str) -> tuple[int, str]:
    reader, writer = os.pipe()
    os.close(reader)
    try:
        done = subprocess.run([sys.executable, "-m", "phprt", "run", *arguments], stdout=writer,
                              stderr=subprocess.PIPE, cwd=tmp_path, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    finally:
        os.close(writer)
    return done.returncode, done.stderr.decode()


@pytest.mark.clause("DIAG-UNCAUGHT-2")
def test_an_exception_waiting_when_the_client_left_is_traced_where_it_was_made(tmp_path: Path) -> None:
    (tmp_path / "tr.py").write_text(THROWING_CALLBACK)
    status, stderr = run_unread(tmp_path, "-d", "log_errors=1", "tr.py")
    script = tmp_path / "tr.py"
    assert (status, stderr) == (255, (
        f"PHP Notice:  ob_end_clean(): Failed to delete buffer. No buffer to delete in {script} on line 5\n"
        f"PHP Fatal error:  Uncaught Exception: in callback in {script}:3\n"
        "Stack trace:\n"
        "#0 [internal function]: hc_throw()\n"
        f"#1 {script}(5): ob_end_clean()\n"
        "#2 {main}\n"
        f"  thrown in {script} on line 3\n"))


@pytest.mark.clause("RT-RUN-2")
def test_a_missing_script_with_no_reader_exits_1_quietly(tmp_path: Path) -> None:
    assert run_unread(tmp_path, "missing.py") == (1, "")


@pytest.mark.clause("RT-RUN-1", "SAPI-ABORT-1")
def test_run_with_stdout_closed_is_a_client_gone_and_exits_255(tmp_path: Path) -> None:
    # php -n -d log_errors=1 gone.php >&-  (recorded: exit 255; the shutdown function runs; stderr as below)
    script = tmp_path / "gone.py"
    script.write_text(
        "from phprt.php import *\n"
        "register_shutdown_function(lambda: error_log(f'status {connection_status()}'))\n"
        "echo('lost')\n"
    )
    completed = subprocess.run(
        f'"{sys.executable}" -m phprt run -n -d log_errors=1 "{script}" >&-', shell=True,
        stderr=subprocess.PIPE, cwd=tmp_path, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert completed.returncode == 255
    assert completed.stderr == b"status 1\n"
