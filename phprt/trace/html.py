"""The timeline page of a trace: one self-contained HTML file (TRACE-HTML-1).

Inline CSS, SVG and script, no external asset and no network: the trace's JSON
document, each event's description, the script lines the events name and the text of
the clauses they cite are embedded when the page is written (TRACE-HTML-2). The script
draws lanes over the events -- the request's phases, one lane per output buffer with
the bytes it holds, the header queue and the moment the head left, what the client
had, connection_status() -- and a list; clicking an event (in the lanes or the list)
shows its details, its source line and its clauses. Once drawn, it sets
``data-rendered="ok"`` on <body>; an error in it is written into ``#errors``.
"""

from __future__ import annotations

import html
import json
import linecache
from typing import Any

from ..engine.trace import Trace
from .clauses import TEXT
from .text import describe

__all__ = ["page"]


def _sources(trace: Trace) -> dict[str, dict[str, str]]:
    # The lines around each line an event names, by file and line number.
    sources: dict[str, dict[str, str]] = {}
    for event in trace.events:
        if event.file is None or event.line is None:
            continue
        lines = sources.setdefault(event.file, {})
        for number in range(max(1, event.line - 2), event.line + 3):
            text = linecache.getline(event.file, number)
            if text:
                lines[str(number)] = text.rstrip("\n")
    return sources


def _json(value: Any) -> str:
    # JSON that can sit in a <script> element.
    return json.dumps(value, ensure_ascii=True).replace("</", "<\\/")


def page(trace: Trace, title: str | None = None, *, back: str | None = None) -> str:
    """The trace's timeline page (TRACE-HTML-1); ``back`` links to a list of traces (TRACE-LIVE-1)."""
    cited = {clause for event in trace.events for clause in event.clauses}
    data = {
        "trace": trace.to_dict(),
        "text": [describe(event) for event in trace.events],
        "sources": _sources(trace),
        "clauses": {clause: {"file": TEXT[clause][0], "text": TEXT[clause][1]} for clause in sorted(cited)
                    if clause in TEXT},
    }
    name = title or str(trace.meta.get("script") or "phprt trace")
    link = "" if back is None else f'<a class="back" href="{html.escape(back)}">all traces</a>'
    return _PAGE.replace("@TITLE@", html.escape(name)).replace("@BACK@", link).replace("@DATA@", _json(data))


_PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@TITLE@ - phprt lifecycle trace</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
header { padding: 10px 16px; background: #23324a; color: #fff; }
header h1 { font-size: 17px; margin: 0; } header .back { float: right; color: #c9d3e3; } header p { margin: 2px 0 0; color: #c9d3e3; font-size: 13px; }
main { display: grid; grid-template-columns: minmax(0, 1fr) 380px; gap: 12px; padding: 12px 16px; }
#lanes { align-self: start; background: #fff; border: 1px solid #d8dde6; border-radius: 6px; overflow-x: auto; }
#details { background: #fff; border: 1px solid #d8dde6; border-radius: 6px; padding: 10px 12px; font-size: 13px;
  align-self: start; position: sticky; top: 8px; max-height: 95vh; overflow: auto; }
#details h2 { font-size: 15px; margin: 0 0 6px; } #details .kind { font: 12px monospace; color: #5b6578; }
#details pre { background: #f1f3f6; padding: 6px; overflow-x: auto; font-size: 12px; margin: 6px 0; }
#details .hit { background: #ffe9a8; display: block; }
.clause { border-left: 3px solid #4a78c2; padding: 2px 8px; margin: 6px 0; background: #f4f7fc; }
.clause b { font-family: monospace; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; background: #fff; }
#list { grid-column: 1 / span 2; border: 1px solid #d8dde6; border-radius: 6px; overflow: hidden; }
td, th { padding: 2px 8px; border-bottom: 1px solid #eef0f4; text-align: left; white-space: nowrap; }
td.what { white-space: normal; } tr.sel { background: #ffe9a8; } tbody tr { cursor: pointer; }
tbody tr:hover { background: #eef3fb; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
svg text { font: 11px system-ui, sans-serif; fill: #1d2330; } svg .col { cursor: pointer; }
svg .col:hover rect.hover { fill: #4a78c2; fill-opacity: 0.08; }
#errors { color: #b00020; white-space: pre-wrap; margin: 0 16px; font: 12px monospace; }
.legend span { display: inline-block; margin-right: 12px; font-size: 12px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: -1px; }
</style></head>
<body>
<header>@BACK@<h1>@TITLE@</h1><p id="summary"></p></header>
<pre id="errors"></pre>
<main>
<div id="lanes"></div>
<div id="details"><h2>Click an event</h2><p>Each column is one event of the request, in order. Click one (or a row
of the list below; the arrow keys move) to see what happened, the script line that caused it and the spec clauses
that govern it.</p></div>
<div id="list"></div>
</main>
<p id="status" style="margin: 0 16px 12px; color: #5b6578; font-size: 12px;"></p>
<script id="trace-data" type="application/json">@DATA@</script>
<script>
"use strict";
window.onerror = function (message, source, line) {
  document.getElementById("errors").textContent += "script error: " + message + " (line " + line + ")\n";
};
(function () {
  var DATA = JSON.parse(document.getElementById("trace-data").textContent);
  var events = DATA.trace.events, SVGNS = "http://www.w3.org/2000/svg", selected = -1;
  var KIND_COLOUR = {"request-start": "#23324a", "request-end": "#23324a", "phase": "#4a78c2", "output": "#7a8699",
    "buffer-start": "#2e8b57", "buffer-end": "#2e8b57", "buffer-flush": "#2e8b57", "buffer-clean": "#2e8b57",
    "handler": "#8e44ad", "header": "#0f8b8d", "headers-sent": "#0a7a20", "transport-head": "#0a7a20",
    "transport-write": "#3cb44b", "transport-flush": "#3cb44b", "response-end": "#0a7a20", "client-abort": "#d62728",
    "time-limit": "#e67e22", "exit": "#c2185b", "shutdown-function": "#c2185b", "diagnostic": "#d4a017",
    "finish-request": "#0a7a20", "sleep": "#9aa5b8", "output-off": "#7a8699", "transport-stderr": "#d4a017"};
  var STATUS_COLOUR = ["#dfe5ee", "#d62728", "#e67e22", "#7b1fa2"];
  var PHASE_COLOUR = {"startup": "#eef3fb", "script": "#ffffff", "shutdown functions": "#fdf0f5",
    "output layer ends": "#f0f8f2", "headers and output off": "#f3f3f3", "ended": "#f3f3f3"};
  function el(name, attrs, parent, ns) {
    var node = ns ? document.createElementNS(SVGNS, name) : document.createElement(name);
    for (var key in attrs) { if (key === "text") node.textContent = attrs[key]; else node.setAttribute(key, attrs[key]); }
    if (parent) parent.appendChild(node);
    return node;
  }
  function svg(name, attrs, parent) { return el(name, attrs, parent, true); }
  function where(e) { return e.where ? e.where.file.split("/").pop() + ":" + e.where.line : ""; }
  function bytes(n) { return n >= 10240 ? Math.round(n / 1024) + " KiB" : n + " B"; }

  var meta = DATA.trace.meta || {}, last = events[events.length - 1] || {status: 0, client: {head: false, body: 0}};
  document.getElementById("summary").textContent = "SAPI " + (DATA.trace.sapi || "?") + " \u00b7 " + events.length +
    " events \u00b7 the client got " + (last.client.head ? "the head and " : "no head and ") + bytes(last.client.body) +
    " \u00b7 connection_status() " + last.status + (meta.disconnect_after != null ? " \u00b7 client hangs up after " +
    meta.disconnect_after + " B" : "") + " \u00b7 phprt-trace v" + DATA.trace.version;

  // -- the lanes ----------------------------------------------------------------------------
  var maxDepth = 0, maxHeld = 1, maxBody = 1;
  events.forEach(function (e) {
    maxDepth = Math.max(maxDepth, e.depth);
    e.held.forEach(function (h) { maxHeld = Math.max(maxHeld, h); });
    maxBody = Math.max(maxBody, e.client.body);
  });
  var colW = Math.max(9, Math.min(26, Math.floor(900 / Math.max(events.length, 1)))), left = 150, laneH = 26;
  var lanes = [{name: "phase"}];
  for (var level = maxDepth - 1; level >= 0; level--) lanes.push({name: "buffer " + level, level: level});
  lanes.push({name: "header queue"}, {name: "client has"}, {name: "connection_status()"}, {name: "events"});
  var top = 40, width = left + colW * events.length + 20, height = top + lanes.length * laneH + 10, labels = 0;
  var root = svg("svg", {width: width, height: height, viewBox: "0 0 " + width + " " + height, role: "img"},
    document.getElementById("lanes"));
  lanes.forEach(function (lane, i) {
    var y = top + i * laneH;
    svg("text", {x: 8, y: y + 16, text: lane.name}, root);
    svg("line", {x1: left, x2: width - 10, y1: y + laneH, y2: y + laneH, stroke: "#eef0f4"}, root);
    lane.y = y;
  });
  function laneY(name) { for (var i = 0; i < lanes.length; i++) if (lanes[i].name === name) return lanes[i].y; return 0; }
  var headers = 0, sentAt = -1;
  events.forEach(function (e, i) {
    var x = left + i * colW, g = svg("g", {"class": "col", "data-seq": e.seq}, root);
    svg("rect", {x: x, y: top, width: colW, height: lanes.length * laneH, fill: "#fff", "fill-opacity": 0,
      "class": "hover"}, g);
    svg("rect", {x: x, y: laneY("phase") + 4, width: colW, height: laneH - 8,
      fill: PHASE_COLOUR[e.phase] || "#f3f3f3", stroke: "none"}, g);
    if (i === 0 || events[i - 1].phase !== e.phase) {
      var ly = 11 + 12 * (labels++ % 3);  // staggered: short phases sit side by side
      svg("line", {x1: x, x2: x, y1: ly - 9, y2: height - 4, stroke: "#9aa5b8", "stroke-dasharray": "3,3"}, root);
      svg("text", {x: x + 3, y: ly, text: e.phase}, root);
    }
    e.held.forEach(function (held, level) {
      var lane = laneY("buffer " + level), h = 3 + Math.round((laneH - 9) * Math.sqrt(held / maxHeld));
      svg("rect", {x: x + 1, y: lane + laneH - 3 - h, width: colW - 2, height: h, fill: "#2e8b57",
        "fill-opacity": 0.35 + 0.12 * level}, g).appendChild(svg("title", {text: "buffer " + level + " holds " +
        bytes(held)}));
    });
    if (e.kind === "header" && e.data.lines) headers = e.data.lines.length;
    if (e.kind === "headers-sent" && sentAt < 0) sentAt = i;
    var hy = laneY("header queue");
    if (sentAt < 0) {
      if (headers) svg("rect", {x: x + 1, y: hy + 8, width: colW - 2, height: 10, fill: "#0f8b8d", "fill-opacity": 0.4}, g)
        .appendChild(svg("title", {text: headers + " header lines queued"}));
    } else {
      svg("rect", {x: x, y: hy + 11, width: colW, height: 4, fill: "#0a7a20"}, g);
      if (i === sentAt) {
        svg("circle", {cx: x + colW / 2, cy: hy + 13, r: 6, fill: "#0a7a20"}, g);
        var late = x > width - 220;  // near the right edge: the label goes to the left of the mark
        svg("text", {x: late ? x - 4 : x + colW / 2 + 8, y: hy + 10, "text-anchor": late ? "end" : "start",
          text: "head sent (" + e.op + ")"}, root);
      }
    }
    var cy = laneY("client has"), ch = e.client.body ? 2 + Math.round((laneH - 8) * e.client.body / maxBody) : 0;
    if (e.client.head) svg("rect", {x: x, y: cy + laneH - 4, width: colW, height: 2, fill: "#0a7a20"}, g);
    if (ch) svg("rect", {x: x + 1, y: cy + laneH - 4 - ch, width: colW - 2, height: ch, fill: "#3cb44b"}, g)
      .appendChild(svg("title", {text: "the client has " + bytes(e.client.body)}));
    svg("rect", {x: x, y: laneY("connection_status()") + 7, width: colW, height: 12,
      fill: STATUS_COLOUR[e.status] || "#000"}, g).appendChild(svg("title", {text: "connection_status() = " + e.status}));
    svg("circle", {cx: x + colW / 2, cy: laneY("events") + 13, r: Math.min(5, colW / 2 - 1),
      fill: KIND_COLOUR[e.kind] || "#555", "class": "dot"}, g).appendChild(svg("title", {text: e.seq + " " + e.kind +
      ": " + DATA.text[i]}));
    g.addEventListener("click", function () { select(i); });
  });
  var marker = svg("rect", {x: 0, y: top - 2, width: colW, height: lanes.length * laneH + 4, fill: "none",
    stroke: "#c28a00", "stroke-width": 2, visibility: "hidden"}, root);
  var legend = el("p", {"class": "legend"}, document.getElementById("lanes"));
  [["#2e8b57", "bytes a buffer holds"], ["#0f8b8d", "headers queued"], ["#0a7a20", "head sent"],
   ["#3cb44b", "body bytes the client has"], ["#d62728", "aborted (1)"], ["#e67e22", "timed out (2)"]]
    .forEach(function (item) { var s = el("span", {}, legend); el("i", {style: "background:" + item[0]}, s);
      s.appendChild(document.createTextNode(item[1])); });

  // -- the list -----------------------------------------------------------------------------
  var table = el("table", {}, document.getElementById("list")), head = el("tr", {}, el("thead", {}, table));
  ["#", "ms", "script line", "in", "client has", "status", "what happened"].forEach(function (t) { el("th", {text: t}, head); });
  var body = el("tbody", {}, table), rows = [];
  events.forEach(function (e, i) {
    var row = el("tr", {"data-seq": e.seq}, body);
    el("td", {"class": "num", text: e.seq}, row);
    el("td", {"class": "num", text: (e.t * 1000).toFixed(3)}, row);
    el("td", {text: where(e)}, row);
    el("td", {text: e.op || ""}, row);
    el("td", {text: (e.client.head ? "head+" : "") + bytes(e.client.body)}, row);
    el("td", {"class": "num", text: e.status}, row);
    var what = el("td", {"class": "what", style: "padding-left:" + (8 + 14 * e.depth) + "px"}, row);
    el("span", {style: "color:" + (KIND_COLOUR[e.kind] || "#555"), text: "\u25cf "}, what);
    what.appendChild(document.createTextNode(DATA.text[i]));
    row.addEventListener("click", function () { select(i); });
    rows.push(row);
  });

  // -- the details --------------------------------------------------------------------------
  function select(i) {
    if (i < 0 || i >= events.length) return;
    if (selected >= 0) rows[selected].classList.remove("sel");
    selected = i;
    rows[i].classList.add("sel");
    marker.setAttribute("x", left + i * colW);
    marker.setAttribute("visibility", "visible");
    var e = events[i], box = document.getElementById("details");
    box.textContent = "";
    el("h2", {text: DATA.text[i]}, box);
    el("div", {"class": "kind", text: "#" + e.seq + " " + e.kind + " \u00b7 " + (e.t * 1000).toFixed(3) + " ms \u00b7 phase: " +
      e.phase + (e.op && e.where ? " \u00b7 in " + e.op + "()" : "")}, box);
    el("p", {text: "Output stack: " + (e.depth ? e.held.map(function (h, l) { return "buffer " + l + " holds " +
      bytes(h); }).join(", ") : "no buffer") + ". The client has " + (e.client.head ? "the head and " : "no head and ") +
      bytes(e.client.body) + ". connection_status() = " + e.status + "."}, box);
    if (e.where) {
      el("p", {text: "Caused by " + e.where.file + " line " + e.where.line + ":"}, box);
      var pre = el("pre", {}, box), lines = (DATA.sources[e.where.file] || {});
      Object.keys(lines).map(Number).sort(function (a, b) { return a - b; }).forEach(function (n) {
        if (Math.abs(n - e.where.line) > 2) return;
        el("span", {"class": n === e.where.line ? "hit" : "", text: ("    " + n).slice(-5) + "  " + lines[n] +
          (n === e.where.line ? "" : "\n")}, pre);
      });
    } else {
      el("p", {text: "No script code ran: this is the request's own step."}, box);
    }
    el("h2", {text: "Governed by"}, box);
    e.clauses.forEach(function (id) {
      var c = DATA.clauses[id], div = el("div", {"class": "clause"}, box);
      el("b", {text: id}, div);
      div.appendChild(document.createTextNode(c ? " (spec/" + c.file + ") " + c.text.replace(/^\*\*[A-Z0-9-]+\*\*\s*/, "")
        .replace(/\*\*/g, "").replace(/`/g, "") : " (text not shipped)"));
    });
    el("h2", {text: "Data"}, box);
    el("pre", {text: JSON.stringify(e.data, null, 1)}, box);
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "ArrowRight" || event.key === "ArrowDown") { select(selected + 1); event.preventDefault(); }
    if (event.key === "ArrowLeft" || event.key === "ArrowUp") { select(selected - 1); event.preventDefault(); }
  });
  var first = -1;
  events.forEach(function (e, i) { if (first < 0 && e.kind === "headers-sent") first = i; });
  select(first >= 0 ? first : 0);
  document.getElementById("status").textContent = "rendered " + events.length + " events";
  document.body.setAttribute("data-rendered", "ok");
})();
</script>
</body></html>
"""
