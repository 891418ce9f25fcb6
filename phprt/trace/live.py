"""The live view: a server that keeps the traces of its last N requests and shows them
under a reserved path (TRACE-LIVE-1).

``python -m phprt serve DOCROOT --trace[=N]`` (and ``fastcgi ... --trace[=N]``) records
every script's request (``Runtime(trace=...)``) and keeps the last N (default 20) in
memory, in each worker process. ``/_phprt/trace/`` lists them, newest first;
``/_phprt/trace/ID`` is a request's timeline page (TRACE-HTML-1) and
``/_phprt/trace/ID.json`` its JSON document (TRACE-JSON-1). Those pages are answered by
a small script run like any other (not traced itself), so they reach the client as
every response does, behind nginx too. Off by default: without ``--trace`` the path is
the document root's, as any other.
"""

from __future__ import annotations

import html
import json
import threading
import time
from collections import deque
from typing import Any, Callable
from urllib.parse import urlsplit

from ..engine.records import record
from ..engine.runtime import ACTIVE, Runtime
from ..engine.script import execute
from ..engine.trace import Trace
from ..net.site import ScriptCall
from ..transports.base import Transport
from .html import page

__all__ = ["PREFIX", "TraceLog", "TracedCall", "enable"]

#: The reserved path of the live view (TRACE-LIVE-1).
PREFIX = "/_phprt/trace/"
#: At most this many events are kept of one request (TRACE-LIVE-1).
MAX_EVENTS = 20000


def reserved(uri: str) -> bool:
    """Whether a request URI is the live view's."""
    path = urlsplit(uri).path
    return path == PREFIX[:-1] or path.startswith(PREFIX)


class TraceLog:
    """The traces of the last ``keep`` requests, each with a number (TRACE-LIVE-1)."""

    def __init__(self, keep: int = 20) -> None:
        if keep < 1:
            raise ValueError("--trace keeps at least 1 request")
        self._traces: deque[tuple[int, Trace]] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._next = 1

    def add(self, trace: Trace) -> int:
        with self._lock:
            number, self._next = self._next, self._next + 1
            trace.meta["id"] = number
            self._traces.append((number, trace))
        return number

    def traces(self) -> list[tuple[int, Trace]]:
        """The traces kept, newest first."""
        with self._lock:
            return list(reversed(self._traces))

    def find(self, number: int) -> Trace | None:
        with self._lock:
            return next((trace for found, trace in self._traces if found == number), None)

    def wrap(self, call: ScriptCall) -> ScriptCall:
        """The call the server runs: the live view's page for its path, else ``call`` traced."""
        if isinstance(call, TracedCall) or call.script is self.view:
            return call
        if reserved(str(call.server.get("REQUEST_URI", ""))):
            return ScriptCall(self.view, call.server, b"", call.sapi, call.ini, call.php_version)
        return TracedCall(call.script, call.server, call.input, call.sapi, call.ini, log=self)

    # -- the pages ----------------------------------------------------------------------

    def view(self) -> None:
        """The script that answers the reserved path: the index, a page, a JSON document or 404."""
        runtime = ACTIVE.get()
        assert runtime is not None
        name = urlsplit(str(runtime.server.get("REQUEST_URI", ""))).path[len(PREFIX):]
        runtime.header("Cache-Control: no-store")
        if name in ("", "index.html"):
            runtime.echo(self.index())
            return
        number, _, suffix = name.partition(".")
        trace = self.find(int(number)) if number.isdigit() and suffix in ("", "json") else None
        if trace is None:
            runtime.http_response_code(404)
            runtime.echo(f"<!DOCTYPE html><title>Not kept</title><p>No trace {html.escape(name)} is kept here. "
                         f"<a href=\"{PREFIX}\">All traces</a></p>")
        elif suffix == "json":
            runtime.header("Content-Type: application/json")
            runtime.echo(json.dumps(trace.to_dict(), indent=1))
        else:
            runtime.echo(page(trace, _title(trace), back=PREFIX))

    def index(self) -> str:
        """The list of the traces kept, newest first, each a link to its page."""
        rows = []
        for number, trace in self.traces():
            last = trace.events[-1] if trace.events else None
            meta = trace.meta
            when = time.strftime("%H:%M:%S", time.localtime(meta.get("started", 0)))
            client = "" if last is None else ("head + " if last.client_head else "no head, ") + f"{last.client_body} B"
            status = "" if last is None else str(last.status)
            rows.append(
                f"<tr><td>{number}</td><td>{when}</td><td>{html.escape(str(meta.get('method', '')))}</td>"
                f"<td><a href=\"{PREFIX}{number}\">{html.escape(str(meta.get('uri', '')))}</a></td>"
                f"<td>{len(trace.events)}</td><td>{client}</td><td class=s{status}>{status}</td>"
                f"<td><a href=\"{PREFIX}{number}.json\">JSON</a></td></tr>")
        body = "".join(rows) or "<tr><td colspan=8>No request yet: load a page of this server, then reload this one.</td></tr>"
        return _INDEX.replace("@ROWS@", body)


