"""A private nginx configuration in front of a FastCGI responder: README.md's server block
with Debian's standard ``fastcgi_params``, for the tests (tests/support/nginx.py) and the
benchmarks (benchmarks/serve_fastcgi.py), which run phprt's ``fastcgi`` and PHP-FPM behind
the same configuration. Nothing here starts a process; ``find_nginx()`` says where nginx is.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["CONFIG", "FASTCGI_PARAMS", "SERVER_BLOCK", "find_nginx", "write_config"]

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

# README.md's server block, with the upstream servers, port, root and script suffix
# (``.py``; ``.php`` for PHP-FPM behind the same block) filled in; ``{keepalive}`` and
# ``{keep_conn}`` are its two lines that keep connections to the upstream open.
SERVER_BLOCK = """
upstream phprt {{
{servers}
{keepalive}}}
server {{
    listen 127.0.0.1:{port};
    server_name localhost;
    root {root};
    index index{suffix};

    location / {{
        try_files $uri $uri/ =404;
    }}
    location ~ [^/]\\{suffix}(/|$) {{
        fastcgi_split_path_info ^(.+?\\{suffix})(/.*)$;
        try_files $fastcgi_script_name =404;
        set $path_info $fastcgi_path_info;
        fastcgi_param PATH_INFO $path_info;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        include fastcgi_params;
{keep_conn}        fastcgi_pass phprt;
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


def find_nginx() -> str | None:
    """The nginx binary: on PATH, else where Debian puts it; None where it is not installed."""
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(path)), None)


def write_config(tmp: Path, root: Path, servers: list[str], port: int, *, suffix: str = ".py",
                 kept: bool = True) -> Path:
    """Write ``nginx.conf`` and ``fastcgi_params`` into ``tmp`` (nginx's prefix, ``-p``):
    nginx on 127.0.0.1:``port`` serving ``root``, passing ``*{suffix}`` scripts to the
    upstream ``servers`` (``HOST:PORT`` or ``unix:PATH``) over kept connections -- or, with
    ``kept`` false, a connection per request (nginx's default, and Debian's
    ``snippets/fastcgi-php.conf``). As root, nginx's workers run as root, to read the
    test's files. Returns the config's path."""
    (tmp / "fastcgi_params").write_text(FASTCGI_PARAMS)
    user = "user root;\n" if os.geteuid() == 0 else ""
    upstream = "\n".join(f"    server {server};" for server in servers)
    block = SERVER_BLOCK.format(servers=upstream, port=port, root=root, suffix=suffix,
                                keepalive="    keepalive 8;\n" if kept else "",
                                keep_conn="        fastcgi_keep_conn on;\n" if kept else "")
    config = tmp / "nginx.conf"
    config.write_text(CONFIG.format(user=user, tmp=tmp, server_block=block))
    return config
