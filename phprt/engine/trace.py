"""The lifecycle trace: what a request did, step by step, as typed events (TRACE-*).

``Runtime(trace=True)`` (or ``trace=Trace()``) records, in order, every step PHP's
request lifecycle takes -- the request starting, output operations, handler calls,
buffers started, flushed, cleaned and ended, headers queued, replaced, removed or
refused, the head leaving and why, bytes and flushes handed to the transport, the
client's abort, the time limit, exit, shutdown functions, the response ending and
the request ending (TRACE-EVENT-1). Each event has a monotonic timestamp, the
ported script's file and line that caused it, the operation (the PHP function) it
happened in, and the spec clauses that govern it (TRACE-CLAUSE-1). ``Trace.to_dict()``
is the versioned JSON format of spec/trace.md (TRACE-JSON-1).

No I/O here. Tracing is attached to a Runtime by swapping in traced subclasses of its
output stack and header queue and a recording wrapper around its transport, so that a
Runtime without a trace runs exactly the code it ran before (TRACE-OFF-1); the few
request-level steps (start, head sent, abort, time limit, exit, shutdown) call the
recorder behind one ``if self._trace is not None`` test each.
"""

from __future__ import annotations

import sys
import time
from types import FrameType
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..http.headers import HeaderError, HeaderQueue, ResponseHead
from ..output.stack import OutputHandler, OutputStack, byte_length
from . import constants as C
from .frames import is_phprt
from .records import field, record

if TYPE_CHECKING:
    from .runtime import Runtime

__all__ = ["CLAUSES", "FORMAT", "KINDS", "VERSION", "Event", "Trace", "attach", "handler_flags"]

#: The format's name and version in every trace document (TRACE-JSON-1).
FORMAT = "phprt-trace"
VERSION = 1

#: The event kinds, each with the clauses that govern it (TRACE-EVENT-1, TRACE-CLAUSE-1).
#: Some events add clauses of their own (a handler's phase, a buffer ended at the request's end).
KINDS: dict[str, tuple[str, ...]] = {
    "request-start": ("RT-STARTUP-1", "INI-CONFIG-1"),
    "phase": ("LIFE-ORDER-1",),
    "output": ("OUT-ECHO-1",),
    "buffer-start": ("OUT-START-1",),
    "handler": ("OUT-CALLBACK-1",),
    "buffer-flush": ("OUT-FLUSH-1",),
    "buffer-clean": ("OUT-CLEAN-1",),
    "buffer-end": ("OUT-END-FLUSH-1",),
    "output-off": ("RT-SHUTDOWN-1",),
    "header": ("HDR-HEADER-1",),
    "headers-sent": ("HDR-SEND-1",),
    "transport-head": ("TRANSPORT-HEAD-1", "TRANSPORT-ORDER-1"),
    "transport-write": ("TRANSPORT-ORDER-1", "TRANSPORT-ABORT-1"),
    "transport-flush": ("OUT-FLUSH-SAPI-1", "SAPI-ABORT-1"),
    "transport-stderr": ("TRANSPORT-ORDER-1",),
    "response-end": ("TRANSPORT-ORDER-1",),
    "diagnostic": ("DIAG-RECORD-1",),
    "client-abort": ("CONN-ABORT-1", "CONN-STATUS-1"),
    "time-limit": ("TIME-FATAL-1", "CONN-STATUS-1"),
    "exit": ("LIFE-EXIT-1",),
    "shutdown-function": ("LIFE-SHUTDOWN-1",),
    "finish-request": ("FPM-FINISH-1",),
    "sleep": ("TIME-SLEEP-1",),
    "session": ("SESS-LOCK-1",),
    "request-end": ("RT-SHUTDOWN-1", "LIFE-ORDER-1"),
}

#: Every clause a trace can cite: the renderers ship their text (TRACE-HTML-2).
CLAUSES: tuple[str, ...] = tuple(sorted({clause for clauses in KINDS.values() for clause in clauses} | {
    "OUT-CHUNK-1", "OUT-END-1", "OUT-END-CLEAN-1", "HDR-CLI-1", "HDR-REMOVE-1", "HDR-SENT-2",
    "SESS-START-1", "SESS-WRITE-1", "SESS-END-1", "SESS-DESTROY-1"}))

