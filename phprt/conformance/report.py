"""The suite's report (CONF-SUITE-REPORT-1): pass rates per spec section and per PHP version,
each failure as a minimal readable diff, call by call, and the same as JSON for CI."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .cases import Case

KEYS = ("stdout", "stderr", "results", "exit")


@dataclass
class Outcome:
    """What one case did: "pass", "fail", "skip" (the adapter cannot run it) or "error"
    (no valid recording, or the adapter failed)."""

    case: Case
    status: str
    php: str = ""  # the recording's PHP version
    sections: list[str] = field(default_factory=list)
    differs: list[str] = field(default_factory=list)
    diff: str = ""
    reason: str = ""


def compare(case: Case, expected: dict[str, Any], got: dict[str, Any]) -> tuple[list[str], str]:
    """The observations that differ, and the diff that shows how."""
    differs = [key for key in KEYS if expected[key] != got[key]]
    parts = []
    if "results" in differs:
        parts.append(results_diff(case, expected["results"], got["results"]))
    for key in ("stdout", "stderr"):
        if key in differs:
            parts.append(text_diff(key, expected[key], got[key]))
    if "exit" in differs:
        parts.append(f"exit: expected {expected['exit']!r}, got {got['exit']!r}")
    return differs, "\n".join(parts)


def results_diff(case: Case, expected: list[Any], got: list[Any]) -> str:
    """Each call whose result differs: its line, what PHP returned and what came instead.
    Every line records one result but ``uncaught(...)``; results past the script's calls
    come from handlers and shutdown functions."""
    lines = [(number, call.strip()) for number, call in enumerate(case.calls, 1)
             if call.strip() and not call.strip().startswith("uncaught(")]
    out = ["results:"]
    for index in range(max(len(expected), len(got))):
        want = _result(expected[index]) if index < len(expected) else "(nothing)"
        have = _result(got[index]) if index < len(got) else "(nothing)"
        if want == have:
            continue
        where = f"line {lines[index][0]} {lines[index][1]}" if index < len(lines) else f"result {index + 1} (after the calls)"
        out.append(f"  {where}\n    expected {want}\n    got      {have}")
    return "\n".join(out)


def _result(result: Any) -> str:
    if isinstance(result, dict) and "throw" in result:
        return f"throws {result['throw']}: {json.dumps(result.get('message'), ensure_ascii=False)}"
    if isinstance(result, dict) and "value" in result:
        return json.dumps(result["value"], ensure_ascii=False)
    return json.dumps(result, ensure_ascii=False)


def _lines(value: Any) -> list[str]:
    if isinstance(value, dict) and "bytes" in value:  # not UTF-8: 32 bytes a line, in hex
        data = value["bytes"]
        return [f"<bytes {data[i:i + 64]}>\n" for i in range(0, len(data), 64)]
    text = value if isinstance(value, str) else json.dumps(value)
    return [line.replace("\r", "\\r") for line in text.splitlines(keepends=True)]


def text_diff(key: str, expected: Any, got: Any) -> str:
    """A unified diff of an output's text (a last line without newline is marked)."""
    want, have = _lines(expected), _lines(got)
    for lines in (want, have):
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\\ (no newline)\n"
    diff = difflib.unified_diff(want, have, f"{key} expected", f"{key} got", n=2)
    return f"{key}:\n" + "".join("  " + line for line in diff).rstrip("\n")


def _tally(outcomes: Iterable[Outcome]) -> dict[str, Any]:
    counts = {"total": 0, "passed": 0, "failed": 0, "skipped": 0, "errors": 0}
    for outcome in outcomes:
        counts["total"] += 1
        counts[{"pass": "passed", "fail": "failed", "skip": "skipped", "error": "errors"}[outcome.status]] += 1
    run = counts["total"] - counts["skipped"]
    return {**counts, "rate": round(100 * counts["passed"] / run, 2) if run else None}


def summary(outcomes: list[Outcome], implementation: str, spec: str) -> dict[str, Any]:
    """The report as one JSON-ready object (the ``--json`` file)."""
    sections: dict[str, list[Outcome]] = {}
    versions: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        for section in outcome.sections:
            sections.setdefault(section, []).append(outcome)
        versions.setdefault(outcome.php or "(not recorded)", []).append(outcome)
    return {
        "implementation": implementation, "spec": spec, **_tally(outcomes),
        "sections": {name: _tally(group) for name, group in sorted(sections.items())},
        "versions": {name: _tally(group) for name, group in sorted(versions.items())},
        "cases": [{"id": o.case.id, "source": o.case.source, "sapi": o.case.sapi, "status": o.status,
                   "php": o.php, "sections": o.sections, "differs": o.differs, "diff": o.diff, "reason": o.reason}
                  for o in outcomes],
    }


def _rate(tally: dict[str, Any], skips: bool = True) -> str:
    rate = "-" if tally["rate"] is None else f"{tally['rate']:.1f}%"
    skipped = f", {tally['skipped']} skipped" if tally["skipped"] and skips else ""
    return f"{tally['passed']}/{tally['total'] - tally['skipped']} {rate}{skipped}"


def render(report: dict[str, Any], quiet: bool = False) -> str:
    """The report as text: failures with their diffs, then the rates (quiet: failures and total)."""
    out = []
    for case in report["cases"]:
        if case["status"] in ("fail", "error"):
            where = f"{case['source']}.toml, {case['sapi']}, {', '.join(case['sections'])}"
            out.append(f"{case['status'].upper()} {case['id']} ({where})")
            out.append("  " + (case["reason"] or case["diff"]).replace("\n", "\n  "))
    if not quiet:
        width = max([len(name) for name in (*report["sections"], *report["versions"])] + [8])
        out.append("by spec section:")
        out += [f"  {name:<{width}}  {_rate(tally)}" for name, tally in report["sections"].items()]
        out.append("by PHP version (of the recordings):")
        out += [f"  {name:<{width}}  {_rate(tally)}" for name, tally in report["versions"].items()]
    errors = f", {report['errors']} error(s)" if report["errors"] else ""
    skipped = f", {report['skipped']} skipped" if report["skipped"] else ""
    out.append(f"{report['implementation']}: {_rate(report, False)} passed, {report['failed']} failed{errors}{skipped}")
    return "\n".join(out)
