"""error_log() (phprt/engine/error_log.py) where the conformance cases cannot look: the
error_log ini file, type 3's file, type 1's mail, and type 0 through each entry point --
``python -m phprt run`` (stderr), ``serve`` (its console) and the FastCGI responder
(FastCGI stderr) -- against ``php -n``, ``php -n -S`` and ``php-fpm8.2 -n``.

Every PHP expectation was printed by PHP 8.2.36 running the PHP in the comment beside it
(the servers through phprt/conformance/servers.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from phprt import MemoryTransport, Runtime
from phprt.fastcgi import FastCgiServer
from tests.support import ROOT
from tests.support.fastcgi import STDERR, STDOUT, exchange, fcgi_request, nginx_params
from tests.support.http import ask, get, log_of, wait_for

# The same script as PHP and as its port; each line is the other's.
PHP_SCRIPT = '<?php\nerror_log("zero");\necho "body";\nerror_log("four", 4);\nerror_log("cut\\0here");\n'
PORT = 'from phprt.php import *\nerror_log("zero")\necho("body")\nerror_log("four", 4)\nerror_log("cut\\0here")\n'
STAMPED = re.compile(r"^\[\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d UTC\] ", re.MULTILINE)


def runtime_with(tmp_path: Path, **ini: str) -> tuple[Runtime, MemoryTransport]:
    transport = MemoryTransport()
    return Runtime(transport=transport, ini=ini), transport


@pytest.mark.clause("LOG-FILE-1", "LOG-TYPE-0-1", "LOG-TYPE-4-1")
def test_type_0_goes_to_the_error_log_file_with_php_s_timestamp_and_type_4_does_not(tmp_path: Path) -> None:
    # php -n -d error_log=FILE: error_log("zero"); error_log("four", 4); error_log("five", 5);
    # FILE: "[03-Dec-2026 19:21:28 UTC] zero\n[03-Dec-2026 19:21:28 UTC] five\n"; stderr: "four\n"
    log = tmp_path / "php.log"
    rt, transport = runtime_with(tmp_path, error_log=str(log))
    with rt:
        assert [rt.error_log("zero"), rt.error_log("four", 4), rt.error_log("five", 5)] == [True, True, True]
    text = log.read_text()
    assert len(STAMPED.findall(text)) == 2
    assert STAMPED.sub("", text) == "zero\nfive\n"
    assert transport.stderr == b"four\n"


@pytest.mark.clause("LOG-TYPE-3-1")
def test_type_3_appends_the_message_as_it_is(tmp_path: Path) -> None:
    # error_log("a\0b\n", 3, F); error_log("c", 3, "file://" . F); error_log("z", "3", F);  F: "a\0b\nc" "z"
    target = tmp_path / "e4.log"
    rt, transport = runtime_with(tmp_path)
    with rt:
        results = [rt.error_log("a\0b\n", 3, str(target)), rt.error_log("c", 3, f"file://{target}"),
                   rt.error_log("z", "3", str(target)), rt.error_log("d", 3, str(tmp_path))]
    assert results == [True, True, True, False]
    assert target.read_bytes() == b"a\0b\ncz"
    # error_log("d", 3, "/tmp/d"): Warning: error_log(/tmp/d): Failed to open stream: Is a directory
    assert f"Warning: error_log({tmp_path}): Failed to open stream: Is a directory".encode() in transport.body


@pytest.mark.clause("LOG-TYPE-1-1")
def test_type_1_hands_php_s_mail_to_sendmail_path(tmp_path: Path) -> None:
    # php -n -d sendmail_path="cat >> F": error_log("s", 1, "root@x", "X-A: b\r\nX-B: c"); error_log("t\0u", 1, "a@b");
    # both true; F as below. sendmail_path="exit 75", "exit 1" and "": false.
    mail = tmp_path / "mail.txt"
    rt, _ = runtime_with(tmp_path, sendmail_path=f"cat >> {mail}")
    with rt:
        assert rt.error_log("s", 1, "root@x", "X-A: b\r\nX-B: c") is True
        assert rt.error_log("t\0u", 1, "a@b") is True
    assert mail.read_bytes() == (b"To: root@x\r\nSubject: PHP error_log message\r\nX-A: b\r\nX-B: c\r\n\r\ns\r\n"
                                 b"To: a@b\r\nSubject: PHP error_log message\r\n\r\nt\r\n")
    for command in ("exit 75", "exit 1", ""):
        rt, transport = runtime_with(tmp_path, sendmail_path=command)
        with rt:
            assert rt.error_log("x", 1, "a") is False
        assert (transport.body, transport.stderr) == (b"", b"")


def _write_pair(directory: Path, name: str) -> tuple[Path, Path]:
    php, port = directory / f"{name}.php", directory / f"{name}.py"
    php.write_text(PHP_SCRIPT)
    port.write_text(PORT)
    return php, port


@pytest.mark.clause("LOG-TYPE-0-2", "LOG-TYPE-1-1")
def test_under_run_the_log_is_stderr_as_php_cli_s(tmp_path: Path) -> None:
    # php -n -d sendmail_path=/nonexistent-phprt/sendmail log.php, with error_log("m", 1, "a@b") appended:
    # stdout "body", stderr "zero\nfour\ncut\nsh: 1: /nonexistent-phprt/sendmail: not found\n", exit 0
    script = tmp_path / "log.py"
    script.write_text(PORT + 'echo(error_log("m", 1, "a@b") is False)\n')
    completed = subprocess.run(
        [sys.executable, "-m", "phprt", "run", "-d", "sendmail_path=/nonexistent-phprt/sendmail", str(script)],
        capture_output=True, cwd=ROOT, timeout=60)
    assert (completed.returncode, completed.stdout) == (0, b"body1")
    assert completed.stderr == b"zero\nfour\ncut\nsh: 1: /nonexistent-phprt/sendmail: not found\n"


@pytest.mark.clause("LOG-TYPE-0-2")
def test_under_serve_the_log_is_the_console_as_php_s(make_server, tmp_path: Path) -> None:
    # php -n -S: "[Thu Dec  3 19:29:27 2026] 127.0.0.1:%d Accepted\n[...] zero\n[...] four\n[...] cut\n
    # [...] 127.0.0.1:%d [200]: GET /log.php\n[...] 127.0.0.1:%d Closing\n"
    _write_pair(tmp_path, "log")
    server = make_server(tmp_path)
    assert ask(server, get("/log.py")).body == b"body"
    wait_for(lambda: "cut\n" in log_of(server), "the script's log lines")
    lines = [re.sub(r"^\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\] ", "", line)
             for line in log_of(server).splitlines()]
    start = lines.index("zero")
    assert lines[start:start + 3] == ["zero", "four", "cut"]
    assert "Accepted" in lines[start - 1]


@pytest.mark.clause("LOG-TYPE-0-2", "LOG-TYPE-4-1")
def test_under_the_fastcgi_responder_the_log_is_fastcgi_stderr_as_php_fpm_s(tmp_path: Path) -> None:
    # php-fpm8.2 -n: FCGI_STDOUT "X-Powered-By: ...\r\nContent-type: text/html; charset=UTF-8\r\n\r\nbody",
    # FCGI_STDERR "PHP message: zero; PHP message: four; PHP message: cut"
    _write_pair(tmp_path, "log")
    with FastCgiServer(tmp_path, "127.0.0.1:0") as running:
        reply = exchange(running.address, fcgi_request(nginx_params(tmp_path, "/log.py")))
    assert reply.stream(STDOUT).endswith(b"\r\n\r\nbody")
    assert reply.stream(STDERR) == b"PHP message: zero; PHP message: four; PHP message: cut"
