"""The output layer's fast paths at every door (PERF-OB-4, PERF-OB-5, PERF-OB-6, PERF-DUMP-1): ``python -m phprt run``,
``serve`` (http.client), the FastCGI responder (a raw FastCGI client), WSGI (wsgiref) and ASGI.

The scripts, and what PHP made of them: tests/support/output.py.
"""

from __future__ import annotations

import http.client
import io
from pathlib import Path

import pytest

from phprt.asgi import ASGIApp
from phprt.fastcgi import FastCgiServer
from phprt.server import HttpServer
from phprt.wsgi import WSGIApp
from tests.support import python
from tests.support.asgi import call
from tests.support.fastcgi import exchange, fcgi_request, nginx_params
from tests.support.output import (
    CHUNKED,
    CHUNKED_PY,
    DUMPED,
    DUMPED_PY,
    FLUSHED,
    FLUSHED_PY,
    METHODS,
    METHODS_PY,
    MIXED_PY,
    NAMED,
    NAMED_PY,
    mixed_is_php_fpms,
)
from tests.support.wsgi import exchange as wsgi_exchange
from tests.support.wsgi import serve


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "chunked.py").write_text(CHUNKED_PY)
    (tmp_path / "mixed.py").write_text(MIXED_PY)
    (tmp_path / "flushed.py").write_text(FLUSHED_PY)
    (tmp_path / "dumped.py").write_text(DUMPED_PY)
    (tmp_path / "named.py").write_text(NAMED_PY)
    (tmp_path / "methods.py").write_text(METHODS_PY)
    return tmp_path


@pytest.mark.clause("PERF-OB-4", "PERF-OB-6", "PERF-OB-7", "PERF-OB-9", "PERF-CALL-4", "PERF-DUMP-1", "OUT-CHUNK-1", "NET-CLI-1")
@pytest.mark.parametrize("name, expected", [("chunked.py", CHUNKED), ("flushed.py", FLUSHED), ("dumped.py", DUMPED),
                                            ("named.py", NAMED), ("methods.py", METHODS)])
def test_run(root: Path, name: str, expected: bytes) -> None:
    done = python("-m", "phprt", "run", str(root / name))
    assert (done.returncode, done.stdout, done.stderr) == (0, expected, b"")


@pytest.mark.clause("PERF-OB-4", "PERF-OB-6", "PERF-OB-7", "PERF-OB-9", "PERF-CALL-4", "PERF-DUMP-1", "OUT-CHUNK-1", "SERVE-RUN-1")
def test_serve(root: Path) -> None:
    with HttpServer(root, log=io.StringIO()) as server:
        connection = http.client.HTTPConnection(*server.address, timeout=20)
        try:
            for name, expected in (("chunked.py", CHUNKED), ("flushed.py", FLUSHED), ("dumped.py", DUMPED),
                                   ("named.py", NAMED), ("named.py", NAMED), ("methods.py", METHODS),
                                   ("methods.py", METHODS)):
                connection.request("GET", f"/{name}")
                assert connection.getresponse().read() == expected
        finally:
            connection.close()


@pytest.mark.clause("PERF-OB-4", "PERF-OB-5", "PERF-OB-6", "PERF-OB-7", "PERF-OB-9", "PERF-CALL-4", "PERF-DUMP-1", "OUT-CHUNK-1", "FCGI-STDOUT-1")
def test_the_fastcgi_responder(root: Path) -> None:
    with FastCgiServer(root, "127.0.0.1:0") as server:
        def body(name: str) -> bytes:
            return exchange(server.address, fcgi_request(nginx_params(root, name))).stdout.partition(b"\r\n\r\n")[2]

        assert body("/chunked.py") == CHUNKED
        assert body("/flushed.py") == FLUSHED
        assert body("/dumped.py") == DUMPED
        assert body("/named.py") == body("/named.py") == NAMED
        assert body("/methods.py") == body("/methods.py") == METHODS
        mixed_is_php_fpms(body("/mixed.py"))


