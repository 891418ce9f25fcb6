"""The time limit and the script's namespace at every door a user comes in by
(TIME-THREADS-1, TIME-FATAL-1, RT-SCRIPT-1, RT-SCRIPT-2): ``python -m phprt run``
under the CLI and CGI profiles, ``serve``, the FastCGI responder, WSGI and ASGI.

The expected bytes were recorded from PHP 8.2.36 running ``spin.php`` (below) as
``php -n``, ``php-cgi -n``, ``php -n -S`` and ``php-fpm8.2 -n`` with
max_execution_time=1: each stops the loop after one second of CPU time with the
fatal error at line 4, runs the shutdown function with status 2, and the CLI and
CGI exit with 255. The port stands on the same lines, so the texts agree but for
the file's name. No test measures time: the loop spins on the CPU until the limit
stops it, and the waits below are only safety nets.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import io
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from phprt import MemoryTransport, Runtime
from phprt.asgi import ASGIApp
from phprt.engine.script import compile_script, execute
from phprt.fastcgi import FastCgiServer
from phprt.server import HttpServer
from phprt.wsgi import WSGIApp
from tests.support import ROOT
from tests.support.asgi import call as asgi_call
from tests.support.asgi import get as asgi_get
from tests.support.doors import DOORS, served_answers
from tests.support.fastcgi import exchange as fcgi_exchange
from tests.support.fastcgi import fcgi_request, nginx_params
from tests.support.wsgi import exchange as wsgi_exchange
from tests.support.wsgi import get as wsgi_get
from tests.support.wsgi import serve as wsgi_serve

WAIT = 60.0  # a safety net: the limit is one CPU second

SPIN_PHP = """<?php
register_shutdown_function(function () { echo "[shutdown ", connection_status(), "]\\n"; });
set_time_limit(1);
while (true) {}
"""
SPIN = """from phprt.php import *
register_shutdown_function(lambda: echo("[shutdown ", connection_status(), "]\\n"))
set_time_limit(1)
while True: pass
"""
#: The same stop, inside a function the script defines and in library code it calls.
SPIN_IN_FUNCTION = """from phprt.php import *
register_shutdown_function(lambda: echo("[shutdown ", connection_status(), "]\\n"))
set_time_limit(1)
def f(): json.loads("[" * 50 + "]" * 50); return f()
import json, sys; sys.setrecursionlimit(10**6); f()
"""
SPIN_IN_LIBRARY = """from phprt.php import *
register_shutdown_function(lambda: echo("[shutdown ", connection_status(), "]\\n"))
set_time_limit(1)
import fractions; x = fractions.Fraction(1, 3)
while True: x = (x * x + 1) / (x + 2); x = x.limit_denominator(1000)
"""

#: php -n spin.php (stdout; the exit status is 255).
CLI = "\nFatal error: Maximum execution time of 1 second exceeded in {file} on line 4\n[shutdown 2]\n"
#: The body under php-cgi -n, php -n -S and php-fpm8.2 -n (html_errors is on for each).
WEB = ("<br />\n<b>Fatal error</b>:  Maximum execution time of 1 second exceeded in <b>{file}</b> on line <b>4</b>"
       "<br />\n[shutdown 2]\n")


def _script(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return Path(os.path.realpath(path))


def _run(*arguments: str, sapi: str = "cli") -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "phprt", "run", "--sapi", sapi, *arguments]
    return subprocess.run(command, capture_output=True, timeout=WAIT, cwd=ROOT)


# -- the time limit ---------------------------------------------------------------------------


@pytest.mark.clause("TIME-THREADS-1")
@pytest.mark.clause("TIME-FATAL-1")
@pytest.mark.parametrize("text", [SPIN, SPIN_IN_FUNCTION, SPIN_IN_LIBRARY], ids=["module", "function", "library"])
def test_run_stops_a_runaway_script_as_php_does(tmp_path: Path, text: str) -> None:
    spin = _script(tmp_path, "spin.py", text)
    done = _run(str(spin))
    assert done.returncode == 255
    if text is SPIN:
        assert done.stdout.decode() == CLI.format(file=spin)
    else:  # stopped inside f() or the library, and reported there, as PHP reports a library's line
        assert re.fullmatch(CLI.format(file=".+").replace("[", r"\[").replace("line 4", r"line \d+"), done.stdout.decode())


@pytest.mark.clause("TIME-FATAL-1")
def test_run_under_cgi_stops_a_runaway_script_as_php_cgi_does(tmp_path: Path) -> None:
    spin = _script(tmp_path, "spin.py", SPIN)
    done = _run(str(spin), sapi="cgi")
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    assert done.returncode == 255
    assert head == b"X-Powered-By: PHP/8.2 (phprt)\r\nContent-type: text/html; charset=UTF-8"
    assert body.decode() == WEB.format(file=spin)


#: A runaway loop inside the script's own try/finally.
SPIN_GUARDED = """from phprt.php import *
register_shutdown_function(lambda: echo("[shutdown ", connection_status(), "]\\n"))
set_time_limit(1)
try:
    while True: pass
