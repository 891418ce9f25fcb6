"""sprintf and its family beyond the conformance cases (spec/printf.md): the pure core, the
php://output file, Python files as fprintf streams, bytes formats, the parse cache, the
memory deviation, and ``python -m phprt run`` against ``php -n`` byte for byte."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from phprt import MemoryTransport, Runtime
from phprt.engine.errors import ArgumentCountError, Bailout
from phprt.engine.uncaught import php_class_name
from phprt.output import printf as printf_module
from phprt.output.printf import dval_to_lval, format_bytes, zval_get_double, zval_get_long
from tests.output import record_printf_fuzz
from tests.support import ROOT


class Plain:
    """The Conversions the pure core needs, with no Runtime: str() for strings."""

    charset = "utf-8"

    def __init__(self) -> None:
        self.messages: list[str] = []

    def string(self, value: Any) -> bytes:
        return str(value).encode()

    def warning(self, message: str) -> None:
        self.messages.append("W:" + message)

    def notice(self, message: str) -> None:
        self.messages.append("N:" + message)

    def memory_limit(self) -> int:
        return -1


@pytest.mark.clause("PRINTF-PARSE-1")
def test_the_core_is_pure_and_raises_phps_errors() -> None:
    plain = Plain()
    assert format_bytes(b"%05.1f|%-4s|%x", [3.14159, "ab", 255], 1, plain) == b"003.1|ab  |ff"
    with pytest.raises(ArgumentCountError, match="^3 arguments are required, 2 given$"):
        format_bytes(b"%s %s", ["a"], 1, plain)
    with pytest.raises(ValueError, match="^The arguments array must contain 2 items, 1 given$"):
        format_bytes(b"%s %s", ["a"], -1, plain)
    assert format_bytes(b"%.60f", [1.0], 1, plain) == b"1." + b"0" * 53
    assert plain.messages == ["N:Requested precision of 60 digits was truncated to PHP maximum of 53 digits"]


@pytest.mark.clause("PRINTF-ARG-2")
def test_zval_get_long_and_double() -> None:
    warnings: list[str] = []
    assert [zval_get_long(v, warnings.append) for v in (True, None, 3.9, -3.9, "12abc", "1e30", [], {"a": 1})] == [
        1, 0, 3, -3, 12, 2**63 - 1, 0, 1]
    assert dval_to_lval(1e30) == 5076964154930102272 and dval_to_lval(-1e30) == -5076964154930102272
    assert zval_get_long(2**70, warnings.append) == dval_to_lval(float(2**70))  # the float PHP would hold
    assert zval_get_long(object(), warnings.append) == 1
    assert warnings == ["Object of class object could not be converted to int"]
    assert zval_get_double(" 1.5e1x", warnings.append) == 15.0 and zval_get_double("inf", warnings.append) == 0.0


@pytest.mark.clause("PRINTF-RESULT-1")
def test_a_bytes_format_gives_bytes_and_binary_round_trips() -> None:
    with Runtime(transport=MemoryTransport()) as rt:
        assert rt.sprintf(b"%c%s", 200, b"\xff") == b"\xc8\xff"
        text = rt.sprintf("%c", 200)
        assert text == "\udcc8"
        rt.echo(text)
    assert rt.transport.body == b"\xc8"  # type: ignore[attr-defined]


@pytest.mark.clause("PRINTF-OUTPUT-1")
def test_php_output_is_echo_through_the_buffers() -> None:
    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:
        out = rt.php_output()
        assert out.writable() and not out.readable()
        assert out.write("é") == 2 and out.write(b"|") == 1
        rt.ob_start()
        out.write("buffered")
        assert rt.ob_get_clean() == "buffered"
        out.flush()
        out.close()
        with pytest.raises(ValueError):
            out.write("x")
    assert transport.body == "é|".encode()


@pytest.mark.clause("PRINTF-OUTPUT-1")
def test_php_output_from_phprt_php_binds_the_active_runtime() -> None:
    from phprt.php import fprintf, php_output

    transport = MemoryTransport()
    with Runtime(transport=transport):
        assert fprintf(php_output(), "%03d", 7) == 3
    assert transport.body == b"007"


@pytest.mark.clause("PRINTF-STREAM-1")
def test_fprintf_to_python_files() -> None:
    binary, text = io.BytesIO(), io.StringIO()
    with Runtime(transport=MemoryTransport()) as rt:
        assert rt.fprintf(binary, "%s=%5.2f\n", "é", 1.5) == 9
        assert rt.vfprintf(text, "%s-%s", ["é", "x"]) == 4
        assert rt.fprintf(text, "%c", 255) == 1
        with pytest.raises(TypeError, match=r"^fprintf\(\): Argument #1 \(\$stream\) must be of type resource, int given$"):
            rt.fprintf(1, "x")
    assert binary.getvalue() == "é= 1.50\n".encode()
    assert text.getvalue() == "é-x\udcff"


@pytest.mark.clause("PRINTF-PERF-1")
def test_a_format_is_parsed_once() -> None:
    printf_module.parse.cache_clear()
    with Runtime(transport=MemoryTransport()) as rt:
        for number in range(50):
            assert rt.sprintf("%05d|%s|%5.1f", number, "x", 1.25) == f"{number:05d}|x|  1.2"
        assert printf_module.parse.cache_info().misses == 1
        for number in range(50):
            assert rt.sprintf("%*d|%s", 3, number, "x") == f"{number:3d}|x"  # "*": read step by step
        assert printf_module.parse.cache_info().misses == 2


@pytest.mark.clause("PRINTF-PERF-2")
def test_the_str_fast_path_gives_what_the_byte_path_gives() -> None:
    formats = ["%s: %d", "%5s|%-5s|%05d|%-05d|%+d|%+05d", "%u|%x|%X|%o|%08x", "%2$s %1$s %s", "100%% %s",
               "%05.2f|%-8.3f|%+.1f|%F|%f|%.0f"]
    values = [("é", -3, 2**63 - 1), ("ab", "é", -7, 7, 0, -2), (5, 255, 255, 8, 255), ("a", "b"),
              (-1, 2**64, True, None, 1.5), ("x", 3, 3, 3, 3, 3), (-0.0, 2.5, 0.0, 1e300, -1e-7, 2.5),
              (1.5, float("inf"), 1, 2, 3, 4), (float("nan"), 1.0, 1.0, 1.0, 1.0, 1.0)]
    plain = Plain()
    for fmt in formats:
        assert printf_module.compile_text(fmt) is not None
        for args in values:
            fast = printf_module.format_text(fmt, args)
            try:
                slow = format_bytes(fmt.encode(), args, 1, plain).decode("utf-8", "surrogateescape")
            except (ValueError, TypeError):
                assert fast is None
                continue
            assert fast is None or fast == slow, (fmt, args)
    assert printf_module.format_text("%5s", ("é",)) is None  # the width counts bytes: the byte path
    assert printf_module.format_text("%-x", (-1,)) is None  # PHP's unsigned 64 bits
    assert printf_module.compile_text("%05s") is None and printf_module.compile_text("%.2x") is None
    assert printf_module.compile_text("%-05x") is None and printf_module.compile_text("%-05.1f") is None
    assert printf_module.format_text("%f", (float("inf"),)) is None and printf_module.format_text("%.1f", (-0.0,)) == "0.0"


@pytest.mark.clause("DEV-PRINTF-MEMORY-1")
def test_a_width_past_memory_limit_is_phps_fatal_error() -> None:
    transport = MemoryTransport()
    with Runtime(transport=transport, ini={"memory_limit": "4M"}) as rt:
        assert len(rt.sprintf("%1000000s", "x")) == 1000000  # 2 MiB + 1 MiB buffer: within 4M
        rt.sprintf("%3000000s", "x")
    assert rt.exit_status == 255
    assert b"Fatal error: Allowed memory size of 4194304 bytes exhausted (tried to allocate 3936256 bytes)" \
        in transport.body
    with Runtime(transport=MemoryTransport(), ini={"memory_limit": "-1"}) as rt:
        assert len(rt.sprintf("%3000000s", "x")) == 3000000


@pytest.mark.clause("PRINTF-WIDTH-2")
def test_field_too_long_is_a_bailout() -> None:
    with Runtime(transport=MemoryTransport()) as rt:
        with pytest.raises(Bailout):
            rt.sprintf("ab%2147483646s", "x")
    assert rt.exit_status == 255


# -- the entry point, against php -n -----------------------------------------------------------

PHP_SCRIPT = r"""<?php
$rows = [["apples", 3, 1.5], ["kiwis", 12, 0.25], ["café", -4, 1e6]];
ob_start();
$n = printf("%-8s|%5s|%10s\n", "item", "qty", "price");
foreach ($rows as $i => $row) {
    vprintf("%-8s|%+5d|%'.10.2f\n", $row);
}
$out = fopen("php://output", "w");
fprintf($out, "%s rows, header %d bytes, %05.1f%%\n", count($rows), $n, 99.5);
echo sprintf("%b %o %X %c %e %g", 10, 8, 255, 65, 1234.5, 0.00001), "\n";
ob_end_flush();
printf("%.60f\n", 0.1);
printf("%s %s\n", "only one");
"""

PYTHON_PORT = r"""from phprt.php import *

