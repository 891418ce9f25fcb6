"""Record the request-variable cases from real PHP 8.2:
``python -m tests.conformance.record_request [CASE_ID ...]``.

Each ``[[request]]`` of spec/cases/request-vars.toml is a request: a query string,
a cookie header, a method, a content type and length, a body and ini settings.
This runs it through ``php-cgi -n`` as a web server's CGI call (QUERY_STRING,
HTTP_COOKIE, REQUEST_METHOD, CONTENT_TYPE, CONTENT_LENGTH in the environment, the
body on stdin) with a small script (PROBE) that writes what PHP made of it:
$_GET, $_POST, $_COOKIE, $_FILES, $_REQUEST, php://input and, for a query
string, parse_str() of it. The warnings PHP raised while starting the request
come from its error log (``error_log`` set to a file): every line "PHP Warning:
... in Unknown on line 0". Writes spec/recorded/request-vars.json with PHP's
version and a digest of each case; refuses a PHP other than 8.2.

A value is recorded so that nothing is lost: an array is
``{"array": [[key, value], ...]}`` in PHP's order (int keys stay ints), a string
is itself when it is UTF-8, else ``{"bytes": hex}``. A $_FILES string naming a
file PHP stored (is_uploaded_file()) is ``{"upload": the file's content}``, since
the random temporary name cannot be compared but the content can.

Text fields of a case (query, cookie, content_type, body) are a string (its UTF-8
bytes), ``{hex = "..."}``, ``{repeat = TEXT, times = N, sep = "..."}``,
``{lines = [TEXT, ...]}`` (joined with CRLF) or a list of these, concatenated.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

ROOT = Path(__file__).resolve().parents[2]
CASES_FILE = ROOT / "spec" / "cases" / "request-vars.toml"
RECORDED_FILE = ROOT / "spec" / "recorded" / "request-vars.json"
PHP_CGI = "php-cgi"

#: The script php-cgi runs for every case.
PROBE = r"""<?php
function s($v) { return preg_match('//u', $v) ? $v : ['bytes' => bin2hex($v)]; }
function enc($v, $files = false) {
    if (is_array($v)) {
        $o = [];
        foreach ($v as $k => $x) { $o[] = [is_int($k) ? $k : s($k), enc($x, $files)]; }
        return ['array' => $o];
    }
    if (is_string($v)) {
        return $files && $v !== '' && is_uploaded_file($v) ? ['upload' => s(file_get_contents($v))] : s($v);
    }
    return $v;
}
$seen = ['get' => enc($_GET), 'post' => enc($_POST), 'cookie' => enc($_COOKIE), 'files' => enc($_FILES, true),
         'request' => enc($_REQUEST), 'input' => s(file_get_contents('php://input'))];
if (($query = getenv('QUERY_STRING')) !== false) {
    $warnings = [];
    set_error_handler(function ($no, $str) use (&$warnings) { $warnings[] = [$no, $str]; return true; });
    parse_str($query, $parsed);
    restore_error_handler();
    $seen['parse_str'] = ['result' => enc($parsed), 'diagnostics' => $warnings];
}
file_put_contents(getenv('PHPRT_REQUEST_RECORD'), json_encode($seen, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE));
"""

_LEVELS = {"Warning": 2, "Notice": 8, "Deprecated": 8192, "Fatal error": 1}
_LOG_LINE = re.compile(r"^\[[^\]]*\] PHP (Warning|Notice|Deprecated|Fatal error):  (.*) in Unknown on line 0$")


def text(value: Any) -> bytes:
    """The bytes a case's text field stands for (see the module docstring)."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, list):
        return b"".join(text(item) for item in value)
    if isinstance(value, dict):
        if "hex" in value:
            return bytes.fromhex(value["hex"])
        if "repeat" in value:
            pieces = [text(value["repeat"]).replace(b"{i}", str(i).encode()) for i in range(value["times"])]
            return text(value.get("sep", "")).join(pieces)
        if "lines" in value:
            return b"\r\n".join(text(line) for line in value["lines"])
    raise ValueError(f"not a text field: {value!r}")