finally:
    pass
"""


@pytest.mark.clause("DEV-ASYNC-EXC-1", "TIME-THREADS-1")
def test_a_runaway_loop_inside_the_scripts_own_handlers_still_ends_the_request(tmp_path: Path) -> None:
    # php -n, the same loop in try/finally on line 5: "\nFatal error: Maximum execution time of 1
    # second exceeded in FILE on line 5\n[shutdown 2]\n", exit status 255 -- under every CPython
    # phprt runs on, the interruption raised where 3.11 and 3.12 raise it or where 3.13 may (past
    # the script's handlers)
    spin = _script(tmp_path, "spin.py", SPIN_GUARDED)
    done = _run(str(spin))
    assert (done.returncode, done.stdout.decode()) == (255, CLI.format(file=spin).replace("line 4", "line 5"))


@pytest.fixture
def spin_root(tmp_path: Path) -> Path:
    root = Path(os.path.realpath(tmp_path / "root"))
    root.mkdir()
    _script(root, "spin.py", SPIN)
    return root


@pytest.mark.clause("TIME-THREADS-1")
def test_serve_stops_a_runaway_script(spin_root: Path) -> None:
    with HttpServer(spin_root, ini={"max_execution_time": "1"}, log=io.StringIO()) as server:
        connection = http.client.HTTPConnection(*server.address, timeout=WAIT)
        connection.request("GET", "/spin.py")
        response = connection.getresponse()
        assert (response.status, response.read().decode()) == (200, WEB.format(file=spin_root / "spin.py"))
        connection.close()


@pytest.mark.clause("TIME-THREADS-1")
def test_fastcgi_stops_a_runaway_script_under_the_default_limit_of_the_request(spin_root: Path) -> None:
    with FastCgiServer(spin_root, "127.0.0.1:0", ini={"max_execution_time": "1"}) as server:
        reply = fcgi_exchange(server.address, fcgi_request(nginx_params(spin_root, "/spin.py")))
    head, _, body = reply.stdout.partition(b"\r\n\r\n")
    assert body.decode() == WEB.format(file=spin_root / "spin.py")
    assert reply.end() == (0, 0)


@pytest.mark.clause("TIME-THREADS-1")
def test_wsgi_and_asgi_stop_a_runaway_script(spin_root: Path) -> None:
    expected = WEB.format(file=spin_root / "spin.py").encode()
    wsgi = WSGIApp(spin_root, ini={"max_execution_time": "1"})
    with wsgi_serve(wsgi) as port:
        assert wsgi_exchange(port, wsgi_get("/spin.py"))[2] == expected
    assert asgi_call(ASGIApp(spin_root, ini={"max_execution_time": "1"}), asgi_get("/spin.py")).body == expected


@pytest.mark.clause("TIME-THREADS-1")
def test_a_runtime_in_a_thread_of_a_program_stops_a_runaway_file(spin_root: Path) -> None:
    transport = MemoryTransport()
    worker = threading.Thread(target=execute, args=(Runtime(transport, sapi="cli"), spin_root / "spin.py"))
    worker.start()
    worker.join(WAIT)
    assert transport.body.decode() == CLI.format(file=spin_root / "spin.py")


# -- the script's own namespace ---------------------------------------------------------------

WHO = """from phprt.php import *
import sys, threading, time
for _ in range(3):
    time.sleep(0.001)
    echo(__name__, " ", __file__, " ", sys.argv[0], " ", "{name}" in globals(), "\\n")
{name} = True
"""


# -- the user exception handler ---------------------------------------------------------------

HANDLED = """from phprt.php import *
set_exception_handler(lambda e: echo("handled: ", str(e), "\\n"))
register_shutdown_function(lambda: echo("shutdown\\n"))
echo("main\\n")
raise Exception("boom")
"""
#: php -n index.php (exit 0) and php -n -S (200) with the same script in PHP, recorded.
HANDLED_OUTPUT = b"main\nhandled: boom\nshutdown\n"


@pytest.mark.clause("DIAG-EXCEPTION-HANDLER-2")
def test_the_user_exception_handler_at_every_door(tmp_path: Path) -> None:
    root = Path(os.path.realpath(tmp_path))
    script = _script(root, "index.py", HANDLED)
    done = _run(str(script))
    assert (done.returncode, done.stdout, done.stderr) == (0, HANDLED_OUTPUT, b"")
    assert served_answers(root, "/index.py") == dict.fromkeys(DOORS, (200, HANDLED_OUTPUT))


@pytest.mark.clause("RT-SCRIPT-1")
def test_scripts_served_at_once_see_only_their_own_main_and_argv(tmp_path: Path) -> None:
    root = Path(os.path.realpath(tmp_path))
    for name in ("a", "b"):
        _script(root, f"{name}.py", WHO.format(name=name))
    main, argv = sys.modules["__main__"], list(sys.argv)
    with HttpServer(root, log=io.StringIO()) as server:

        def fetch(index: int) -> tuple[str, str]:
            name = "ab"[index % 2]
            connection = http.client.HTTPConnection(*server.address, timeout=WAIT)
            connection.request("GET", f"/{name}.py")
            try:
                return name, connection.getresponse().read().decode()
            finally:
                connection.close()

        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            answers = list(pool.map(fetch, range(300)))
    for name, body in answers:
        path = root / f"{name}.py"
        assert body == f"__main__ {path} {path} \n" * 3  # False echoes nothing: a fresh namespace each time
    assert sys.modules["__main__"] is main and list(sys.argv) == argv


@pytest.mark.clause("RT-SCRIPT-1")
def test_run_gives_the_script_its_arguments_and_its_directory_for_imports(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text("VALUE = 'from the neighbour'\n")
    script = _script(tmp_path, "main.py", "import sys, helper\nprint(__name__, sys.argv[1:], helper.VALUE)\n")
    done = _run(str(script), "x", "--y")
    assert (done.returncode, done.stdout) == (0, b"__main__ ['x', '--y'] from the neighbour\n")


@pytest.mark.clause("RT-SCRIPT-2")
def test_a_compiled_script_is_reused_until_its_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "page.py"
    path.write_text("x = 1\n")
    first = compile_script(str(path))
    assert compile_script(str(path)) is first
    path.write_text("x = 22\n")  # another size (and mtime): compiled again
    second = compile_script(str(path))
    assert second is not first and second.co_consts != first.co_consts


# -- the script's prelude ---------------------------------------------------------------------


@pytest.mark.clause("PERF-SCRIPT-1", "VER-E-ALL-1")
@pytest.mark.parametrize("version, e_all", [("8.2", "32767"), ("8.4", "30719")])  # php -r 'echo E_ALL;' in each
def test_run_gives_a_script_the_names_of_its_prelude(tmp_path: Path, version: str, e_all: str) -> None:
    page = _script(tmp_path, "page.py", '"""A page."""\nfrom phprt.php import *\necho(str(E_ALL), " ", __doc__, "\\n")\n')
    done = _run("--php-version", version, str(page))
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{e_all} A page.\n".encode(), b"")
