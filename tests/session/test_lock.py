"""mheumann's note, for real: the session lock across concurrent requests (SESS-LOCK-1, SESS-WRITE-1).

A first request starts a session and then waits for a file the test creates; a second
request on the same session id starts its session meanwhile. While the first holds the
session, the second waits: it reads what the first wrote at its end. Once the first has
called session_write_close(), the second runs to its end while the first still waits.
Nothing is timed: the test orders events with marker files and joins with generous
safety timeouts. The same scripts, in PHP, behave the same under ``php -S``
(PHP_CLI_SERVER_WORKERS=2) and php-fpm with two children; those runs are below too,
skipped where the binaries are missing.
"""

from __future__ import annotations

import fcntl
import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Callable, Iterator

import pytest

from phprt.fastcgi import FastCgiServer
from phprt.net.site import Site
from phprt.server import HttpServer
from tests.support.fastcgi import exchange, fcgi_request, nginx_params

SAFETY = 20.0  # seconds: a bound on every wait, never an expectation

FIRST_PY = """import os
from phprt.php import *
d, sid = _GET["dir"], _GET["sid"]
session_save_path(d)
session_id(sid)
session_start()
open(os.path.join(d, "first-started"), "w").close()
if _GET.get("close") == "1":
    _SESSION["by"] = "first"
    session_write_close()
n = 0
while not os.path.exists(os.path.join(d, "release")) and n < 2000:
    usleep(10000)
    n += 1
_SESSION["by"] = "first"
_SESSION["late"] = "end"
echo("first done")
"""

SECOND_PY = """import json, os
from phprt.php import *
d, sid = _GET["dir"], _GET["sid"]
open(os.path.join(d, "second-attempting"), "w").close()
session_save_path(d)
session_id(sid)
session_start()
echo(json.dumps(dict(_SESSION), sort_keys=True))
"""

FIRST_PHP = """<?php
$d = $_GET["dir"]; $sid = $_GET["sid"];
session_save_path($d);
session_id($sid);
session_start();
touch("$d/first-started");
if (($_GET["close"] ?? "") === "1") { $_SESSION["by"] = "first"; session_write_close(); }
$n = 0;
while (!file_exists("$d/release") && $n < 2000) { usleep(10000); $n++; clearstatcache(); }
$_SESSION["by"] = "first";
$_SESSION["late"] = "end";
echo "first done";
"""

SECOND_PHP = """<?php
$d = $_GET["dir"]; $sid = $_GET["sid"];
touch("$d/second-attempting");
session_save_path($d);
session_id($sid);
session_start();
ksort($_SESSION);
echo json_encode((object) $_SESSION);
"""


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + SAFETY
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.005)


class Call(threading.Thread):
    """One request in a thread; ``body`` once it has answered."""

    def __init__(self, send: Callable[[str], bytes], target: str) -> None:
        super().__init__(daemon=True)
        self.send, self.target = send, target
        self.body: bytes | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.body = self.send(self.target)
        except BaseException as error:  # reported by the test
            self.error = error

    def result(self) -> bytes:
        self.join(SAFETY)
        assert not self.is_alive(), f"{self.target} did not answer"
        assert self.error is None, self.error
        assert self.body is not None
        return self.body


def lock_scenario(send: Callable[[str], bytes], ext: str, sessions: Path, close_early: bool) -> None:
    sid = "lockdemo" + ("closed" if close_early else "held")
    query = urllib.parse.urlencode({"dir": str(sessions), "sid": sid, "close": "1" if close_early else "0"})
    first = Call(send, f"/first.{ext}?{query}")
    first.start()
    wait_for(sessions / "first-started")
    second = Call(send, f"/second.{ext}?{query}")
    second.start()
    wait_for(sessions / "second-attempting")
    session_file = sessions / f"sess_{sid}"
    if close_early:
        # The first released the session: the second runs to its end while the first still waits.
        body = second.result()
        assert json.loads(body.rsplit(b"\r\n\r\n", 1)[-1] if b"\r\n\r\n" in body else body) == {"by": "first"}
        assert first.is_alive() and not (sessions / "release").exists()
        (sessions / "release").touch()
        assert first.result().endswith(b"first done")
        # what the first put in $_SESSION after session_write_close() was not written
        assert session_file.read_bytes() == b'by|s:5:"first";'
    else:
        # The first holds the lock: nobody else can take it, and the second has not answered.
        with open(session_file, "rb") as probe:
            with pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert second.body is None
        (sessions / "release").touch()
        assert first.result().endswith(b"first done")
        body = second.result()
        # the second read the session only after the first had written it at its end
        assert json.loads(body.rsplit(b"\r\n\r\n", 1)[-1] if b"\r\n\r\n" in body else body) == {"by": "first", "late": "end"}


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    (root / "first.py").write_text(FIRST_PY)
    (root / "second.py").write_text(SECOND_PY)
    (root / "first.php").write_text(FIRST_PHP)
    (root / "second.php").write_text(SECOND_PHP)
    return root


