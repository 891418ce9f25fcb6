"""(7) sprintf and printf against the same loop in ``php -n`` (PRINTF-PERF-1, PRINTF-PERF-2).

- ``sprintf("%s: %d", ...)``: the str fast path (a Python format string);
- ``sprintf("%05.2f|%-10s|%x", ...)``: the fast path with floats and padding;
- ``sprintf("%'*10s|%+.3e", ...)``: the byte path (a padding character, an exponent);
- ``printf("%d\\n", ...)`` into an output buffer, cleaned every 1000 calls.

    python3 -m benchmarks --only printf [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import PerCallCase, Result, benchmark, per_call_results  # noqa: E402
from phprt import Runtime  # noqa: E402
from phprt.php import ob_clean, ob_end_clean, ob_start, printf, sprintf  # noqa: E402
from phprt.transports.base import Transport  # noqa: E402


def _sprintf_loop(fmt: str, *args: Any) -> Callable[[int], None]:
    def loop(calls: int) -> None:
        with Runtime(transport=Transport()):
            for _ in range(calls):
                sprintf(fmt, *args)

    return loop


def printf_buffered(calls: int) -> None:
    with Runtime(transport=Transport()):
        ob_start()
        for i in range(calls):
            printf("%d\n", i)
            if i % 1000 == 999:
                ob_clean()
        ob_end_clean()


CASES: list[PerCallCase] = [
    ('sprintf("%s: %d") (str fast path)', _sprintf_loop("%s: %d", "name", 42),
     '$s = sprintf("%s: %d", "name", 42);', ""),
    ('sprintf("%05.2f|%-10s|%x") (fast path)', _sprintf_loop("%05.2f|%-10s|%x", 3.14159, "abc", 255),
     '$s = sprintf("%05.2f|%-10s|%x", 3.14159, "abc", 255);', ""),
    ("sprintf(\"%'*10s|%+.3e\") (byte path)", _sprintf_loop("%'*10s|%+.3e", "héllo", 12345.678),
     '$s = sprintf("%\'*10s|%+.3e", "héllo", 12345.678);', ""),
    ('printf("%d\\n") into a buffer', printf_buffered,
     'printf("%d\\n", $__i); if ($__i % 1000 == 999) ob_clean();', "ob_start();"),
]


@benchmark("printf")
def run(quick: bool) -> list[Result]:
    return per_call_results(CASES, quick)


if __name__ == "__main__":
    for result in run("--quick" in sys.argv):
        print(result.line())