#: The ini directives a trace reports at the request's start (TRACE-EVENT-1).
LIFECYCLE_INI = ("output_buffering", "output_handler", "implicit_flush", "zlib.output_compression",
                 "max_execution_time", "ignore_user_abort", "display_errors", "html_errors", "log_errors")

_FLAG_NAMES = ((C.PHP_OUTPUT_HANDLER_START, "START"), (C.PHP_OUTPUT_HANDLER_CLEAN, "CLEAN"),
               (C.PHP_OUTPUT_HANDLER_FLUSH, "FLUSH"), (C.PHP_OUTPUT_HANDLER_FINAL, "FINAL"))
_WRAPPERS = frozenset({"userland", "function", "wrapper", "echo_values", "inner"})


def handler_flags(op: int) -> list[str]:
    """The phase bits of a handler call as PHP's constant names, WRITE when none (OUT-CALLBACK-1)."""
    return [name for bit, name in _FLAG_NAMES if op & bit] or ["WRITE"]


@record(slots=True)
class Event:
    """One step of the request (TRACE-EVENT-1); ``to_dict()`` is its JSON (TRACE-JSON-1)."""

    seq: int
    t: float  # seconds since the trace started, monotonic
    kind: str
    op: str | None  # the PHP function (or the request's phase) it happened in
    file: str | None  # the ported script's code that caused it (TRACE-CLAUSE-1)
    line: int | None
    clauses: tuple[str, ...]
    phase: str
    depth: int  # the output stack's level after the event
    held: tuple[int, ...]  # the bytes each buffer holds, bottom first
    client_head: bool  # the client has the head
    client_body: int  # body bytes the client has
    status: int  # connection_status()
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "t": self.t, "kind": self.kind, "op": self.op,
            "where": None if self.file is None else {"file": self.file, "line": self.line},
            "clauses": list(self.clauses), "phase": self.phase, "depth": self.depth, "held": list(self.held),
            "client": {"head": self.client_head, "body": self.client_body}, "status": self.status,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, item: Mapping[str, Any]) -> Event:
        where = item.get("where") or {}
        client = item["client"]
        return cls(item["seq"], item["t"], item["kind"], item["op"], where.get("file"), where.get("line"),
                   tuple(item["clauses"]), item["phase"], item["depth"], tuple(item["held"]), client["head"],
                   client["body"], item["status"], dict(item["data"]))


