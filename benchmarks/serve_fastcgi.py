"""nginx + ``python -m phprt fastcgi`` against nginx + php-fpm8.2 under wrk (issue 13).

(2) hello world through a private nginx (one worker process), the same number of workers
on each side (``--workers N`` beside ``pm = static``, ``pm.max_children = N``), wrk -t2
-c16: requests/s and p99, php-fpm measured in the same run, and the FastCGI responder's
CPU per request (its process group's, nginx's not counted); then a page of 52 echos
(``PAGE_PY``, the output layer's cost per echo) on the same servers. Each side runs behind
nginx both with README.md's kept upstream connections and with a connection per request,
and is compared at the better of the two (``CONNECTIONS``). "not measured" where wrk,
nginx or php-fpm8.2 is absent.

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
def nginx(tmp: Path, root: Path, upstream: str, suffix: str, kept: bool = True) -> Iterator[int]:
    """A private nginx on a free port with README.md's server block (phprt/net/nginx.py, the
    tests' configuration), passing ``*{suffix}`` scripts to ``upstream`` over kept
    connections, or a connection per request where ``kept`` is false; yields its port."""
    assert NGINX is not None
    port = free_port()
    config = write_config(tmp, root, [upstream], port, suffix=suffix, kept=kept)
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


#: The two ways nginx may reach a responder: README.md's block, whose kept connections
#: serve phprt best, and a connection per request (nginx's default, Debian's
#: ``snippets/fastcgi-php.conf``). A PHP-FPM child holds a kept connection between requests
#: while the pool's other connections wait, so with fewer children than nginx keeps
#: connections some requests wait for seconds; each side is measured both ways and
#: compared at its best.
CONNECTIONS = {True: "kept connections", False: "a connection per request"}

Figures = tuple[tuple[float, float, float], float]


def _measure(side: str, root: Path, run: Path, workers: int, seconds: float, kept: bool) -> Figures:
    """(hello's requests/s, p99, responder CPU per request), and the 52-echo page's
    requests/s, of one side behind nginx reaching it as ``kept`` says."""
    pgids: list[int] = []  # the responder's CPU per request: the FastCGI side's alone
    tmp = run / f"{side}-{'kept' if kept else 'per-request'}"
    (tmp / "responder").mkdir(parents=True)
    (tmp / "nginx").mkdir()
    suffix = ".py" if side == "phprt" else ".php"
    responder = (phprt_fastcgi(root, workers, pgids) if side == "phprt"
                 else php_fpm(tmp / "responder", workers, pgids))
    with responder as upstream, nginx(tmp / "nginx", root, upstream, suffix, kept) as port:
        warm(f"http://127.0.0.1:{port}/index{suffix}", 16)
        hello = wrk(f"http://127.0.0.1:{port}/index{suffix}", 16, seconds, pgids[0])
        page = wrk(f"http://127.0.0.1:{port}/page{suffix}?name=x", 16, seconds)[0]
    return hello, page


def _at_best(side: str, root: Path, run: Path, workers: int, seconds: float) -> tuple[Figures, bool]:
    """A side's figures behind nginx's way of reaching it that serves hello the most
    requests/s, and whether that way keeps connections."""
    both = {kept: _measure(side, root, run, workers, seconds, kept) for kept in CONNECTIONS}
    kept = max(both, key=lambda way: both[way][0][0])
    return both[kept], kept


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
            (ours, our_page), our_way = _at_best("phprt", py, run, workers, seconds)
            theirs = their_page = None
            baseline = f"nginx+php-fpm8.2; phprt: {CONNECTIONS[our_way]}"
            if PHP_FPM:
                (theirs, their_page), their_way = _at_best("php-fpm", php, run, workers, seconds)
                baseline = f"nginx+php-fpm8.2, {CONNECTIONS[their_way]}; phprt: {CONNECTIONS[our_way]}"
            label = f"nginx+fastcgi {workers}w -c16"
            results.append(Result.of(f"{label} req/s", ours[0], theirs and theirs[0], "req/s", baseline))
            results.append(Result.of(f"{label} p99", ours[1] * 1e3, theirs and theirs[1] * 1e3, "ms", baseline))
            results.append(Result.of(f"{label} responder CPU/req", ours[2] * 1e6, theirs and theirs[2] * 1e6, "us",
                                     baseline))
            results.append(Result.of(f"nginx+fastcgi {workers}w a 52-echo page req/s", our_page, their_page, "req/s",
                                     baseline))
    return results


__all__ = ["nginx_fastcgi_vs_php_fpm"]
