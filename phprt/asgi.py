"""phprt as an ASGI 3.0 application (ASGI-*).

``ASGIApp(target)`` serves a document root, one ported script or a Python
callable behind any ASGI server (uvicorn, hypercorn)::

    from phprt.asgi import ASGIApp
    app = ASGIApp("examples")                # uvicorn module:app

The request body is read in full before the script starts, as a web server
reads it before it runs PHP. The script then runs in a thread of the
application's ``ScriptThreads`` (WSGI-PERF-1), never on the event loop
(ASGI-THREAD-1), after the document root's lookup in the same thread (WSGI-PERF-4);
its output reaches the loop through a ``ResponseChannel`` (phprt/transports/gateway.py),
with one wake-up for all that arrived (WSGI-PERF-3), handed to
the loop together with the other requests' wake-ups of the moment (ASGI-PERF-2), and leaves
as ``http.response.start`` and ``http.response.body`` messages (ASGI-SEND-1). A
task listens for ``http.disconnect`` while the response is under way: the client
gone is an aborted connection for the script (ASGI-ABORT-1, ASGI-PERF-1).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import deque
from typing import Any, Awaitable, Callable, Mapping, MutableMapping
from urllib.parse import quote

from .engine.ini_files import IniFile, server_configuration
from .engine.memo import Memo
from .engine.script import Script
from .net.body import BODY_BUFFER, Spool
from .net.logs import Log
from .net.site import MAX_BODY, HttpRequest, ScriptCall, Site, StaticResponse, error_page
from .transports.gateway import PATH_SAFE, HeadForms, ResponseChannel, ScriptThreads
from .transports.heads import GatewayHead

__all__ = ["ASGIApp", "request_from_scope"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]



def _text(data: bytes) -> str:
    # bytes from the wire as phprt holds PHP's strings (REQ-VARS-1)
    return data.decode("utf-8", "surrogateescape")


def _address(value: Any) -> tuple[str, int]:
    if not value:
        return "", 0
    host, port = value[0], value[1]
    return str(host), port if isinstance(port, int) else 0


def request_from_scope(scope: Mapping[str, Any], body: bytes) -> HttpRequest:
    """The request an ASGI server parsed, as phprt's HTTP server would have it
    (ASGI-REQUEST-1): the target from ``raw_path`` and ``query_string`` (the path
    percent-encoded again where a server gives no ``raw_path``), the protocol
    from ``http_version``, the headers in order, duplicates kept, the two ends
    from ``client`` and ``server``."""
    raw_path = scope.get("raw_path")
    if raw_path:
        path = _text(bytes(raw_path))
    else:
        path = quote(str(scope.get("path") or "/").encode("utf-8", "surrogateescape"), safe=PATH_SAFE)
    query = bytes(scope.get("query_string") or b"")
    target = path if "?" in path or not query else f"{path}?{_text(query)}"
    version = str(scope.get("http_version") or "1.1")
    local = _address(scope.get("server"))
    root_path = scope.get("root_path")
    known = _FIELD_NAMES  # one look-up per name, a call only for a name not seen yet (WSGI-PERF-2)
    return HttpRequest(
        method=str(scope.get("method") or "GET"),
        target=target,
        protocol="HTTP/" + (version if "." in version else version + ".0"),
        headers=tuple([(known.get(name) or _field_name(name), _text(bytes(value))) for name, value in scope.get("headers") or ()]),
        body=body,
        client=_address(scope.get("client")),
        local=local,
        server_name=local[0],
        mount=quote(str(root_path).encode("utf-8", "surrogateescape"), safe=PATH_SAFE) if root_path else "",
    )


#: Header names seen, as the request's strings: decoded once per name (WSGI-PERF-2).
_FIELD_NAMES: Memo[bytes, str] = Memo(1024)


def _field_name(name: bytes) -> str:
    text = _FIELD_NAMES.get(name)
    if text is None:
        key = bytes(name)
        text = _FIELD_NAMES.keep(key, key.decode("latin-1"))
    return text


ASGIHead = tuple[int, list[tuple[bytes, bytes]]]


def _asgi_head(head: GatewayHead) -> ASGIHead:
    # the status and the fields, their names lowercased as ASGI wants them (ASGI-SEND-1)
    return head.status, [(name.lower(), value) for name, value in head.fields]


class ASGIApp:
    """An ASGI 3.0 application that serves ``target`` -- a document root, one script
    for every URL, or a Python callable -- as ``phprt serve`` does (WSGI-APP-1), for
    the ``http`` and ``lifespan`` scopes (ASGI-SCOPE-1). ``sapi`` is the PHP SAPI the
    scripts behave as, "cgi" by default (WSGI-SAPI-1); ``ini`` sets directives for
    every request; ``shutdown_timeout`` is how long lifespan's shutdown waits for
    running scripts; a body over ``max_body`` bytes is answered 413, one over
    ``body_buffer`` bytes waits in a temporary file, from which the script reads it as it
    starts, an upload as it is parsed (PERF-UPLOAD-2)."""

    def __init__(self, target: Script, *, sapi: str = "cgi", ini: Mapping[str, Any] | None = None, ini_file: IniFile = None,
                 shutdown_timeout: float = 30.0, max_body: int = MAX_BODY, body_buffer: int = BODY_BUFFER,
                 php_version: str = "8.2") -> None:
        self.site = Site(target, sapi=sapi, ini=server_configuration(sapi, ini, ini_file),  # CONF-API-1
                         php_version=php_version)  # VER-PROFILE-1
        self.scripts = ScriptThreads()  # a submit never waits on the event loop (WSGI-PERF-1)
        self._heads = HeadForms(_asgi_head)
        # PHP's stderr (log_errors) goes to the server process's stderr, as php-cgi's does (WSGI-ERRORS-1)
        self._log = Log()
        self.shutdown_timeout = shutdown_timeout
        self.max_body = max_body
        self.body_buffer = body_buffer
        self._shared: _Shared | None = None  # what the requests of the running event loop share (ASGI-PERF-2)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until no script runs (at most ``timeout`` seconds); whether none does.
        Blocks: from a coroutine, ``await asyncio.to_thread(app.join)``."""
        return self.scripts.join(timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:  # ASGI: an application refuses what it does not understand by raising
            raise ValueError(f"phprt.asgi.ASGIApp serves 'http' and 'lifespan' scopes, not {kind!r}")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        # startup: nothing to prepare; shutdown: the scripts still running end first (ASGI-SCOPE-1)
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.to_thread(self.scripts.join, self.shutdown_timeout)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = Spool(self.body_buffer)  # in a file past body_buffer, read by the script (PERF-UPLOAD-2)
        read = True  # no script may still read the body: its file closes here
        try:
            if await self._received(scope, receive, send, body):
                read = False
                await self._answer(request_from_scope(scope, body.body()), receive, send)
                read = True  # _answer returns once the script has ended
        finally:
            if read:  # else the file closes once the script the server gave up on lets go of it
                body.close()

    async def _received(self, scope: Scope, receive: Receive, send: Send, body: Spool) -> bool:
        # The whole body into ``body``; False when the client left first, or it was too large (ASGI-REQUEST-1)
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return False  # the client left before its request was complete: nothing runs
            if message["type"] == "http.request":
                body.write(message.get("body", b""))
                if body.size > self.max_body:  # answered at once; the rest is never read (ASGI-REQUEST-1)
                    request = request_from_scope(scope, b"")
                    await self._static(error_page(413, request), request, send)
                    return False
                if not message.get("more_body", False):
                    return True

    async def _answer(self, request: HttpRequest, receive: Receive, send: Send) -> None:
        job: ScriptCall | Callable[[], ScriptCall | StaticResponse]
        if self.site.root is None:  # one script or a callable for every URL: no file is looked up
            answer = self.site.answer(request)
            if isinstance(answer, StaticResponse):
                await self._static(answer, request, send)
                return
            job = answer
        else:  # the lookup reads files: off the loop, in the thread the script then runs in (WSGI-PERF-4)
            job = functools.partial(self.site.answer, request)
        loop = asyncio.get_running_loop()
        shared = self._shared
        if shared is None or shared.loop is not loop:
            shared = self._shared = _Shared(loop)
        channel = ResponseChannel(self._heads, sapi=self.site.sapi, method=request.method, log=self._log)
        # one wake-up of the loop for whatever arrived until it looks: the head, the body,
        # the response's end and the script's (WSGI-PERF-3), delivered with the other
        # requests' of the same moment (ASGI-PERF-2)
        arrival = _Arrival(shared, loop.create_future())
        channel.on_change(arrival.wake)
        self.scripts.submit(job, channel)
        listener = _Listener(shared, receive, channel)
        try:
            await _respond(channel, send, arrival, listener)  # the request lasts as long as its script
        except asyncio.CancelledError:
            channel.client_gone()  # the server gave up on the request
            raise
        finally:
            channel.on_change(None)
            listener.needless()
            if listener.task is not None:
                await listener.stop()
        if channel.static is not None:  # a file or an error page: no script ran
            await self._static(channel.static, request, send)

    @staticmethod
    async def _static(answer: StaticResponse, request: HttpRequest, send: Send) -> None:
        headers = [(name.lower().encode(), value.encode("utf-8", "surrogateescape")) for name, value in answer.headers]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        pieces = answer.body_for(request.method)
        piece = await asyncio.to_thread(next, pieces, b"")  # a file is read off the loop
        while True:
            following = await asyncio.to_thread(next, pieces, b"") if piece else b""
            await send({"type": "http.response.body", "body": piece, "more_body": bool(following)})
            if not following:
                return
            piece = following


async def _listen(receive: Receive, channel: ResponseChannel[ASGIHead]) -> None:
    # http.disconnect while the script runs is the client gone (ASGI-ABORT-1)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            channel.client_gone()
            return


#: How early asyncio runs a timer: a listener due within it is due (ASGI-PERF-1).
_RESOLUTION = time.get_clock_info("monotonic").resolution


class _Shared:
    """What the requests of one event loop share (ASGI-PERF-2): the script threads'
    wake-ups, handed to the loop by one ``call_soon_threadsafe`` for all that come
    before it runs, and one timer for every listener still to start (ASGI-PERF-1)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._ready: deque[_Arrival] = deque()
        self._armed = False  # a delivery is on its way to the loop
        self._due: dict[_Listener, float] = {}  # listeners still to start, and when
        self._timer: asyncio.TimerHandle | None = None

    def wake(self, arrival: _Arrival) -> None:
        """From a script's thread: ``arrival`` is to fire in the loop. RuntimeError
        when the loop has closed."""
        self._ready.append(arrival)
        if not self._armed:
            self._armed = True
            try:
                self.loop.call_soon_threadsafe(self._deliver)
            except RuntimeError:
                self._armed = False
                raise

    def _deliver(self) -> None:
        # in the loop: every wake-up that came. Unarmed first, so that one coming
        # while these fire arms another delivery.
        self._armed = False
        ready = self._ready
        while ready:
            ready.popleft().fire()

    def listen_at(self, listener: _Listener, delay: float) -> None:
        """Start ``listener`` in ``delay`` seconds, unless it is forgotten first."""
        when = self.loop.time() + delay
        self._due[listener] = when
        if self._timer is None or when < self._timer.when():
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self.loop.call_at(when, self._start_due)

    def forget(self, listener: _Listener) -> None:
        self._due.pop(listener, None)

    def _start_due(self) -> None:
        self._timer = None
        now = self.loop.time() + _RESOLUTION
        for listener in [listener for listener, when in self._due.items() if when <= now]:
            del self._due[listener]
            listener.start()
        if self._due:
            self._timer = self.loop.call_at(min(self._due.values()), self._start_due)


class _Arrival:
    """A request's wake-up: ``wake()`` in the script's thread, then ``future`` done
    in the loop (WSGI-PERF-3, ASGI-PERF-2)."""

    __slots__ = ("_shared", "future")

    def __init__(self, shared: _Shared, future: asyncio.Future[None]) -> None:
        self._shared = shared
        self.future = future

    def wake(self) -> None:
        self._shared.wake(self)

    def fire(self) -> None:
        future = self.future
        if not future.done():  # done: a look already took what woke it, or the wait was cancelled
            future.set_result(None)


class _Listener:
    """The task that waits on ``receive()`` while the response is not complete
    (ASGI-ABORT-1), started when it can matter (ASGI-PERF-1): when the script has
    sent part of its response and not the rest, or has run ``LISTEN_AFTER`` seconds
    without completing it. A response complete before either -- most of them -- needs
    none: a client that leaves after it changes nothing."""

    #: Seconds a script may run, saying nothing, before its client is listened to.
    LISTEN_AFTER = 0.02

    def __init__(self, shared: _Shared, receive: Receive, channel: ResponseChannel[ASGIHead]) -> None:
        self._shared = shared
        self._receive = receive
        self._channel = channel
        self.task: asyncio.Task[None] | None = None  # the listening, once begun
        self._waiting = True  # to start, at the latest after LISTEN_AFTER
        shared.listen_at(self, self.LISTEN_AFTER)

    def start(self) -> None:
        """Listen now, unless the listening is over or has begun."""
        if self._waiting:
            self._waiting = False
            self._shared.forget(self)
            self.task = self._shared.loop.create_task(_listen(self._receive, self._channel))

    def needless(self) -> None:
        """The response is complete: no listening is to begin."""
        if self._waiting:
            self._waiting = False
            self._shared.forget(self)

    async def stop(self) -> None:
        """Stop listening, and let the task end."""
        self.needless()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


async def _respond(channel: ResponseChannel[ASGIHead], send: Send, arrival: _Arrival, listener: _Listener) -> None:
    # The script's output, as it arrives, as ASGI messages (ASGI-SEND-1), until the
    # response is complete; then until the script has ended. Each look follows a
    # wake-up; the next wait's future is made before the look, so that a wake-up
    # during the sends is not lost.
    loop = asyncio.get_running_loop()
    sending = True
    while True:
        await arrival.future
        arrival.future = loop.create_future()
        taken = channel.poll()
        if channel.static is not None:
            return  # the lookup found no script: the caller sends what it found
        if sending and taken is not None:
            head, data, done = taken
            if done:
                listener.needless()
                sending = False
            else:
                listener.start()  # a response under way: the client's leaving matters now
            if not (done and channel.gone):  # nothing more goes to a client that has left
                try:
                    if head is not None:
                        await send({"type": "http.response.start", "status": head[0], "headers": list(head[1])})
                    await send({"type": "http.response.body", "body": data, "more_body": not done})
                except OSError:  # ASGI 2.4: send() on a closed connection raises an OSError
                    channel.client_gone()
                    listener.needless()
                    sending = False
        if not sending and channel.script_ended:
            return
