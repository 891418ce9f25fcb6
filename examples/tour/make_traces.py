"""Write the tour's traces: ``python3 examples/tour/make_traces.py`` runs each scenario
with ``python -m phprt trace``'s own code and writes its timeline (without the time
column, which changes from run to run) and what the client received to
``examples/tour/traces/NAME.txt``. tests/examples/test_tour.py runs them again and
requires the same text."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRACES = Path(__file__).resolve().parent / "traces"

#: name -> the arguments of `python -m phprt trace`, paths from the repository's root
SCENARIOS: dict[str, list[str]] = {
    "1-sts-with-echo": ["--sapi", "cgi", "-d", "output_buffering=4096", "-d", "error_log=phprt-example.log",
                        "--no-sleep", "examples/tour/sts_with_echo.py"],
    "2-arr1-fix": ["--sapi", "cgi", "-d", "output_buffering=4096", "--no-sleep", "examples/close_connection_early.py"],
    "3-arr1-fix-fpm": ["--sapi", "fpm", "-d", "output_buffering=4096", "--no-sleep",
                       "examples/close_connection_early.py"],
    "4-arr1-without-flush-fpm": ["--sapi", "fpm", "-d", "output_buffering=4096", "--no-sleep",
                                 "examples/tour/arr1_without_flush.py"],
    "5-stop-button": ["--sapi", "cgi", "--disconnect-after", "20", "--no-sleep", "examples/stop_button_loop.py"],
    "6-timeout": ["--sapi", "cgi", "--time-limit", "1", "examples/tour/status_codes.py"],
    "7-abort-then-timeout": ["--sapi", "cgi", "--time-limit", "1", "--disconnect-after", "5",
                             "examples/tour/status_codes.py"],
    "8-finish-request-fpm": ["--sapi", "fpm", "-d", "output_buffering=4096", "--no-sleep",
                             "examples/redirect_fastcgi_finish_request.py"],
}


def timeline(name: str) -> str:
    """The scenario run now: its command, its timeline and what the client received."""
    sys.path.insert(0, str(ROOT))
    from phprt.trace.cli import received, run
    from phprt.trace.text import render

    arguments = SCENARIOS[name]
    cwd = os.getcwd()
    # The scripts run from a copy at a path of fixed length (/tmp/tmpXXXXXXXX/r/), wherever the
    # repository is: a message naming the script then has the same size on every machine.
    with tempfile.TemporaryDirectory(dir="/tmp") as work:  # the scripts' log files go there too
        root = Path(work) / "r"
        shutil.copytree(ROOT / "examples", root / "examples", ignore=shutil.ignore_patterns("__pycache__"))
        os.chdir(work)
        old_log = os.environ.get("PHPRT_EXAMPLE_LOG")
        os.environ["PHPRT_EXAMPLE_LOG"] = os.path.join(work, "phprt-example.log")
        try:
            trace, transport, _ = run([*arguments[:-1], str(root / arguments[-1])])
        finally:
            os.chdir(cwd)
            if old_log is None:
                del os.environ["PHPRT_EXAMPLE_LOG"]
            else:
                os.environ["PHPRT_EXAMPLE_LOG"] = old_log
        text = (f"$ python -m phprt trace {' '.join(arguments)}\n\n" + render(trace, times=False)
                + "\n--- what the client received ---\n" + received(transport) + "\n")
        return text.replace(str(root) + os.sep, "")


def main() -> int:
    TRACES.mkdir(exist_ok=True)
    for name in SCENARIOS:
        (TRACES / f"{name}.txt").write_text(timeline(name), encoding="utf-8")
        print(f"wrote {TRACES / name}.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
