"""``python -m phprt.conformance``, the suite as a product (CONF-SUITE-1, CONF-SUITE-ADAPTER-1,
CONF-SUITE-REPORT-1): run as a user runs it, in a subprocess, against phprt, PHP 8.2 and an
adapter command, and on a spec/ of its own whose recording is deliberately wrong."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from phprt.conformance.cases import Case
from tests.support import ROOT

ADAPTER = ROOT / "tests" / "conformance" / "php_adapter.py"
#: Every cases file but the two whose time limits cost seconds each (test_conformance.py
#: replays those too).
QUICK = ["cookies", "headers", "diagnostics", "dump", "ini", "printf", "sessions", "fuzz", "zlib", "rewriter", "output"]
#: CLI and CGI cases PHP 8.2 runs in well under a second each.
PHP_SELECTION = ["echo-*", "printf-*", "ini-file-*", "sess-cgi-*"]


def suite(*arguments: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "phprt.conformance", *arguments], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def report(tmp_path: Path, *arguments: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    completed = suite(*arguments, "--json", str(tmp_path / "report.json"))
    return completed, json.loads((tmp_path / "report.json").read_text())


def _missing(*binaries: str) -> str | None:
    missing = [binary for binary in binaries if shutil.which(binary) is None]
    return f"PHP 8.2 is not installed here ({', '.join(missing)} missing)" if missing else None


@pytest.mark.clause("CONF-SUITE-1")
def test_phprt_passes_every_case_it_runs(tmp_path: Path) -> None:
    completed, data = report(tmp_path, "-q", "--cases", *QUICK)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert data["implementation"] == "phprt" and data["total"] > 250
    assert data["passed"] == data["total"] and data["rate"] == 100.0
    assert completed.stdout.strip() == f"phprt: {data['total']}/{data['total']} 100.0% passed, 0 failed"


@pytest.mark.clause("CONF-SUITE-1")
def test_php_82_passes_the_cases_it_runs(tmp_path: Path) -> None:
    if reason := _missing("php", "php-cgi"):
        pytest.skip(reason)
    completed, data = report(tmp_path, "--php", "php", "-j", "2", "--cases", *PHP_SELECTION)
    assert completed.returncode == 0, completed.stdout
    assert data["implementation"].startswith("PHP 8.2.")
    assert {case["sapi"] for case in data["cases"]} == {"cli", "cgi"}
    assert data["total"] >= 20 and data["passed"] == data["total"]


@pytest.mark.clause("CONF-SUITE-ADAPTER-1")
def test_an_adapter_command_runs_the_cases(tmp_path: Path) -> None:
    if reason := _missing("php", "php-cgi"):
        pytest.skip(reason)
    command = f"{sys.executable} {ADAPTER}"
    completed, data = report(tmp_path, "--command", command, "--cases", "echo-basics", "sess-cgi-head",
                             "ini-file-values", "server-timeout")
    assert completed.returncode == 0, completed.stdout
    statuses = {case["id"]: case["status"] for case in data["cases"]}
    assert statuses == {"echo-basics": "pass", "sess-cgi-head": "pass", "ini-file-values": "pass",
                        "server-timeout": "skip"}  # the adapter runs no php -S: it says so
    assert data["skipped"] == 1 and data["rate"] == 100.0
    assert completed.stdout.rstrip().endswith("3/3 100.0% passed, 0 failed, 1 skipped")


@pytest.mark.clause("CONF-SUITE-ADAPTER-1")
def test_a_failing_adapter_is_an_error_not_a_pass(tmp_path: Path) -> None:
    completed, data = report(tmp_path, "--command", f"{sys.executable} -c 'print(42)'", "--cases", "echo-basics")
    assert completed.returncode == 1
    assert data["errors"] == 1 and "no JSON object" not in data["cases"][0]["reason"]
    assert "not a JSON object" in data["cases"][0]["reason"]


def _spec(tmp_path: Path) -> Path:
    """A spec/ of one clause and three cases: one recorded wrongly on purpose, one not
    recorded, one whose recording is stale."""
    spec = tmp_path / "spec"
    (spec / "cases").mkdir(parents=True)
    (spec / "recorded").mkdir()
    (spec / "made-up.md").write_text("- **MADE-UP-1** A clause of this test's own.\n")
    script = 'echo("a\\nb\\n")\nob_start()\nob_get_level()\n'
    (spec / "cases" / "t.toml").write_text(
        f"[[case]]\nid = \"wrong\"\nclauses = [\"MADE-UP-1\"]\nscript = '''\n{script}'''\n\n"
        "[[case]]\nid = \"unrecorded\"\nclauses = [\"MADE-UP-1\"]\nscript = '''\necho(\"x\")\n'''\n\n"
        "[[case]]\nid = \"stale\"\nclauses = [\"MADE-UP-1\"]\nscript = '''\necho(\"y\")\n'''\n")
    digest = Case(id="wrong", clauses=[], script="\n" + script, source="t").digest()
    cases = {  # not what PHP does: phprt must be seen to differ from it
        "wrong": {"digest": digest, "stdout": "a\nc\n", "stderr": "", "exit": 3,
                  "results": [{"value": None}, {"value": True}, {"value": 7}]},
        "stale": {"digest": "0000000000000000", "stdout": "y", "stderr": "", "exit": 0, "results": [{"value": None}]},
    }
    (spec / "recorded" / "t.json").write_text(json.dumps({"php": "8.2.99", "cases": cases}))
    return spec


@pytest.mark.clause("CONF-SUITE-REPORT-1")
def test_a_failure_is_shown_call_by_call(tmp_path: Path) -> None:
    completed, data = report(tmp_path, "--spec", str(_spec(tmp_path)))
    assert completed.returncode == 1
    text = completed.stdout
    assert "FAIL wrong (t.toml, cli, made-up.md)" in text
    assert "line 3 ob_get_level()\n      expected 7\n      got      1" in text
    assert "line 2 ob_start()" not in text  # an equal result is not shown
    assert " a\n    -c\n    +b\n" in text  # stdout, a unified diff of its lines
    assert "exit: expected 3, got 0" in text
    assert "ERROR unrecorded" in text and "not recorded" in text
    assert "ERROR stale" in text and "record it again" in text
    assert "  made-up.md      0/3 0.0%" in text
    assert "  (not recorded)  0/1 0.0%\n  8.2.99          0/2 0.0%" in text
    assert text.rstrip().endswith("phprt: 0/3 0.0% passed, 1 failed, 2 error(s)")
    wrong = next(case for case in data["cases"] if case["id"] == "wrong")
    assert wrong["differs"] == ["stdout", "results", "exit"] and wrong["php"] == "8.2.99"


@pytest.mark.clause("CONF-SUITE-REPORT-1")
def test_the_json_report_shape(tmp_path: Path) -> None:
    completed, data = report(tmp_path, "-q", "--spec", str(_spec(tmp_path)), "--cases", "wr*", "stale")
    assert completed.returncode == 1 and "by spec section" not in completed.stdout
    counts = {"total": 2, "passed": 0, "failed": 1, "skipped": 0, "errors": 1, "rate": 0.0}
    assert data == {
        "implementation": "phprt", "spec": str(tmp_path / "spec"), **counts,
        "sections": {"made-up.md": counts}, "versions": {"8.2.99": counts},
        "cases": [data["cases"][0], data["cases"][1]],
    }
    assert [case["id"] for case in data["cases"]] == ["wrong", "stale"]
    assert set(data["cases"][0]) == {"id", "source", "sapi", "status", "php", "sections", "differs", "diff", "reason"}


@pytest.mark.clause("CONF-SUITE-1")
def test_usage_errors(tmp_path: Path) -> None:
    completed = suite("--spec", str(tmp_path))
    assert completed.returncode == 2 and "holds no cases/ directory" in completed.stderr
    completed = suite("--cases", "no-such-case-*")
    assert completed.returncode == 2 and "no case matches" in completed.stderr
