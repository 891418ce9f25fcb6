"""Record PHP 8.2's answers to random sprintf calls: ``python -m tests.output.record_printf_fuzz``.

Draws ``COUNT`` format strings from every conversion, flag, width, precision, argument number
and ``*`` (seeded, so the draw is the same each time), with arguments of every type, runs them
through ``php -n`` and writes tests/output/printf_fuzz.json: each call's result bytes, or the
class and message of what it threw, and every diagnostic it raised. ``test_printf.py`` replays
them through phprt (PRINTF-PARSE-1).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RECORDING = HERE / "printf_fuzz.json"
COUNT = 800

_VALUES: list[Any] = [0, 1, -1, 42, -42, 2**63 - 1, -(2**63), 255, 3.14159, -2.5, 0.0, -0.0, 1e20, -1e-7, "abc", "é", "",
                      "12abc", " 7", "1e3", True, False, None, float("inf"), float("-inf"), 1e300, 2.5, 0.125,
                      123456789.0, 1e-300, 5e-324, 0.1, [1], []]

_PHP = r"""<?php
$cases = json_decode(file_get_contents($argv[1]), true);
$out = [];
set_error_handler(function ($no, $str) { global $notes; $notes[] = "$no:$str"; return true; });
foreach ($cases as [$fmt, $args]) {
    $values = [];
    foreach ($args as $v) {
        $f = is_array($v) && isset($v["float"]) ? $v["float"] : null;
        $values[] = $f === null ? $v : ($f === "inf" ? INF : ($f === "-inf" ? -INF : (float) $f));
    }
    $notes = [];
    try { $r = ["value" => bin2hex(sprintf($fmt, ...$values))]; }
    catch (\Throwable $e) { $r = ["throw" => get_class($e), "message" => bin2hex($e->getMessage())]; }
    $r["diagnostics"] = $notes;
    $out[] = $r;
}
echo json_encode($out);
"""


def draw() -> list[tuple[str, list[Any]]]:
    """The seeded random calls: (format, arguments)."""
    rng = random.Random(20261203)
    conversions = list("sdduxXobcfFeEgGhH%") + ["y"]
    flags = ["", "-", "0", "+", "-0", "+0", " ", "-+", "'x", "'0", "'", "00", "+-0"]
    calls = []
    for _ in range(COUNT):
        count = rng.randint(1, 3)
        specs = [
            "%" + rng.choice(["", "", "", "1$", "2$", "3$"]) + rng.choice(flags)
            + rng.choice(["", "5", "1", "12", "*"]) + rng.choice(["", ".2", ".0", ".7", ".", ".60", ".*", ".17"])
            + rng.choice(conversions)
            for _ in range(count)
        ]
        fmt = rng.choice(["", "a%%", "x"]) + "|".join(specs) + rng.choice(["", "", "%"])
        values = _VALUES + [rng.randint(-3, 20)]
        calls.append((fmt, [rng.choice(values) for _ in range(rng.randint(max(0, count - 1), count + 3))]))
    return calls


def encode(value: Any) -> Any:
    """A value as JSON carries it to PHP: floats by their repr, read back with (float) (INF as INF)."""
    return {"float": repr(value)} if isinstance(value, float) else value


def main() -> int:
    calls = draw()
    with tempfile.TemporaryDirectory() as tmp:
        cases, script = Path(tmp) / "cases.json", Path(tmp) / "run.php"
        cases.write_text(json.dumps([[fmt, [encode(v) for v in args]] for fmt, args in calls]))
        script.write_text(_PHP)
        done = subprocess.run(["php", "-n", str(script), str(cases)], capture_output=True, check=True, timeout=120)
    version = subprocess.run(["php", "-n", "-r", "echo PHP_VERSION;"], capture_output=True, text=True).stdout
    results = json.loads(done.stdout)
    RECORDING.write_text(json.dumps({"php": version, "count": COUNT, "results": results}, indent=0) + "\n")
    print(f"recorded {len(results)} calls from PHP {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
