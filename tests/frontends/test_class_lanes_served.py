"""PERF-CLASS-1 at every door: through the HTTP server (http.client), the FastCGI responder (a raw
FastCGI client), WSGI (wsgiref) and ASGI (real asyncio), three requests of a script with a static
counter each give PHP's answer -- recorded with ``php-cgi -n`` and ``php -n -S`` (8.2.36),
``class C { public static $n = 0; } C::$n++; echo C::$n;`` gives 1 at every request -- while the
class is made once: the requests after the first bind the class the first made.
"""

from __future__ import annotations

import http.client
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from phprt import MemoryTransport, Runtime
from phprt.asgi import ASGIApp
from phprt.engine.script import execute
from phprt.fastcgi import FastCgiServer
from phprt.server import HttpServer
from phprt.wsgi import WSGIApp
from tests.support import python
from tests.support.asgi import call
from tests.support.fastcgi import exchange as fastcgi_exchange
from tests.support.fastcgi import fcgi_request, nginx_params
from tests.support.lanes import COUNTER, HIERARCHY, SHAPES, seen_module
from tests.support.wsgi import exchange as wsgi_exchange
from tests.support.wsgi import serve

#: php -n and php-cgi -n (8.2.36): class C { public static $n = 0; } C::$n++; echo C::$n; gives 1.
STATIC = "from phprt.php import *\n\nclass C:\n    n = 0\n\nC.n += 1\necho(C.n)\n"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    seen_module(tmp_path, monkeypatch)
    (tmp_path / "counter.py").write_text(COUNTER)
    (tmp_path / "shapes.py").write_text(HIERARCHY)
    return tmp_path


#: Each script's answer at every request: the static state starts afresh each time (PHP's, recorded:
#: the counter's above, the hierarchy's in tests/support/lanes.py).
ANSWERS = {"counter.py": b"1 n- -", "shapes.py": b"1 2.5 nf H2\n"}


def three_requests(answer: Callable[[], bytes], script: str) -> None:
    # the static count and the attribute the script adds start afresh at every request
    assert [answer() for _ in range(3)] == [ANSWERS[script]] * 3
    import seen

    made = [ref() for ref in seen.classes]
    assert made[0] is made[1] is made[2] is not None


@pytest.mark.clause("PERF-CLASS-1", "PERF-CLASS-3", "SERVE-RUN-1")
@pytest.mark.parametrize("script", ANSWERS)
def test_served_by_the_http_server(root: Path, script: str) -> None:
    with HttpServer(root, log=io.StringIO()) as server:
        def answer() -> bytes:
            connection = http.client.HTTPConnection(*server.address, timeout=20)
            try:
                connection.request("GET", f"/{script}")
                return connection.getresponse().read()
            finally:
                connection.close()

        three_requests(answer, script)


@pytest.mark.clause("PERF-CLASS-1", "PERF-CLASS-3", "FCGI-NGINX-1")
@pytest.mark.parametrize("script", ANSWERS)
def test_served_by_the_fastcgi_responder(root: Path, script: str) -> None:
    with FastCgiServer(root, "127.0.0.1:0") as server:
        three_requests(lambda: fastcgi_exchange(server.address, fcgi_request(nginx_params(root, f"/{script}")))
                       .stdout.partition(b"\r\n\r\n")[2], script)


@pytest.mark.clause("PERF-CLASS-1", "PERF-CLASS-3", "WSGI-APP-1")
@pytest.mark.parametrize("script", ANSWERS)
def test_served_by_wsgi(root: Path, script: str) -> None:
    with serve(WSGIApp(root)) as port:
        three_requests(lambda: wsgi_exchange(port, f"GET /{script} HTTP/1.1\r\nHost: t\r\n\r\n".encode())[2], script)


@pytest.mark.clause("PERF-CLASS-1", "PERF-CLASS-3", "WSGI-APP-1", "ASGI-SCOPE-1")
@pytest.mark.parametrize("script", ANSWERS)
def test_served_by_asgi(root: Path, script: str) -> None:
    app = ASGIApp(root)
    three_requests(lambda: call(app, f"GET /{script} HTTP/1.1\r\nHost: t\r\n\r\n".encode()).body, script)


@pytest.mark.clause("PERF-CLASS-1", "PERF-CLASS-2", "PERF-CLASS-3", "NET-CLI-1")
def test_python_m_phprt_run_makes_its_classes_each_run(tmp_path: Path) -> None:
    # one request a process: PHP's 1 (php -n, as php-cgi), nothing kept
    (tmp_path / "static.py").write_text(STATIC)
    done = [python("-m", "phprt", "run", str(tmp_path / "static.py")) for _ in range(2)]
    assert [(run.returncode, run.stdout, run.stderr) for run in done] == [(0, b"1", b"")] * 2
    (tmp_path / "shapes.py").write_text(SHAPES)  # PHP's answer: tests/support/lanes.py
    done = [python("-m", "phprt", "run", str(tmp_path / "shapes.py")) for _ in range(2)]
    assert [(run.returncode, run.stdout, run.stderr) for run in done] == [(0, ANSWERS["shapes.py"], b"")] * 2


@pytest.mark.clause("PERF-CLASS-1", "PERF-CLASS-2", "RT-SCRIPT-1")
def test_a_runtime_a_program_drives_makes_its_classes_each_run(root: Path) -> None:
    # not disposed of by a server: no lane, the class statement runs each time
    bodies = []
    for _ in range(2):
        transport = MemoryTransport()
        runtime = execute(Runtime(transport=transport, sapi="cgi"), root / "counter.py")
        assert runtime._lane is None  # its namespace is its own, of no lane
        bodies.append(transport.body)
    import seen

    assert bodies == [b"1 n- -"] * 2
    first, second = (ref() for ref in seen.classes)
    assert first is not second
