"""How much echo into an output buffer costs (PERF-ECHO-1): issue 13's "echo into a buffer
<= 2x list.append".

Runs, in one process, the same loop four ways and prints nanoseconds per call and
the ratio of each to the baseline:

- ``list.append``: the baseline, a bare ``chunks.append(s)`` loop;
- ``phprt echo``: ``rt.echo(s)`` into a buffer started with ``ob_start()``;
- ``phprt.php echo``: ``echo(s)`` as a port calls it, ``phprt.php``'s (PERF-CALL-4);
- ``encode-and-count``: what a naive buffer would do per echo (encode, count, append).

    python benchmarks/echo.py [--calls N] [--repeat R]
    python3 -m benchmarks --only echo
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import Result, benchmark  # noqa: E402
from phprt import Runtime  # noqa: E402
from phprt.php import echo  # noqa: E402

TEXT = "hello, world"


def bare_append(calls: int) -> float:
    chunks: list[str] = []
    start = time.perf_counter()
    for _ in range(calls):
        chunks.append(TEXT)
    return time.perf_counter() - start


def phprt_echo(calls: int) -> float:
    with Runtime() as rt:
        rt.ob_start()
        start = time.perf_counter()
        for _ in range(calls):
            rt.echo(TEXT)
        elapsed = time.perf_counter() - start
        assert rt.ob_get_length() == calls * len(TEXT)
        rt.ob_end_clean()
    return elapsed


def port_echo(calls: int) -> float:
    with Runtime() as rt:
        rt.ob_start()
        start = time.perf_counter()
        for _ in range(calls):
            echo(TEXT)
        elapsed = time.perf_counter() - start
        assert rt.ob_get_length() == calls * len(TEXT)
        rt.ob_end_clean()
    return elapsed


class NaiveBuffer:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.used = 0

    def echo(self, *args: str) -> None:
        for arg in args:
            data = arg.encode("utf-8")
            self.used += len(data)
            self.chunks.append(data)


def encode_and_count(calls: int) -> float:
    buffer = NaiveBuffer()
    start = time.perf_counter()
    for _ in range(calls):
        buffer.echo(TEXT)
    return time.perf_counter() - start


def measure(calls: int, repeat: int) -> dict[str, float]:
    """Nanoseconds per call of each loop, the best of ``repeat`` runs of ``calls`` calls."""
    timings = {}
    for name, run in (("list.append", bare_append), ("phprt echo", phprt_echo), ("phprt.php echo", port_echo),
                      ("encode-and-count", encode_and_count)):
        best = min(run(calls) for _ in range(repeat))
        timings[name] = best / calls * 1e9
    return timings


@benchmark("echo")
def run(quick: bool) -> list[Result]:
    """Echo into a buffer, the Runtime's and as a port calls it, against ``list.append``."""
    timings = measure(2_000 if quick else 1_000_000, 1 if quick else 7)
    return [Result.of(f"echo into a buffer: {name}", timings[name], timings["list.append"], "ns", "list.append")
            for name in ("phprt echo", "phprt.php echo")]


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description="echo into a buffer versus list.append")
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    timings = measure(args.calls, args.repeat)
    baseline = timings["list.append"]
    print(f"{'loop':<18}{'ns/call':>10}{'ratio':>8}")
    for name, nanoseconds in timings.items():
        print(f"{name:<18}{nanoseconds:>10.1f}{nanoseconds / baseline:>8.2f}")
    return timings


if __name__ == "__main__":
    main()
