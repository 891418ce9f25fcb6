"""phprt's FastCGI responder behind a real nginx (FCGI-NGINX-1).

nginx runs from a private prefix with the server block README.md gives (the
standard ``fastcgi_params``, ``fastcgi_split_path_info`` for PATH_INFO, an
``upstream`` with keep-alive connections), in front of a ``FastCgiServer`` on a TCP
port or a unix socket, or of several ``python -m phprt fastcgi`` processes. What
the client gets is compared with the same script on a MemoryTransport under
the "fpm" profile.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phprt import MemoryTransport
from phprt.fastcgi import FastCgiServer
from phprt.net.site import ScriptCall
from tests.support import ROOT, lanes, uploads
from tests.support import output as recorded
from tests.support.fastcgi import SCRIPTS as FASTCGI_SCRIPTS
from tests.support.nginx import MISSING, NGINX, TIMEOUT, Nginx, free_port

if NGINX is None:
    pytest.skip(MISSING, allow_module_level=True)

# Scripts whose response is compared with a MemoryTransport's.
PAGES = {
    "hello.py": 'from phprt.php import *\necho("Hello from phprt\\n")\n',
    "status.py": 'from phprt.php import *\nhttp_response_code(404)\nheader("X-A: 1")\nheader("X-B: two", False)\necho("gone")\n',
    "redirect.py": 'from phprt.php import *\nheader("Location: /elsewhere")\necho("moved")\n',
    "cookie.py": 'from phprt.php import *\nsetcookie("a", "b c", 0, "/")\nheader("Cache-Control: no-store")\necho("c")\n',
    "big.py": 'from phprt.php import *\nob_start(None, 4096)\nfor i in range(20000):\n    echo(f"{i:09d}\\n")\n',
    "gzip.py": 'from phprt.php import *\nob_start(ob_gzhandler)\necho("compress me " * 500)\n',
    "echos.py": 'from phprt.php import *\nfor i in range(3000):\n    echo("abcde", i % 10)\n',  # PERF-ECHO-4, 18 KiB
}
SCRIPTS = {
    "post.py": 'from phprt.php import *\necho(len(runtime().input), " ", runtime().input[:20], "|", _POST.get("b", "-"))\n',
    "where.py": 'from phprt.php import *\nfor k in ("SCRIPT_NAME", "PATH_INFO", "PHP_SELF", "SCRIPT_FILENAME", "REQUEST_URI",'
                ' "QUERY_STRING", "REQUEST_METHOD"):\n    echo(k, "=", _SERVER.get(k, "(unset)"), "\\n")\n',
    "late.py": """import time
from phprt.php import *
echo("early answer")
fastcgi_finish_request()
usleep(1500000)
with open(_GET["out"], "w") as f:
    f.write(repr(time.time()))
