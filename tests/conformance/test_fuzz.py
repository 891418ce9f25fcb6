"""The differential fuzzer (CONF-FUZZ-1): its programs, its shrinking, and a fixed-seed run
against live PHP 8.2 where it is installed."""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from phprt.conformance import servers
from phprt.conformance.cases import Case
from phprt.conformance.run_php import PHP_BINARIES

from . import fuzz

#: The CI-sized run: programs drawn from this seed, across the four SAPIs.
SEED, PROGRAMS = 20261203, 240


@pytest.mark.clause("CONF-FUZZ-1")
def test_programs_are_a_pure_function_of_the_seed() -> None:
    first = [(case.script, case.ini, case.sapi) for case in fuzz.programs(7, 40)]
    again = [(case.script, case.ini, case.sapi) for case in fuzz.programs(7, 40)]
    other = [(case.script, case.ini, case.sapi) for case in fuzz.programs(8, 40)]
    assert first == again != other
    assert {sapi for _, _, sapi in first} == set(fuzz.SAPIS)


@pytest.mark.clause("CONF-FUZZ-1")
def test_shrinking_keeps_only_what_the_difference_needs() -> None:
    calls = ['echo("a")', "ob_start(h_upper)", 'header("X-A: 1")', "ob_flush()", 'echo("b")', "flush()"]
    case = Case(id="t", clauses=[], script="\n".join(calls) + "\n", source="fuzz",
                ini={"output_buffering": "16", "implicit_flush": "1"})

    def diverges(candidate: Case) -> bool:  # a difference that needs two calls and one ini entry
        return {"ob_start(h_upper)", "ob_flush()"} <= set(candidate.calls) and "implicit_flush" in candidate.ini

    small = fuzz.shrink(case, diverges)
    assert small.calls == ["ob_start(h_upper)", "ob_flush()"]
    assert small.ini == {"implicit_flush": "1"}


def _live_php() -> str | None:
    """Why the live run cannot happen here, or None when it can."""
    missing = [binary for binary in (*PHP_BINARIES.values(), servers.PHP_FPM) if shutil.which(binary) is None]
    return f"PHP 8.2 is not installed here ({', '.join(sorted(set(missing)))} missing)" if missing else None


@pytest.mark.clause("CONF-FUZZ-1")
def test_a_saved_divergence_is_a_case_the_suite_replays(tmp_path: Path) -> None:
    if reason := _live_php():
        pytest.skip(reason)
    case = replace(next(fuzz.programs(SEED, 1)), script='echo("saved")\n')
    saved = fuzz.save(case, "fuzz-test-1", tmp_path, tmp_path)
    entry = tomllib.loads((tmp_path / "fuzz.toml").read_text())["case"][0]
    loaded = Case(source="fuzz", **entry)
    assert loaded.id == "fuzz-test-1" and "CONF-FUZZ-1" in loaded.clauses
    assert loaded.digest() == saved.digest()
    assert not fuzz.differs(loaded)


@pytest.mark.clause("CONF-FUZZ-1")
def test_phprt_agrees_with_live_php_on_a_fixed_seed_run() -> None:
    if reason := _live_php():
        pytest.skip(reason)
    found = []
    for case in fuzz.programs(SEED, PROGRAMS):
        keys = fuzz.differs(case)
        if keys:
            small = fuzz.shrink(case)
            found.append(f"{case.id} differs in {keys}; minimal ({small.sapi}, ini {small.ini}):\n{small.script}")
    assert not found, "\n".join(found)
