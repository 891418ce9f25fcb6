"""The benchmarks' common API (issue 13): one ``Result`` per figure, PHP baselines, a registry.

A benchmark module under ``benchmarks/`` registers functions with ``@benchmark("group")``; each
takes ``quick`` (a tiny size, for CI and tests) and returns a list of ``Result``.
``python3 -m benchmarks`` imports every module here, runs every registered function, prints
one line per ``Result`` (phprt's figure, the baseline's figure measured in the same run, their
ratio) and writes ``benchmarks/results.json``.

PHP baselines come from the installed ``php`` (``run_php``); when it is absent the baseline is
``None`` and printed as "not measured".
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from phprt.net.fastcgi import (
    BEGIN_REQUEST,
    END_REQUEST,
    PARAMS,
    STDIN,
    STDOUT,
    RecordReader,
    encode_pairs,
    encode_record,
    encode_stream,
)

PHP = "php"


@dataclass
class Result:
    """One figure: phprt's and the baseline's, in ``unit`` (lower is better unless ``unit`` says /s).

    ``ratio`` is phprt / baseline (``None`` when the baseline was not measured).
    """

    name: str
    phprt: float
    baseline: float | None
    unit: str
    ratio: float | None
    baseline_name: str = "php -n"

    @classmethod
    def of(cls, name: str, phprt: float, baseline: float | None, unit: str, baseline_name: str = "php -n") -> Result:
        """A Result with its ratio computed (phprt / baseline)."""
        ratio = phprt / baseline if baseline else None
        return cls(name, phprt, baseline, unit, ratio, baseline_name)

    def line(self) -> str:
        base = "not measured" if self.baseline is None else f"{self.baseline:.4g}"
        ratio = "-" if self.ratio is None else f"{self.ratio:.2f}x"
        return f"{self.name:<44}{self.phprt:>12.4g} {self.unit:<8}{base:>14}  {ratio:>8}  ({self.baseline_name})"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


BenchmarkFunction = Callable[[bool], list[Result]]
REGISTRY: dict[str, BenchmarkFunction] = {}


def benchmark(name: str) -> Callable[[BenchmarkFunction], BenchmarkFunction]:
    """Register ``function(quick) -> list[Result]`` under ``name`` (run by ``python3 -m benchmarks``)."""

    def register(function: BenchmarkFunction) -> BenchmarkFunction:
        REGISTRY[name] = function
        return function

    return register


def php_available() -> bool:
    """Whether the ``php`` CLI is installed."""
    return shutil.which(PHP) is not None


def run_php(code: str, iterations: int = 100_000, *, setup: str = "", repeat: int = 5, timeout: float = 600.0) -> float:
    """Seconds per iteration of ``code`` in a loop under ``php -n -r`` (best of ``repeat``).

    ``setup`` runs once before the loops; an empty loop's time is subtracted. The loop's
    output (echo) goes to /dev/null; the figure comes back on stderr. Raises RuntimeError
    when php is absent or fails (callers check ``php_available()`` first).
    """
    script = (
        f"{setup}\n"
        f"$__best = INF;\n"
        f"for ($__r = 0; $__r < {repeat}; $__r++) {{\n"
        f"  $__t = hrtime(true);\n"
        f"  for ($__i = 0; $__i < {iterations}; $__i++) {{ {code} }}\n"
        f"  $__e = hrtime(true) - $__t;\n"
        f"  $__t = hrtime(true);\n"
        f"  for ($__i = 0; $__i < {iterations}; $__i++) {{ }}\n"
        f"  $__e -= hrtime(true) - $__t;\n"
        f"  $__best = min($__best, $__e);\n"
        f"}}\n"
        f'fwrite(STDERR, "PHPRT-BENCH " . ($__best / {iterations}) . "\\n");\n'
    )
    done = subprocess.run(
        [PHP, "-n", "-r", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout, check=False
    )
    for line in done.stderr.decode(errors="replace").splitlines():
        if line.startswith("PHPRT-BENCH "):
            return max(float(line.split()[1]), 0.0) / 1e9
    raise RuntimeError(f"php failed ({done.returncode}): {done.stderr.decode(errors='replace')[-500:]}")


def php_or_none(code: str, iterations: int = 100_000, **kwargs: Any) -> float | None:
    """``run_php`` when php is installed, ``None`` (not measured) otherwise."""
    return run_php(code, iterations, **kwargs) if php_available() else None


def best_per_call(function: Callable[[int], None], calls: int, repeat: int = 5) -> float:
    """Seconds per call: the best of ``repeat`` runs of ``function(calls)``, divided by ``calls``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function(calls)
        best = min(best, time.perf_counter() - start)
    return best / calls