rows = [["apples", 3, 1.5], ["kiwis", 12, 0.25], ["café", -4, 1e6]]
ob_start()
n = printf("%-8s|%5s|%10s\n", "item", "qty", "price")
for i, row in enumerate(rows):
    vprintf("%-8s|%+5d|%'.10.2f\n", row)
out = php_output()
fprintf(out, "%s rows, header %d bytes, %05.1f%%\n", len(rows), n, 99.5)
echo(sprintf("%b %o %X %c %e %g", 10, 8, 255, 65, 1234.5, 0.00001), "\n")
ob_end_flush()
printf("%.60f\n", 0.1)
printf("%s %s\n", "only one")
"""

#: What ``php -n report.php`` (PHP 8.2.36) printed on stdout, the script's path as %s; exit status 255.
PHP_STDOUT = (
    b"item    |  qty|     price\napples  |   +3|......1.50\nkiwis   |  +12|......0.25\n"
    b"caf\xc3\xa9   |   -4|1000000.00\n3 rows, header 26 bytes, 099.5%\n1010 10 FF A 1.234500e+3 1.0e-5\n\n"
    b"Notice: printf(): Requested precision of 60 digits was truncated to PHP maximum of 53 digits in %s on line 12\n"
    b"0.10000000000000000555111512312578270211815834045410156\n\n"
    b"Fatal error: Uncaught ArgumentCountError: 3 arguments are required, 2 given in %s:13\n"
    b"Stack trace:\n#0 %s(13): printf('%s %s\\n', 'only one')\n#1 {main}\n  thrown in %s on line 13\n"
)


@pytest.mark.clause("PRINTF-PRINT-1")
def test_python_m_phprt_run_prints_what_php_prints(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    script = tmp_path / "report.py"
    script.write_text(PYTHON_PORT)
    done = subprocess.run([sys.executable, "-m", "phprt", "run", str(script)], capture_output=True, cwd=ROOT,
                          timeout=60)
    assert done.stdout.replace(str(script).encode(), b"%s") == PHP_STDOUT
    assert (done.returncode, done.stderr) == (255, b"")
    if request.config.getoption("--php-live"):
        assert shutil.which("php"), "--php-live needs PHP 8.2's php on PATH"
        php_script = tmp_path / "report.php"
        php_script.write_text(PHP_SCRIPT)
        php = subprocess.run(["php", "-n", str(php_script)], capture_output=True, timeout=60)
        assert php.stdout.replace(str(php_script).encode(), b"%s") == PHP_STDOUT
        assert (php.returncode, php.stderr) == (255, b"")


@pytest.mark.clause("PRINTF-PARSE-1")
def test_random_calls_answer_as_php_did() -> None:
    """800 seeded random calls (tests/output/record_printf_fuzz.py), recorded from ``php -n``:
    every conversion, flag, width, precision, argument number and ``*``, arguments of every
    type; the bytes, the exception and each diagnostic must be PHP's."""
    recording = json.loads((Path(__file__).parent / "printf_fuzz.json").read_text())
    calls = record_printf_fuzz.draw()
    assert recording["php"].startswith("8.2.") and len(recording["results"]) == len(calls)
    diagnostics: list[str] = []
    with Runtime(transport=MemoryTransport()) as rt:
        rt.set_error_handler(lambda level, message, file, line: diagnostics.append(f"{level}:{message}") or True)
        for (fmt, args), expected in zip(calls, recording["results"]):
            diagnostics.clear()
            try:
                seen: dict[str, Any] = {"value": rt.sprintf(fmt, *args).encode("utf-8", "surrogateescape").hex()}
            except Exception as error:  # noqa: BLE001 - PHP's exceptions are the point
                seen = {"throw": php_class_name(error), "message": str(error).encode("utf-8", "surrogateescape").hex()}
            seen["diagnostics"] = list(diagnostics)
            assert seen == expected, (fmt, args)
