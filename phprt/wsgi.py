"""phprt as a WSGI application (PEP 3333).

``WSGIApp(target)`` serves a document root, one ported script or a Python
callable, as ``phprt serve`` does, behind any WSGI server::

    from phprt.wsgi import WSGIApp
    application = WSGIApp("examples")        # gunicorn module:application

Each request's script runs in a Runtime of its own in the server's thread that
called the application, as mod_php runs in the Apache worker that took the
request (WSGI-THREAD-1): the server's threads are the workers, and no hand-over
stands between a request and its script. The output goes to the server through
``start_response`` and the ``write()`` it returns (WSGI-ITER-1): held until PHP
flushes, 8 KiB are waiting or the response is complete (WSGI-STREAM-1); a
response complete before any of it went out goes whole, with its length, so
that the client has it all at fastcgi_finish_request() (WSGI-EARLY-1). A write
the server fails is the client gone (WSGI-ABORT-1).

What it shares with ``phprt.asgi`` -- the head's forms, the request's rebuilding
rules -- is in phprt/transports/gateway.py and phprt/transports/heads.py.
"""

from __future__ import annotations

import contextvars
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import quote

from .engine.ini_files import IniFile, server_configuration
from .engine.memo import Memo
from .engine.script import Script
from .http.request import StreamedBody
from .net.body import BODY_BUFFER
from .net.logs import Log
from .net.runner import Running
from .net.site import MAX_BODY, HttpRequest, ScriptCall, Site, StaticResponse, error_page
from .transports.base import ResponseHead, Transport
from .transports.gateway import PATH_SAFE, BodyTooLarge, HeadForms, body_left
from .transports.heads import GatewayHead

__all__ = ["WSGIApp", "request_from_environ"]


StartResponse = Callable[..., Any]


# -- WSGI ------------------------------------------------------------------------------


def _text(value: str) -> str:
    # a WSGI native string (bytes as latin-1) as phprt holds PHP's strings (REQ-VARS-1);
    # ASCII is the same string either way
    if value.isascii():
        return value
    return value.encode("latin-1", "replace").decode("utf-8", "surrogateescape")


def _native(data: bytes) -> str:
    # bytes as a WSGI native string
    return data.decode("latin-1")


def _port(value: Any) -> int:
    text = str(value or "")
    return int(text) if text.isdigit() else 0


#: The header fields of the environs seen, by their keys in order: each key that carries
#: one with its name -- ``HTTP_USER_AGENT``, ``User-Agent`` (WSGI-REQUEST-1) -- found once
#: per sequence of keys, the last 256 of them (WSGI-PERF-2).
_FIELD_KEYS: Memo[tuple[str, ...], tuple[tuple[str, str], ...]] = Memo(256)


def _field_name(key: str) -> str:
    if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return "-".join(part.capitalize() for part in key.split("_"))
    if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
        return "-".join(part.capitalize() for part in key[5:].split("_"))
    return ""