# Linux folds the forking process's resident size into a child's ru_maxrss at exec, so a child
# forked straight from this (large) process would report this process's peak. A small spawner
# forks the command instead and prints, after its output, the command's own peak (KiB) and
# wall time.
_SPAWN = ("import os, sys, time\n"
          "start = time.perf_counter()\n"
          "pid = os.fork()\n"
          "if pid == 0:\n    os.execvp(sys.argv[1], sys.argv[1:])\n"
          "_, _, usage = os.wait4(pid, 0)\n"
          "sys.stdout.buffer.write(b'\\n%d %f' % (usage.ru_maxrss, time.perf_counter() - start))\n")


def spawned(command: list[str], stdin: Any, env: dict[str, str], cwd: Any) -> tuple[float, float, bytes]:
    """(seconds, peak MiB, stdout) of one run of ``command`` in a fresh process: from its
    fork to its exit, and its own peak resident size."""
    process = subprocess.run([sys.executable, "-S", "-c", _SPAWN, *command], stdin=stdin, capture_output=True,
                             env=env, cwd=cwd, check=True)
    output, _, measured = process.stdout.rpartition(b"\n")
    peak, elapsed = measured.split()
    return float(elapsed), int(peak) / 1024, output


def with_bytecode_cache(env: dict[str, str], pycache: Any) -> dict[str, str]:
    """``env`` with Python's bytecode cache in ``pycache``, whatever PYTHONDONTWRITEBYTECODE
    says, as an installed package has its ``.pyc`` files: without one every run would
    compile all of phprt's modules first."""
    env = {name: value for name, value in env.items() if name != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = os.fspath(pycache)
    return env


def fastcgi_request(params: Mapping[str, str], body: bytes = b"") -> bytes:
    """A request to a FastCGI responder (request 1, RESPONDER): ``params``, then ``body`` as STDIN."""
    pairs = encode_pairs([(name.encode(), value.encode()) for name, value in params.items()])
    return (encode_record(BEGIN_REQUEST, 1, b"\0\1\0\0\0\0\0\0") + encode_record(PARAMS, 1, pairs)
            + encode_record(PARAMS, 1) + encode_stream(STDIN, 1, body) + encode_record(STDIN, 1))


def fastcgi_stdout(sock: socket.socket) -> Iterator[bytes]:
    """The response's STDOUT from ``sock``, a record's content at a time as they arrive, to its
    END_REQUEST; RuntimeError when the responder closes before that."""
    reader = RecordReader()
    while chunk := sock.recv(65536):
        for record in reader.feed(chunk):
            if record.type == STDOUT:
                yield record.content
            elif record.type == END_REQUEST:
                return
    raise RuntimeError("the responder closed before END_REQUEST")


#: A per-call case: (name, the phprt loop ``function(calls)``, PHP's loop body, PHP's setup).
PerCallCase = tuple[str, Callable[[int], None], str, str]


def per_call_results(cases: list[PerCallCase], quick: bool) -> list[Result]:
    """Each case's µs per call, phprt's against ``php -n`` running the same body the same number
    of times ("not measured" without php)."""
    calls = 2_000 if quick else 200_000
    results = []
    for name, function, php_code, setup in cases:
        phprt = best_per_call(function, calls) * 1e6
        php = php_or_none(php_code, calls, setup=setup)
        results.append(Result.of(name, phprt, None if php is None else php * 1e6, "µs"))
    return results
