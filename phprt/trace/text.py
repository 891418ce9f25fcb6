"""The terminal timeline of a trace (TRACE-TEXT-1): one line per event in aligned
columns -- time, the script's line, the operation, what happened (indented by the
output stack's depth), what the client has so far and connection_status() -- with
colour only when asked (on a TTY)."""

from __future__ import annotations

import os
from typing import Any

from ..engine.trace import Event, Trace

__all__ = ["describe", "render"]

_COLOURS = {
    "phase": "1;34", "headers-sent": "1;32", "transport-head": "32", "transport-write": "32", "transport-flush": "32",
    "response-end": "1;32", "client-abort": "1;31", "time-limit": "1;31", "exit": "1;35", "diagnostic": "33",
    "header": "36", "handler": "35", "shutdown-function": "1;35", "request-start": "1", "request-end": "1",
}


def _text(value: Any, width: int = 32) -> str:
    shown = repr(value)
    return shown if len(shown) <= width else shown[: width - 4] + "...'"


def describe(event: Event) -> str:
    """What happened, in one line of words (TRACE-TEXT-1)."""
    data, kind = event.data, event.kind
    if kind == "request-start":
        ini = ", ".join(f"{name}={item['value']!s} ({item['from']})" for name, item in data["ini"].items()
                        if name in ("output_buffering", "output_handler", "implicit_flush", "ignore_user_abort",
                                    "max_execution_time", "zlib.output_compression") and item["value"] not in (None, ""))
        return f"request starts under SAPI {data['sapi']}: {ini}"
    if kind == "phase":
        return f"== {data['phase']} =="
    if kind == "output":
        where = "straight out (output layer off)" if data["direct"] else (
            f"into buffer {data['level'] - 1}" if data["level"] else "to the SAPI (no buffer)")
        dropped = " -- dropped: output is off (the client is gone)" if data.get("dropped") else ""
        return f"{data['bytes']} B {_text(data['text'])} {where}{dropped}"
    if kind == "buffer-start":
        chunk = f", chunk_size {data['chunk_size']}" if data["chunk_size"] else ""
        return f"buffer {data['level']} starts: {data['name']}{chunk}"
    if kind == "handler":
        return (f"{data['name']} ({data['level']}) called [{'|'.join(data['flags'])}]: {data['in']} B in, "
                f"{data['out']} B out -- {data['result']}")
    if kind == "buffer-flush":
        return f"flush buffer {data['level']} ({data['name']}) into the one below"
    if kind == "buffer-clean":
        return f"clean buffer {data['level']} ({data['name']})"
    if kind == "buffer-end":
        fate = "discarded" if data["discard"] else "passed down"
        return f"buffer {data['level']} ({data['name']}) ends, its {data['held']} B {fate}"
    if kind == "output-off":
        return "the output layer is torn down" + (f", dropping {', '.join(data['dropped'])}" if data["dropped"] else "")
    if kind == "header":
        line = data.get("line")
        text = f"header {data['action']}" + (f": {line}" if line else "")
        if data.get("removed"):
            text += f" (drops {'; '.join(data['removed'])})"
        if "response_code" in data:
            text += f" -> status {data['response_code']}"
        return text
    if kind == "headers-sent":
        return f"HEADERS SENT (status {data['status']}, {len(data['lines'])} lines), caused by {event.op}"
    if kind == "transport-head":
        return f"-> client: the head ({data['status']})" if data["delivered"] else "-> client: head NOT delivered"
    if kind == "transport-write":
        if data["delivered"]:
            return f"-> client: {data['bytes']} B {_text(data['text'])}"
        return f"-> client GONE: {data['bytes']} B not delivered"
    if kind == "transport-flush":
        return "-> client: flush" if data["delivered"] else "-> flush fails: the client is gone"
    if kind == "transport-stderr":
        return f"stderr / log: {_text(data['text'], 60)}"
    if kind == "response-end":
        return "the response is complete for the client"
    if kind == "diagnostic":
        return f"{data['level']}: {data['message']}"
    if kind == "client-abort":
        then = "ignore_user_abort: the script goes on" if data["ignore_user_abort"] else "the script is stopped"
        return f"CLIENT ABORT noticed: connection_status() = {event.status}; {then}"
    if kind == "time-limit":
        return f"TIME LIMIT of {data['seconds']} s exceeded: connection_status() = {event.status}"
    if kind == "exit":
        return f"exit({data['status']})"
    if kind == "shutdown-function":
        return f"shutdown function #{data['index']}: {data['name']}()"
    if kind == "finish-request":
        return "fastcgi_finish_request(): end the buffers, send the head and output, complete the response"
    if kind == "sleep":
        return f"sleep {data['seconds']:g} s" + (" (skipped by --no-sleep)" if data["skipped"] else "")
    if kind == "session":
        if data["action"] == "start":
            opened = f"session {data['id']} open, its data read and locked ({data['handler']})"
            return opened if data["ok"] else "session_start() failed"
        when = " at the request's end" if data["request_end"] else ""
        return f"session {data['id']} {data['action']}{when}: the lock is released"
    if kind == "request-end":
        return f"request ends: exit status {data['exit_status']}, connection_status() = {data['connection_status']}"
    return kind


def _where(event: Event) -> str:
    if event.file is None:
        return ""
    return f"{os.path.basename(event.file)}:{event.line}"


def render(trace: Trace, *, colour: bool = False, times: bool = True) -> str:
    """The timeline as text: one aligned line per event (TRACE-TEXT-1); ``times=False``
    leaves the time column out, for a timeline that is the same on every run."""
    rows = []
    for event in trace.events:
        client = ("head+" if event.client_head else "") + f"{event.client_body} B"
        rows.append((f"{event.t * 1000:9.3f}ms", _where(event), event.op or "", "  " * event.depth + describe(event),
                     client, str(event.status), event.kind))
    widths = [max([len(row[i]) for row in rows] + [len(title)]) for i, title in
              enumerate(("time", "script line", "in", "what happened"))]
    widths[1], widths[2] = min(widths[1], 40), min(widths[2], 24)
    head = f"{'time':>{widths[0]}}  {'script line':<{widths[1]}}  {'in':<{widths[2]}}  client has   status  what happened"
    if not times:
        head = head[widths[0] + 2:]
    lines = [head, "-" * len(head)]
    for time, where, op, text, client, status, kind in rows:
        line = (f"{time:>{widths[0]}}  " if times else "") + f"{where[-widths[1]:]:<{widths[1]}}  {op[:widths[2]]:<{widths[2]}}  {client:<11}  {status:^6}  "
        code = _COLOURS.get(kind) if colour else None
        lines.append(line + (f"\x1b[{code}m{text}\x1b[0m" if code else text))
    return "\n".join(lines) + "\n"
