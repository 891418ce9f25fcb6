"""(5) A whole request on MemoryTransport: enter, three headers, one echo, exit.

The baseline is a bare Python function doing the same string work (split three header
lines, encode the body, record both), so the ratio is the runtime's overhead per request.

    python3 -m benchmarks --only engine-request [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import Result, benchmark, best_per_call  # noqa: E402
from phprt import MemoryTransport, Runtime  # noqa: E402
from phprt.php import echo, header  # noqa: E402

HEADERS = ("Content-Type: text/plain", "X-One: 1", "Cache-Control: no-store")
BODY = "hello, world"


def phprt_requests(count: int) -> None:
    for _ in range(count):
        with Runtime(transport=MemoryTransport()):  # called as a port calls them: phprt.php's
            for line in HEADERS:
                header(line)
            echo(BODY)


def bare_requests(count: int) -> None:
    for _ in range(count):
        fields: list[tuple[str, str]] = []
        for line in HEADERS:
            name, _, value = line.partition(":")
            fields.append((name.strip(), value.strip()))
        events: list[object] = [("headers", 200, fields), ("write", BODY.encode())]
        del events


@benchmark("engine-request")
def run(quick: bool) -> list[Result]:
    count = 200 if quick else 20_000
    phprt = best_per_call(phprt_requests, count) * 1e6
    bare = best_per_call(bare_requests, count) * 1e6
    return [Result.of("request on MemoryTransport", phprt, bare, "µs", "bare function")]


if __name__ == "__main__":
    for result in run("--quick" in sys.argv):
        print(result.line())