@pytest.fixture
def sessions(tmp_path: Path) -> Path:
    path = tmp_path / "sessions"
    path.mkdir()
    path.chmod(0o777)
    return path


def http_sender(port: int) -> Callable[[str], bytes]:
    def send(target: str) -> bytes:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=SAFETY)
        try:
            connection.request("GET", target)
            return connection.getresponse().read()
        finally:
            connection.close()
    return send


def fastcgi_sender(address: object, root: Path) -> Callable[[str], bytes]:
    def send(target: str) -> bytes:
        path, _, query = target.partition("?")
        return exchange(address, fcgi_request(nginx_params(root, path, query=query))).stdout
    return send


@pytest.mark.clause("SESS-LOCK-1", "SESS-WRITE-1")
@pytest.mark.parametrize("close_early", [False, True], ids=["held", "written-and-closed"])
def test_serve_threads(docroot: Path, sessions: Path, close_early: bool) -> None:
    with HttpServer(Site(docroot), log=io.StringIO()) as server:
        lock_scenario(http_sender(server.address[1]), "py", sessions, close_early)


@pytest.mark.clause("SESS-LOCK-1", "SESS-WRITE-1")
@pytest.mark.parametrize("close_early", [False, True], ids=["held", "written-and-closed"])
def test_fastcgi_two_workers(docroot: Path, sessions: Path, close_early: bool) -> None:
    with FastCgiServer(docroot, "127.0.0.1:0", max_requests=2) as server:
        lock_scenario(fastcgi_sender(server.address, docroot), "py", sessions, close_early)


def _start(command: list[str], environment: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as sink:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
                                env=environment, start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=SAFETY)


def _until(ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + SAFETY
    while not ready():
        assert time.monotonic() < deadline, "the server never came up"
        time.sleep(0.02)


def _connects(address: object) -> bool:
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family) as probe:
        try:
            probe.connect(address)  # type: ignore[arg-type]
            return True
        except OSError:
            return False


@pytest.fixture
def php_server(docroot: Path, tmp_path: Path) -> Iterator[int]:
    if shutil.which("php") is None:
        pytest.skip("needs PHP 8.2's php")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**os.environ, "PHP_CLI_SERVER_WORKERS": "2"}
    process = _start(["php", "-n", "-S", f"127.0.0.1:{port}", "-t", str(docroot)], environment, tmp_path / "php-s.log")
    try:
        _until(lambda: _connects(("127.0.0.1", port)))
        yield port
    finally:
        _stop(process)


@pytest.fixture
def php_fpm(tmp_path: Path) -> Iterator[str]:
    if shutil.which("php-fpm8.2") is None:
        pytest.skip("needs php-fpm8.2")
    directory = Path(tempfile.mkdtemp(prefix="fpm", dir="/tmp"))  # a short path for the unix socket
    sock = str(directory / "fpm.sock")
    conf = directory / "fpm.conf"
    conf.write_text(f"[global]\npid = {directory}/fpm.pid\nerror_log = {directory}/fpm.log\ndaemonize = no\n\n"
                    f"[phprt]\nlisten = {sock}\npm = static\npm.max_children = 2\nclear_env = no\n")
    process = _start(["php-fpm8.2", "-n", "-F", "-R", "-y", str(conf)], dict(os.environ), tmp_path / "fpm.out")
    try:
        _until(lambda: _connects(sock))
        yield sock
    finally:
        _stop(process)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.clause("SESS-LOCK-1", "SESS-WRITE-1")
@pytest.mark.parametrize("close_early", [False, True], ids=["held", "written-and-closed"])
def test_php_builtin_server_with_two_workers_does_the_same(php_server: int, sessions: Path, close_early: bool) -> None:
    lock_scenario(http_sender(php_server), "php", sessions, close_early)


@pytest.mark.clause("SESS-LOCK-1", "SESS-WRITE-1")
@pytest.mark.parametrize("close_early", [False, True], ids=["held", "written-and-closed"])
def test_php_fpm_with_two_children_does_the_same(php_fpm: str, docroot: Path, sessions: Path,
                                                 close_early: bool) -> None:
    lock_scenario(fastcgi_sender(php_fpm, docroot), "php", sessions, close_early)