class Trace:
    """The recorder: the events of one request, in order (TRACE-EVENT-1).

    Given to ``Runtime(trace=...)`` (or made by ``trace=True``; then ``rt.trace``).
    ``events`` is the list; ``to_dict()`` the JSON document (TRACE-JSON-1), with
    ``meta`` (free-form: the script, the command) copied into it.
    """

    def __init__(self, meta: Mapping[str, Any] | None = None, *, skip_sleep: bool = False,
                 max_events: int | None = None) -> None:
        self.events: list[Event] = []
        #: at most this many events are kept; ``dropped`` counts those past it (TRACE-JSON-1)
        self.max_events = max_events
        self.dropped = 0
        #: sleep() and usleep() are recorded and return at once (TRACE-CLI-1)
        self.skip_sleep = skip_sleep
        self.meta: dict[str, Any] = dict(meta or {})
        self.sapi = ""
        self.phase = "startup"
        self.client_head = False
        self.client_body = 0
        self._t0 = time.monotonic()
        self._runtime: Runtime | None = None
        self._diagnostics = 0

    # -- recording -------------------------------------------------------------------------

    def record(self, kind: str, data: dict[str, Any] | None = None, clauses: Iterable[str] = (),
               *, where: tuple[str, int] | None = None, op: str | None = None) -> Event:
        """Append an event of ``kind``; its clauses are the kind's and ``clauses``."""
        runtime = self._runtime
        if runtime is not None and len(runtime.diagnostics) > self._diagnostics:
            self._record_diagnostics(runtime)
        found_op, found_where = (None, None) if self.phase == "startup" else _caller(
            runtime._shutdown_frame if runtime is not None else None)
        return self._append(kind, data or {}, clauses, where or found_where, op or found_op or self.phase)

    def _append(self, kind: str, data: dict[str, Any], clauses: Iterable[str], where: tuple[str, int] | None,
                op: str | None) -> Event:
        runtime = self._runtime
        handlers = runtime._out.handlers if runtime is not None else []
        cited = tuple(dict.fromkeys((*KINDS[kind], *clauses)))
        event = Event(len(self.events), round(time.monotonic() - self._t0, 6), kind, op,
                      None if where is None else where[0], None if where is None else where[1], cited, self.phase,
                      len(handlers), tuple(handler.buffer_used for handler in handlers), self.client_head,
                      self.client_body, runtime._status if runtime is not None else 0, data)
        if self.max_events is not None and len(self.events) >= self.max_events - 1 and kind != "request-end":
            self.dropped += 1  # the last place is kept for the request's end
        else:
            self.events.append(event)
        return event

    def _record_diagnostics(self, runtime: Runtime) -> None:
        for diagnostic in runtime.diagnostics[self._diagnostics:]:
            self._diagnostics += 1
            self._append("diagnostic", {"level": diagnostic.label, "message": diagnostic.message}, (),
                         (diagnostic.file, diagnostic.line), None)

    def enter(self, phase: str) -> None:
        """The request moves on to ``phase`` (LIFE-ORDER-1)."""
        self.phase = phase
        runtime = self._runtime
        if runtime is not None and len(runtime.diagnostics) > self._diagnostics:
            self._record_diagnostics(runtime)
        self._append("phase", {"phase": phase}, (), None, phase)

    def request_start(self, runtime: Runtime) -> None:
        """php_request_startup(): the SAPI and the ini values that shape the lifecycle,
        each with where it came from (RT-STARTUP-1, INI-CONFIG-1)."""
        configuration = runtime._configuration
        profile = runtime.sapi
        given = set(configuration)
        from_file = set(configuration.source.values) if configuration.source is not None else set()
        ini: dict[str, dict[str, Any]] = {}
        for name in LIFECYCLE_INI:
            origin = ("-d / ini=" if name in given and name not in from_file else "php.ini" if name in from_file
                      else f"SAPI {profile.name}" if name in profile.ini else "default")
            ini[name] = {"value": runtime._ini.get(name), "from": origin}
        self.sapi = profile.name
        self.record("request-start", {"sapi": profile.name, "ini": ini}, op="request startup")

    def slept(self, seconds: float) -> bool:
        """sleep()/usleep() (TIME-SLEEP-1); True: return without waiting (``skip_sleep``)."""
        self.record("sleep", {"seconds": seconds, "skipped": self.skip_sleep})
        return self.skip_sleep

    def request_end(self, runtime: Runtime) -> None:
        """php_request_shutdown() is over (RT-SHUTDOWN-1)."""
        self.phase = "ended"
        self.record("request-end", {"exit_status": runtime.exit_status, "connection_status": runtime._status},
                    op="request end")

    # -- the document -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The trace as spec/trace.md's JSON document (TRACE-JSON-1)."""
        return {"format": FORMAT, "version": VERSION, "sapi": self.sapi, "meta": self.meta, "dropped": self.dropped,
                "events": [event.to_dict() for event in self.events]}

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Trace:
        """A trace read back from its JSON document; ValueError for another format or version."""
        if document.get("format") != FORMAT or document.get("version") != VERSION:
            raise ValueError(f"not a {FORMAT} document of version {VERSION}")
        trace = cls(document.get("meta"))
        trace.sapi = document.get("sapi", "")
        trace.dropped = document.get("dropped", 0)
        trace.events = [Event.from_dict(item) for item in document["events"]]
        return trace


