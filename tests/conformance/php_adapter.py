"""A small adapter for ``python -m phprt.conformance --command`` (CONF-SUITE-ADAPTER-1) that wraps
real PHP's CLI and CGI: reads the case as JSON on stdin, runs the script the suite wrote
with ``php -n`` (``php-cgi -n`` for a "cgi" case, as a web server's CGI call when the
case's server variables hold REQUEST_METHOD), prints the observations as JSON.
Network SAPIs are answered with ``{"skip": ...}``.

    python -m phprt.conformance --command "python3 tests/conformance/php_adapter.py [PHP]"
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def text(data: bytes) -> object:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"bytes": data.hex()}


def main() -> int:
    case = json.load(sys.stdin)
    php = sys.argv[1] if len(sys.argv) > 1 else "php"
    if case["sapi"] not in ("cli", "cgi"):
        print(json.dumps({"skip": f"this adapter runs only php and php-cgi, not {case['sapi']}"}))
        return 0
    binary = php.replace("php", "php-cgi", 1) if case["sapi"] == "cgi" else php
    environment = {**os.environ, **case["server"], "PHPRT_RECORD": case["record"]}
    options = ["-n"] if case["ini_file"] is None else ["-c", case["ini_file"]]
    if case["ini_file"] is not None:
        environment["PHP_INI_SCAN_DIR"] = ""
    options += [f"-d{name}={value}" for name, value in case["ini"].items()]
    arguments = [case["script"]]
    if "REQUEST_METHOD" in case["server"]:
        environment.update(REDIRECT_STATUS="200", SCRIPT_FILENAME=case["script"])
        arguments = []
    stdout: int = subprocess.PIPE
    if case["disconnect_after"] == 0:  # the reader is gone before the first write
        reader, stdout = os.pipe()
        os.close(reader)
    completed = subprocess.run([binary, *options, *arguments], stdout=stdout, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, env=environment, timeout=60)
    if stdout != subprocess.PIPE:
        os.close(stdout)
    with open(case["record"]) as record:
        results = [json.loads(line) for line in record]
    print(json.dumps({"stdout": text(completed.stdout or b""), "stderr": text(completed.stderr),
                      "results": results, "exit": completed.returncode}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
