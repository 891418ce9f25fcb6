"""The lifecycle trace recorded by the engine (spec/trace.md).

The scripts here are held out from examples/: each runs on a MemoryTransport with a
trace, and the test checks the order of the events, the script lines they name and
that every clause they cite is defined in spec/. What PHP does at each step is fixed
by the clauses those steps cite (recorded from PHP 8.2); here only the recording is checked.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from phprt import MemoryTransport, Runtime
from phprt.engine.trace import CLAUSES, KINDS, Trace
from phprt.output.stack import OutputStack
from tests.support.ports import spin
from tests.support.spec import defined_clauses


def _kinds(trace: Trace, *wanted: str) -> list[str]:
    return [event.kind for event in trace.events if event.kind in wanted]


def _lineno() -> int:
    import sys

    return sys._getframe(1).f_lineno


@pytest.mark.clause("TRACE-EVENT-1")
@pytest.mark.clause("TRACE-CLAUSE-1")
def test_a_held_out_script_in_order() -> None:
    transport = MemoryTransport(server={"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1"})
    lines: dict[str, int] = {}
    with Runtime(transport=transport, sapi="cgi", ini={"output_buffering": "4096"}, trace=True) as rt:
        rt.ob_start(lambda buffer, phase: buffer.upper()); lines["ob_start"] = _lineno()  # noqa: E702
        rt.echo("hello "); lines["echo"] = _lineno()  # noqa: E702
        rt.header("X-One: 1"); lines["header"] = _lineno()  # noqa: E702
        rt.header("X-One: 2")
        rt.ob_end_flush(); lines["ob_end_flush"] = _lineno()  # noqa: E702
        rt.flush()
        rt.register_shutdown_function(lambda: rt.echo("bye"))
    trace = rt.trace
    assert trace is not None
    kinds = [event.kind for event in trace.events]
    assert kinds[0] == "request-start" and kinds[-1] == "request-end"
    assert _kinds(trace, "phase") == ["phase"] * 4
    assert [e.data["phase"] for e in trace.events if e.kind == "phase"] == [
        "script", "shutdown functions", "output layer ends", "headers and output off"]
    # the user buffer: started, written, ended, its handler called with START|FINAL
    assert _kinds(trace, "buffer-start", "buffer-end", "handler", "output") == [
        "buffer-start", "buffer-start", "output", "buffer-end", "handler",  # output_buffering's layer, then ours
        "output", "buffer-end", "handler"]  # "bye" from the shutdown function; the request ends layer 0
    by_op: dict[str | None, Any] = {}
    for event in trace.events:
        if event.file == __file__:
            by_op.setdefault(event.op, event)  # the first of each
    assert by_op["ob_start"].line == lines["ob_start"]
    assert by_op["echo"].line == lines["echo"]
    handler = next(e for e in trace.events if e.kind == "handler" and e.data["user"])
    assert handler.data["flags"] == ["START", "FINAL"] and handler.data["in"] == 6 and handler.data["out"] == 6
    assert handler.op == "ob_end_flush" and handler.line == lines["ob_end_flush"]
    headers = [e.data["action"] for e in trace.events if e.kind == "header"]
    assert headers[:3] == ["queued", "queued", "replaced"]
    # the head stays in the output_buffering layer's queue until the request ends it
    sent = next(e for e in trace.events if e.kind == "headers-sent")
    assert sent.phase == "output layer ends" and sent.file is None and "OUT-END-1" not in sent.clauses
    assert "X-One: 2" in sent.data["lines"] and "X-One: 1" not in sent.data["lines"]
    end = next(e for e in trace.events if e.kind == "buffer-end" and e.phase == "output layer ends")
    assert "OUT-END-1" in end.clauses and end.data["held"] == len("HELLO bye")
    writes = [e for e in trace.events if e.kind == "transport-write"]
    assert [e.data["bytes"] for e in writes] == [9] and writes[0].client_body == 9 and writes[0].client_head
    assert trace.events[-1].data == {"exit_status": 0, "connection_status": 0}
    assert transport.body == b"HELLO bye"


@pytest.mark.clause("TRACE-CLAUSE-1")
def test_every_cited_clause_is_defined() -> None:
    defined = defined_clauses()
    assert set(CLAUSES) <= set(defined)
    for clauses in KINDS.values():
        assert set(clauses) <= set(defined)


@pytest.mark.clause("TRACE-EVENT-1")
def test_client_abort_exit_and_shutdown() -> None:
    transport = MemoryTransport(3, {"REQUEST_METHOD": "GET"})
    seen: list[int] = []
    with Runtime(transport=transport, sapi="cgi", trace=True) as rt:
        rt.register_shutdown_function(lambda: seen.append(rt.connection_status()))
        for _ in range(3):  # bounded: the second write finds the client gone
            rt.echo("12345")
            rt.flush()
    trace = rt.trace
    assert trace is not None
    abort = next(e for e in trace.events if e.kind == "client-abort")
    assert abort.status == 1 and abort.op == "echo" and not abort.data["ignore_user_abort"]
    before = trace.events[abort.seq - 1]
    assert before.kind == "transport-write" and not before.data["delivered"]
    assert before.client_body == 3  # what the client took before it hung up
    assert _kinds(trace, "client-abort", "shutdown-function", "request-end") == [
        "client-abort", "shutdown-function", "request-end"]
    assert seen == [1] and trace.events[-1].status == 1

    with Runtime(transport=MemoryTransport(), trace=True) as rt:
        rt.exit(3)
    assert rt.trace is not None
    assert [e.data for e in rt.trace.events if e.kind == "exit"] == [{"status": 3}]


@pytest.mark.clause("TRACE-EVENT-1", "SESS-LOCK-1")
def test_sessions_open_and_close(tmp_path: Any) -> None:
    ini = {"session.save_path": str(tmp_path), "session.use_cookies": "0"}
    with Runtime(transport=MemoryTransport(server={"REQUEST_METHOD": "GET"}), sapi="cgi", ini=ini, trace=True) as rt:
        rt.session_start()
        rt.session["n"] = 1
        rt.session_write_close()
        rt.session_start()  # written this time at the request's end
        rt.echo("x")
    assert rt.trace is not None
    sessions = [(e.op, e.data["action"], e.data.get("request_end"), e.clauses) for e in rt.trace.events
                if e.kind == "session"]
    assert sessions == [
        ("session_start", "start", None, ("SESS-LOCK-1", "SESS-START-1")),
        ("session_write_close", "write and close", False, ("SESS-LOCK-1", "SESS-WRITE-1")),
        ("session_start", "start", None, ("SESS-LOCK-1", "SESS-START-1")),
        ("output layer ends", "write and close", True, ("SESS-LOCK-1", "SESS-END-1")),
    ]
    assert _kinds(rt.trace, "session", "request-end")[-2:] == ["session", "request-end"]


@pytest.mark.clause("TRACE-EVENT-1")
def test_time_limit() -> None:
    with Runtime(transport=MemoryTransport(), trace=True) as rt:
        rt.set_time_limit(1)
        spin(10)
    assert rt.trace is not None
    limit = next(e for e in rt.trace.events if e.kind == "time-limit")
    assert limit.status == 2 and limit.data == {"seconds": 1}
    diagnostic = rt.trace.events[limit.seq + 1]
    assert diagnostic.kind == "diagnostic" and "Maximum execution time of 1 second" in diagnostic.data["message"]


@pytest.mark.clause("TRACE-EVENT-1")
def test_headers_refused_and_removed() -> None:
    with Runtime(transport=MemoryTransport(server={"REQUEST_METHOD": "GET"}), sapi="cgi", trace=True) as rt:
        rt.header("X-A: 1")
        rt.header_remove("X-A")
        rt.echo("x")
        rt.header("X-B: 1")
    assert rt.trace is not None
    headers = [(e.data["action"], e.clauses) for e in rt.trace.events if e.kind == "header"]
    actions = [action for action, _ in headers]
    assert actions[-4:] == ["queued", "removed", "queued", "refused: headers already sent"]
    assert "HDR-SENT-2" in headers[-1][1] and "HDR-REMOVE-1" in headers[-3][1]
    diagnostic = rt.trace.events[-1 - [e.kind for e in reversed(rt.trace.events)].index("diagnostic")]
    assert "Cannot modify header information" in diagnostic.data["message"]


@pytest.mark.clause("TRACE-JSON-1")
def test_json_document_round_trip() -> None:
    with Runtime(transport=MemoryTransport(), trace=Trace({"script": "t"})) as rt:
        rt.ob_start()
        rt.echo("x")
    assert rt.trace is not None
    document = json.loads(json.dumps(rt.trace.to_dict()))
    assert document["format"] == "phprt-trace" and document["version"] == 1 and document["meta"] == {"script": "t"}
    first: dict[str, Any] = document["events"][0]
    assert set(first) == {"seq", "t", "kind", "op", "where", "clauses", "phase", "depth", "held", "client",
                          "status", "data"}
    again = Trace.from_dict(document)
    assert again.to_dict() == document
    times = [event["t"] for event in document["events"]]
    assert times == sorted(times)  # monotonic, whatever the durations
    with pytest.raises(ValueError):
        Trace.from_dict({**document, "version": 2})


@pytest.mark.clause("TRACE-OFF-1")
def test_off_is_the_untraced_runtime() -> None:
    def run(trace: bool) -> tuple[Runtime, MemoryTransport]:
        transport = MemoryTransport()
        with Runtime(transport=transport, ini={"output_buffering": "4096"}, trace=trace) as rt:
            rt.echo("a")
            rt.ob_start(lambda buffer, phase: buffer + "!")
            rt.echo("b", 1)
            rt.ob_flush()
            rt.echo("c")
        return rt, transport

    plain, plain_transport = run(False)
    traced, traced_transport = run(True)
    assert plain.trace is None and type(plain._out) is OutputStack
    assert traced_transport.events == plain_transport.events
    assert "echo" not in traced.__dict__  # every echo goes through the stack when traced
    outputs = [e for e in traced.trace.events if e.kind == "output"]  # type: ignore[union-attr]
    assert [e.data["text"] for e in outputs] == ["a", "b", "1", "c"]


@pytest.mark.clause("TRACE-JSON-1")
def test_a_bounded_trace_counts_what_it_dropped() -> None:
    with Runtime(transport=MemoryTransport(), trace=Trace(max_events=5)) as rt:
        for _ in range(10):
            rt.echo("x")
    assert rt.trace is not None
    assert len(rt.trace.events) == 5 and rt.trace.events[-1].kind == "request-end"
    assert rt.trace.dropped > 0 and rt.trace.to_dict()["dropped"] == rt.trace.dropped
