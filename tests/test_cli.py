"""``python -m phprt run``, as a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "phprt", "run", *args], capture_output=True, cwd=cwd, timeout=60)


@pytest.mark.clause("RT-RUN-1")
def test_run_the_example_like_php_would() -> None:
    completed = run("examples/hello.py")
    script = ROOT / "examples" / "hello.py"
    assert completed.returncode == 0
    assert completed.stdout == (
        b"<p>It's like comparing oranges to oranges.</p>\n<p>1 handler(s): callback</p>\n"
        b"\nWarning: Array to string conversion in " + str(script).encode() + b" on line 25\nArray"
    )


@pytest.mark.clause("RT-RUN-1")
def test_run_takes_ini_values_and_exits_255_after_a_fatal_error(tmp_path: Path) -> None:
    script = tmp_path / "fatal.py"
    script.write_text(
        "from phprt.php import *\n"
        "ob_start()\n"
        "echo('buffered ', ini_get('precision'))\n"
        "trigger_error('stop', E_USER_ERROR)\n"
        "echo('never')\n"
    )
    completed = run("-d", "precision=5", "-d", "display_errors=0", "-d", "log_errors=1", str(script))
    assert completed.returncode == 255
    assert completed.stdout == b"buffered 5"
    assert completed.stderr == f"PHP Fatal error:  stop in {script} on line 4\n".encode()


@pytest.mark.clause("RT-RUN-1")
def test_run_refuses_an_unknown_directive() -> None:
    completed = run("-d", "no_such=1", "examples/hello.py")
    assert completed.returncode == 2
    assert b"unknown ini directive 'no_such'" in completed.stderr


@pytest.mark.clause("RT-RUN-1", "TRANSPORT-CGI-1")
def test_run_as_cgi_prints_the_head_like_php_cgi(tmp_path: Path) -> None:
    script = tmp_path / "moved.py"
    script.write_text('from phprt.php import *\nheader("Location: /next")\necho("moved\\n")\n')
    completed = run("--sapi", "cgi", str(script))
    # php-cgi -n moved.php, for <?php header("Location: /next"); echo "moved\n";
    assert completed.stdout == (
        b"Status: 302 Found\r\nX-Powered-By: PHP/8.2 (phprt)\r\nLocation: /next\r\n"
        b"Content-type: text/html; charset=UTF-8\r\n\r\nmoved\n"
    )


@pytest.mark.clause("RT-RUN-1", "LIFE-EXIT-1", "RT-CAPTURE-1")
def test_run_exits_with_the_status_of_exit_and_prints_through_the_buffers(tmp_path: Path) -> None:
    script = tmp_path / "exit.py"
    script.write_text(
        "from phprt.php import *\n"
        "register_shutdown_function(lambda: echo('[shutdown]'))\n"
        "ob_start(lambda buffer, phase: buffer.upper())\n"
        "print('printed')\n"
        "exit(3)\n"
    )
    completed = run(str(script))
    assert completed.returncode == 3
    assert completed.stdout == b"PRINTED\n[SHUTDOWN]"


@pytest.mark.clause("RT-RUN-1", "DEV-UNCAUGHT-1")
def test_run_reports_an_uncaught_exception_like_php_and_exits_255(tmp_path: Path) -> None:
    script = tmp_path / "uncaught.py"
    script.write_text("from phprt.php import *\necho('a')\nraise ValueError('bad')\n")
    completed = run(str(script))
    assert completed.returncode == 255 and completed.stderr == b""
    assert completed.stdout == (
        f"a\nFatal error: Uncaught ValueError: bad in {script}:3\nStack trace:\n#0 {{main}}\n"
        f"  thrown in {script} on line 3\n"
    ).encode()
