"""(6) The output functions against the same loop in ``php -n``.

- the ob cycle: ``ob_start(); echo; ob_start(cb); echo; ob_end_flush(); ob_get_clean()``, the
  handler passed itself, named by a string as PHP's loop names it (PERF-OB-7), a method of an
  object, and a closure made each time (PERF-OB-9);
- the ob cycle with the default handler flushed and cleaned (PERF-OB-6);
- echo with no buffer, to a transport that discards the body (PHP: stdout to /dev/null);
- echo through 8 nested buffers (the top one collects);
- print_r and var_export (returned) and var_dump (into a buffer) of a nested array (PERF-DUMP-1).

Each is called as a port calls it: ``phprt.php``'s functions, inside a Runtime (PERF-CALL-3,
PERF-CALL-4).

    python3 -m benchmarks --only engine-output [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import PerCallCase, Result, benchmark, per_call_results  # noqa: E402
from phprt import Runtime  # noqa: E402
from phprt.php import (  # noqa: E402
    echo,
    ob_clean,
    ob_end_clean,
    ob_end_flush,
    ob_flush,
    ob_get_clean,
    ob_get_contents,
    ob_start,
    print_r,
    var_dump,
    var_export,
)
from phprt.transports.base import Transport  # noqa: E402


def handler(buffer: str, phase: int) -> str:
    return buffer


def _ob_cycle(callback: Any) -> Callable[[int], None]:
    # the ob cycle with ``callback``: the handler itself, or its name as PHP's loop gives it (PERF-OB-7)
    def loop(calls: int) -> None:
        with Runtime(transport=Transport()):
            for _ in range(calls):
                ob_start()
                echo("a")
                ob_start(callback)
                echo("b")
                ob_end_flush()
                ob_get_clean()

    return loop


class Page:
    def handler(self, buffer: str, phase: int) -> str:
        return buffer


def ob_cycle_method(calls: int) -> None:
    # the handler a method, ``page.handler`` as a port writes PHP's [$page, "handler"] (PERF-OB-9)
    page = Page()
    with Runtime(transport=Transport()):
        for _ in range(calls):
            ob_start()
            echo("a")
            ob_start(page.handler)
            echo("b")
            ob_end_flush()
            ob_get_clean()


def ob_cycle_closure(calls: int) -> None:
    # the handler a closure made for each buffer, PHP's fn($b, $p) => $b (PERF-OB-9)
    with Runtime(transport=Transport()):
        for _ in range(calls):
            ob_start()
            echo("a")
            ob_start(lambda buffer, phase: buffer)
            echo("b")
            ob_end_flush()
            ob_get_clean()


def ob_cycle_flush_clean(calls: int) -> None:
    with Runtime(transport=Transport()):
        for _ in range(calls):
            ob_start()
            echo("a")
            ob_start()
            echo("b")
            ob_flush()
            echo("c")
            ob_clean()
            ob_get_contents()
            ob_end_flush()
            ob_get_clean()


def echo_unbuffered(calls: int) -> None:
    with Runtime(transport=Transport()):
        for _ in range(calls):
            echo("hello")


def echo_nested(calls: int) -> None:
    with Runtime(transport=Transport()):
        for _ in range(8):
            ob_start()
        for _ in range(calls):
            echo("hello")
        for _ in range(8):
            ob_end_clean()


def echo_chunked(calls: int) -> None:
    # output_buffering=4096, php.ini-production's: the default handler with a chunk size (PERF-OB-4)
    with Runtime(transport=Transport(), ini={"output_buffering": "4096"}):
        for _ in range(calls):
            echo("hello")


#: A record as a ported script prints it, and PHP's same array.
RECORD = {"id": 42, "name": "widget", "price": 9.99, "tags": ["a", "b", "c"], "active": True, "meta": {"x": 1, "y": None}}
PHP_RECORD = ('$a = ["id" => 42, "name" => "widget", "price" => 9.99, "tags" => ["a", "b", "c"], "active" => true, '
              '"meta" => ["x" => 1, "y" => null]];')


def print_r_record(calls: int) -> None:
    with Runtime(transport=Transport()):
        for _ in range(calls):
            print_r(RECORD, True)


def var_export_record(calls: int) -> None:
    with Runtime(transport=Transport()):
        for _ in range(calls):
            var_export(RECORD, True)


def var_dump_record(calls: int) -> None:
    # into a buffer emptied every 64 dumps, as PHP's loop empties its own
    with Runtime(transport=Transport()):
        ob_start()
        for i in range(1, calls + 1):
            var_dump(RECORD)
            if i % 64 == 0:
                ob_clean()


PHP_HANDLER = "function handler($b, $p) { return $b; }"
CASES: list[PerCallCase] = [
    ("ob cycle (2 buffers, 1 callback)", _ob_cycle(handler),
     'ob_start(); echo "a"; ob_start("handler"); echo "b"; ob_end_flush(); ob_get_clean();', PHP_HANDLER),
    ('the ob cycle with ob_start("handler")', _ob_cycle("handler"),
     'ob_start(); echo "a"; ob_start("handler"); echo "b"; ob_end_flush(); ob_get_clean();', PHP_HANDLER),
    ('the ob cycle with ob_start([$page, "handler"])', ob_cycle_method,
     'ob_start(); echo "a"; ob_start([$page, "handler"]); echo "b"; ob_end_flush(); ob_get_clean();',
     "class Page { function handler($b, $p) { return $b; } } $page = new Page;"),
    ("the ob cycle with a closure made each time", ob_cycle_closure,
     'ob_start(); echo "a"; ob_start(fn($b, $p) => $b); echo "b"; ob_end_flush(); ob_get_clean();', ""),
    ("ob cycle with flush and clean (2 buffers)", ob_cycle_flush_clean,
     'ob_start(); echo "a"; ob_start(); echo "b"; ob_flush(); echo "c"; ob_clean(); ob_get_contents(); '
     'ob_end_flush(); ob_get_clean();', ""),
    ("echo, no buffer", echo_unbuffered, 'echo "hello";', ""),
    ("echo through 8 nested buffers", echo_nested, 'echo "hello";',
     "for ($j = 0; $j < 8; $j++) ob_start();"),
    ("echo into ob_start(null, 4096)", echo_chunked, 'echo "hello";', "ob_start(null, 4096);"),
    ("print_r($a, true) of a 6-entry nested array", print_r_record, "print_r($a, true);", PHP_RECORD),
    ("var_export($a, true) of a 6-entry nested array", var_export_record, "var_export($a, true);", PHP_RECORD),
    ("var_dump of a 6-entry nested array, into a buffer", var_dump_record,
     "var_dump($a); if (++$n % 64 == 0) ob_clean();", "ob_start(); $n = 0; " + PHP_RECORD),
]


@benchmark("engine-output")
def run(quick: bool) -> list[Result]:
    return per_call_results(CASES, quick)


if __name__ == "__main__":
    for result in run("--quick" in sys.argv):
        print(result.line())