def _field_keys(environ: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    keys = tuple(environ)
    found = _FIELD_KEYS.get(keys)
    if found is None:
        found = _FIELD_KEYS.keep(keys, tuple((key, name) for key in keys if (name := _field_name(key))))
    return found


def request_from_environ(environ: Mapping[str, Any], max_body: int = MAX_BODY,
                         body_buffer: int = BODY_BUFFER) -> HttpRequest:
    """The request a WSGI server parsed, as phprt's HTTP server would have it
    (WSGI-REQUEST-1): the target from RAW_URI or REQUEST_URI where the server
    gives it, else rebuilt from SCRIPT_NAME, PATH_INFO and QUERY_STRING; the
    headers from the HTTP_* variables in the environ's order; the whole body, or
    one of more than ``body_buffer`` bytes as a ``StreamedBody`` over wsgi.input,
    read by the script as it starts (PERF-UPLOAD-2)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    script_name = environ.get("SCRIPT_NAME", "")
    if raw.startswith("/"):
        target = raw
    else:
        path = script_name + environ.get("PATH_INFO", "")
        target = quote(path.encode("latin-1", "replace"), safe=PATH_SAFE) or "/"
        if environ.get("QUERY_STRING"):
            target += "?" + environ["QUERY_STRING"]
    headers = [(name, value if value.isascii() else _text(value)) for key, name in _field_keys(environ)
               if (value := environ[key]) and isinstance(value, str)]
    server_name = environ.get("SERVER_NAME", "")
    return HttpRequest(
        method=environ.get("REQUEST_METHOD", "GET"),
        target=_text(target),
        protocol=environ.get("SERVER_PROTOCOL") or "HTTP/1.0",
        headers=tuple(headers),
        body=_read_body(environ, max_body, body_buffer),
        client=(environ.get("REMOTE_ADDR", ""), _port(environ.get("REMOTE_PORT"))),
        local=(server_name, _port(environ.get("SERVER_PORT"))),
        server_name=server_name,
        mount=_text(quote(script_name.encode("latin-1", "replace"), safe=PATH_SAFE)) if script_name else "",
    )


def _read_body(environ: Mapping[str, Any], max_body: int, body_buffer: int) -> bytes:
    # CONTENT_LENGTH bytes, left in the stream past body_buffer (PERF-UPLOAD-2); to the end
    # where the server says the stream ends there; BodyTooLarge past max_body (WSGI-REQUEST-1)
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not length.isdigit():
        if not environ.get("wsgi.input_terminated"):
            return b""
        data = bytes(stream.read(max_body + 1))
        if len(data) > max_body:
            raise BodyTooLarge(max_body)
        return data
    left, parts = int(length), []
    if left > max_body:
        raise BodyTooLarge(max_body)
    if left > body_buffer:
        return StreamedBody(stream, left)
    while left > 0:
        part = stream.read(min(left, 1 << 16))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


class WSGIApp:
    """A WSGI application (PEP 3333) that serves ``target`` -- a document root, one
    script for every URL, or a Python callable -- as ``phprt serve`` does
    (WSGI-APP-1). ``sapi`` is the PHP SAPI the scripts behave as, "cgi" by default
    (WSGI-SAPI-1); ``ini`` sets directives for every request; a body over
    ``max_body`` bytes is answered 413 (WSGI-REQUEST-1), one over ``body_buffer`` bytes is
    read from wsgi.input by the script as it starts, an upload as it is parsed (PERF-UPLOAD-2).

    ``running`` is how many of its scripts run now; ``join(timeout)`` waits until none does."""

    def __init__(self, target: Script, *, sapi: str = "cgi", ini: Mapping[str, Any] | None = None, ini_file: IniFile = None,
                 max_body: int = MAX_BODY, body_buffer: int = BODY_BUFFER, php_version: str = "8.2") -> None:
        self.site = Site(target, sapi=sapi, ini=server_configuration(sapi, ini, ini_file),  # CONF-API-1
                         php_version=php_version)  # VER-PROFILE-1
        self.max_body = max_body
        self.body_buffer = body_buffer
        self._heads = HeadForms(_wsgi_head)
        self._running = Running()

    @property
    def running(self) -> int:
        """How many of the application's scripts run now."""
        return self._running.count

    def join(self, timeout: float | None = None) -> bool:
        """Wait until no script runs (at most ``timeout`` seconds); whether none does."""
        return self._running.join(timeout)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            request = request_from_environ(environ, self.max_body, self.body_buffer)
        except BodyTooLarge:
            request = request_from_environ({**environ, "wsgi.input": None})
            answer: ScriptCall | StaticResponse = error_page(413, request)
        else:
            answer = self.site.answer(request)
        if isinstance(answer, StaticResponse):
            headers = [(name, _native(value.encode())) for name, value in answer.headers]
            start_response(f"{answer.status} {answer.reason}", headers)
            return answer.body_for(request.method)
        # PHP's stderr goes to wsgi.errors, a text stream, else to the process's stderr (WSGI-ERRORS-1)
        response = WSGIResponse(self._heads, start_response, sapi=answer.sapi, method=request.method,
                                log=environ.get("wsgi.errors"))
        self._running.enter()
        error: BaseException | None = None
        try:  # in this thread, in a fresh empty context (WSGI-THREAD-1, RT-ACTIVE-1)
            contextvars.Context().run(answer.run, response)
        except BaseException as caught:  # noqa: B036 - the response says what happened
            error = caught
        finally:
            response.input = b""  # the body's memory goes back now
            self._running.leave()
        response.ended(error)
        return ()


#: The status line and fields as start_response takes them, and whether a Content-Length is among them.
WSGIHead = tuple[str, list[tuple[str, str]], bool]


def _wsgi_head(head: GatewayHead) -> WSGIHead:
    # latin-1 native strings (WSGI-HEAD-1); made once per distinct head (WSGI-PERF-2)
    fields = [(_native(name), _native(value)) for name, value in head.fields]
    return f"{head.status} {_native(head.reason)}", fields, any(name.lower() == "content-length" for name, _ in fields)


class WSGIResponse(Transport):
    """The transport of a request whose script runs in the WSGI server's thread
    (WSGI-THREAD-1). No thread of its own and no lock: the script's writes are the
    server's.

    - Body bytes are held until PHP flushes, ``HOLD`` bytes wait, or the response
      is complete; then the head goes by ``start_response`` (once) and the bytes
      by the ``write()`` it returned (WSGI-STREAM-1, WSGI-ITER-1).
    - The response is complete at the request's end, at fastcgi_finish_request(),
      once the body reaches the Content-Length the head declared (read as nginx
      reads PHP-FPM's), or at once after a head that allows no body (a HEAD
      request, 204, 304, WSGI-STATUS-1's 502) (WSGI-EARLY-1). A response complete
      before any of it went out goes with the Content-Length of its body, unless it
      declared one or has none: the client has all of it then, while the script
      goes on. Output after that is dropped and reported delivered.
    - ``ending()`` (fastcgi_finish_request() under a profile that flushes before it
      ends the response, DEV-FINISH-1) holds the rest, flushed or not, for the end.
    - A ``write()`` that raises is the client gone (WSGI-ABORT-1): that write and
      every later one report it, unless the response was complete.
    - A second head (a header callback that outputs) is body bytes where the SAPI
      writes its head into the stream, as php-cgi does (WSGI-HEAD-2).
    """

    #: Body bytes held before they go to the server by themselves: Apache's core output
    #: filter and PHP-FPM's record buffer hold a script's output as much (WSGI-STREAM-1).
    HOLD = 8192

    can_end_early = True
    finish_request = True
    joins_writes = True  # what is held goes as one write (PERF-ECHO-4)

    def __init__(self, heads: HeadForms[WSGIHead], start_response: StartResponse, *, sapi: str = "cgi",
                 method: str = "GET", log: Any = None) -> None:
        self._heads = heads
        self._start_response = start_response
        self._head_in_stream = sapi != "apache2handler"
        self._method = method
        self._log = log
        self._head: tuple[GatewayHead, int | None, WSGIHead] | None = None
        self._write: Callable[[bytes], object] | None = None  # the server's, once the head has gone
        self._held: list[bytes] = []
        self._held_size = 0
        self._remaining: int | None = None  # what the declared Content-Length still allows
        self._ending = False
        self.complete = False  # the client has (or will have) the whole response
        self.gone = False  # the client went away before that

    def send_headers(self, head: ResponseHead) -> None:
        if self.gone or self.complete:
            return
        if self._head is not None:  # PHP sent its head again (WSGI-HEAD-2)
            if self._head_in_stream:
                self.write(head.block())
            return
        self._head = known = self._heads.of(head)
        self._remaining = body_left(known, self._method)
        if self._remaining == 0:  # the client has all there is with the head
            self.complete = True
            self._hand_over()

    def write(self, data: bytes) -> bool:
        if self.gone:
            return False
        if self.complete:
            return True
        remaining = self._remaining
        if remaining is not None:
            data = data[:remaining]
            self._remaining = remaining = remaining - len(data)
            self.complete = remaining == 0
        self._held.append(data)
        self._held_size += len(data)
        if self.complete or (self._held_size >= self.HOLD and not self._ending):
            return self._hand_over()
        return True

    def flush(self) -> bool:
        if not self._ending and not self.complete and (self._held or self._write is None and self._head is not None):
            return self._hand_over()
        return not self.gone

    def write_stderr(self, data: bytes) -> None:
        self._logger().stderr(data)

    def ending(self) -> None:
        self._ending = True

    def finish(self) -> None:
        if not self.complete and not self.gone:
            self.complete = True
            self._hand_over()

    def ended(self, error: BaseException | None) -> None:
        """The script has ended: what stopped it, if anything, goes to the log
        (WSGI-ERRORS-1), and the response ends -- 500 if it never had a head."""
        if error is not None:
            self._logger().exception(error)
        if self._head is None and not self.gone:
            self._head = self._heads.internal_error
        self.finish()

    def _logger(self) -> Log:
        if not isinstance(self._log, Log):
            self._log = Log(self._log)
        return self._log

    def _hand_over(self) -> bool:
        # the head (once) and what is held, to the server; False once the client has gone
        data = b"".join(self._held)
        self._held.clear()
        self._held_size = 0
        if self._write is None:
            gateway, _, (status, fields, declared) = self._head or self._heads.internal_error
            fields = list(fields)  # a list of its own: a server may change it
            if self.complete and gateway.body_allowed(self._method) and not declared:
                fields.append(("Content-Length", str(len(data))))  # all of it: the client knows its end
            self._write = self._start_response(status, fields)
        elif not data:  # the head went before, and nothing is held
            return not self.gone
        try:
            self._write(data)  # b"" after the head alone: the server writes the head then
        except Exception:  # noqa: BLE001 - whatever the server raised, the client cannot have the rest
            if not self.complete:
                self.gone = True
            return self.complete
        return True
