"""php.ini through the real entry points (spec/configuration.md): ``python -m phprt run -c``
against ``php -c`` byte for byte, ``--ini``, ``-n``, PHPRC, a syntax error, and ``serve``,
``fastcgi``, WSGI and ASGI given an ``ini_file``.

The expected bytes were printed by PHP 8.2.36 here: ``php -c FILE s.php`` (PHP_INI_SCAN_DIR
empty) with the production-like file below, with /usr/lib/php/8.2/php.ini-production and with
php.ini-development; ``php --ini``; php-fpm8.2 given PHP_VALUE. With ``--php-live`` the first
test runs ``php`` again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from phprt.fastcgi import FastCgiServer
from phprt.wsgi import WSGIApp
from tests.support.fastcgi import exchange as fcgi_exchange
from tests.support.fastcgi import fcgi_request
from tests.support.http import exchange, get
from tests.support.wsgi import exchange as wsgi_exchange
from tests.support.wsgi import get as wsgi_get
from tests.support.wsgi import serve as wsgi_serve

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_LIKE = """[PHP]
engine = On
output_buffering = 4096
implicit_flush = Off
max_execution_time = 30
memory_limit = 128M
error_reporting = E_ALL & ~E_DEPRECATED & ~E_STRICT
display_errors = Off
display_startup_errors = Off
log_errors = On
html_errors = On
variables_order = "GPCS"
request_order = "GP"
register_argc_argv = Off
default_charset = "UTF-8"
expose_php = Off
[Date]
;date.timezone =
"""

#: The same script as PHP and as a port, line for line.
PHP_SCRIPT = """<?php
echo "start\\n";
trigger_error("a notice", E_USER_NOTICE);
trigger_error("deprecated", E_USER_DEPRECATED);
ob_start();
echo "buffered";
$x = ob_get_clean();
echo strtoupper($x), "\\n";
header("X-Test: 1");
echo json_encode([ini_get("display_errors"), ini_get("output_buffering"), ob_get_level(), ini_get("html_errors"), ini_get("error_reporting"), ini_get("max_execution_time"), ini_get("register_argc_argv")]), "\\n";
trigger_error("a warning", E_USER_WARNING);
ini_set("display_errors", "1");
trigger_error("now shown", E_USER_WARNING);
ob_end_clean();
echo "end\\n";
"""
PY_SCRIPT = """from phprt.php import *; import json
echo("start\\n")
trigger_error("a notice", E_USER_NOTICE)
trigger_error("deprecated", E_USER_DEPRECATED)
ob_start()
echo("buffered")
x = ob_get_clean()
echo(x.upper(), "\\n")
header("X-Test: 1")
echo(json.dumps([ini_get("display_errors"), ini_get("output_buffering"), ob_get_level(), ini_get("html_errors"), ini_get("error_reporting"), ini_get("max_execution_time"), ini_get("register_argc_argv")], separators=(",", ":")), "\\n")
trigger_error("a warning", E_USER_WARNING)
ini_set("display_errors", "1")
trigger_error("now shown", E_USER_WARNING)
ob_end_clean()
echo("end\\n")
"""

_LOGGED = """PHP Notice:  a notice in {s} on line 3
PHP Deprecated:  deprecated in {s} on line 4
PHP Warning:  Cannot modify header information - headers already sent by (output started at {s}:2) in {s} on line 9
PHP Warning:  a warning in {s} on line 11
PHP Warning:  now shown in {s} on line 13
PHP Notice:  ob_end_clean(): Failed to delete buffer. No buffer to delete in {s} on line 14
"""
_QUIET = """start
BUFFERED
["","0",0,"0","22527","0","1"]

Warning: now shown in {s} on line 13

Notice: ob_end_clean(): Failed to delete buffer. No buffer to delete in {s} on line 14
end
"""
#: What php -c printed: stdout, stderr ({s} the script's path).
RECORDED = {
    "file": (_QUIET, _LOGGED),
    "production": (_QUIET, _LOGGED),
    "development": ("""start

Notice: a notice in {s} on line 3

Deprecated: deprecated in {s} on line 4
BUFFERED

Warning: Cannot modify header information - headers already sent by (output started at {s}:2) in {s} on line 9
["1","0",0,"0","32767","0","1"]

Warning: a warning in {s} on line 11

Warning: now shown in {s} on line 13

