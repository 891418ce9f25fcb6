"""What every network transport does with a request, free of I/O (NET-*).

A server parses a request into an ``HttpRequest``; a ``Site`` says what answers
it: a script to run in a Runtime, with the request variables PHP's built-in
server would give it ($_SERVER), or a static response (a file, or ``php -S``'s
error page). The HTTP server, the WSGI and the ASGI applications all go through
here, so a script sees the same request variables on each (NET-SERVER-1).
"""

from __future__ import annotations

import os
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from ..engine.ini import SAPI_PROFILES, configure
from ..engine.memo import Memo
from ..engine.records import field, record
from ..engine.runtime import Runtime
from ..engine.script import Script, execute
from ..engine.versions import ini_parsing, profile
from ..http.headers import REASONS
from ..output.htmlspecialchars import htmlspecialchars
from ..transports.base import Transport
from .docroot import DocumentRoot, Refused, Resolved
from .fpm import auth_variables
from .http11 import Limits

if TYPE_CHECKING:
    from mimetypes import MimeTypes

__all__ = ["MAX_BODY", "SOFTWARE", "HttpRequest", "ScriptCall", "Site", "StaticResponse", "content_type", "error_page"]

#: The largest request body a front end reads, the HTTP server's limit (SERVE-LIMIT-1).
MAX_BODY = Limits.body
#: What ``php -S`` reports as SERVER_SOFTWARE, with phprt's name.
SOFTWARE = "PHP 8.2 Development Server (phprt)"

#: php_cli_server.c's error pages: the CSS it copies from phpinfo() and the texts.
_CSS = (
    "<style>\n"
    "body { background-color: #fcfcfc; color: #333333; margin: 0; padding:0; }\n"
    "h1 { font-size: 1.5em; font-weight: normal; background-color: #9999cc; min-height:2em; line-height:2em;"
    " border-bottom: 1px inset black; margin: 0; }\n"
    "h1, p { padding-left: 10px; }\n"
    "code.url { background-color: #eeeeee; font-family:monospace; padding:0 2px;}\n"
    "</style>\n"
)
_PAGES = {
    400: "<h1>{reason}</h1><p>Your browser sent a request that this server could not understand.</p>",
    404: "<h1>{reason}</h1><p>The requested resource <code class=\"url\">{uri}</code> was not found on this server.</p>",
    405: "<h1>{reason}</h1><p>Requested method not allowed.</p>",
    500: "<h1>{reason}</h1><p>The server is temporarily unavailable.</p>",
    501: "<h1>{reason}</h1><p>Request method not supported.</p>",
}
#: A request header's name as sent -> (its name lower-cased, its $_SERVER key without HTTP_).
_FIELD_KEYS: Memo[str, tuple[str, str]] = Memo(1024)


@record(frozen=True)
class HttpRequest:
    """One request as a server received it. ``target`` is the request-target as
    sent (path and query, percent-encoded), ``headers`` the fields in order, with
    their names as sent; ``client`` and ``local`` the two ends of the connection."""

    method: str
    target: str
    protocol: str = "HTTP/1.1"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    client: tuple[str, int] = ("", 0)
    local: tuple[str, int] = ("", 0)
    server_name: str = ""
    #: Where an application is mounted (a WSGI SCRIPT_NAME, an ASGI root_path), as
    #: the target spells it: the document root answers the path below it (NET-MOUNT-1).
    mount: str = ""

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def site_path(self) -> str:
        """The path below the mount point: what the document root resolves."""
        path = self.path
        if self.mount and path.startswith(self.mount) and path[len(self.mount):][:1] in ("", "/"):
            return path[len(self.mount):] or "/"
        return path

    @property
    def query(self) -> str | None:
        path, mark, query = self.target.partition("?")
        return query if mark else None

    def header(self, name: str) -> str | None:
        """The first field named ``name`` (case-insensitively), or None."""
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)


