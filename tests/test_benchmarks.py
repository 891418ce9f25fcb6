"""The echo benchmark runs; the design it measures is in place (PERF-ECHO-1).

Timing is never asserted here: benchmarks/echo.py prints the ratios.
"""

from __future__ import annotations

import runpy

import pytest

from phprt import MemoryTransport, Runtime
from tests.support import ROOT

BENCHMARK = ROOT / "benchmarks" / "echo.py"


@pytest.mark.clause("PERF-ECHO-1")
def test_the_echo_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    timings = runpy.run_path(str(BENCHMARK))["main"](["--calls", "2000", "--repeat", "1"])
    assert set(timings) == {"list.append", "phprt echo", "phprt.php echo", "encode-and-count"}
    assert "ratio" in capsys.readouterr().out


@pytest.mark.clause("PERF-ECHO-1", "PERF-OB-4")
def test_echo_into_an_unchunked_buffer_appends_the_str_itself() -> None:
    with Runtime(transport=MemoryTransport()) as rt:
        rt.ob_start()
        text = "déjà vu"
        rt.echo(text)
        top = rt._out.active
        assert top is not None and top.chunks[-1] is text  # no encoding, no counting yet
        assert rt.ob_get_length() == len(text.encode())  # counted when asked
        rt.ob_start(None, 4)
        rt.echo("abc")
        chunked = rt._out.active
        assert chunked is not None and chunked.chunks == ["abc"] and rt._out.target[1] == 1  # the room it leaves
        assert chunked.used == 0 and rt.ob_get_length() == 3  # counted when asked


@pytest.mark.clause("PERF-ECHO-1", "FCGI-PERF-5", "PERF-CALL-4", "PERF-CLASS-4")
def test_the_c_fast_path_is_built_where_a_compiler_is() -> None:
    # pip install compiles phprt/output/_speedups.c, phprt/net/_speedups.c, phprt/_dispatch.c and
    # phprt/engine/_speedups.c when a C compiler is present (CI has gcc).
    import shutil

    from phprt import php as _php
    from phprt.engine import classes as _classes
    from phprt.net import fastcgi as _fastcgi
    from phprt.output import functions as _output

    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler here: phprt runs its pure-Python echo and PARAMS decoder")
    assert _output._c_echo_into is not None, "phprt/output/_speedups.c was not compiled: reinstall with pip install -e ."
    assert _fastcgi._c_decode_ascii_pairs is not None, \
        "phprt/net/_speedups.c was not compiled: reinstall with pip install -e ."
    assert _php._c_function is not None, "phprt/_dispatch.c was not compiled: reinstall with pip install -e ."
    assert _classes._refcounts is not _classes._python_refcounts, \
        "phprt/engine/_speedups.c was not compiled: reinstall with pip install -e ."


@pytest.mark.clause("PERF-BENCH-1")
def test_every_benchmark_runs_at_its_quick_size(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    """``python3 -m benchmarks --quick``: every registered benchmark gives figures; none fails."""
    import json

    from benchmarks.__main__ import main
    from benchmarks.common import REGISTRY

    results = main(["--quick", "--json", str(tmp_path / "results.json")])
    document = json.loads((tmp_path / "results.json").read_text())
    assert results and not document["failed"]
    assert len(document["results"]) == len(results) >= len(REGISTRY)
    assert all(row["phprt"] > 0 for row in document["results"])