def _caller(stop: FrameType | None) -> tuple[str | None, tuple[str, int] | None]:
    # The PHP function the script called (the outermost public phprt function on the
    # stack) and the script's line that called it: the first frame outside phprt.
    frame: FrameType | None = sys._getframe(2)
    entry = None
    while frame is not None and frame is not stop:
        if not is_phprt(frame):
            return entry, (frame.f_code.co_filename, frame.f_lineno)  # found: the script called ``entry``
        name = frame.f_code.co_name
        if not name.startswith("_") and name not in _WRAPPERS:
            entry = name
        frame = frame.f_back
    return None, None  # no script code runs: the request's own step (its phase) did it


# -- attaching a trace to a Runtime ------------------------------------------------------------


def attach(runtime: Runtime, trace: Trace) -> Trace:
    """Instrument ``runtime`` so that it records into ``trace`` (TRACE-OFF-1): its output
    stack and header queue become their traced subclasses, its transport (behind PHP-FPM's
    record buffer, if any) is wrapped, and the fast echo is not bound."""
    trace._runtime = runtime
    runtime._out.__class__ = TracedOutputStack
    runtime._out.traced = True  # the stack's own flag, which its fast paths read (PERF-OB-2)
    runtime.__dict__.pop("echo", None)  # every echo goes through the stack, where it is recorded
    runtime._out._trace = trace  # type: ignore[attr-defined]
    runtime._out._inner = 0  # type: ignore[attr-defined]
    runtime._headers.__class__ = TracedHeaderQueue
    runtime._headers._trace = trace  # type: ignore[attr-defined]
    sink: Any = runtime._sink
    if hasattr(sink, "inner"):  # FpmRecords: what leaves its buffer is what the client gets
        sink.inner = TracedTransport(sink.inner, trace)
    else:
        runtime._sink = TracedTransport(sink, trace)  # type: ignore[assignment]
    return trace


class TracedOutputStack(OutputStack):
    """The output stack, recording its operations (TRACE-EVENT-1)."""

    _trace: Trace
    _inner: int  # >0 while an operation passes a buffer's output down
    traced = True

    def start(self, handler: OutputHandler) -> None:
        super().start(handler)
        self._trace.record("buffer-start", {"name": handler.name, "level": handler.level,
                                            "chunk_size": handler.chunk_size, "flags": handler.flags})

    def write(self, data: bytes | str) -> None:
        if not self._inner and data:
            length = byte_length(data, self.encoding)
            text = data if isinstance(data, str) else data.decode(self.encoding, "replace")
            self._trace.record("output", {"bytes": length, "level": self.level, "text": text[:200],
                                          "direct": not self.activated, "dropped": self.disabled})
        super().write(data)

    def _run(self, handler: OutputHandler, op: int) -> tuple[int, bytes | str | None]:
        held = handler.buffer_used
        flags = op | (0 if handler.flags & C.PHP_OUTPUT_HANDLER_STARTED else C.PHP_OUTPUT_HANDLER_START)
        status, result = super()._run(handler, op)
        clauses = ["OUT-CHUNK-1"] if not op & ~C.PHP_OUTPUT_HANDLER_START else []
        outcome = ("failure: handler disabled, its buffer passed on" if status == 2
                   else "output" if status == 0 else "no output")
        self._trace.record("handler", {"name": handler.name, "level": handler.level, "flags": handler_flags(flags),
                                       "in": held, "out": byte_length(result, self.encoding) if result else 0, "result": outcome,
                                       "user": handler.function is not None and handler.name != "URL-Rewriter"},
                           clauses)
        return status, result

    def flush(self) -> bool | None:
        top = self.active
        if top is not None and top.flags & C.PHP_OUTPUT_HANDLER_FLUSHABLE:
            self._trace.record("buffer-flush", {"name": top.name, "level": top.level})
        self._inner += 1
        try:
            return super().flush()
        finally:
            self._inner -= 1

    def clean(self) -> bool | None:
        top = self.active
        if top is not None and top.flags & C.PHP_OUTPUT_HANDLER_CLEANABLE:
            self._trace.record("buffer-clean", {"name": top.name, "level": top.level})
        return super().clean()

    def pop(self, *, discard: bool = False, force: bool = False) -> bool:
        top = self.active
        if top is not None and (force or top.flags & C.PHP_OUTPUT_HANDLER_REMOVABLE):
            clauses = ["OUT-END-CLEAN-1"] if discard else []
            if force:
                clauses.append("OUT-END-1")
            self._trace.record("buffer-end", {"name": top.name, "level": top.level, "discard": discard,
                                              "held": top.buffer_used}, clauses)
        self._inner += 1
        try:
            return super().pop(discard=discard, force=force)
        finally:
            self._inner -= 1

    def deactivate(self, *args: Any, **options: Any) -> None:
        if self.activated:
            self._trace.record("output-off", {"dropped": [handler.name for handler in self.handlers]})
        super().deactivate(*args, **options)


