"""(7) A large body through ``ob_start(cb, 65536)``: CPU time per GiB and peak RSS, against PHP.

Each side runs in a subprocess of its own (so that its peak RSS is its own): the script
echoes 8 KiB strings through a user handler with a 64 KiB chunk size, to a transport that
discards the body (PHP: stdout to /dev/null), and reports its CPU time and its peak RSS
(``VmHWM`` from /proc/self/status; ``ru_maxrss`` where there is no /proc, which on Linux
starts at the parent's peak).

    python3 -m benchmarks --only engine-stream [--quick]      # 1 GiB; --quick: 8 MiB
    PHPRT_STREAM_MIB=256 python3 -m benchmarks --only engine-stream
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import PHP, Result, benchmark, php_available  # noqa: E402

PIECE = 8192

PYTHON_SIDE = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from phprt import Runtime
from phprt.php import echo, ob_end_flush, ob_start
from phprt.transports.base import Transport
piece = "x" * {piece}
start = time.process_time()
with Runtime(transport=Transport()):
    ob_start(lambda buffer, phase: buffer, 65536)
    for _ in range({count}):
        echo(piece)
    ob_end_flush()
cpu = time.process_time() - start
try:  # VmHWM: this process's own peak (ru_maxrss starts at the parent's, across fork and exec)
    rss = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
except (OSError, IndexError):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"cpu": cpu, "rss_kib": rss}}))
"""

PHP_SIDE = """
$piece = str_repeat("x", {piece});
function cpu() {{ $u = getrusage(); return $u["ru_utime.tv_sec"] + $u["ru_utime.tv_usec"] / 1e6
    + $u["ru_stime.tv_sec"] + $u["ru_stime.tv_usec"] / 1e6; }}
$start = cpu();
ob_start(function ($b, $p) {{ return $b; }}, 65536);
for ($i = 0; $i < {count}; $i++) echo $piece;
ob_end_flush();
$cpu = cpu() - $start;
$status = @file_get_contents("/proc/self/status");
$rss = $status && preg_match('/VmHWM:\\s+(\\d+)/', $status, $m) ? (int) $m[1] : getrusage()["ru_maxrss"];
fwrite(STDERR, json_encode(["cpu" => $cpu, "rss_kib" => $rss]) . "\\n");
"""


def phprt_stream(count: int) -> dict[str, float]:
    code = PYTHON_SIDE.format(root=str(ROOT), piece=PIECE, count=count)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    figures: dict[str, float] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return figures


def php_stream(count: int) -> dict[str, float] | None:
    if not php_available():
        return None
    code = PHP_SIDE.format(piece=PIECE, count=count)
    done = subprocess.run([PHP, "-n", "-r", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    figures: dict[str, float] = json.loads(done.stderr.decode().strip().splitlines()[-1])
    return figures


@benchmark("engine-stream")
def run(quick: bool) -> list[Result]:
    mib = 8 if quick else int(os.environ.get("PHPRT_STREAM_MIB", "1024"))
    count = mib * 1024 * 1024 // PIECE
    ours = phprt_stream(count)
    php = php_stream(count)
    gib = mib / 1024
    return [
        Result.of(f"{mib} MiB via ob_start(cb, 65536): CPU", ours["cpu"] / gib,
                  None if php is None else php["cpu"] / gib, "s/GiB"),
        Result.of(f"{mib} MiB via ob_start(cb, 65536): peak RSS", ours["rss_kib"] / 1024,
                  None if php is None else php["rss_kib"] / 1024, "MiB"),
    ]


if __name__ == "__main__":
    for result in run("--quick" in sys.argv):
        print(result.line())
