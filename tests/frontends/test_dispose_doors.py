"""Every door disposes of its requests' Runtimes: a served request leaves nothing for the
cycle collector (PERF-RELEASE-1), its script's namespace included (PERF-RELEASE-2) --
`serve`, the FastCGI responder, WSGI and ASGI."""

from __future__ import annotations

import gc
import http.client
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from phprt.asgi import ASGIApp
from phprt.engine.runtime import Runtime
from phprt.fastcgi import FastCgiServer
from phprt.server import HttpServer
from phprt.wsgi import WSGIApp
from tests.support.asgi import Exchange, run
from tests.support.fastcgi import exchange, fcgi_request, nginx_params
from tests.support.wsgi import ServerSide

#: A function and a class refer to the namespace, and it to them: a cycle, unless it is emptied.
PAGE = ('from phprt.php import *\nheader("X-Page: 1")\n\ndef greet():\n    return "hello"\n\n'
        'class Page:\n    def show(self):\n        echo(greet())\n\nPage().show()\n')
REQUESTS = 5
#: Scripts whose requests each left their Runtime to the collector before PERF-RELEASE-1 covered
#: what they use: ob_gzhandler, the URL rewriter, a handler that throws, one that exits, a session
#: save handler (tests/engine/test_dispose.py has each alone).
FEATURES = ("from phprt.php import *\n"
            "class H:\n    def open(self, p, n): return True\n    def close(self): return True\n"
            "    def read(self, i): return ''\n    def write(self, i, d): return True\n"
            "    def destroy(self, i): return True\n    def gc(self, m): return 0\n\n"
            "session_set_save_handler(H(), True)\nsession_start()\n"
            "def h(b, p):\n    raise Exception('x')\n\n"
            "ob_start(h)\necho('gone')\ntry:\n    ob_end_flush()\nexcept Exception:\n    echo('caught ')\n"
            "ob_start('ob_gzhandler')\necho('zipped ')\nob_end_flush()\n"
            "output_add_rewrite_var('a', 'b')\necho('<a href=\"x.php\">x</a>')\n"
            "ob_start(lambda b, p: exit('bye'))\necho('z')\n")


def _runtimes_left(serve: Callable[[], bytes]) -> tuple[list[bytes], int]:
    """The bodies of REQUESTS requests, and how many Runtimes and script namespaces (with
    anything still in them) they left to the cycle collector."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        bodies = [serve() for _ in range(REQUESTS)]
        gc.collect()
        return bodies, sum(isinstance(thing, Runtime) or (isinstance(thing, dict) and "greet" in thing)
                           for thing in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


@pytest.fixture
def docroot(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "page.py").write_text(PAGE)
    (tmp_path / "features.py").write_text(FEATURES)
    yield tmp_path


@contextmanager
def _door(door: str, docroot: Path, path: str) -> Iterator[Callable[[], bytes]]:
    """A function that requests ``path`` through ``door`` and returns the response's body (for
    the FastCGI responder, its whole stdout), for as long as the door is open."""
    if door == "serve":
        with HttpServer(docroot, log=io.StringIO()) as server:
            connection = http.client.HTTPConnection(*server.address, timeout=10)

            def serve() -> bytes:
                connection.request("GET", path)
                return connection.getresponse().read()

            try:
                yield serve
            finally:
                connection.close()
    elif door == "fastcgi":
        with FastCgiServer(docroot) as responder:
            yield lambda: exchange(responder.address, fcgi_request(nginx_params(docroot, path))).stdout
    elif door == "wsgi":
        app = WSGIApp(docroot)

        def serve_wsgi() -> bytes:
            environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "",
                                       "QUERY_STRING": "", "SERVER_NAME": "test", "SERVER_PORT": "80",
                                       "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.input": io.BytesIO(b""),
                                       "wsgi.errors": io.StringIO()}
            return ServerSide().call(app, environ)[2]

        yield serve_wsgi
        assert app.join(10)
    else:
        asgi = ASGIApp(docroot)

        def serve_asgi() -> bytes:
            done = run(Exchange(asgi, f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode()).run())
            return b"".join(m.get("body", b"") for m in done.messages if m["type"] == "http.response.body")

        yield serve_asgi
        assert asgi.join(10)


DOORS = ["serve", "fastcgi", "wsgi", "asgi"]


@pytest.mark.clause("PERF-RELEASE-1", "PERF-RELEASE-2")
@pytest.mark.parametrize("door", DOORS)
def test_every_door_disposes_of_each_runtime(docroot: Path, door: str) -> None:
    with _door(door, docroot, "/page.py") as serve:
        bodies, left = _runtimes_left(serve)
    hello = [body.partition(b"\r\n\r\n")[2] if door == "fastcgi" else body for body in bodies]  # after the head
    assert hello == [b"hello"] * REQUESTS and left == 0


@pytest.mark.clause("PERF-RELEASE-1")
@pytest.mark.parametrize("door", DOORS)
def test_every_door_disposes_of_a_runtime_whatever_its_script_used(docroot: Path, door: str) -> None:
    # the claim is the collector's work; each request ran, answering with a body
    with _door(door, docroot, "/features.py") as serve:
        bodies, left = _runtimes_left(serve)
    assert all(b"gone" in body or b"caught" in body for body in bodies) and left == 0
