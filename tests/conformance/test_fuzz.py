"""The differential fuzzer (CONF-FUZZ-1): its programs, its shrinking, and a fixed-seed run
against live PHP 8.2 where it is installed."""

from __future__ import annotations

import gc
import shutil
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from phprt.conformance import fuzz, servers
from phprt.conformance.cases import Case
from phprt.conformance.run_php import PHP_BINARIES, run_php
from phprt.conformance.run_phprt import run_phprt

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


@pytest.mark.clause("CONF-FUZZ-2")
def test_a_share_of_programs_spins_past_a_one_second_time_limit() -> None:
    timed = [case for case in fuzz.programs(SEED, 400) if "spin" in case.script]
    assert 4 <= len(timed) <= 40
    for case in timed:
        calls = case.calls
        spin = next(i for i, call in enumerate(calls) if "spin" in call)
        assert case.ini.get("max_execution_time") == "1" or "set_time_limit(1)" in calls[:spin]
    assert not any("spin" in case.script for case in fuzz.programs(SEED, 400, time_limits=False))


@pytest.mark.clause("CONF-FUZZ-3")
def test_a_client_hangs_up_only_after_the_block_that_sends_its_bytes() -> None:
    hang_ups = [case for case in fuzz.programs(SEED, 400) if fuzz.HANG_UP_WAIT in case.script]
    assert {case.sapi for case in hang_ups} == {"cli-server", "fpm"}
    for case in hang_ups:
        calls = case.calls
        wait = calls.index(fuzz.HANG_UP_WAIT)
        assert case.disconnect_after is not None and case.disconnect_after > 0
        assert calls[wait - 1] == "flush()" and calls[wait - 2].startswith('echo("h" * ')
        assert int(calls[wait - 2].split("*")[1].strip(" )")) > case.disconnect_after
        assert not {"echo", "print", "flush", "ob_start", "trigger_error"} & {c.split("(")[0] for c in calls[:wait - 2]}
        assert not {"output_buffering", "output_handler", "implicit_flush"} & set(case.ini)
    # shrinking never breaks the block up: without it the hang-up is a race
    case = hang_ups[0]
    small = fuzz.shrink(case, lambda candidate: True)
    assert small.calls == case.calls[case.calls.index(fuzz.HANG_UP_WAIT) - 2:][:3]


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


@pytest.mark.clause("CONF-FUZZ-3")
def test_a_hang_up_is_observed_the_same_way_by_every_run() -> None:
    """PHP's own runs of a hang-up program agree with each other, and phprt with them."""
    if reason := _live_php():
        pytest.skip(reason)
    for sapi in ("cli-server", "fpm"):
        calls = ['register_shutdown_function("sd_log", "t")', 'echo("h" * 11)', "flush()", fuzz.HANG_UP_WAIT,
                 'echo("a")', "connection_status()", "flush()", 'echo("b")', "connection_aborted()"]
        case = Case(id=f"t-{sapi}", clauses=[], script="\n".join(calls) + "\n", source="fuzz", sapi=sapi,
                    disconnect_after=10)
        first, again = run_php(case), run_php(case)
        assert first == again
        assert not fuzz.differs(case, first)


@pytest.mark.clause("CONF-FUZZ-1")
def test_a_client_that_hangs_up_reads_a_head_with_no_field_as_a_head() -> None:
    # header_remove() leaves PHP-FPM and php-cgi nothing to send but the empty line ending the head
    # (recorded: php-cgi -n, header("Content-Type: text/plain"); header_remove(); echo "hh";
    # gives "\r\nhh"); a client that hangs up after one body byte does so there too (seed 20261224)
    reader = servers._Reader(1, 0.0)
    assert not reader.feed(b"\r")
    assert reader.feed(b"\nhh") and (reader.data, reader.head) == (b"\r\nh", 2)
    assert servers._Reader(1, 0.0).feed(b"X-A: 1\r\n\r\nhh")  # a head of fields, as before
    if reason := _live_php():
        pytest.skip(reason)
    calls = ["header('Content-Type: text/plain')", "header_remove()", 'echo("h" * 2)', "flush()", "usleep(300000)"]
    case = Case(id="t-empty-head", clauses=[], script="\n".join(calls) + "\n", source="fuzz", sapi="fpm",
                disconnect_after=1)
    expected = run_php(case)
    assert expected["stdout"] == "\r\nh" and not fuzz.differs(case, expected)


@pytest.mark.clause("PERF-RELEASE-1", "CONF-FUZZ-1")
def test_a_fuzzed_programs_request_leaves_no_cycle_through_its_runtime() -> None:
    # the fuzzer's programs use most of what a request holds: each Runtime, disposed of, dies
    # with its last holder, the cycle collector off (the tree before PERF-RELEASE-1 covered the
    # handlers, the rewriter, the session's module and raised exceptions left 344 of 500)
    gc.collect()
    gc.disable()
    try:
        for case in fuzz.programs(20261205, 120, time_limits=False):
            released: list[Any] = []
            run_phprt(case, released=released)
            assert released[0]() is None, case.script
    finally:
        gc.enable()


@pytest.mark.clause("CONF-FUZZ-1")
def test_phprt_agrees_with_live_php_on_a_fixed_seed_run() -> None:
    """The CI-sized run: hang-ups included, time limits (a CPU second each) left to long runs."""
    if reason := _live_php():
        pytest.skip(reason)
    run = fuzz.fuzz(SEED, PROGRAMS, time_limits=False, report=lambda line: None, jobs=4)
    found = [f"{case.id} differs in {keys}; minimal ({small.sapi}, ini {small.ini}, disconnect_after "
             f"{small.disconnect_after}):\n{small.script}" for case, keys, small in run.divergences]
    assert run.tried == PROGRAMS and not found, "\n".join(found)
