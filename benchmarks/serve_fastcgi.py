"""nginx + ``python -m phprt fastcgi`` against nginx + php-fpm8.2 under wrk (issue 13).

(2) hello world through a private nginx (one worker process, keep-alive upstream), the
same number of workers on each side (``--workers N`` beside ``pm = static``,
``pm.max_children = N``), wrk -t2 -c16: requests/s and p99, php-fpm measured in the
same run, and the FastCGI responder's CPU per request (its process group's, nginx's
not counted); then a page of 52 echos (``PAGE_PY``, the output layer's cost per echo)
on the same servers. "not measured" where wrk, nginx or php-fpm8.2 is absent.

    python3 -m benchmarks --only serve_fastcgi [--quick]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.common import Result, benchmark
from benchmarks.serve_http import HELLO_PHP, HELLO_PY, PAGE_PHP, PAGE_PY, free_port, server, warm, wrk, wrk_available
from phprt.net.nginx import find_nginx, write_config

NGINX = find_nginx()
PHP_FPM = shutil.which("php-fpm8.2") or next((p for p in ("/usr/sbin/php-fpm8.2",) if os.path.exists(p)), None)


@contextmanager
def nginx(tmp: Path, root: Path, upstream: str, suffix: str) -> Iterator[int]:
    """A private nginx on a free port with README.md's server block (phprt/net/nginx.py, the
    tests' configuration), passing ``*{suffix}`` scripts to ``upstream``; yields its port."""
    assert NGINX is not None
    port = free_port()
    config = write_config(tmp, root, [upstream], port, suffix=suffix)
    with server([NGINX, "-p", str(tmp), "-c", str(config), "-e", "stderr", "-g", "daemon off;"], port):
        yield port


@contextmanager
def php_fpm(tmp: Path, workers: int, pgids: list[int] | None = None) -> Iterator[str]:
    """A private php-fpm8.2 pool (pm = static, ``workers`` children) on a free port; yields its
    address (its process group goes into ``pgids``)."""
    assert PHP_FPM is not None
    port = free_port()
    conf = tmp / "fpm.conf"
    conf.write_text(f"[global]\npid = {tmp}/fpm.pid\nerror_log = {tmp}/fpm.log\ndaemonize = no\n\n"
                    f"[bench]\nlisten = 127.0.0.1:{port}\npm = static\npm.max_children = {workers}\n")
    with server([PHP_FPM, "-n", "-F", "-R", "-y", str(conf)], port) as pgid:
        if pgids is not None:
            pgids.append(pgid)
        yield f"127.0.0.1:{port}"


@contextmanager
def phprt_fastcgi(root: Path, workers: int, pgids: list[int] | None = None) -> Iterator[str]:
    """``python -m phprt fastcgi --workers N`` on a free port; yields its address (its
    process group goes into ``pgids``)."""
    port = free_port()
    with server([sys.executable, "-m", "phprt", "fastcgi", "--listen", f"127.0.0.1:{port}", "--workers", str(workers),
                 str(root)], port) as pgid:
        if pgids is not None:
            pgids.append(pgid)
        yield f"127.0.0.1:{port}"


@benchmark("serve_fastcgi")
def nginx_fastcgi_vs_php_fpm(quick: bool) -> list[Result]:
    seconds = 1.0 if quick else 4.0
    counts = [1] if quick else [1, 4]
    if not (wrk_available() and NGINX):
        return [Result.of(f"nginx+fastcgi {n}w req/s", 0.0, None, "req/s", "nginx+php-fpm (wrk/nginx absent)")
                for n in counts]
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory)
        py, php = base / "py", base / "php"
        py.mkdir()
        php.mkdir()
        (py / "index.py").write_text(HELLO_PY)
        (php / "index.php").write_text(HELLO_PHP)
        (py / "page.py").write_text(PAGE_PY)
        (php / "page.php").write_text(PAGE_PHP)
        for workers in counts:
            run = base / f"run{workers}"
            for name in ("a", "b", "c", "d"):
                (run / name).mkdir(parents=True)
            pgids: list[int] = []  # the responder's CPU per request: the FastCGI side's alone
            with phprt_fastcgi(py, workers, pgids) as upstream, nginx(run / "a", py, upstream, ".py") as port:
                warm(f"http://127.0.0.1:{port}/index.py", 16)
                ours = wrk(f"http://127.0.0.1:{port}/index.py", 16, seconds, pgids[0])
                our_page = wrk(f"http://127.0.0.1:{port}/page.py?name=x", 16, seconds)[0]
            theirs = their_page = None
            if PHP_FPM:
                pgids.clear()
                with php_fpm(run / "b", workers, pgids) as upstream, nginx(run / "c", php, upstream, ".php") as port:
                    warm(f"http://127.0.0.1:{port}/index.php", 16)
                    theirs = wrk(f"http://127.0.0.1:{port}/index.php", 16, seconds, pgids[0])
                    their_page = wrk(f"http://127.0.0.1:{port}/page.php?name=x", 16, seconds)[0]
            label = f"nginx+fastcgi {workers}w -c16"
            results.append(Result.of(f"{label} req/s", ours[0], theirs and theirs[0], "req/s", "nginx+php-fpm8.2"))
            results.append(Result.of(f"{label} p99", ours[1] * 1e3, theirs and theirs[1] * 1e3, "ms",
                                     "nginx+php-fpm8.2"))
            results.append(Result.of(f"{label} responder CPU/req", ours[2] * 1e6, theirs and theirs[2] * 1e6, "us",
                                     "php-fpm8.2"))
            results.append(Result.of(f"nginx+fastcgi {workers}w a 52-echo page req/s", our_page, their_page, "req/s",
                                     "nginx+php-fpm8.2"))
    return results


__all__ = ["nginx_fastcgi_vs_php_fpm"]
