"""The one ini layer (phprt.engine.ini): the directives and their readers, names phprt does not
know, a configuration parsed once, and PHP's module-startup warnings where no conformance case
reaches (INI-DIRECTIVE-1, INI-UNKNOWN-1, INI-CONFIG-1, INI-STARTUP-1, INI-SET-3).

Every expected value was printed by PHP 8.2.36: ``php -n -d NAME=VALUE`` reading each directive
back through the function that uses it (``ob_get_status()``'s chunk size, ``error_reporting()``,
``(string)(1/3)`` for precision, ``ignore_user_abort()``), and, for the servers, ``php -n -S``
and ``php-fpm8.2 -n`` given ``-d output_buffering=4Q``: neither puts the warning in a response
(``php -S`` displays it on its own stdout at start-up, PHP-FPM logs it in its master's log).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from phprt import MemoryTransport, Runtime
from phprt.asgi import ASGIApp
from phprt.engine import ini as ini_module
from phprt.engine.ini import DIRECTIVES, INI_ALL, Configuration, configure, ini_integer, ini_quantity_warning
from phprt.fastcgi import FastCgiServer
from phprt.server import HttpServer
from phprt.wsgi import WSGIApp
from tests.support.asgi import call as asgi_call
from tests.support.fastcgi import exchange as fcgi_exchange
from tests.support.fastcgi import fcgi_request, nginx_params
from tests.support.http import exchange as http_exchange
from tests.support.http import get as http_get
from tests.support.wsgi import exchange as wsgi_exchange
from tests.support.wsgi import get as wsgi_get
from tests.support.wsgi import serve as wsgi_serve

ROOT = Path(__file__).resolve().parents[2]

OB_4Q = ('Invalid "output_buffering" setting. Invalid quantity "4Q": unknown multiplier "Q", interpreting as "4" '
         "for backwards compatibility")


@pytest.mark.clause("INI-DIRECTIVE-1")
@pytest.mark.parametrize(("name", "value", "number"), [
    ("output_buffering", "4K", 4096),               # OnUpdateLong: ob_get_status()'s chunk_size
    ("output_buffering", "0x10", 16),
    ("zlib.output_compression", "0x800", 2048),     # its own handler: the zlib chunk size
    ("zlib.output_compression", "On", 1),
    ("error_reporting", "22527", 22527),            # OnUpdateErrorReporting: atoi()
    ("error_reporting", "4294967297", 1),
    ("precision", "0x10", 0),                       # OnSetPrecision: ZEND_ATOL(), decimal
    ("max_execution_time", "10K", 10),              # OnUpdateTimeout: ZEND_ATOL()
    ("max_file_uploads", "0x10", 16),               # no handler: zend_ini_long(), base 0
    ("ignore_user_abort", "yes", 1),                # OnUpdateBool
    ("ignore_user_abort", " on", 0),
])
def test_each_directive_is_read_by_its_handler(name: str, value: str, number: int) -> None:
    assert ini_integer(name, value) == number


@pytest.mark.clause("INI-DIRECTIVE-1")
def test_every_directive_names_its_handler_and_where_it_may_change() -> None:
    assert DIRECTIVES["output_buffering"].on_update == "OnUpdateLong"
    assert DIRECTIVES["max_file_uploads"].on_update is None
    assert DIRECTIVES["precision"].modifiable == INI_ALL
    assert ini_quantity_warning("output_buffering", "4Q") == OB_4Q
    assert ini_quantity_warning("precision", "4Q") is None and ini_quantity_warning("foo.bar", "4Q") is None


@pytest.mark.clause("INI-DIRECTIVE-1", "INI-SET-3")
def test_runtime_reads_ini_values_as_php_does() -> None:
    transport = MemoryTransport()
    ini = {"output_buffering": "4K", "error_reporting": "E_ALL & ~E_DEPRECATED & ~E_STRICT", "html_errors": "Off"}
    with Runtime(transport, sapi="cgi", ini=ini) as rt:
        assert rt.ob_get_status()["chunk_size"] == 4096
        assert (rt.error_reporting(), rt.ini_get("error_reporting"), rt.ini_get("html_errors")) == (22527, "22527", "")
        assert rt.ini_get("output_buffering") == "4K"


@pytest.mark.clause("INI-UNKNOWN-1", "INI-GET-1", "INI-TABLE-2")
def test_a_name_php_does_not_know_is_accepted_and_kept() -> None:
    runtime = Runtime(MemoryTransport(), ini={"date.timezone": "Europe/Paris", "foo.bar": "7"})
    with runtime as rt:
        assert rt.ini_get("date.timezone") == "Europe/Paris"  # PHP's directive, phprt's table (INI-TABLE-2)
        assert rt.ini_get("foo.bar") is False and rt.ini_set("foo.bar", "1") is False
        # php -n -d foo.bar=7: get_cfg_var() of it "7", of a name not given false, and the CLI's
        # built-in html_errors=0 line "0"
        assert (rt.get_cfg_var("foo.bar"), rt.get_cfg_var("nope"), rt.get_cfg_var("html_errors")) == ("7", False, "0")
    configuration = configure("cgi", {"date.timezone": "UTC", "foo.bar": 7})
    assert dict(configuration) == {"date.timezone": "UTC", "foo.bar": "7"}
    assert "foo.bar" not in configuration.directives and configuration.directives["date.timezone"] == "UTC"


@pytest.mark.clause("INI-CONFIG-1", "RT-PROFILE-1")
@pytest.mark.parametrize(("arguments", "message"), [
    ({"sapi": "iis"}, r"unknown SAPI 'iis'|a server runs scripts as a web SAPI, not 'iis'"),
    ({"ini": {"x": "a=b"}}, re.escape("ini x='a=b': PHP's ini parser reports a syntax error, unexpected '=' in Unknown "
                                      "on line 1")),
    ({"ini": {"error_reporting": "E_ALL & ("}}, re.escape("ini error_reporting='E_ALL & (': PHP's ini parser reports a "
                                                          "syntax error, unexpected END_OF_LINE in Unknown on line 2")),
])
def test_a_bad_sapi_or_value_is_refused_when_built(tmp_path: Path, arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        configure(**arguments)
    for build in (lambda: WSGIApp(tmp_path, **arguments), lambda: ASGIApp(tmp_path, **arguments),
                  lambda: HttpServer(tmp_path, log=io.StringIO(), **arguments),
                  lambda: FastCgiServer(tmp_path, "127.0.0.1:0", **arguments)):
        with pytest.raises(ValueError, match=message):
            build()


@pytest.mark.clause("INI-CONFIG-1")
def test_a_server_refuses_the_cli_sapi(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="a server runs scripts as a web SAPI, not 'cli'"):
        WSGIApp(tmp_path, sapi="cli")


@pytest.mark.clause("INI-CONFIG-1")
def test_an_application_parses_its_ini_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(os.path.realpath(tmp_path))
    (root / "index.py").write_text("from phprt.php import *\necho(ini_get('error_reporting'), ' ', error_reporting())\n")
    parsed: list[str] = []

    def counting(raw: str, *args: Any, **kwargs: Any) -> str:
        parsed.append(raw)
        return real(raw, *args, **kwargs)

    real = ini_module.evaluate_value
    monkeypatch.setattr(ini_module, "evaluate_value", counting)
    app = WSGIApp(root, ini={"error_reporting": "E_ALL & ~E_NOTICE"})
    assert isinstance(app.site.ini, Configuration)
    with wsgi_serve(app) as port:
        for _ in range(3):
            assert wsgi_exchange(port, wsgi_get("/"))[2] == b"32759 32759"
    assert parsed == ["E_ALL & ~E_NOTICE"]
    configuration = configure("cgi", {"precision": "5", "output_buffering": "4Q"})
    given = WSGIApp(root, ini=configuration).site.ini  # as it is, its startup warnings given (INI-STARTUP-1)
    assert isinstance(given, Configuration) and dict(given) == dict(configuration) and given.startup == ()


@pytest.mark.clause("INI-STARTUP-1")
def test_servers_give_a_startup_warning_once_when_built_never_in_a_response(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(os.path.realpath(tmp_path))
    (root / "index.py").write_text("from phprt.php import *\necho('ok')\n")
    app = WSGIApp(root, ini={"output_buffering": "4Q"})
    assert capsys.readouterr().err == f"PHP Warning:  {OB_4Q} in Unknown on line 0\n"
    with wsgi_serve(app) as port:
        assert wsgi_exchange(port, wsgi_get("/"))[2] == b"ok"
    assert capsys.readouterr().err == ""


@pytest.mark.clause("INI-STARTUP-1")
def test_startup_warnings_follow_the_registration_order() -> None:
    configuration = configure("cli", {"zlib.output_compression": "1Q", "output_buffering": "4Q",
                                      "error_log": "/nowhere/log", "post_max_size": "2Q"})
    warnings = configuration.startup
    assert [w.diagnostic.message.split('"')[1] for w in warnings] == [
        "output_buffering", "post_max_size", "zlib.output_compression"]
    assert [w.error_log for w in warnings] == [None, "/nowhere/log", "/nowhere/log"]  # error_log registers between
    assert warnings[0].display == f"\nWarning: {OB_4Q} in Unknown on line 0\n" and warnings[0].log is None
    stderr = configure("cli", {"output_buffering": "4Q", "display_errors": "stderr"}).startup[0]
    assert (stderr.display, stderr.display_to_stderr) == (f"Warning: {OB_4Q} in Unknown on line 0\n", True)


# php -n -d zlib.output_compression=1x -d session.name= -d output_buffering=2x -r 'echo ini_get("session.name");'
# (PHP 8.2.36): the two quantity warnings, then session's, and the default session.name
SESSION_NAME_EMPTY = 'PHP Startup: session.name "" cannot be numeric or empty'


@pytest.mark.clause("INI-STARTUP-2")
@pytest.mark.parametrize(("value", "shown"), [("", ""), ("123", "123"), ("1.5", "1.5"), ("1e3", "1e3"), ("12 ", "12"),
                                             ('" 12"', " 12"), ('"12 "', "12 ")])
def test_an_empty_or_numeric_session_name_is_refused_at_startup(value: str, shown: str) -> None:
    # php -n -d session.name=VALUE: the warning (with the value as the ini scanner read it: an
    # unquoted one trimmed), and session.name stays PHPSESSID; "0x1A" and "12abc" are not
    # numeric strings and are taken
    configuration = configure("cli", {"session.name": value})
    assert [w.diagnostic.message for w in configuration.startup] == [
        f'PHP Startup: session.name "{shown}" cannot be numeric or empty']
    assert configuration.directives["session.name"] == "PHPSESSID"
    with Runtime(transport=MemoryTransport(), ini={"session.name": value}) as rt:
        assert rt.ini_get("session.name") == "PHPSESSID"
    for taken in ("0x1A", "12abc", "ok"):
        assert configure("cli", {"session.name": taken}).directives["session.name"] == taken


@pytest.mark.clause("INI-STARTUP-2", "INI-STARTUP-1")
def test_session_names_startup_warning_follows_the_quantities(tmp_path: Path) -> None:
    script = tmp_path / "name.py"
    script.write_text('from phprt.php import *\necho(ini_get("session.name"), "|\\n")\n')
    done = subprocess.run([sys.executable, "-m", "phprt", "run", "-d", "zlib.output_compression=1x", "-d", "session.name=",
                           "-d", "output_buffering=2x", str(script)], capture_output=True, cwd=ROOT, check=False)
    quantity = ('Invalid "{}" setting. Invalid quantity "{}": unknown multiplier "x", interpreting as "{}" for '
                'backwards compatibility')
    assert done.stdout.decode() == (
        f"\nWarning: {quantity.format('output_buffering', '2x', '2')} in Unknown on line 0\n"
        f"\nWarning: {quantity.format('zlib.output_compression', '1x', '1')} in Unknown on line 0\n"
        f"\nWarning: {SESSION_NAME_EMPTY} in Unknown on line 0\nPHPSESSID|\n")
    # display_errors=0 -d log_errors=1: logged to stderr instead, as php -n does
    done = subprocess.run([sys.executable, "-m", "phprt", "run", "-d", "session.name=1", "-d", "display_errors=0",
                           "-d", "log_errors=1", str(script)], capture_output=True, cwd=ROOT, check=False)
    assert (done.stdout, done.stderr) == (
        b"PHPSESSID|\n", b'PHP Warning:  PHP Startup: session.name "1" cannot be numeric or empty in Unknown on line 0\n')


def _served_body(door: str, root: Path) -> bytes:
    # one request for index.py through ``door``, built with session.name=42
    ini = {"session.name": "42"}
    if door == "wsgi":
        with wsgi_serve(WSGIApp(root, ini=ini)) as port:
            return wsgi_exchange(port, wsgi_get("/"))[2]
    if door == "asgi":
        return asgi_call(ASGIApp(root, ini=ini), http_get("/index.py")).body
    if door == "serve":
        with HttpServer(root, ini=ini, log=io.StringIO()) as server:
            return http_exchange(server, http_get("/index.py", "HTTP/1.0")).partition(b"\r\n\r\n")[2]
    with FastCgiServer(root, "127.0.0.1:0", ini=ini) as responder:
        stdout = fcgi_exchange(responder.address, fcgi_request(nginx_params(root, "/index.py"))).stdout
        return stdout.partition(b"\r\n\r\n")[2]


@pytest.mark.clause("INI-STARTUP-2")
@pytest.mark.parametrize("door", ["wsgi", "asgi", "serve", "fastcgi"])
def test_a_server_refuses_a_numeric_session_name_once_when_built(door: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # The warning once, on stderr, when the server is built (as php -S and php-fpm give it at
    # start-up), never in a response; the scripts see PHPSESSID.
    root = Path(os.path.realpath(tmp_path))
    (root / "index.py").write_text('from phprt.php import *\necho(ini_get("session.name"))\n')
    assert _served_body(door, root) == b"PHPSESSID"
    assert capsys.readouterr().err.count(
        'PHP Warning:  PHP Startup: session.name "42" cannot be numeric or empty in Unknown on line 0\n') == 1
