"""examples/tour/ (TRACE-TOUR-1): its timelines are what the runs produce, and every line
its README quotes is a line of the timeline it names."""

from __future__ import annotations

import re
import runpy
from typing import Any

import pytest

from tests.support import EXAMPLES

TOUR = EXAMPLES / "tour"


@pytest.fixture(scope="module")
def tour() -> dict[str, Any]:
    return runpy.run_path(str(TOUR / "make_traces.py"))


@pytest.mark.clause("TRACE-TOUR-1")
@pytest.mark.parametrize("name", ["1-sts-with-echo", "2-arr1-fix", "3-arr1-fix-fpm", "4-arr1-without-flush-fpm",
                                  "5-stop-button", "6-timeout", "7-abort-then-timeout", "8-finish-request-fpm"])
def test_trace_is_what_the_run_produces(tour: dict[str, Any], name: str) -> None:
    assert name in tour["SCENARIOS"]
    recorded = (TOUR / "traces" / f"{name}.txt").read_text(encoding="utf-8")
    assert tour["timeline"](name) == recorded, f"rerun: python3 examples/tour/make_traces.py ({name})"


@pytest.mark.clause("TRACE-TOUR-1")
def test_quoted_lines_are_in_their_traces(tour: dict[str, Any]) -> None:
    readme = (TOUR / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```text\n# traces/(\S+)\n(.*?)```", readme, re.S)
    assert len(blocks) >= 8
    assert {name.removesuffix(".txt") for name, _ in blocks} == set(tour["SCENARIOS"])
    for name, block in blocks:
        lines = set((TOUR / "traces" / name).read_text(encoding="utf-8").splitlines())
        for line in block.splitlines():
            assert line in lines, f"{name} has no line {line!r}"
