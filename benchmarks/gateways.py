"""(3) phprt's WSGI and ASGI applications against a bare app on the same server (issue 13).

Hello world under gunicorn (gthread, one worker, 16 threads) and uvicorn (one worker),
wrk -t2 -c16: requests/s and the server's CPU per request, phprt's application beside a
bare Python app that answers the same bytes, measured in the same run, taking turns, each
figure the best of ``ROUNDS`` runs (the machine is shared: a burst of load elsewhere
inflates one run's CPU per request). The ratio of the
CPU figures is "CPU per request vs a bare app" (target: <= 1.5x). Under WSGI phprt runs
each script in the server's thread (WSGI-THREAD-1); under ASGI it hands each to a thread of
its own, never the event loop (ASGI-THREAD-1), so beside the ASGI figures is a bare app that
hands its work off the loop and back: the cost of that hand-off alone, on this machine, is
the floor under phprt's ASGI figure. phprt takes no
dependency on either server: where gunicorn is not installed the WSGI figures come from
the standard library's ``wsgiref`` (a threading server, HTTP/1.0); where uvicorn is not,
the ASGI figures are "not measured".

    python3 -m benchmarks --only gateways [--quick]
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Result, benchmark
from benchmarks.serve_http import HELLO_PY, ROOT, free_port, server, warm, wrk, wrk_available

#: The applications, in one module the servers import: phprt's (one script for every
#: URL, so no document-root lookup is measured twice) and the bare ones.
APPS = '''
import asyncio
from concurrent.futures import ThreadPoolExecutor

from phprt.asgi import ASGIApp
from phprt.wsgi import WSGIApp

BODY = b"Hello, world!\\n"
HEADERS = [("Content-type", "text/html; charset=UTF-8")]
THREADS = ThreadPoolExecutor(16)

phprt_wsgi = WSGIApp({script!r})
phprt_asgi = ASGIApp({script!r})


def work():
    return BODY


def bare_wsgi(environ, start_response, answer=work):
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    body = answer()
    start_response("200 OK", HEADERS)
    return [body]


async def bare_asgi(scope, receive, send, answer=None):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    body = BODY if answer is None else await answer()
    await send({{"type": "http.response.start", "status": 200,
                "headers": [(name.encode(), value.encode()) for name, value in HEADERS]}})
    await send({{"type": "http.response.body", "body": body}})


async def handed_asgi(scope, receive, send):
    # the work done off the loop and back
    await bare_asgi(scope, receive, send, lambda: asyncio.get_running_loop().run_in_executor(THREADS, work))
'''

#: A threading wsgiref server on a port, for where gunicorn is absent.
WSGIREF = '''
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import apps


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True


make_server("127.0.0.1", int(sys.argv[2]), getattr(apps, sys.argv[1]), Threading, Quiet).serve_forever()
'''


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def gateway_command(server_name: str, app: str, port: int) -> list[str]:
    if server_name == "gunicorn":
        return [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "16", "-w", "1", "-b",
                f"127.0.0.1:{port}", "--log-level", "warning", f"apps:{app}"]
    if server_name == "uvicorn":
        return [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                "--log-level", "warning", "--no-access-log", f"apps:{app}"]
    return [sys.executable, "wsgiref_server.py", app, str(port)]


def _measure(directory: Path, server_name: str, app: str, seconds: float) -> tuple[float, float, float]:
    port = free_port()
    env = {"PYTHONPATH": os.pathsep.join([str(directory), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    with server(gateway_command(server_name, app, port), port, env, cwd=directory) as pgid:
        warm(f"http://127.0.0.1:{port}/", 16)
        return wrk(f"http://127.0.0.1:{port}/", 16, seconds, pgid)


#: Runs of each app, alternated: the machine is shared, so each figure is the best of them.
ROUNDS = 3


def _best_of(directory: Path, server_name: str, apps: list[str], seconds: float,
             rounds: int) -> list[tuple[float, float, float]]:
    """Each app's (requests/s, p99, CPU per request), the best of ``rounds`` runs taken
    in turn -- bare, phprt, handed, bare, phprt, handed -- so that a burst of load from
    elsewhere on the machine weighs on none alone."""
    runs: dict[str, list[tuple[float, float, float]]] = {app: [] for app in apps}
    for _ in range(rounds):
        for app in apps:
            runs[app].append(_measure(directory, server_name, app, seconds))

    def best(figures: list[tuple[float, float, float]]) -> tuple[float, float, float]:
        return max(f[0] for f in figures), min(f[1] for f in figures), min(f[2] for f in figures)

    return [best(runs[app]) for app in apps]


def _called_directly(script: Path, requests: int, why: str) -> Result:
    """Where the server is absent: CPU per request of phprt's ASGI app called in one
    event loop, one request after another, against the bare app called the same way."""
    import asyncio

    from phprt.asgi import ASGIApp

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/", "raw_path": b"/", "query_string": b"", "root_path": "", "headers": [(b"host", b"x")],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80)}

    async def bare(scope: dict[str, object], receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"Hello, world!\n"})  # type: ignore[operator]

    async def run(app: object) -> float:
        async def send(message: dict[str, object]) -> None:
            pass

        start = time.process_time()
        for _ in range(requests):
            messages = [{"type": "http.request", "body": b"", "more_body": False}]
            stay = asyncio.get_running_loop().create_future()  # the client never leaves

            async def receive() -> dict[str, object]:
                if messages:
                    return messages.pop()
                await stay
                return {"type": "http.disconnect"}

            await app(dict(scope), receive, send)  # type: ignore[operator]
            stay.cancel()
        return (time.process_time() - start) / requests

    ours = asyncio.run(run(ASGIApp(str(script))))
    theirs = asyncio.run(run(bare))
    return Result.of("ASGI app called directly CPU/req", ours * 1e6, theirs * 1e6, "us", f"bare ASGI app ({why})")


@benchmark("gateways")
def gateways_vs_bare_app(quick: bool) -> list[Result]:
    seconds = 1.0 if quick else 4.0
    wsgi_server = "gunicorn" if installed("gunicorn") else "wsgiref"
    cases = [("WSGI", wsgi_server, "phprt_wsgi", "bare_wsgi", None, True),
             ("ASGI", "uvicorn", "phprt_asgi", "bare_asgi", "handed_asgi", installed("uvicorn"))]
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        script = directory / "hello.py"
        script.write_text(HELLO_PY)
        (directory / "apps.py").write_text(APPS.format(script=str(script)))
        (directory / "wsgiref_server.py").write_text(WSGIREF)
        for kind, server_name, ours, bare, handed, present in cases:
            label = f"{kind} under {server_name}"
            if not (present and wrk_available()):
                results.append(_called_directly(script, 200 if quick else 3000, f"{server_name} or wrk absent"))
                continue
            apps = [bare, ours] if handed is None else [bare, ours, handed]
            theirs, mine, *floor = _best_of(directory, server_name, apps, seconds, 1 if quick else ROUNDS)
            base = f"bare {kind} app, {server_name}"
            results.append(Result.of(f"{label} req/s", mine[0], theirs[0], "req/s", base))
            results.append(Result.of(f"{label} CPU/req", mine[2] * 1e6, theirs[2] * 1e6, "us", base))
            if floor:
                results.append(Result.of(f"{kind}: bare app + a thread hand-off CPU/req (the floor)", floor[0][2] * 1e6,
                                         theirs[2] * 1e6, "us", base))
    return results


__all__ = ["gateways_vs_bare_app"]