@record
class TracedCall(ScriptCall):
    """A script call whose Runtime records a trace, kept in ``log`` when the request ends."""

    log: TraceLog | None = None

    def run(self, transport: Transport) -> Runtime:
        transport.server, transport.input = self.server, self.input
        meta = {"method": self.server.get("REQUEST_METHOD"), "uri": self.server.get("REQUEST_URI"),
                "script": self.server.get("SCRIPT_FILENAME"), "started": time.time()}
        trace = Trace(meta, max_events=MAX_EVENTS)
        runtime = Runtime(transport=transport, sapi=self.sapi, ini=self.ini, capture_print=True, trace=trace)
        name = self.server.get("SCRIPT_FILENAME") or ""
        try:
            return execute(runtime, self.script, [name, *self.server.get("argv", ())])
        finally:
            if self.log is not None:
                self.log.add(trace)


def _title(trace: Trace) -> str:
    meta = trace.meta
    return f"#{meta.get('id')} {meta.get('method') or ''} {meta.get('uri') or meta.get('script') or ''}"


def enable(server: Any, keep: int = 20) -> TraceLog:
    """Turn the live view on for an HttpServer or a FastCgiServer (TRACE-LIVE-1): every script
    call its runner gets is traced, and the reserved path answers with the traces kept."""
    log = TraceLog(keep)
    site = server.site
    answer = site.answer

    def answer_or_view(request: Any) -> Any:
        if reserved(request.target):  # the HTTP server maps paths itself: the view goes first
            return site._call(request, log.view, None)
        return answer(request)

    site.answer = answer_or_view
    runner = server.runner
    for name in ("run", "submit"):
        original: Callable[..., Any] = getattr(runner, name)

        def traced(call: ScriptCall, transport: Transport, *, done: Any = None,
                   _original: Callable[..., Any] = original) -> Any:
            return _original(log.wrap(call), transport, done=done)

        setattr(runner, name, traced)
    return log


_INDEX = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>phprt: the last requests' traces</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
header { padding: 10px 16px; background: #23324a; color: #fff; } h1 { font-size: 17px; margin: 0; }
table { border-collapse: collapse; margin: 12px 16px; background: #fff; border: 1px solid #d8dde6; }
td, th { padding: 4px 10px; border-bottom: 1px solid #eef0f4; text-align: left; }
.s1 { color: #d62728; font-weight: bold; } .s2, .s3 { color: #e67e22; font-weight: bold; }
p { margin: 12px 16px; color: #5b6578; }
</style></head><body>
<header><h1>The last requests this server answered, newest first</h1></header>
<p>Each request's lifecycle, step by step: open one to see its output buffers, its headers, what the client
received and when, and connection_status(). <a href="">Reload</a> after loading a page (or pressing STOP).</p>
<table><thead><tr><th>#</th><th>at</th><th>method</th><th>URI</th><th>events</th><th>the client got</th>
<th>connection_status()</th><th></th></tr></thead><tbody>@ROWS@</tbody></table>
</body></html>
"""
