"""Every conformance case, replayed through phprt, must do what PHP 8.2 did."""

from __future__ import annotations

import gc
import shutil
from typing import Any

import pytest

from phprt.conformance.cases import load_cases, recorded
from phprt.conformance.run_php import PHP_BINARIES, run_php
from phprt.conformance.run_phprt import run_phprt
from phprt.output import functions as _output

CASES = load_cases()
RECORDED = recorded()


@pytest.fixture(params=["c", "python"])
def echo_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every case runs with the C echo fast path and with the pure-Python one (PERF-ECHO-1)."""
    if request.param == "c" and _output._c_echo_into is None:
        pytest.skip("phprt.output._speedups is not compiled: only the pure-Python echo is checked")
    if request.param == "python":
        monkeypatch.setattr(_output, "_c_echo_into", None)
    return str(request.param)


def _compare(actual: dict[str, Any], expected: dict[str, Any], who: str) -> None:
    for key in ("stdout", "stderr", "results", "exit"):
        assert actual[key] == expected[key], f"{key} differs from {who}"


@pytest.mark.clause("PERF-RELEASE-1")
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_phprt_does_what_php_did(case: Any, echo_path: str, request: pytest.FixtureRequest) -> None:
    expected = RECORDED.get(case.id)
    assert expected is not None, f"{case.id} is not recorded: run python -m tests.conformance.record {case.id}"
    assert expected["digest"] == case.digest(), f"{case.id} changed since it was recorded: record it again"
    if request.config.getoption("--php-live") and echo_path == "python":
        binary = PHP_BINARIES[case.sapi]
        assert shutil.which(binary), f"--php-live needs PHP 8.2's {binary} on PATH"
        _compare(run_php(case), expected, "the recording (PHP today)")
    released: list[Any] = []
    gc.disable()  # a request that left a cycle through its Runtime keeps it until the collector runs
    try:
        _compare(run_phprt(case, released=released), expected, "PHP 8.2")
        assert released[0]() is None, "the request left a cycle through its Runtime (PERF-RELEASE-1)"
    finally:
        gc.enable()


def test_case_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


def test_no_recording_without_a_case() -> None:
    assert set(RECORDED) <= {case.id for case in CASES}
