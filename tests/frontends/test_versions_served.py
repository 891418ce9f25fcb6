"""The PHP version profile at every door (VER-DOORS-1): ``php_version=`` on HttpServer,
FastCgiServer and WSGIApp, and ``--php-version`` on ``python -m phprt serve``/``fastcgi``;
PHP 8.5's handler getters (VER-GET-HANDLER-1) through ``run``, serve, FastCGI, WSGI and ASGI.

The script echoes, then sets the status: PHP 8.2 returns the old code (200) and 8.3+
warns "Cannot set response code - headers already sent" and returns false
(VER-RESPONSE-CODE-1, recorded in spec/recorded/versions.json)."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from phprt.__main__ import main
from phprt.asgi import ASGIApp
from phprt.fastcgi import FastCgiServer
from phprt.server import HttpServer
from phprt.wsgi import WSGIApp
from tests.support import ROOT, asgi, fastcgi, wsgi
from tests.support.http import ask, get

SCRIPT = 'from phprt.php import *\necho("x")\nr = http_response_code(404)\necho("|" + var_export(r, True))\n'
WARNING = b"Cannot set response code - headers already sent"


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    (tmp_path / "code.py").write_text(SCRIPT)
    return tmp_path


def check(body: bytes, version: str) -> None:
    if version == "8.2":
        assert body == b"x|200"
    else:
        assert WARNING in body and body.endswith(b"|false")


@pytest.mark.clause("VER-DOORS-1")
@pytest.mark.parametrize("version", ["8.2", "8.3"])
def test_serve(docroot: Path, version: str) -> None:
    with HttpServer(docroot, php_version=version, ini={"html_errors": "0"}) as server:
        reply = ask(server, get("/code.py"))
    check(reply.body, version)


@pytest.mark.clause("VER-DOORS-1")
@pytest.mark.parametrize("version", ["8.2", "8.4"])
def test_fastcgi(docroot: Path, version: str) -> None:
    with FastCgiServer(docroot, "127.0.0.1:0", php_version=version, ini={"html_errors": "0"}) as server:
        reply = fastcgi.exchange(server.address, fastcgi.fcgi_request(fastcgi.nginx_params(docroot, "/code.py")))
    check(reply.stdout.partition(b"\r\n\r\n")[2], version)


@pytest.mark.clause("VER-DOORS-1")
@pytest.mark.parametrize("version", ["8.2", "8.5"])
def test_wsgi(docroot: Path, version: str) -> None:
    app = WSGIApp(docroot / "code.py", php_version=version, ini={"html_errors": "0"})
    with wsgi.serve(app) as port, urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
        check(response.read(), version)


@pytest.mark.clause("VER-DOORS-1")
@pytest.mark.parametrize("command", ["serve", "fastcgi"])
def test_the_command_line_refuses_a_version_it_does_not_reproduce(docroot: Path, command: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([command, "--php-version", "8.1", str(docroot)])
    assert stopped.value.code == 2 and "--php-version" in capsys.readouterr().err


# wasm 8.5.10: function_exists() true, get_error_handler() "eh" as set by name; native 8.2: false,
# and a call is "Call to undefined function get_error_handler()" (spec/recorded/versions.json)
GETTERS = ('from phprt.php import *\ndef eh(n, s): return True\nset_error_handler("eh")\n'
           'echo(var_export(function_exists("get_error_handler"), True))\n'
           'if function_exists("get_error_handler"): echo("|", get_error_handler())\n'
           'else: get_error_handler()\n')


def check_getters(body: bytes, version: str) -> None:
    if version == "8.5":
        assert body == b"true|eh"
    else:
        assert body.startswith(b"false") and b"Uncaught Error: Call to undefined function get_error_handler()" in body


@pytest.fixture
def getters(tmp_path: Path) -> Path:
    (tmp_path / "getters.py").write_text(GETTERS)
    return tmp_path


@pytest.mark.clause("VER-GET-HANDLER-1")
@pytest.mark.parametrize("version", ["8.2", "8.5"])
def test_the_handler_getters_through_run(getters: Path, version: str) -> None:
    done = subprocess.run([sys.executable, "-m", "phprt", "run", "--php-version", version, "-d", "html_errors=0",
                           str(getters / "getters.py")], capture_output=True, timeout=60, cwd=ROOT)
    check_getters(done.stdout, version)
    assert done.returncode == (0 if version == "8.5" else 255)


@pytest.mark.clause("VER-GET-HANDLER-1")
@pytest.mark.parametrize("version", ["8.2", "8.5"])
def test_the_handler_getters_served(getters: Path, version: str) -> None:
    with HttpServer(getters, php_version=version, ini={"html_errors": "0"}) as server:
        check_getters(ask(server, get("/getters.py")).body, version)
    with FastCgiServer(getters, "127.0.0.1:0", php_version=version, ini={"html_errors": "0"}) as server:
        reply = fastcgi.exchange(server.address, fastcgi.fcgi_request(fastcgi.nginx_params(getters, "/getters.py")))
    check_getters(reply.stdout.partition(b"\r\n\r\n")[2], version)
    app = WSGIApp(getters / "getters.py", php_version=version, ini={"html_errors": "0"})
    with wsgi.serve(app) as port, urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
        check_getters(response.read(), version)
    exchange = asgi.call(ASGIApp(getters / "getters.py", php_version=version, ini={"html_errors": "0"}), get("/"))
    check_getters(exchange.body, version)