@record(frozen=True)
class StaticResponse:
    """A response the server writes itself: an error page (``body``) or a file from
    the document root (``file``, ``size`` bytes of it), which ``chunks()`` reads a
    piece at a time, as ``php -S`` sends a file from its descriptor (NET-STATIC-1)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    log_message: str = ""  # what ``php -S`` appends to its access-log line
    file: Path | None = None
    size: int = 0

    @property
    def reason(self) -> str:
        return REASONS.get(self.status, "")

    def body_for(self, method: str) -> Iterator[bytes]:
        """What goes to the client for a request with ``method``: nothing for HEAD, else ``chunks()``."""
        return iter(()) if method == "HEAD" else self.chunks()

    def chunks(self, size: int = 1 << 16) -> Iterator[bytes]:
        """The body, a piece at a time: never more of the file than its ``size``."""
        if self.file is None:
            if self.body:
                yield self.body
            return
        left = self.size
        with open(self.file, "rb") as stream:
            while left > 0 and (piece := stream.read(min(size, left))):
                left -= len(piece)
                yield piece


@record
class ScriptCall:
    """A script to run for the request, with the request variables it sees."""

    script: Script
    server: dict[str, Any]
    input: bytes
    sapi: str
    ini: Mapping[str, Any] = field(default_factory=dict)
    php_version: str = "8.2"
    #: The script file's ``stat()`` taken for this request, if the server took one (FCGI-PERF-3).
    status: os.stat_result | None = None

    def run(self, transport: Transport) -> Runtime:
        """Run the script, its output going to ``transport`` (whose ``server`` and
        ``input`` it sets to the request's); the Runtime, ended."""
        transport.server, transport.input = self.server, self.input
        runtime = Runtime(transport=transport, sapi=self.sapi, ini=self.ini, capture_print=True,
                          php_version=self.php_version)
        runtime._disposed_by_server = True  # its script may bind the classes an earlier request made (PERF-CLASS-1)
        name = self.server.get("SCRIPT_FILENAME") or ""
        try:
            execute(runtime, self.script, [name, *self.server.get("argv", ())], self.status)
        finally:
            if runtime._ended:  # also when the script's SystemExit goes on to the server
                runtime.dispose()  # freed when the server lets go of it, without the cycle collector (PERF-RELEASE-1)
            elif runtime._lane is not None:  # a request that never ended: its lane ends with it (PERF-CLASS-1)
                runtime._lane.release()
        return runtime


def error_page(status: int, request: HttpRequest) -> StaticResponse:
    """``php -S``'s error page for ``status`` (NET-ERROR-1): none for a HEAD request, whose
    Content-Length is 0."""
    if request.method == "HEAD":
        data = b""
    else:
        reason = REASONS.get(status, "")
        # php_cli_server.c escapes it with ENT_QUOTES and no double encoding
        uri = htmlspecialchars(request.target.encode("utf-8", "surrogateescape"), substitute=False)
        content = _PAGES.get(status, "<h1>{reason}</h1>").format(reason=reason, uri=uri.decode("utf-8", "surrogateescape"))
        data = f"<!doctype html><html><head><title>{status} {reason}</title>{_CSS}</head><body>{content}</body></html>".encode()
    return StaticResponse(status, (("Content-Type", "text/html; charset=UTF-8"), ("Content-Length", str(len(data)))), data)


#: The methods ``php -S`` answers 405 wherever no script runs, before it looks for the file (NET-STATIC-1).
_NOT_FOR_FILES = ("DELETE", "PUT", "PATCH")


def _not_allowed(request: HttpRequest, log_message: str = "") -> StaticResponse:
    page = error_page(405, request)
    return StaticResponse(405, (*page.headers, ("Allow", "GET, HEAD, POST")), page.body, log_message)


def _not_found(request: HttpRequest, log_message: str) -> StaticResponse:
    # where no script runs and no file is found: 404, or 405 to a method php -S refuses a file
    if request.method in _NOT_FOR_FILES:
        return _not_allowed(request, log_message)
    page = error_page(404, request)
    return StaticResponse(404, page.headers, page.body, log_message)


def content_type(path: Path) -> str | None:
    """The type ``php -S`` gives a static file: by its extension, ``; charset=UTF-8`` for text (NET-STATIC-1)."""
    mime, _ = _mime_types().guess_type(path.name, strict=False)
    if mime is None:
        return None
    return f"{mime}; charset=UTF-8" if mime.startswith("text/") else mime


@lru_cache(maxsize=None)
def _mime_types() -> MimeTypes:
    # Python's own table, not the machine's /etc/mime.types, so a file's type is the same
    # everywhere; made at the first static file, not when a server starts (PERF-IMPORT-1)
    from mimetypes import MimeTypes

    return MimeTypes(filenames=())


class Site:
    """What a server serves: a document root (a directory), one script for
    every URL (a ``.py`` file), or a Python callable that does a script's work.
    ``sapi`` is the PHP SAPI the scripts behave as, ``php_version`` the PHP version
    (VER-PROFILE-1); ``ini`` sets directives for every request (NET-SITE-1)."""

    def __init__(self, target: Script, *, sapi: str = "cli-server",
                 ini: Mapping[str, Any] | None = None, software: str = SOFTWARE, php_version: str = "8.2") -> None:
        if sapi not in SAPI_PROFILES or sapi == "cli":
            raise ValueError(f"a server runs scripts as a web SAPI, not {sapi!r}")
        self.php_version = profile(php_version).name  # ValueError for a version phprt does not reproduce
        # The ini parsed once, here; every request's Runtime uses it as it is (INI-CONFIG-1). PHP
        # gives its startup warnings once, when the server starts (INI-STARTUP-1).
        with ini_parsing(profile(php_version)):  # E_ALL in the ini is the version's (VER-E-ALL-1)
            configuration = configure(sapi, ini)
        for warning in configuration.startup:
            sys.stderr.write(warning.diagnostic.log_line() + "\n")
        self.sapi, self.ini, self.software = sapi, configuration.started(), software
        self.root: DocumentRoot | None = None
        self.script: Script | None = None
        self._document_root = ""
        if callable(target):
            self.script = target
        elif os.path.isdir(target):
            self.root = DocumentRoot(target)
            self._document_root = str(self.root.root)
        elif os.path.isfile(target):
            self.script = Path(os.path.realpath(target))
        else:
            raise FileNotFoundError(f"no such directory or script: {os.fspath(target)!r}")

    def answer(self, request: HttpRequest) -> ScriptCall | StaticResponse:
        """Run a script or send a file or an error page, as ``php -S`` decides (DOCROOT-MAP-1);
        a path the file system cannot look up or a file it cannot read is 404, as there."""
        if self.root is None:
            assert self.script is not None
            return self._call(request, self.script, None)
        try:
            return self._answer(request, self.root)
        except Refused as refused:
            if refused.status == 404:
                return _not_found(request, "No such file or directory")  # php -S's log
            page = error_page(refused.status, request)
            return StaticResponse(page.status, page.headers, page.body, str(refused))
        except OSError as error:  # a name too long, a file that cannot be read
            return _not_found(request, error.strerror or str(error))

    def _answer(self, request: HttpRequest, root: DocumentRoot) -> ScriptCall | StaticResponse:
        resolved = root.resolve(request.site_path)
        if resolved.is_script:
            return self._call(request, resolved.path, resolved)
        if request.method in _NOT_FOR_FILES:
            return _not_allowed(request)
        size = (resolved.status or resolved.path.stat()).st_size
        mime = content_type(resolved.path)
        headers = ((("Content-Type", mime),) if mime else ()) + (("Content-Length", str(size)),)
        return StaticResponse(200, headers, file=resolved.path, size=size)

    def _call(self, request: HttpRequest, script: Script, resolved: Resolved | None) -> ScriptCall:
        return ScriptCall(script, self.server_variables(request, resolved), request.body, self.sapi, self.ini,
                          self.php_version, resolved.status if resolved is not None else None)

    def server_variables(self, request: HttpRequest, resolved: Resolved | None) -> dict[str, Any]:
        """$_SERVER as ``php -S`` fills it, in its order (NET-SERVER-1). The target is
        split once, and a header name's key is remembered (NET-PERF-3)."""
        now = time.time()
        target = request.target
        path, mark, query = target.partition("?")
        client, local = request.client, request.local
        server: dict[str, Any] = {
            "DOCUMENT_ROOT": self._document_root, "REMOTE_ADDR": client[0], "REMOTE_PORT": str(client[1]),
            "SERVER_SOFTWARE": self.software, "SERVER_PROTOCOL": request.protocol,
            "SERVER_NAME": request.server_name or local[0], "SERVER_PORT": str(local[1]),
            "REQUEST_URI": target, "REQUEST_METHOD": request.method,
        }
        if resolved is not None:
            mount = request.mount if request.mount and request.site_path != path else ""
            script_name = server["SCRIPT_NAME"] = mount + resolved.script_name
            server["SCRIPT_FILENAME"] = str(resolved.path)
            if resolved.path_info:
                server["PATH_INFO"] = resolved.path_info
            server["PHP_SELF"] = script_name + resolved.path_info
        else:
            server["SCRIPT_NAME"] = server["PHP_SELF"] = path
            server["SCRIPT_FILENAME"] = str(self.script) if not callable(self.script) else ""
        if mark:
            server["QUERY_STRING"] = query
        fields: dict[str, str] = {}  # php -S joins a repeated field with ", ", but for Set-Cookie
        keys: dict[str, str] = {}
        for name, value in request.headers:
            known = _FIELD_KEYS.get(name)
            if known is None:
                known = _FIELD_KEYS.keep(name, (name.lower(), name.lower().upper().replace("-", "_")))
            lowered, key = known
            keys[lowered] = key
            joined = lowered in fields and lowered != "set-cookie"
            fields[lowered] = f"{fields[lowered]}, {value}" if joined else value
        for lowered, value in fields.items():
            key = keys[lowered]
            if key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
                server[key] = value
            elif key == "PROXY":  # no HTTP_PROXY, which a proxy library would trust (httpoxy, CVE-2016-5385)
                continue
            server["HTTP_" + key] = value
        if "authorization" in fields:  # php_handle_auth_data()
            server.update(auth_variables(fields["authorization"]))
        server["REQUEST_TIME_FLOAT"] = now
        server["REQUEST_TIME"] = int(now)
        argv = server["argv"] = query.split("+") if query else []  # php_build_argv()
        server["argc"] = len(argv)
        return server
