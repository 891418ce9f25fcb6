"""A private nginx (README.md's server block, the standard ``fastcgi_params``) in front of
phprt's FastCGI responder; ``Nginx`` skips the test, with its reason, where nginx is not
installed (``require_nginx()`` skips before anything is started)."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(p)), None)
MISSING = "nginx is not installed (Debian: apt-get install nginx-light); .ci/run installs it"
TIMEOUT = 20.0


def require_nginx() -> None:
    """Skip the test, with its reason, where nginx is not installed."""
    if NGINX is None:
        pytest.skip(MISSING)

# nginx's standard fastcgi_params (Debian's /etc/nginx/fastcgi_params), written next to the config.
FASTCGI_PARAMS = """
fastcgi_param  QUERY_STRING       $query_string;
fastcgi_param  REQUEST_METHOD     $request_method;
fastcgi_param  CONTENT_TYPE       $content_type;
fastcgi_param  CONTENT_LENGTH     $content_length;
fastcgi_param  SCRIPT_NAME        $fastcgi_script_name;
fastcgi_param  REQUEST_URI        $request_uri;
fastcgi_param  DOCUMENT_URI       $document_uri;
fastcgi_param  DOCUMENT_ROOT      $document_root;
fastcgi_param  SERVER_PROTOCOL    $server_protocol;
fastcgi_param  REQUEST_SCHEME     $scheme;
fastcgi_param  HTTPS              $https if_not_empty;
fastcgi_param  GATEWAY_INTERFACE  CGI/1.1;
fastcgi_param  SERVER_SOFTWARE    nginx/$nginx_version;
fastcgi_param  REMOTE_ADDR        $remote_addr;
fastcgi_param  REMOTE_PORT        $remote_port;
fastcgi_param  REMOTE_USER        $remote_user;
fastcgi_param  SERVER_ADDR        $server_addr;
fastcgi_param  SERVER_PORT        $server_port;
fastcgi_param  SERVER_NAME        $server_name;
fastcgi_param  REDIRECT_STATUS    200;
"""

# README.md's server block, with the upstream servers, port and root filled in.
SERVER_BLOCK = """
upstream phprt {{
{servers}
    keepalive 8;
}}
server {{
    listen 127.0.0.1:{port};
    server_name localhost;
    root {root};
    index index.py;

    location / {{
        try_files $uri $uri/ =404;
    }}
    location ~ [^/]\\.py(/|$) {{
        fastcgi_split_path_info ^(.+?\\.py)(/.*)$;
        try_files $fastcgi_script_name =404;
        set $path_info $fastcgi_path_info;
        fastcgi_param PATH_INFO $path_info;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        include fastcgi_params;
        fastcgi_keep_conn on;
        fastcgi_pass phprt;
    }}
}}
"""

CONFIG = """{user}worker_processes 1;
pid {tmp}/nginx.pid;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    fastcgi_temp_path {tmp}/fastcgi;
    proxy_temp_path {tmp}/proxy;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
{server_block}
}}
"""


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
        (tmp / "fastcgi_params").write_text(FASTCGI_PARAMS)
        user = "user root;\n" if os.geteuid() == 0 else ""  # as root nginx's workers need root's files
        upstream = "\n".join(f"    server {server};" for server in servers)
        for _ in range(5):  # the probed port may be taken before nginx binds it
            self.port = free_port()
            block = SERVER_BLOCK.format(servers=upstream, port=self.port, root=root)
            (tmp / "nginx.conf").write_text(CONFIG.format(user=user, tmp=tmp, server_block=block))
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
