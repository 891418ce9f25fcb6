"""The server's side of an ASGI ``http`` call, with real asyncio: ``Exchange`` hands the app a
scope built from a raw HTTP request, feeds ``receive()`` the body and, as uvicorn does,
``http.disconnect`` once the response is complete (or when the client hangs up), and records
every message ``send()`` gets."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Awaitable, Callable

from phprt.asgi import ASGIApp
from phprt.transports.gateway import ResponseChannel

from .wsgi import WAIT, get

__all__ = ["Exchange", "call", "check_message_order", "get", "run", "scope_for", "take"]


def scope_for(raw: bytes, *, client: tuple[str, int] = ("127.0.0.1", 40000)) -> tuple[dict[str, Any], bytes]:
    """The scope an HTTP/1.1 ASGI server builds for a raw request, and the request's body."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    method, target, version = lines[0].split(b" ")
    raw_path, _, query = target.partition(b"?")
    headers = [(name.strip().lower(), value.strip()) for name, _, value in (line.partition(b":") for line in lines[1:])]
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": version[5:].decode(),
        "method": method.decode(), "scheme": "http", "path": raw_path.decode(), "raw_path": raw_path,
        "query_string": query, "root_path": "", "headers": headers, "client": client, "server": ("127.0.0.1", 8765),
    }
    return scope, body


class Exchange:
    """One http call, from the server's side."""

    def __init__(self, app: ASGIApp, raw: bytes, *, pieces: int = 1, raise_when_gone: bool = False) -> None:
        self.app = app
        self.scope, body = scope_for(raw)
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        size = max(1, -(-len(body) // pieces))
        chunks = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        for index, chunk in enumerate(chunks):
            self.incoming.put_nowait({"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1})
        self.sent: list[tuple[float, dict[str, Any]]] = []
        self.complete = threading.Event()  # set from the loop; scripts may wait on it
        self.gone = False
        self.raise_when_gone = raise_when_gone
        self.on_body: Callable[[Exchange], None] | None = None
        self.returned = 0.0

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()

    async def send(self, message: dict[str, Any]) -> None:
        if self.gone and self.raise_when_gone:
            raise OSError("the client has gone")  # ASGI HTTP 2.4
        assert not self.complete.is_set(), f"sent after the response was complete: {message}"
        self.sent.append((time.monotonic(), message))
        if message["type"] == "http.response.body":
            if not message.get("more_body", False):
                self.complete.set()
                self.incoming.put_nowait({"type": "http.disconnect"})  # as uvicorn: receive() after the response
            elif self.on_body is not None:
                self.on_body(self)

    def hang_up(self) -> None:
        self.gone = True
        if not self.raise_when_gone:
            self.incoming.put_nowait({"type": "http.disconnect"})

    async def run(self) -> Exchange:
        await self.app(self.scope, self.receive, self.send)
        self.returned = time.monotonic()
        return self

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [message for _, message in self.sent]

    @property
    def start(self) -> dict[str, Any]:
        starts = [m for m in self.messages if m["type"] == "http.response.start"]
        assert len(starts) == 1
        return starts[0]

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")


def run(coroutine: Awaitable[Any]) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coroutine, WAIT)

    return asyncio.run(bounded())


def call(app: ASGIApp, raw: bytes, **options: Any) -> Exchange:
    """One call of ``app`` for ``raw``, to its end; the app's scripts have ended too."""
    async def go() -> Exchange:
        return await Exchange(app, raw, **options).run()

    exchange: Exchange = run(go())
    assert app.join(WAIT)
    return exchange


def check_message_order(messages: list[dict[str, Any]]) -> None:
    """ASGI: one http.response.start, then body messages, the last and only the last without more_body."""
    assert messages[0]["type"] == "http.response.start"
    bodies = messages[1:]
    assert bodies and all(m["type"] == "http.response.body" for m in bodies)
    assert [m["more_body"] for m in bodies] == [True] * (len(bodies) - 1) + [False]


def take(channel: ResponseChannel[Any]) -> tuple[Any, bytes, bool]:
    """``channel.poll()``, waiting for the script's next change as the ASGI loop does: woken by
    ``on_change``, never by a timer."""
    while True:
        changed = threading.Event()
        channel.on_change(changed.set)
        taken = channel.poll()
        if taken is not None:
            return taken
        assert changed.wait(WAIT), "the script changed nothing"
