"""The first errors a user meets, as PHP gives them, at every door: a script that cannot be
opened (RT-RUN-2), a script that does not compile (RT-RUN-3, DEV-PARSE-1), and a bad ``-d``
(INI-PARSE-6) -- through ``python -m phprt run``, ``serve``, the FastCGI responder, WSGI and
ASGI; and the fatal message in ``serve``'s log (SERVE-LOG-1, DIAG-DISPLAY-2).

What PHP 8.2.36 did, recorded with ``php -n``, ``php-cgi -n``, ``php -n -S`` and
``php-fpm8.2 -n`` (phprt/conformance/servers.py's drivers):

* ``php -n missing.php``: stdout ``Could not open input file: missing.php\\n``, nothing on
  stderr, exit 1 (also with display_errors=0). ``php-cgi -n missing.php``: the response
  ``Status: 404 Not Found``, X-Powered-By, Content-type, body ``No input file specified.\\n``,
  exit 255. ``php -n DIR``: nothing, exit 0; ``php-cgi -n DIR``: the 404 above.
* PARSE_PHP (a syntax error on line 3, after an echo): ``php -n`` prints
  ``\\nParse error: syntax error, unexpected token ";" in FILE on line 3\\n`` and exits 255, the
  echo never runs; with ``-d display_errors=0 -d log_errors=1`` stdout is empty and stderr
  ``PHP Parse error:  syntax error, ... on line 3``. php-cgi, ``php -S`` and PHP-FPM display it
  under html_errors, the message escaped (``&quot;;&quot;``), with status 200; php-cgi exits
  255, and with display_errors=0 answers ``Status: 500 Internal Server Error`` and an empty body.
  ``php -S`` logs ``[200]: GET /parse.php - syntax error, unexpected token ";" in FILE on line
  3``; PHP-FPM with log_errors=1 sends ``PHP message: PHP Parse error:  syntax error, ...`` in its
  stderr records and ends the request with status 0.
* An uncaught ``Exception('a<b>&"c')`` under ``php -n -S``: displayed escaped, and logged raw:
  ``[200]: GET /exc.php - Uncaught Exception: a<b>&"c in FILE:2`` + the stack trace lines +
  ``  thrown in FILE on line 2``.
* ESCAPED_PHP under html_errors (php-cgi -n, php -n -S, php-fpm8.2 -n: the same body; and
  php-cgi with ``-d default_charset=ISO-8859-1``): ESCAPED below, a byte 0xFF or 0xE9 being
  ``EF BF BD`` under UTF-8 and itself under ISO-8859-1 (DIAG-DISPLAY-2).
* ``-d precision=5 -d x=a=b -d y=2``: ``php`` writes ``PHP:  syntax error, unexpected '=' in
  Unknown on line 8`` to stderr (its six built-in lines come first), php-cgi, ``php -S`` and
  ``php-fpm8.2`` say ``line 2``; precision is 5, x is "a", y is not set, and the script runs.

The ports below stand on the same lines as the PHP scripts; the parse error's text is Python's
(DEV-PARSE-1): ``syntax error, invalid syntax`` where PHP says ``syntax error, unexpected token
";"``.
"""

from __future__ import annotations

import http.client
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from phprt import MemoryTransport, Runtime
from phprt.__main__ import _defines
from phprt.asgi import ASGIApp
from phprt.engine.ini import Configuration, configure
from phprt.engine.script import execute, parse_error
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

WAIT = 60.0

PARSE_PHP = '<?php\necho "hi";\n$x = ;\n'
PARSE = 'from phprt.php import *\necho("hi")\nx = \n'
MESSAGE = "syntax error, invalid syntax"  # PHP: syntax error, unexpected token ";"
#: What php -n printed for PARSE_PHP, with Python's message.
CLI = "\nParse error: {message} in {file} on line 3\n"
#: The body php-cgi -n, php -n -S and php-fpm8.2 -n sent for PARSE_PHP (html_errors on).
WEB = "<br />\n<b>Parse error</b>:  {message} in <b>{file}</b> on line <b>3</b><br />\n"
CGI_HEAD = b"X-Powered-By: PHP/8.2 (phprt)\r\nContent-type: text/html; charset=UTF-8\r\n\r\n"