@dataclass
class RequestCase:
    """One request: its inputs, and the clauses it checks."""

    id: str
    clauses: list[str]
    method: str = "GET"
    query: bytes | None = None
    cookie: bytes | None = None
    content_type: bytes | None = None
    content_length: str | None = "auto"  # "auto": the body's length; None: not sent
    body: bytes = b""
    ini: dict[str, str] = field(default_factory=dict)
    note: str = ""

    def environment(self) -> dict[bytes, bytes]:
        """The CGI variables (bytes: a query string need not be UTF-8)."""
        env = {b"REQUEST_METHOD": self.method.encode()}
        for name, value in ((b"QUERY_STRING", self.query), (b"HTTP_COOKIE", self.cookie),
                            (b"CONTENT_TYPE", self.content_type)):
            if value is not None:
                env[name] = value
        if self.content_length == "auto":
            env[b"CONTENT_LENGTH"] = str(len(self.body)).encode()
        elif self.content_length is not None:
            env[b"CONTENT_LENGTH"] = self.content_length.encode()
        return env

    def server(self) -> dict[str, str]:
        """The same variables as phprt's $_SERVER holds them (str, surrogateescape)."""
        return {name.decode(): value.decode("utf-8", "surrogateescape") for name, value in self.environment().items()}

    def ini_get(self, name: str) -> str | bool:
        """A Runtime-like ini_get(): the case's value, or False (PHP's default)."""
        return self.ini.get(name, False)

    def digest(self) -> str:
        parts = [sorted((k.decode(), v.hex()) for k, v in self.environment().items()), self.body.hex(),
                 sorted(self.ini.items()), PROBE]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def load_request_cases(path: Path = CASES_FILE) -> list[RequestCase]:
    cases = []
    for entry in tomllib.loads(path.read_text())["request"]:
        entry = dict(entry)
        for name in ("query", "cookie", "content_type", "body"):
            if name in entry:
                entry[name] = text(entry[name])
        if entry.get("content_length") == "none":
            entry["content_length"] = None
        entry["ini"] = {key: str(value) for key, value in entry.get("ini", {}).items()}
        cases.append(RequestCase(**entry))
    return cases


def run_php(case: RequestCase, php: str = PHP_CGI) -> dict[str, Any]:
    """What php-cgi -n made of the request."""
    if case.query is not None:
        decoded = case.query.replace(b"+", b" ")
        decoded = re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), decoded)
        if decoded.startswith(b"-") and b"=" not in decoded:
            # php-cgi reads such a query string as its own command line and then ignores
            # -n and -d: the request would not run under the case's settings.
            raise ValueError(f"{case.id}: php-cgi ignores its options for a query string like {case.query!r}")
    with tempfile.TemporaryDirectory(prefix="phprt-request-") as tmp:
        script, record, log = (os.path.join(tmp, name) for name in ("probe.php", "record.json", "error.log"))
        Path(script).write_text(PROBE)
        env = {b"PATH": os.environb.get(b"PATH", b"/usr/bin:/bin"), b"REDIRECT_STATUS": b"200",
               b"SCRIPT_FILENAME": script.encode(), b"PHPRT_REQUEST_RECORD": record.encode(),
               **case.environment()}
        options = ["-d", "log_errors=1", "-d", f"error_log={log}", "-d", f"upload_tmp_dir={tmp}"]
        options += [f"-d{name}={value}" for name, value in case.ini.items()]
        completed = subprocess.run([php, "-n", *options], input=case.body, env=env, capture_output=True, timeout=60)
        if not os.path.exists(record):
            raise RuntimeError(f"{case.id}: php-cgi wrote no record: {completed.stdout!r} {completed.stderr!r}")
        seen: dict[str, Any] = json.loads(Path(record).read_text())
        diagnostics = []
        for line in (Path(log).read_text().splitlines() if os.path.exists(log) else []):
            match = _LOG_LINE.match(line)
            if match is None:
                raise RuntimeError(f"{case.id}: unexpected log line {line!r}")
            diagnostics.append([_LEVELS[match.group(1)], match.group(2)])
    seen["diagnostics"] = diagnostics
    return seen


def php_version(php: str = PHP_CGI) -> str:
    banner = subprocess.run([php, "-n", "-v"], capture_output=True, text=True, check=True).stdout
    return banner.split()[1]


def load_recorded(path: Path = RECORDED_FILE) -> Mapping[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="record only these cases")
    parser.add_argument("--php", default=PHP_CGI, help="the php-cgi 8.2 binary")
    args = parser.parse_args(argv)
    version = php_version(args.php)
    if not version.startswith("8.2."):
        print(f"refusing to record: {args.php} is PHP {version}, not 8.2", file=sys.stderr)
        return 2
    existing = load_recorded().get("requests", {})
    recorded = {}
    for case in load_request_cases():
        if args.ids and case.id not in args.ids and case.id in existing:
            recorded[case.id] = existing[case.id]
            continue
        recorded[case.id] = {"digest": case.digest(), **run_php(case, args.php)}
        print(f"recorded {case.id}")
    # "cases" stays empty: the conformance harness reads every recorded file's "cases".
    document = {"php": version, "recorder": "python -m tests.conformance.record_request",
                "cases": {}, "requests": recorded}
    RECORDED_FILE.parent.mkdir(parents=True, exist_ok=True)
    RECORDED_FILE.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
