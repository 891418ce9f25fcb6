"""Hello world from the command line: ``python -m phprt run`` against ``php -n`` (issue 13).

A ported script is run as PHP runs one: a fresh process, the script, its output, the
exit. From fork to exit, the best of ``RUNS`` (the first fills phprt's bytecode cache, as
an installed package has its ``.pyc`` files), php measured in the same run; beside them
``python -c pass`` in the same environment, Python's own start-up, the floor under
phprt's figure. "not measured" where php is absent.

    python3 -m benchmarks --only cli_start [--quick]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import PHP, Result, benchmark, php_available, spawned, with_bytecode_cache
from benchmarks.serve_http import HELLO_PHP, HELLO_PY, ROOT

RUNS = 7


def _best(command: list[str], env: dict[str, str], runs: int) -> tuple[float, bytes]:
    times, output = [], b""
    for _ in range(runs):
        seconds, _, output = spawned(command, subprocess.DEVNULL, env, ROOT)
        times.append(seconds)
    return min(times), output


@benchmark("cli_start")
def cli_hello_vs_php(quick: bool) -> list[Result]:
    runs = 2 if quick else RUNS
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory)
        (base / "hello.py").write_text(HELLO_PY)
        (base / "hello.php").write_text(HELLO_PHP)
        env = with_bytecode_cache(dict(os.environ), base / "pycache")
        ours, output = _best([sys.executable, "-m", "phprt", "run", str(base / "hello.py")], env, runs)
        assert output == b"Hello, world!\n", output
        theirs = None
        if php_available():
            theirs, output = _best([PHP, "-n", str(base / "hello.php")], env, runs)
            assert output == b"Hello, world!\n", output
        floor, _ = _best([sys.executable, "-c", "pass"], env, runs)
    return [Result.of("python -m phprt run, hello world (fork to exit)", ours * 1e3, theirs and theirs * 1e3, "ms"),
            Result.of("python -c pass, same environment (the floor)", floor * 1e3, theirs and theirs * 1e3, "ms")]


__all__ = ["cli_hello_vs_php"]
