"""phprt as a WSGI application (PEP 3333), and the gateway both it and
``phprt.asgi`` put between a Runtime and a Python web server (WSGI-*, ASGI-*).

``WSGIApp(target)`` serves a document root, one ported script or a Python
callable, as ``phprt serve`` does, behind any WSGI server::

    from phprt.wsgi import WSGIApp
    application = WSGIApp("examples")        # gunicorn module:application

Each request's script runs in a Runtime of its own, in a thread of the
application's ``ScriptThreads`` (WSGI-THREAD-1, WSGI-PERF-1); the response is the iterable the application returns, which
yields the output as the script writes it. A web server sits between PHP and the
client as nginx sits in front of php-cgi or PHP-FPM: it gets the head as a status
and header fields (WSGI-HEAD-1), knows when the response is complete -- at the
script's end, at fastcgi_finish_request(), once the declared Content-Length is
there (WSGI-EARLY-1) -- and tells the script when the client has gone
(WSGI-ABORT-1).

The pieces it shares with ``phprt.asgi`` are in phprt/transports/gateway.py
and phprt/transports/heads.py.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Mapping
from urllib.parse import quote

from .engine.ini_files import IniFile, server_configuration
from .engine.memo import Memo
from .engine.script import Script
from .http.request import StreamedBody
from .net.body import BODY_BUFFER
from .net.site import MAX_BODY, HttpRequest, ScriptCall, Site, StaticResponse, error_page
from .transports.gateway import PATH_SAFE, BodyTooLarge, HeadForms, ResponseChannel, ScriptThreads
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

    ``join(timeout)`` waits until the scripts still running -- after their response
    ended early, say -- have ended."""

    def __init__(self, target: Script, *, sapi: str = "cgi", ini: Mapping[str, Any] | None = None, ini_file: IniFile = None,
                 max_body: int = MAX_BODY, body_buffer: int = BODY_BUFFER, php_version: str = "8.2") -> None:
        self.site = Site(target, sapi=sapi, ini=server_configuration(sapi, ini, ini_file),  # CONF-API-1
                         php_version=php_version)  # VER-PROFILE-1
        self.scripts = ScriptThreads()  # WSGI-THREAD-1, WSGI-PERF-1
        self.max_body = max_body
        self.body_buffer = body_buffer
        self._heads = HeadForms(_wsgi_head)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until no script runs (at most ``timeout`` seconds); whether none does."""
        return self.scripts.join(timeout)

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
        channel = ResponseChannel(self._heads, sapi=answer.sapi, method=request.method, log=environ.get("wsgi.errors"))
        self.scripts.submit(answer, channel)
        return _ResponseBody(channel, start_response)


WSGIHead = tuple[str, list[tuple[str, str]]]


def _wsgi_head(head: GatewayHead) -> WSGIHead:
    # the status line and fields as start_response takes them: latin-1 native strings (WSGI-HEAD-1)
    return f"{head.status} {_native(head.reason)}", [(_native(name), _native(value)) for name, value in head.fields]


class _ResponseBody:
    """The iterable a WSGIApp returns: it calls start_response when the head
    arrives, then yields the body as the script writes it (WSGI-STREAM-1). Its
    close() before the end is the server saying the client has gone (WSGI-ABORT-1)."""

    def __init__(self, channel: ResponseChannel[WSGIHead], start_response: StartResponse) -> None:
        self._channel = channel
        self._start_response = start_response
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._done:
            raise StopIteration
        head, data, done = self._channel.take()
        if head is not None:
            self._start_response(head[0], list(head[1]))  # a list of its own: a server may change it
        if done:
            self._done = True
            if not data:
                raise StopIteration
        # b"" after the head alone: servers that send the head on an empty write do
        return data

    def close(self) -> None:
        if not self._done:
            self._done = True
            self._channel.client_gone()
