"""A private nginx (README.md's server block, the standard ``fastcgi_params``:
phprt/net/nginx.py, shared with the benchmarks) in front of
phprt's FastCGI responder; ``Nginx`` skips the test, with its reason, where nginx is not
installed (``require_nginx()`` skips before anything is started)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from phprt.net.nginx import find_nginx, write_config

NGINX = find_nginx()
MISSING = "nginx is not installed (Debian: apt-get install nginx-light); .ci/run installs it"
TIMEOUT = 20.0


def require_nginx() -> None:
    """Skip the test, with its reason, where nginx is not installed."""
    if NGINX is None:
        pytest.skip(MISSING)

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Nginx:
    """A private nginx serving ROOT through the upstream SERVERS."""

    def __init__(self, tmp: Path, root: Path, servers: list[str]) -> None:
        require_nginx()
        self.tmp, self.process = tmp, None
        for _ in range(5):  # the probed port may be taken before nginx binds it
            self.port = free_port()
            write_config(tmp, root, servers, self.port)
            self.log = open(tmp / "nginx.log", "wb")
            self.process = subprocess.Popen(
                [str(NGINX), "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", "stderr", "-g",
                 "daemon off; error_log stderr;"], stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
            if self._ready():
                return
            self.stop()
        raise RuntimeError(f"nginx did not start: {(tmp / 'nginx.log').read_text()}")

    def _ready(self) -> bool:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and self.process is not None and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                time.sleep(0.02)
        return False

    def stop(self) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(TIMEOUT)
            except ProcessLookupError:
                self.process.wait()
            self.process = None
        self.log.close()

    def get(self, target: str, *, method: str = "GET", body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[http.client.HTTPResponse, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            connection.request(method, target, body=body, headers={"Accept-Encoding": "gzip", **(headers or {})})
            response = connection.getresponse()
            return response, response.read()
        finally:
            connection.close()