Notice: ob_end_clean(): Failed to delete buffer. No buffer to delete in {s} on line 14
end
""", _LOGGED),
}


def _phprt(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    environment = {**os.environ, "PHP_INI_SCAN_DIR": "", **(env or {})}
    environment.pop("PHPRC", None) if env is None or "PHPRC" not in env else None
    return subprocess.run([sys.executable, "-m", "phprt", *args], capture_output=True, cwd=cwd, timeout=60,
                          env={**environment, "PYTHONPATH": str(ROOT)})


@pytest.mark.clause("CONF-LOAD-1")
@pytest.mark.clause("CONF-CLI-1")
@pytest.mark.clause("CONF-PRESET-1")
@pytest.mark.parametrize("given", ["file", "production", "development"])
def test_run_c_prints_what_php_c_prints_byte_for_byte(tmp_path: Path, given: str,
                                                       request: pytest.FixtureRequest) -> None:
    (tmp_path / "prod.ini").write_text(PRODUCTION_LIKE)
    (tmp_path / "s.py").write_text(PY_SCRIPT)
    option = str(tmp_path / "prod.ini") if given == "file" else given
    completed = _phprt("run", "-c", option, str(tmp_path / "s.py"))
    stdout, stderr = RECORDED[given]
    assert completed.returncode == 0
    assert completed.stdout.decode() == stdout.format(s=tmp_path / "s.py")
    assert completed.stderr.decode() == stderr.format(s=tmp_path / "s.py")
    if request.config.getoption("--php-live") and shutil.which("php"):
        (tmp_path / "s.php").write_text(PHP_SCRIPT)
        php_ini = str(tmp_path / "prod.ini") if given == "file" else f"/usr/lib/php/8.2/php.ini-{given}"
        php = subprocess.run(["php", "-c", php_ini, str(tmp_path / "s.php")], capture_output=True, timeout=60,
                             env={**os.environ, "PHP_INI_SCAN_DIR": ""})
        s = str(tmp_path / "s.")
        assert php.stdout.replace(b"s.php", b"s.py") == completed.stdout, s
        assert php.stderr.replace(b"s.php", b"s.py") == completed.stderr


@pytest.mark.clause("CONF-REPORT-1")
@pytest.mark.clause("CONF-LOAD-1")
def test_ini_reports_what_was_loaded(tmp_path: Path) -> None:
    (tmp_path / "php.ini").write_text("precision=5\n")
    shown = _phprt("run", "-c", str(tmp_path), "--ini")
    assert shown.returncode == 0 and shown.stderr == b""
    assert shown.stdout.decode() == (
        "Configuration File (php.ini) Path: (none)\n"
        f"Loaded Configuration File:         {tmp_path}/php.ini\n"
        "Scan for additional .ini files in: (none)\n"
        "Additional .ini files parsed:      (none)\n"
    )
    assert b"Loaded Configuration File:         (none)\n" in _phprt("serve", str(tmp_path), "-n", "--ini").stdout
    preset = _phprt("fastcgi", str(tmp_path), "--listen", "127.0.0.1:0", "-c", "production", "--ini").stdout
    assert b"Loaded Configuration File:         php.ini-production (phprt's preset)\n" in preset
    phprc = _phprt("run", "--ini", env={"PHPRC": str(tmp_path / "php.ini")}).stdout
    assert f"Loaded Configuration File:         {tmp_path}/php.ini\n".encode() in phprc
    missing = _phprt("run", "-c", str(tmp_path / "nonexist.ini"), "--ini")  # php: silently nothing
    assert missing.returncode == 0 and b"Loaded Configuration File:         (none)\n" in missing.stdout


@pytest.mark.clause("CONF-SYNTAX-1")
@pytest.mark.clause("CONF-ORDER-1")
def test_run_prints_a_syntax_error_first_and_runs(tmp_path: Path) -> None:
    (tmp_path / "bad.ini").write_text("output_buffering=4096\ndisplay_errors=Off\nfoo=bar=baz\nlog_errors=On\n")
    (tmp_path / "s.py").write_text("from phprt.php import *\necho(ini_get('display_errors'), '|', ini_get('log_errors'),"
                                   " '|', get_cfg_var('foo'), '|', ini_get('precision'))\n")
    completed = _phprt("run", "-c", str(tmp_path / "bad.ini"), "-d", "precision=5", "-d", "x=a=b", str(tmp_path / "s.py"))
    # php: "|0|bar|5" -- display_errors off from line 2, log_errors never read, -d after php.ini
    assert completed.stdout == b"|0|bar|5"
    assert completed.stderr.decode() == (f"PHP:  syntax error, unexpected '=' in {tmp_path}/bad.ini on line 3\n"
                                         "PHP:  syntax error, unexpected '=' in Unknown on line 8\n")


@pytest.mark.clause("CONF-API-1")
def test_serve_and_wsgi_take_the_same_ini_file(tmp_path: Path, make_server: object) -> None:
    root = Path(os.path.realpath(tmp_path))
    (root / "index.py").write_text("from phprt.php import *\necho(ini_get('output_buffering'), '|', "
                                   "ini_get('display_errors'), '|', ob_get_level())\ntrigger_error('hidden')\n")
    server = make_server(root, ini_file="production")  # type: ignore[operator]
    reply = exchange(server, get("/", "HTTP/1.0"))
    assert reply.endswith(b"\r\n\r\n4096||1") and b"X-Powered-By" not in reply
    app = WSGIApp(root, ini_file="production")
    with wsgi_serve(app) as port:
        status, headers, body = wsgi_exchange(port, wsgi_get("/"))
    assert body == b"4096||1" and "X-Powered-By" not in dict(headers)


@pytest.mark.clause("CONF-FPM-1")
@pytest.mark.clause("CONF-API-1")
@pytest.mark.clause("DEV-CONF-FPM-1")
def test_fastcgi_applies_php_value_to_its_request_only(tmp_path: Path) -> None:
    # php-fpm8.2: PHP_VALUE sets even PHP_INI_SYSTEM expose_php; PHP_ADMIN_VALUE locks precision
    root = Path(os.path.realpath(tmp_path))
    (root / "v.py").write_text("from phprt.php import *\necho(ini_get('precision'), '|', ini_get('output_buffering'),"
                               " '|', ob_get_level(), '|', ini_set('precision', '3'), '|', ini_get('expose_php'))\n")
    params = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET", "SCRIPT_FILENAME": f"{root}/v.py",
              "SCRIPT_NAME": "/v.py", "REQUEST_URI": "/v.py", "DOCUMENT_ROOT": str(root), "SERVER_NAME": "localhost",
              "SERVER_PROTOCOL": "HTTP/1.1", "CONTENT_LENGTH": "0"}
    with FastCgiServer(root, "127.0.0.1:0", ini_file="production") as running:
        first = fcgi_exchange(running.address, fcgi_request(
            {**params, "PHP_VALUE": "precision=5\nexpose_php=On\nfoo.bar=1", "PHP_ADMIN_VALUE": "precision=6"}))
        second = fcgi_exchange(running.address, fcgi_request(params))  # DEV-CONF-FPM-1: not inherited
    assert first.stdout.startswith(b"X-Powered-By: ") and first.stdout.endswith(b"\r\n\r\n6|4096|1||1")
    assert first.stderr == b"Passing INI directive through FastCGI: unable to set 'foo.bar'"
    assert second.stdout.endswith(b"\r\n\r\n14|4096|1|14|") and b"X-Powered-By" not in second.stdout


@pytest.mark.clause("CONF-USERINI-1")
@pytest.mark.clause("CONF-SECTION-1")
def test_user_ini_and_path_sections_through_wsgi_and_fastcgi(tmp_path: Path) -> None:
    # php-cgi and php-fpm8.2 with the same tree: the document root's .user.ini and the
    # sub-directory's apply, the sub-directory's last; PHP_INI_SYSTEM expose_php is ignored there
    # but not in a [PATH=] section of php.ini.
    from phprt.engine import ini_files

    ini_files._user_cache.clear()
    root = Path(os.path.realpath(tmp_path)) / "site"
    (root / "sub").mkdir(parents=True)
    (root / ".user.ini").write_text("precision=7\noutput_buffering=50\nexpose_php=Off\n")
    (root / "sub" / ".user.ini").write_text("precision=9\n")
    (root / "sub" / "u.py").write_text("from phprt.php import *\necho(ini_get('precision'), '|', "
                                       "ini_get('output_buffering'), '|', ob_get_level())\n")
    (tmp_path / "php.ini").write_text(f"[PATH={root}/sub]\nserialize_precision=3\n")
    app = WSGIApp(root, ini_file=str(tmp_path / "php.ini"))
    with wsgi_serve(app) as port:
        status, headers, body = wsgi_exchange(port, wsgi_get("/sub/u.py"))
    assert body == b"9|50|1" and "X-Powered-By" in dict(headers)
    (root / "sub" / "s.py").write_text("from phprt.php import *\necho(ini_get('serialize_precision'))\n")
    params = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET", "SCRIPT_FILENAME": f"{root}/sub/s.py",
              "SCRIPT_NAME": "/sub/s.py", "REQUEST_URI": "/sub/s.py", "DOCUMENT_ROOT": str(root),
              "SERVER_NAME": "localhost", "SERVER_PROTOCOL": "HTTP/1.1", "CONTENT_LENGTH": "0"}
    with FastCgiServer(root, "127.0.0.1:0", ini_file=str(tmp_path / "php.ini")) as running:
        reply = fcgi_exchange(running.address, fcgi_request(params))
    assert reply.stdout.endswith(b"\r\n\r\n3")


#: The output functions and error_log under a production-like php.ini, line for line as PHP and as a port.
OUTPUT_PHP = """<?php
printf("%05.1f|%-6s|%x\\n", 3.14159, "ab", 255);
print_r(["a" => 1, "b" => [true, null, 1.5]]);
var_dump([1 => "x", "k" => 0.1]);
var_export(["z" => false, 0 => -0.0]);
echo "\\n", sprintf("%'*8s", "pad"), "\\n";
error_log("to the log");
trigger_error("a notice", E_USER_NOTICE);
trigger_error("deprecated, hidden", E_USER_DEPRECATED);
echo "end\\n";
"""
OUTPUT_PY = """from phprt.php import *
printf("%05.1f|%-6s|%x\\n", 3.14159, "ab", 255)
print_r({"a": 1, "b": [True, None, 1.5]})
var_dump({1: "x", "k": 0.1})
var_export({"z": False, 0: -0.0})
echo("\\n", sprintf("%'*8s", "pad"), "\\n")
error_log("to the log")
trigger_error("a notice", E_USER_NOTICE)
trigger_error("deprecated, hidden", E_USER_DEPRECATED)
echo("end\\n")
"""
OUTPUT_INI = """[PHP]
output_buffering = 4096
display_errors = Off
display_startup_errors = Off
log_errors = On
error_reporting = E_ALL & ~E_DEPRECATED & ~E_STRICT
html_errors = On
"""
#: What ``php -c`` and ``php-cgi -c`` (8.2.36) printed: stdout after the CGI head, and stderr.
OUTPUT_BODY = """003.1|ab    |ff
Array
(
    [a] => 1
    [b] => Array
        (
            [0] => 1
            [1] => 
            [2] => 1.5
        )

)
array(2) {
  [1]=>
  string(1) "x"
  ["k"]=>
  float(0.1)
}
array (
  'z' => false,
  0 => -0.0,
)
*****pad
end
"""
OUTPUT_LOG = """to the log
PHP Notice:  a notice in {s} on line 8
PHP Deprecated:  deprecated, hidden in {s} on line 9
"""
OUTPUT_HEAD = "X-Powered-By: PHP/{v}\r\nContent-type: text/html; charset=UTF-8\r\n\r\n"


@pytest.mark.clause("CONF-LOAD-1")
@pytest.mark.clause("LOG-TYPE-0-1")
@pytest.mark.clause("PRINTF-PRINT-1")
@pytest.mark.clause("DUMP-PRINT-R-1")
@pytest.mark.parametrize("sapi", ["cli", "cgi"])
def test_output_functions_and_error_log_under_a_php_ini(tmp_path: Path, sapi: str,
                                                         request: pytest.FixtureRequest) -> None:
    """The issue's check: a production-like php.ini and a script using printf, print_r,
    var_dump, var_export, error_log and trigger_error, through ``php -c`` / ``php-cgi -c``
    and ``python -m phprt run [--sapi cgi] -c``: the same bytes on stdout and stderr."""
    (tmp_path / "prod.ini").write_text(OUTPUT_INI)
    (tmp_path / "s.py").write_text(OUTPUT_PY)
    completed = _phprt("run", "--sapi", sapi, "-c", str(tmp_path / "prod.ini"), str(tmp_path / "s.py"))
    head = OUTPUT_HEAD.format(v="8.2 (phprt)") if sapi == "cgi" else ""
    assert completed.returncode == 0
    assert completed.stdout.decode() == head + OUTPUT_BODY
    assert completed.stderr.decode() == OUTPUT_LOG.format(s=tmp_path / "s.py")
    binary = "php" if sapi == "cli" else "php-cgi"
    if request.config.getoption("--php-live") and shutil.which(binary):
        (tmp_path / "s.php").write_text(OUTPUT_PHP)
        php = subprocess.run([binary, "-c", str(tmp_path / "prod.ini"), str(tmp_path / "s.php")], capture_output=True,
                             timeout=60, env={**os.environ, "PHP_INI_SCAN_DIR": ""})
        assert php.stdout.decode().replace("PHP/8.2.36", "PHP/8.2 (phprt)") == completed.stdout.decode()
        assert php.stderr.replace(b"s.php", b"s.py") == completed.stderr
