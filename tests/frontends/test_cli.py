"""``python -m phprt run``, as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support import ROOT, python


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[bytes]:
    return python("-m", "phprt", "run", *args, cwd=cwd)


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


#: What stops the user error handler's call in the scripts below (line 2), each ported line by line from
#: a PHP script whose output php -n -d display_errors=1 gave (PHP 8.2.36): a fatal error and the time
#: limit jump out of zend_error()'s call, which had unset the handler and never puts it back -- the
#: shutdown function's notice then has no handler, and set_error_handler(null) returns NULL; exit()
#: unwinds as an exception, and the handler is back.
_STOPPED_IN_THE_HANDLER = {
    "fatal": ('trigger_error("fatal inside", E_USER_ERROR)',
              "Fatal error: fatal inside in {script} on line 2\nshutdown\n\nNotice: in shutdown in {script} on line 4\nNULL\n"),
    "time limit": ("set_time_limit(1), any(time.thread_time() < 0 for _ in iter(int, 1))",  # spins on CPU time
                   "Fatal error: Maximum execution time of 1 second exceeded in {script} on line 2\nshutdown\n\n"
                   "Notice: in shutdown in {script} on line 4\nNULL\n"),
    "exit": ('exit("exit inside\\n")', "exit inside\nshutdown\n{{eh: in shutdown}}\nstring(2) \"eh\"\n"),
}


@pytest.mark.clause("DIAG-HANDLER-1", "DIAG-FATAL-1", "TIME-LIMIT-1", "LIFE-EXIT-1")
@pytest.mark.parametrize("stop", list(_STOPPED_IN_THE_HANDLER))
def test_a_bailout_out_of_the_error_handler_leaves_no_handler_for_the_shutdown(tmp_path: Path, stop: str) -> None:
    stopping, after = _STOPPED_IN_THE_HANDLER[stop]
    script = tmp_path / "stopped.py"
    script.write_text(
        "import time; from phprt.php import *\n"
        f"def eh(no, str_): echo(f'{{{{eh: {{str_}}}}}}\\n'); ({stopping}) if str_ == 'go' else None; return True\n"
        "set_error_handler('eh')\n"
        "def at_shutdown(): echo('shutdown\\n'); trigger_error('in shutdown', E_USER_NOTICE); var_dump(set_error_handler(None))\n"
        "register_shutdown_function(at_shutdown); trigger_error('go', E_USER_NOTICE)\n"
        "echo('not reached\\n')\n"
    )
    completed = run("-d", "display_errors=1", str(script))
    fatal = "" if stop == "exit" else "\n"
    assert completed.stdout.decode() == "{eh: go}\n" + fatal + after.format(script=script)


@pytest.mark.clause("RT-RUN-1", "INI-UNKNOWN-1")
def test_run_accepts_a_directive_name_as_php_does(tmp_path: Path) -> None:
    # php -n -d date.timezone=UTC -d no_such=1 runs the script; ini_get("no_such") is false
    script = tmp_path / "names.py"
    script.write_text("from phprt.php import *\necho(ini_get('no_such') is False)\n")
    completed = run("-d", "date.timezone=UTC", "-d", "no_such=1", str(script))
    assert (completed.returncode, completed.stdout, completed.stderr) == (0, b"1", b"")


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


@pytest.mark.clause("TRANSPORT-CGI-2", "REQ-POST-7")
def test_run_as_a_cgi_program_reads_the_posted_body_from_stdin(tmp_path: Path) -> None:
    """The recorded request "post-urlencoded" (php-cgi 8.2.36, spec/recorded/request-vars.json),
    its body on the stdin of ``python -m phprt run --sapi cgi`` as a web server's CGI call."""
    case = next(c for c in tomllib.loads((ROOT / "spec/cases/request-vars.toml").read_text())["request"]
                if c["id"] == "post-urlencoded")
    recorded = json.loads((ROOT / "spec/recorded/request-vars.json").read_text())["requests"]["post-urlencoded"]
    script = tmp_path / "post.py"
    script.write_text("import json\nfrom phprt.php import *\n"
                      "encode = lambda v: {'array': [[k, encode(x)] for k, x in v.items()]} if isinstance(v, dict) "
                      "else ({'bytes': v.encode('utf-8', 'surrogateescape').hex()} if not v.isascii() else v)\n"
                      "echo(json.dumps([encode(runtime().post), runtime().input.decode('latin-1')]))\n")
    body = case["body"].encode("latin-1")
    environment = {**os.environ, "REQUEST_METHOD": "POST", "CONTENT_TYPE": case["content_type"],
                   "CONTENT_LENGTH": str(len(body))}
    completed = subprocess.run([sys.executable, "-m", "phprt", "run", "--sapi", "cgi", str(script)], input=body + b"tail",
                               capture_output=True, env=environment, cwd=ROOT, timeout=60)
    posted, raw = json.loads(completed.stdout.partition(b"\r\n\r\n")[2])
    assert posted == recorded["post"] and raw == case["body"]


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


@pytest.mark.clause("PERF-ECHO-3", "PERF-ECHO-4", "RT-RUN-1")
@pytest.mark.parametrize("sapi", ["cli", "fpm"])
def test_run_echoes_several_values_as_php_does(tmp_path: Path, sapi: str) -> None:
    # php -n: ini_set("precision", "3"); echo "a", 7, "b", true, 3.14159, "\n";
    # ob_start(); echo "x", 12, "y"; $s = ob_get_clean(); echo $s, strlen($s), "\n";
    # prints "a7b13.14\nx12y4\n" (under "fpm" the same body follows the CGI head)
    script = tmp_path / "echo.py"
    script.write_text('from phprt.php import *\nini_set("precision", "3")\necho("a", 7, "b", True, 3.14159, "\\n")\n'
                      'ob_start()\necho("x", 12, "y")\ns = ob_get_clean()\necho(s, len(s), "\\n")\n')
    completed = run("--sapi", sapi, str(script))
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.endswith(b"a7b13.14\nx12y4\n")


@pytest.mark.clause("PERF-RELEASE-2", "RT-SCRIPT-1")
def test_run_keeps_the_scripts_globals_for_a_thread_that_outlives_it(tmp_path: Path) -> None:
    script = tmp_path / "later.py"
    script.write_text("import sys, threading, time\nfrom phprt.php import *\n\n"
                      "def later():\n    time.sleep(0.2)\n    sys.stdout.write(greeting() + '\\n')\n\n"
                      "def greeting():\n    return 'still here'\n\n"
                      "threading.Thread(target=later).start()\necho('done\\n')\n")
    done = run(str(script))
    assert (done.returncode, done.stdout, done.stderr) == (0, b"done\nstill here\n", b"")