@pytest.mark.clause("PERF-OB-4", "PERF-OB-5", "PERF-OB-6", "PERF-OB-7", "PERF-OB-9", "PERF-CALL-4", "PERF-DUMP-1", "OUT-CHUNK-1", "WSGI-APP-1", "WSGI-SAPI-1")
@pytest.mark.parametrize("sapi", ["cgi", "fpm"])
def test_wsgi(root: Path, sapi: str) -> None:
    with serve(WSGIApp(root, sapi=sapi)) as port:
        assert wsgi_exchange(port, b"GET /chunked.py HTTP/1.1\r\nHost: t\r\n\r\n")[2] == CHUNKED
        assert wsgi_exchange(port, b"GET /flushed.py HTTP/1.1\r\nHost: t\r\n\r\n")[2] == FLUSHED
        assert wsgi_exchange(port, b"GET /dumped.py HTTP/1.1\r\nHost: t\r\n\r\n")[2] == DUMPED
        for _ in range(2):
            assert wsgi_exchange(port, b"GET /named.py HTTP/1.1\r\nHost: t\r\n\r\n")[2] == NAMED
            assert wsgi_exchange(port, b"GET /methods.py HTTP/1.1\r\nHost: t\r\n\r\n")[2] == METHODS
        mixed_is_php_fpms(wsgi_exchange(port, b"GET /mixed.py HTTP/1.1\r\nHost: t\r\n\r\n")[2])


@pytest.mark.clause("PERF-OB-4", "PERF-OB-5", "PERF-OB-6", "PERF-OB-7", "PERF-OB-9", "PERF-CALL-4", "PERF-DUMP-1", "OUT-CHUNK-1", "ASGI-SCOPE-1",
                    "WSGI-SAPI-1")
@pytest.mark.parametrize("sapi", ["cgi", "fpm"])
def test_asgi(root: Path, sapi: str) -> None:
    app = ASGIApp(root, sapi=sapi)
    assert call(app, b"GET /chunked.py HTTP/1.1\r\nHost: t\r\n\r\n").body == CHUNKED
    assert call(app, b"GET /flushed.py HTTP/1.1\r\nHost: t\r\n\r\n").body == FLUSHED
    assert call(app, b"GET /dumped.py HTTP/1.1\r\nHost: t\r\n\r\n").body == DUMPED
    for _ in range(2):
        assert call(app, b"GET /named.py HTTP/1.1\r\nHost: t\r\n\r\n").body == NAMED
        assert call(app, b"GET /methods.py HTTP/1.1\r\nHost: t\r\n\r\n").body == METHODS
    mixed_is_php_fpms(call(app, b"GET /mixed.py HTTP/1.1\r\nHost: t\r\n\r\n").body)


#: Ports whose lines are PHP's, with what ``php -n`` (8.2.36) printed and its exit status: exit in a
#: handler that a notice's display ran waits for the function's second notice (OUT-EXIT-1); the
#: lock error's teardown leaves no active buffer for a shutdown function (OUT-FLUSH-ACTIVE-1).
_TEARDOWNS = [
    ("from phprt.php import *\ndef h_echo_exit(b, p): echo('E'); exit(3)\n"
     "ob_start(h_echo_exit, 1, PHP_OUTPUT_HANDLER_FLUSHABLE)\nob_get_clean()\necho('never')\n",
     "\nNotice: ob_get_clean(): Failed to discard buffer of h_echo_exit (0) in %s on line 4\nE\n"
     "Notice: ob_get_clean(): Failed to delete buffer of h_echo_exit (0) in %s on line 4\n", 3),
    ("from phprt.php import *\nregister_shutdown_function(lambda: var_dump(ob_end_flush()))\n"
     "def h_call_ob_get_flush(b, p): ob_get_flush(); return b\nob_start(h_call_ob_get_flush, 1)\nob_start()\n"
     "echo('x\\n', 'x\\n')\nob_flush()\n",
     "\nFatal error: ob_get_flush(): Cannot use output buffering in output buffering display handlers in %s on line 3"
     "\n\nNotice: ob_end_flush(): Failed to delete and flush buffer. No buffer to delete or flush in %s on line 2\n"
     "bool(false)\n", 255),
]


@pytest.mark.clause("OUT-EXIT-1", "OUT-FLUSH-ACTIVE-1", "NET-CLI-1")
@pytest.mark.parametrize("source, expected, status", _TEARDOWNS)
def test_a_handlers_exit_and_the_lock_errors_teardown_through_run(tmp_path: Path, source: str, expected: str,
                                                                  status: int) -> None:
    script = tmp_path / "teardown.py"
    script.write_text(source)
    done = python("-m", "phprt", "run", str(script))
    assert (done.returncode, done.stdout.decode()) == (status, expected.replace("%s", str(script)))
