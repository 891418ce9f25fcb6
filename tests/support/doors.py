"""One request for a script in a document root, through each server door phprt has: ``serve``
(http.client), the FastCGI responder (a raw FastCGI client, as nginx sends it), WSGI (wsgiref)
and ASGI -- for tests whose expected body is the same at every door."""

from __future__ import annotations

import http.client
import io
from pathlib import Path

from phprt.asgi import ASGIApp
from phprt.fastcgi import FastCgiServer
from phprt.server import HttpServer
from phprt.wsgi import WSGIApp

from .asgi import call as asgi_call
from .asgi import get as asgi_get
from .fastcgi import exchange as fcgi_exchange
from .fastcgi import fcgi_request, nginx_params
from .wsgi import WAIT
from .wsgi import exchange as wsgi_exchange
from .wsgi import get as wsgi_get
from .wsgi import serve as wsgi_serve

__all__ = ["DOORS", "served_answers"]

DOORS = ("serve", "fastcgi", "wsgi", "asgi")


def served_answers(root: Path, path: str) -> dict[str, tuple[int, bytes]]:
    """The status and the body each door sent for ``path`` (``/name.py``) under ``root``, by door
    (the FastCGI responder's status is its ``Status:`` line's, 200 without one, as nginx reads it)."""
    answers = {}
    with HttpServer(root, log=io.StringIO()) as server:
        connection = http.client.HTTPConnection(*server.address, timeout=WAIT)
        connection.request("GET", path)
        response = connection.getresponse()
        answers["serve"] = (response.status, response.read())
        connection.close()
    with FastCgiServer(root, "127.0.0.1:0") as responder:
        head, _, body = fcgi_exchange(responder.address, fcgi_request(nginx_params(root, path))).stdout.partition(b"\r\n\r\n")
        status = next((int(line[7:11]) for line in head.split(b"\r\n") if line.lower().startswith(b"status:")), 200)
        answers["fastcgi"] = (status, body)
    with wsgi_serve(WSGIApp(root)) as port:
        status_line, _, body = wsgi_exchange(port, wsgi_get(path))
        answers["wsgi"] = (int(status_line.split()[1]), body)
    exchange = asgi_call(ASGIApp(root), asgi_get(path))
    answers["asgi"] = (exchange.start["status"], exchange.body)
    return answers