#: A docref warning naming a callback, and an uncaught exception's message, each with `<`, `&`,
#: quotes and a byte invalid in UTF-8.
ESCAPED_PHP = "<?php\nob_start(\"f\\xff<'x'>&amp;\");\nob_start(\"g\\xe9\");\nthrow new Exception(\"bad \\xff <b> & &amp; \\\"q\\\" 'x'\");\n"
ESCAPED = ("from phprt.php import *\nob_start(\"f\\udcff<'x'>&amp;\")\nob_start(\"g\\udce9\")\n"
           "raise Exception(\"bad \\udcff <b> & &amp; \\\"q\\\" 'x'\")\n")
#: The body PHP sent for ESCAPED_PHP, {script} for its path.
ESCAPED_BODY = (
    "<br />\n<b>Warning</b>:  ob_start(): function &quot;f{ff}&lt;'x'&gt;&amp;amp;&quot; not found or invalid "
    "function name in <b>{script}</b> on line <b>2</b><br />\n"
    "<br />\n<b>Notice</b>:  ob_start(): Failed to create buffer in <b>{script}</b> on line <b>2</b><br />\n"
    "<br />\n<b>Warning</b>:  ob_start(): function &quot;g{e9}&quot; not found or invalid function name in "
    "<b>{script}</b> on line <b>3</b><br />\n"
    "<br />\n<b>Notice</b>:  ob_start(): Failed to create buffer in <b>{script}</b> on line <b>3</b><br />\n"
    "<br />\n<b>Fatal error</b>:  Uncaught Exception: bad {ff} &lt;b&gt; &amp; &amp;amp; &quot;q&quot; 'x' in "
    "{script}:4\nStack trace:\n#0 {{main}}\n  thrown in <b>{script}</b> on line <b>4</b><br />\n"
)


def _escaped_body(script: Path, charset: str = "UTF-8") -> bytes:
    ff, e9 = ("\N{REPLACEMENT CHARACTER}",) * 2 if charset == "UTF-8" else ("\xff", "\xe9")
    return ESCAPED_BODY.format(script=script, ff=ff, e9=e9).encode("utf-8" if charset == "UTF-8" else "latin-1")


def _run(*arguments: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "phprt", "run", *arguments], capture_output=True, timeout=WAIT, cwd=cwd)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = Path(os.path.realpath(tmp_path / "root"))
    root.mkdir()
    (root / "parse.py").write_text(PARSE)
    (root / "exc.py").write_text("from phprt.php import *\nraise Exception('a<b>&\"c')\n")
    (root / "escaped.py").write_text(ESCAPED)
    return root


# -- a script that cannot be opened ---------------------------------------------------------


