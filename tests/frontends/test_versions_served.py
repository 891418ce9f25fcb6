"""The PHP version profile at every door (VER-DOORS-1): ``php_version=`` on HttpServer,
FastCgiServer and WSGIApp, and ``--php-version`` on ``python -m phprt serve``/``fastcgi``.

The script echoes, then sets the status: PHP 8.2 returns the old code (200) and 8.3+
warns "Cannot set response code - headers already sent" and returns false
(VER-RESPONSE-CODE-1, recorded in spec/recorded/versions.json)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from phprt.__main__ import main
from phprt.fastcgi import FastCgiServer
from phprt.server import HttpServer
from phprt.wsgi import WSGIApp
from tests.support import fastcgi, wsgi
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