""",
    "ticks.py": FASTCGI_SCRIPTS["ticks.py"],  # ticks until the client is gone, as in test_fastcgi.py
    "pid.py": "import os\nfrom phprt.php import *\necho(str(os.getpid()))\n",
    # A function and a class the request's shutdown function uses: the namespace ends after it (PERF-RELEASE-2).
    "shutdown.py": 'from phprt.php import *\n\ndef greet():\n    return "hello"\n\nclass Page:\n'
                   '    def show(self):\n        echo(greet(), "\\n")\n\n'
                   'register_shutdown_function(lambda: Page().show())\necho("body\\n")\n',
    "sub/index.py": 'from phprt.php import *\necho("sub index")\n',
    "upload.py": uploads.SCRIPT,
    "chunked.py": recorded.CHUNKED_PY,  # PHP's answer recorded (PERF-OB-4)
    "mixed.py": recorded.MIXED_PY,  # php-fpm8.2's body recorded (PERF-OB-5)
    "flushed.py": recorded.FLUSHED_PY,  # PHP's answer recorded (PERF-OB-6)
    "dumped.py": recorded.DUMPED_PY,  # PHP's answer recorded (PERF-DUMP-1)
    "named.py": recorded.NAMED_PY,  # PHP's answer recorded (PERF-OB-7)
    "methods.py": recorded.METHODS_PY,  # PHP's answer recorded (PERF-OB-9)
    # a kept class (PERF-CLASS-1) whose static count is the request's own
    "static.py": 'from phprt.php import *\n\nclass C:\n    n = 0\n\n    def bump(self):\n'
                 '        C.n += 1\n        return C.n\n\necho(C().bump())\n',
    "shapes.py": lanes.SHAPES,  # kept classes of a ported hierarchy (PERF-CLASS-3), PHP's answer recorded
}


@pytest.fixture(scope="module")
def docroot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = Path(os.path.realpath(tmp_path_factory.mktemp("nginx-root")))
    for name, text in {**PAGES, **SCRIPTS}.items():
        (root / name).parent.mkdir(exist_ok=True)
        (root / name).write_text(text)
    (root / "static.txt").write_text("static file\n")
    return root


@pytest.fixture(scope="module", params=["tcp", "unix"])
def nginx(request: pytest.FixtureRequest, docroot: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    tmp = Path(os.path.realpath(tmp_path_factory.mktemp(f"nginx-{request.param}")))
    listen = str(tmp / "phprt.sock") if request.param == "unix" else "127.0.0.1:0"
    with FastCgiServer(docroot, listen) as server:
        upstream = f"unix:{server.address}" if request.param == "unix" else "{}:{}".format(*server.address)
        running = Nginx(tmp, docroot, [upstream])
        try:
            yield running
        finally:
            running.stop()


def _memory(docroot: Path, name: str) -> MemoryTransport:
    transport = MemoryTransport()
    server = {"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_ACCEPT_ENCODING": "gzip"}
    ScriptCall(docroot / name, server, b"", "fpm").run(transport)
    return transport


_NGINX_OWN = {"server", "date", "transfer-encoding", "connection", "content-length", "keep-alive"}


@pytest.mark.clause("FCGI-NGINX-1", "FCGI-STDOUT-1")
@pytest.mark.parametrize("name", sorted(PAGES))
def test_the_client_gets_what_the_script_gives(nginx: Nginx, docroot: Path, name: str) -> None:
    response, body = nginx.get(f"/{name}")
    memory = _memory(docroot, name)
    assert response.status == memory.status
    expected = {(field.lower(), value) for field, value in memory.headers}
    got = {(field.lower(), value) for field, value in response.getheaders() if field.lower() not in _NGINX_OWN}
    assert got == expected
    assert body == memory.body


@pytest.mark.clause("FCGI-NGINX-1", "FCGI-PATHINFO-1", "FCGI-SERVER-1")
def test_nginx_splits_path_info_and_serves_indexes(nginx: Nginx, docroot: Path) -> None:
    response, body = nginx.get("/where.py/extra/path?x=1+2")
    assert response.status == 200
    assert body.decode().splitlines() == [
        "SCRIPT_NAME=/where.py", "PATH_INFO=/extra/path", "PHP_SELF=/where.py/extra/path",
        f"SCRIPT_FILENAME={docroot}/where.py", "REQUEST_URI=/where.py/extra/path?x=1+2", "QUERY_STRING=x=1+2",
        "REQUEST_METHOD=GET"]
    assert nginx.get("/sub/")[1] == b"sub index"
    assert nginx.get("/static.txt")[1] == b"static file\n"
    assert nginx.get("/missing.py")[0].status == 404  # nginx's try_files, before phprt


@pytest.mark.clause("FCGI-NGINX-1", "FCGI-BEGIN-1")
@pytest.mark.parametrize("size", [11, 300000])
def test_post_bodies_reach_the_script(nginx: Nginx, size: int) -> None:
    body = (b"a=1&b=two+2" + b"&c=" + b"x" * (size - 14)) if size > 11 else b"a=1&b=two+2"
    response, data = nginx.get("/post.py", method="POST", body=body,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 200
    assert data == f"{len(body)} ".encode() + body[:20] + b"|two 2"


@pytest.mark.clause("FCGI-NGINX-1", "PERF-CLASS-1", "PERF-CLASS-3")
def test_a_kept_class_has_each_requests_own_static_state(nginx: Nginx) -> None:
    # php-cgi -n and php -n -S: class C { public static $n = 0; } C::$n++; echo C::$n; gives 1 each time
    assert [nginx.get("/static.py")[1] for _ in range(3)] == [b"1", b"1", b"1"]
    # php -n -S (tests/support/lanes.py): "1 2.5 nf H2\n" at every request
    assert [nginx.get("/shapes.py")[1] for _ in range(3)] == [b"1 2.5 nf H2\n"] * 3


@pytest.mark.clause("FCGI-NGINX-1", "PERF-OB-4", "PERF-OB-5", "PERF-OB-6", "PERF-OB-7", "PERF-OB-9", "PERF-CALL-4",
                    "PERF-DUMP-1", "OUT-CHUNK-1")
def test_output_appended_by_the_fast_paths_is_phps(nginx: Nginx) -> None:
    assert nginx.get("/chunked.py")[1] == recorded.CHUNKED
    assert nginx.get("/flushed.py")[1] == recorded.FLUSHED
    assert nginx.get("/dumped.py")[1] == recorded.DUMPED
    assert nginx.get("/named.py")[1] == nginx.get("/named.py")[1] == recorded.NAMED
    assert nginx.get("/methods.py")[1] == nginx.get("/methods.py")[1] == recorded.METHODS
    recorded.mixed_is_php_fpms(nginx.get("/mixed.py")[1])


@pytest.mark.clause("FCGI-NGINX-1", "PERF-UPLOAD-2")
def test_an_upload_past_body_buffer_reaches_the_script(nginx: Nginx) -> None:
    body, content = uploads.upload(900_000)  # under nginx's client_max_body_size, 1m; on disk past 64 KiB
    response, data = nginx.get("/upload.py", method="POST", body=body, headers={"Content-Type": uploads.CONTENT_TYPE})
    assert response.status == 200
    assert data.rpartition(b" ")[0] + b" " == uploads.expected(content)


@pytest.mark.clause("FCGI-NGINX-1", "PERF-RELEASE-2", "LIFE-SHUTDOWN-1")
def test_each_request_has_its_globals_until_its_shutdown_functions_are_done(nginx: Nginx) -> None:
    # php -n: function greet(); class Page { function show() { echo greet(), "\n"; } }
    #   register_shutdown_function(fn () => (new Page)->show()); echo "body\n"; gives "body\nhello\n"
    for _ in range(3):
        response, body = nginx.get("/shutdown.py")
        assert (response.status, body) == (200, b"body\nhello\n")


@pytest.mark.clause("FCGI-NGINX-1", "FCGI-FINISH-1")
def test_finish_request_completes_the_client_response_first(nginx: Nginx, tmp_path: Path) -> None:
    out = tmp_path / "end"
    response, body = nginx.get(f"/late.py?out={out}")
    received = time.time()  # the whole response, chunked end included, is in
    assert (response.status, body) == (200, b"early answer")
    deadline = time.monotonic() + TIMEOUT
    while not out.exists() or not out.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    ended = float(out.read_text())
    assert received < ended  # measured: the client had it about 1.5 s before the script ended
    assert nginx.get("/hello.py")[1] == b"Hello from phprt\n"  # the kept connection serves on


@pytest.mark.clause("FCGI-NGINX-1", "FCGI-ABORT-1", "CONN-ABORT-1")
def test_a_client_that_hangs_up_aborts_the_script(nginx: Nginx, tmp_path: Path) -> None:
    out = tmp_path / "status"
    client = socket.create_connection(("127.0.0.1", nginx.port), timeout=TIMEOUT)
    try:
        client.sendall(f"GET /ticks.py?out={out} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        received = b""
        while b"tick" not in received:
            chunk = client.recv(65536)
            assert chunk, "nginx closed before the first tick"
            received += chunk
    finally:
        client.close()  # mid-response: nginx closes its FastCGI connection
    deadline = time.monotonic() + TIMEOUT
    while not out.exists() or not out.read_text():
        assert time.monotonic() < deadline, "the script never ended"
        time.sleep(0.02)
    status, ticks, _ = out.read_text().split()
    assert status == "1"  # connection_status() in the shutdown function: CONNECTION_ABORTED
    assert int(ticks) < 400  # stopped at a flush after the hang-up, not at its end


def _spawn(docroot: Path, *args: str) -> subprocess.Popen[bytes]:
    environment = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "phprt", "fastcgi", str(docroot), *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)


def _listening(address: Any) -> bool:
    try:
        if isinstance(address, str):
            with socket.socket(socket.AF_UNIX) as probe:
                probe.connect(address)
        else:
            socket.create_connection(address, timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.clause("FCGI-NGINX-1", "FCGI-WORKERS-1", "NET-CLI-1")
def test_an_upstream_of_phprt_processes_shares_the_requests(docroot: Path, tmp_path: Path) -> None:
    port, sock = free_port(), str(tmp_path / "b.sock")
    first = _spawn(docroot, "--listen", f"127.0.0.1:{port}", "--workers", "2")
    second = _spawn(docroot, "--listen", sock)
    running = None
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (_listening(("127.0.0.1", port)) and _listening(sock)):
            assert first.poll() is None and second.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        running = Nginx(tmp_path, docroot, [f"127.0.0.1:{port}", f"unix:{sock}"])
        pids = {int(running.get("/pid.py")[1]) for _ in range(8)}
        assert second.pid in pids  # the unix-socket process, serving in its own process
        assert pids - {second.pid}  # and a worker of the two-worker process
        assert all(pid not in (first.pid,) for pid in pids)  # the master only supervises
    finally:
        if running is not None:
            running.stop()
        statuses = []
        for process in (first, second):
            process.send_signal(signal.SIGTERM)
            try:
                statuses.append(process.wait(TIMEOUT))
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
    assert statuses == [0, 0]
    assert not os.path.exists(sock)