class TracedHeaderQueue(HeaderQueue):
    """The header queue, recording what each header() did to it (TRACE-EVENT-1)."""

    _trace: Trace

    def header(self, line: str, replace: bool = True, response_code: int = 0) -> None:
        before, code = list(self.lines), self.response_code
        try:
            super().header(line, replace, response_code)
        except HeaderError as refused:
            self._trace.record("header", {"action": "refused", "line": line, "reason": str(refused)})
            raise
        self._changed(line, before, code)

    def delete(self, name: str) -> None:
        before = list(self.lines)
        super().delete(name)
        removed = [line for line in before if line not in self.lines]
        self._trace.record("header", {"action": "removed", "line": name, "removed": removed}, ["HDR-REMOVE-1"])

    def add_default_content_type(self) -> None:
        before, code = list(self.lines), self.response_code
        super().add_default_content_type()
        if self.lines != before:
            self._changed(self.lines[-1], before, code)

    def _changed(self, line: str, before: list[str], code: int) -> None:
        added = [item for item in self.lines if item not in before]
        removed = [item for item in before if item not in self.lines]
        action = "replaced" if added and removed else "queued" if added else "removed" if removed else "status"
        clauses = [] if self.stores else ["HDR-CLI-1"]
        if not self.stores and not line[:5].lower() == "http/":
            action = "not kept (the CLI keeps no headers)"
        data: dict[str, Any] = {"action": action, "line": line, "lines": list(self.lines)}
        if removed:
            data["removed"] = removed
        if self.response_code != code:
            data["response_code"] = self.response_code
        self._trace.record("header", data, clauses)


class TracedTransport:
    """A transport that records what reaches it, and so what the client has (TRACE-EVENT-1)."""

    def __init__(self, inner: Any, trace: Trace) -> None:
        self.inner = inner
        self._trace = trace

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def send_headers(self, head: ResponseHead) -> bool | None:
        result: bool | None = self.inner.send_headers(head)
        if result is not False:
            self._trace.client_head = True
        self._trace.record("transport-head", {"status": head.status, "lines": list(head.lines),
                                              "delivered": result is not False})
        return result

    def write(self, data: bytes) -> bool:
        delivered: bool = self.inner.write(data)
        if delivered:  # a client that hangs up mid-write takes only part (MemoryTransport counts it)
            counted = getattr(self.inner, "_body_length", None)
            self._trace.client_body = counted if isinstance(counted, int) else self._trace.client_body + len(data)
        self._trace.record("transport-write", {"bytes": len(data), "delivered": delivered,
                                               "text": data[:200].decode("utf-8", "replace")})
        return delivered

    def flush(self) -> bool:
        delivered: bool = self.inner.flush()
        self._trace.record("transport-flush", {"delivered": delivered})
        return delivered

    def write_stderr(self, data: bytes) -> None:
        self.inner.write_stderr(data)
        self._trace.record("transport-stderr", {"bytes": len(data), "text": data[:200].decode("utf-8", "replace")})

    def finish(self) -> None:
        self.inner.finish()
        self._trace.record("response-end", {})