@pytest.mark.clause("RT-RUN-2")
def test_run_of_a_missing_script_is_phps_could_not_open_input_file(tmp_path: Path) -> None:
    done = _run("missing.py", cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (1, b"Could not open input file: missing.py\n", b"")
    done = _run("-d", "display_errors=0", "missing.py", cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (1, b"Could not open input file: missing.py\n", b"")


@pytest.mark.clause("RT-RUN-2")
def test_run_of_a_missing_script_under_cgi_is_php_cgis_404(tmp_path: Path) -> None:
    done = _run("--sapi", "cgi", "missing.py", cwd=tmp_path)
    assert done.returncode == 255
    assert done.stdout == b"Status: 404 Not Found\r\n" + CGI_HEAD + b"No input file specified.\n"
    assert done.stderr == b""


@pytest.mark.clause("RT-RUN-2")
def test_run_of_a_directory_is_an_empty_script_to_php_and_missing_to_php_cgi(tmp_path: Path) -> None:
    (tmp_path / "www").mkdir()
    done = _run("www", cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    done = _run("--sapi", "cgi", "www", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (255, b"Status: 404 Not Found\r\n" + CGI_HEAD + b"No input file specified.\n")


# -- a script that does not compile ---------------------------------------------------------


@pytest.mark.clause("RT-RUN-3", "DEV-PARSE-1")
def test_run_reports_a_syntax_error_as_phps_parse_error(root: Path) -> None:
    script = root / "parse.py"
    done = _run(str(script))
    assert (done.returncode, done.stdout.decode(), done.stderr) == (255, CLI.format(message=MESSAGE, file=script), b"")
    done = _run("-d", "display_errors=0", "-d", "log_errors=1", str(script))
    assert (done.returncode, done.stdout) == (255, b"")
    assert done.stderr.decode() == f"PHP Parse error:  {MESSAGE} in {script} on line 3\n"


@pytest.mark.clause("RT-RUN-3")
def test_run_under_cgi_reports_a_parse_error_as_php_cgi_does(root: Path) -> None:
    script = root / "parse.py"
    done = _run("--sapi", "cgi", str(script))
    assert done.returncode == 255
    assert done.stdout.decode() == CGI_HEAD.decode() + WEB.format(message=MESSAGE, file=script)
    done = _run("--sapi", "cgi", "-d", "display_errors=0", str(script))
    assert (done.returncode, done.stdout) == (255, b"Status: 500 Internal Server Error\r\n" + CGI_HEAD)


@pytest.mark.clause("RT-RUN-3")
def test_serve_reports_a_parse_error_and_logs_it_as_php_S_does(root: Path) -> None:
    log = io.StringIO()
    with HttpServer(root, log=log) as server:
        connection = http.client.HTTPConnection(*server.address, timeout=WAIT)
        connection.request("GET", "/parse.py")
        response = connection.getresponse()
        assert (response.status, response.read().decode()) == (200, WEB.format(message=MESSAGE, file=root / "parse.py"))
        connection.close()
    assert f"[200]: GET /parse.py - {MESSAGE} in {root / 'parse.py'} on line 3\n" in log.getvalue()


@pytest.mark.clause("RT-RUN-3")
def test_fastcgi_reports_a_parse_error_as_php_fpm_does(root: Path) -> None:
    with FastCgiServer(root, "127.0.0.1:0", ini={"log_errors": "1"}) as server:
        reply = fcgi_exchange(server.address, fcgi_request(nginx_params(root, "/parse.py")))
    head, _, body = reply.stdout.partition(b"\r\n\r\n")
    assert body.decode() == WEB.format(message=MESSAGE, file=root / "parse.py")
    assert reply.stderr.decode() == f"PHP message: PHP Parse error:  {MESSAGE} in {root / 'parse.py'} on line 3"
    assert reply.end() == (0, 0)


@pytest.mark.clause("RT-RUN-3")
def test_wsgi_and_asgi_report_a_parse_error(root: Path) -> None:
    expected = WEB.format(message=MESSAGE, file=root / "parse.py").encode()
    with wsgi_serve(WSGIApp(root)) as port:
        status, _, body = wsgi_exchange(port, wsgi_get("/parse.py"))
        assert (status, body) == ("HTTP/1.0 200 OK", expected)
    exchange = asgi_call(ASGIApp(root), asgi_get("/parse.py"))
    assert (exchange.start["status"], exchange.body) == (200, expected)


# -- html_errors escaping ---------------------------------------------------------------------


@pytest.mark.clause("DIAG-DISPLAY-2")
@pytest.mark.parametrize("charset", ["UTF-8", "ISO-8859-1"])
def test_run_under_cgi_escapes_a_displayed_message_as_php_cgi_does(root: Path, charset: str) -> None:
    script = root / "escaped.py"
    completed = _run("--sapi", "cgi", "-d", f"default_charset={charset}", str(script))
    assert completed.stdout.partition(b"\r\n\r\n")[2] == _escaped_body(script, charset)


@pytest.mark.clause("DIAG-DISPLAY-2", "NET-SERVER-1")
def test_every_server_door_escapes_a_displayed_message_as_php_does(root: Path) -> None:
    assert served_answers(root, "/escaped.py") == dict.fromkeys(DOORS, (200, _escaped_body(root / "escaped.py")))


@pytest.mark.clause("RT-RUN-3")
def test_a_parse_error_in_a_program_is_reported_through_the_request(root: Path) -> None:
    transport = MemoryTransport()
    runtime = execute(Runtime(transport, sapi="cli"), root / "parse.py")
    assert runtime.exit_status == 255
    assert transport.body.decode() == CLI.format(message=MESSAGE, file=root / "parse.py")
    assert runtime.error_get_last() == {"type": 4, "message": MESSAGE, "file": str(root / "parse.py"), "line": 3}


@pytest.mark.clause("DEV-PARSE-1")
@pytest.mark.parametrize(("source", "message", "line"), [
    ("x = (1,\n", "syntax error, '(' was never closed", 1),
    ("if x\n  pass\n", "syntax error, expected ':'", 1),
    ("def f():\nreturn 1\n", "syntax error, expected an indented block after function definition on line 1", 2),
    ("a\0b", "syntax error, source code string cannot contain null bytes", 1),
])
def test_pythons_syntax_errors_map_to_phps_parse_error(source: str, message: str, line: int) -> None:
    try:
        compile(source, "/s.py", "exec", dont_inherit=True)
    except SyntaxError as error:
        assert parse_error(error, "/s.py") == (message, "/s.py", line)
    else:
        pytest.fail("compiled")


# -- the log line and -d --------------------------------------------------------------------


@pytest.mark.clause("SERVE-LOG-1", "DIAG-DISPLAY-2")
def test_serve_logs_an_uncaught_exceptions_message_raw_as_php_S_does(root: Path) -> None:
    log = io.StringIO()
    with HttpServer(root, log=log) as server:
        connection = http.client.HTTPConnection(*server.address, timeout=WAIT)
        connection.request("GET", "/exc.py")
        response = connection.getresponse()
        assert b"Uncaught Exception: a&lt;b&gt;&amp;&quot;c in " in response.read()
        connection.close()
    file = root / "exc.py"
    assert (f"[200]: GET /exc.py - Uncaught Exception: a<b>&\"c in {file}:2\nStack trace:\n#0 {{main}}\n"
            f"  thrown in {file} on line 2\n") in log.getvalue()


@pytest.mark.clause("INI-PARSE-6")
def test_a_bad_define_is_reported_as_php_reports_it_and_the_script_runs(tmp_path: Path) -> None:
    script = tmp_path / "d.py"
    script.write_text("from phprt.php import *\necho(ini_get('precision'), ' ', get_cfg_var('x'), ' ', get_cfg_var('y') is False)\n")
    done = _run("-d", "precision=5", "-d", "x=a=b", "-d", "y=2", str(script))
    assert (done.returncode, done.stdout) == (0, b"5 a 1")  # what came before the error is kept
    assert done.stderr == b"PHP:  syntax error, unexpected '=' in Unknown on line 8\n"


@pytest.mark.clause("INI-PARSE-6", "INI-UNKNOWN-1")
@pytest.mark.parametrize("sapi", ["cgi", "cli-server", "fpm"])
def test_the_first_define_is_line_one_for_php_cgi_php_S_and_php_fpm(sapi: str, capsys: pytest.CaptureFixture[str]) -> None:
    configuration = _defines(["precision=5", "x=a=b", "y=2"], sapi, cli=sapi == "cli")
    assert capsys.readouterr().err == "PHP:  syntax error, unexpected '=' in Unknown on line 2\n"
    assert isinstance(configuration, Configuration)
    assert dict(configuration) == {"precision": "5", "x": "a"}
    assert configuration.directives["precision"] == "5"


@pytest.mark.clause("INI-PARSE-6")
def test_defines_are_read_by_phps_ini_scanner() -> None:
    configuration = _defines(["error_reporting=E_ALL & ~E_DEPRECATED & ~E_STRICT", "display_errors=Off",
                              "html_errors", "error_prepend_string=<b>"], "cli", cli=True)
    assert dict(configuration) == {"html_errors": "1", "register_argc_argv": "1", "implicit_flush": "1",
                                   "output_buffering": "0", "max_execution_time": "0", "max_input_time": "-1",
                                   "error_reporting": "22527", "display_errors": "", "error_prepend_string": "<b>"}
    assert configure("cli", configuration) is configuration
