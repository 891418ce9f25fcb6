"""Conformance cases: load them, render them as PHP and as phprt, run both, compare.

A case (spec/cases/*.toml) is a short script of calls, one per line, written in a
small language both PHP and Python can express: ``ob_start(h_upper, 3)``,
``echo("a", 1.5)``, ``ob_get_status(True)``. Arguments are literals, lists and
dicts, PHP constants, the handler library's names (``h_*`` functions, ``c_*``
closures, ``o_*`` objects), ``Str("x")``/``stdClass()`` objects and nested calls.

Both renderings put the handler library and every call on the same line numbers,
so every "in FILE on line N" agrees. Each call's result (its return value, or the
class and message of what it threw) is recorded, along with stdout, stderr and the
exit status. Paths are replaced by ``%s``.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import io
import json
import os
import re
import subprocess
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phprt
from phprt import CgiTransport, MemoryTransport, Ref, Runtime

from . import servers
from .library import LIBRARY

ROOT = Path(__file__).resolve().parents[2]
CASES_DIR = ROOT / "spec" / "cases"
RECORDED_DIR = ROOT / "spec" / "recorded"
PYTHON_PATH = "/phprt-conformance/case.py"
#: Where PHP runs a case: a path as long as PYTHON_PATH (tempfile adds 8 characters), so that
#: byte counts of text naming the script (a buffered notice) agree.
PHP_DIRECTORY = ("/tmp", "rec-")

#: ini every case runs with unless it says otherwise: diagnostics are logged to stderr.
BASE_INI = {"log_errors": "1"}

_CONSTANTS = {name for name in phprt.__all__ if name.startswith(("PHP_", "E_", "CONNECTION_"))}
_OBJECT_FACTORIES = {"Str": "new Str", "stdClass": "new stdClass"}
_OPERATORS = {ast.BitOr: "|", ast.BitAnd: "&", ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


@dataclass
class Case:
    id: str
    clauses: list[str]
    script: str
    source: str  # the .toml file's stem
    phpt: list[str] = field(default_factory=list)
    ini: dict[str, str] = field(default_factory=dict)
    sapi: str = "cli"
    server: dict[str, str] = field(default_factory=dict)
    disconnect_after: int | None = None
    note: str = ""
    ini_file: str = ""  # a php.ini's text: php -c FILE / Runtime(ini_file=FILE), cli and cgi; its path reads "%i"

    @property
    def calls(self) -> list[str]:
        return self.script.strip("\n").split("\n")

    def digest(self) -> str:
        """Identifies what was recorded: a changed case needs a new recording."""
        parts: list[Any] = [self.script.strip(), sorted(self.ini.items()), self.sapi, LIBRARY]
        if self.server:
            parts.append(sorted(self.server.items()))
        if self.disconnect_after is not None:
            parts.append(["disconnect_after", self.disconnect_after])
        if self.ini_file:
            parts.append(["ini_file", self.ini_file])
        text = json.dumps(parts)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.toml")):
        for entry in tomllib.loads(path.read_text())["case"]:
            cases.append(Case(source=path.stem, **entry))
    return cases


# -- rendering ----------------------------------------------------------------------------


class _Renderer:
    """Renders one call line as PHP and as Python."""

    def __init__(self, line: str) -> None:
        self.line = line
        tree = ast.parse(line.strip(), mode="eval").body
        if not isinstance(tree, ast.Call) or not isinstance(tree.func, ast.Name):
            raise ValueError(f"a case line must be one call: {line!r}")
        self.call = tree

    def php(self) -> str:
        name = self.call.func.id  # type: ignore[attr-defined]
        args = ", ".join(self._php(arg) for arg in self.call.args)
        if name == "echo":
            statement = f"echo {args}; __r(null);"
        elif name == "headers_sent_where":
            statement = "__r([headers_sent($__f, $__l), $__f, $__l]);"
        elif name == "print":
            statement = f"__r(print {args});"
        elif name == "uncaught":
            return f"throw new Exception({args});"
        else:
            statement = f"__r({name}({args}));"
        return f"try {{ {statement} }} catch (\\Throwable $__e) {{ __x($__e); }}"

    def python(self) -> str:
        if self.call.func.id == "headers_sent_where":  # type: ignore[attr-defined]
            return "with __w: __f, __l = Ref(), Ref(); __w([rt.headers_sent(__f, __l), __f.value, __l.value])"
        if self.call.func.id == "uncaught":  # type: ignore[attr-defined]
            return f"raise Exception({ast.unparse(self.call.args[0])})"
        # called right from the script's own line, as PHP's __r(f()) calls f (no frame between)
        return f"with __w: __w({ast.unparse(_ToRuntime().visit(copy.deepcopy(self.call)))})"

    def _php(self, node: ast.expr) -> str:
        if isinstance(node, ast.Constant):
            return _php_literal(node.value)
        if isinstance(node, ast.Name):
            if node.id in _CONSTANTS:
                return node.id
            if node.id.startswith(("c_", "o_")):
                return "$" + node.id
            if node.id.startswith(("h_", "eh_", "hc_", "sd_")):
                return _php_literal(node.id)
            raise ValueError(f"unknown name {node.id!r} in {self.line!r}")
        if isinstance(node, (ast.List, ast.Tuple)):
            return "[" + ", ".join(self._php(e) for e in node.elts) + "]"
        if isinstance(node, ast.Dict):
            items = (f"{self._php(k)} => {self._php(v)}" for k, v in zip(node.keys, node.values))  # type: ignore[arg-type]
            return "[" + ", ".join(items) + "]"
        if isinstance(node, ast.BinOp) and isinstance(node.left, ast.Constant) and isinstance(node.op, ast.Mult) \
                and isinstance(node.left.value, (str, bytes)):
            return f"str_repeat({self._php(node.left)}, {self._php(node.right)})"
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and _is_text(node.left):
            return f"({self._php(node.left)} . {self._php(node.right)})"
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return f"({self._php(node.left)} {_OPERATORS[type(node.op)]} {self._php(node.right)})"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Invert)):
            return ("-" if isinstance(node.op, ast.USub) else "~") + self._php(node.operand)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return f"[{self._php(node.value)}, '{node.attr}']"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "php_output":  # phprt's php://output file (PRINTF-OUTPUT-1)
                return 'fopen("php://output", "w")'
            args = ", ".join(self._php(a) for a in node.args)
            prefix = _OBJECT_FACTORIES.get(node.func.id, node.func.id)
            return f"{prefix}({args})"
        raise ValueError(f"unsupported expression {ast.dump(node)} in {self.line!r}")


class _ToRuntime(ast.NodeTransformer):
    """Calls of PHP functions become ``rt.function(...)``; the rest already is Python."""

    def visit_Call(self, call: ast.Call) -> ast.Call:
        self.generic_visit(call)
        if isinstance(call.func, ast.Name) and call.func.id not in _OBJECT_FACTORIES and not call.func.id.startswith("sd_"):
            call.func = ast.Attribute(ast.Name("rt", ast.Load()), call.func.id, ast.Load())
        return call


def _is_text(node: ast.expr) -> bool:
    # a string literal, or a concatenation or repetition starting with one
    if isinstance(node, ast.BinOp):
        return _is_text(node.left)
    return isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))


def _php_literal(value: Any) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float) and (value != value or abs(value) == float("inf")):
        return "NAN" if value != value else ("INF" if value > 0 else "-INF")
    if isinstance(value, (int, float)):
        return repr(value)
    data = value if isinstance(value, bytes) else value.encode("utf-8")
    return '"' + "".join(chr(b) if 32 <= b < 127 and chr(b) not in '"\\$' else f"\\x{b:02x}" for b in data) + '"'


_PHP_RECORDER = (
    "<?php $__log = fopen(getenv('PHPRT_RECORD'), 'w');"
    " function __enc($v) { if (is_string($v)) { return preg_match('//u', $v) ? $v : ['bytes' => bin2hex($v)]; }"
    " if (is_array($v)) { $o = []; foreach ($v as $k => $x) { $o[$k] = __enc($x); } return array_is_list($v) ? $o : (object) $o; }"
    " if (is_float($v) && (is_nan($v) || is_infinite($v))) { return ['float' => (string) $v]; } return $v; }"
    " function __r($v) { global $__log; fwrite($__log, json_encode(['value' => __enc($v)]) . \"\\n\"); }"
    " function __x($e) { global $__log; fwrite($__log, json_encode(['throw' => get_class($e), 'message' => __enc($e->getMessage())]) . \"\\n\"); }"
)


def render_php(case: Case) -> str:
    lines = [_PHP_RECORDER] + [php for php, _ in LIBRARY]
    lines += [_Renderer(line).php() if line.strip() else "" for line in case.calls]
    return "\n".join(lines) + "\n"


def render_python(case: Case) -> str:
    lines = ["# phprt conformance case"] + [py for _, py in LIBRARY]
    lines += [_Renderer(line).python() if line.strip() else "" for line in case.calls]
    return "\n".join(lines) + "\n"


# -- running ------------------------------------------------------------------------------------


#: PHP's X-Powered-By names its exact version, phprt's does not (DEV-POWERED-BY-1).
_POWERED_BY = re.compile(r"X-Powered-By: PHP/(8\.2\.[0-9]+|8\.2 \(phprt\))")


def _text(data: bytes, path: str) -> Any:
    data = data.replace(path.encode(), b"%s").replace(path.upper().encode(), b"%S")  # upper: a handler's strtoupper
    data = _POWERED_BY.sub("X-Powered-By: PHP/%s", data.decode("latin-1")).encode("latin-1")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"bytes": data.hex()}


def _without_path(value: Any, path: str) -> Any:
    # Results that mention the script (a buffer holding a displayed notice) name it "%s".
    if isinstance(value, str):
        return _POWERED_BY.sub("X-Powered-By: PHP/%s", value.replace(path, "%s").replace(path.upper(), "%S"))
    if isinstance(value, list):
        return [_without_path(item, path) for item in value]
    if isinstance(value, dict):
        return {key: _without_path(item, path) for key, item in value.items()}
    return value


#: The PHP 8.2 binary that records each SAPI profile's cases.
PHP_BINARIES = {"cli": "php", "cgi": "php-cgi", "cli-server": "php", "fpm": servers.PHP_FPM}
#: Writes the built-in server still accepts after its client hung up (TCP); PHP-FPM's
#: unix socket fails the first one.
LOST_WRITES = {"cli-server": 1}
#: The request the servers.py client makes, as phprt's transport reports it.
SERVER_DEFAULTS = {
    "cli-server": {"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1"},
    "fpm": {"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1"},
}
_SERVER_LOG = re.compile(r"^127\.0\.0\.1:%d .*\n", re.MULTILINE)
_DATE = re.compile(rb"^Date: [^\r]*\r$", re.MULTILINE)


def run_php(case: Case, php: str | None = None) -> dict[str, Any]:
    """Run the case through real PHP and observe it: ``php -n``; ``php-cgi -n`` for
    the "cgi" profile, whose stdout is the CGI response; for "cli-server" and
    "fpm" a real ``php -S`` or php-fpm with a client (tests/conformance/servers.py),
    whose stdout is what the client read."""
    with tempfile.TemporaryDirectory(prefix=PHP_DIRECTORY[1], dir=PHP_DIRECTORY[0]) as tmp:
        script, log = os.path.join(tmp, "case.php"), os.path.join(tmp, "record.jsonl")
        Path(script).write_text(render_php(case))
        Path(log).touch()
        ini = {**BASE_INI, **case.ini}
        if case.sapi in ("cli-server", "fpm"):
            if case.ini_file:
                raise ValueError(f"{case.id}: ini_file is for the cli and cgi cases")
            driver = servers.run_cli_server if case.sapi == "cli-server" else servers.run_fpm
            seen = driver(script, ini, {**case.server, "PHPRT_RECORD": log}, case.disconnect_after)
            stdout, stderr, status = _DATE.sub(b"Date: %s\r", seen["stdout"]), seen["stderr"], seen["exit"]
        else:
            stdout, stderr, status = _run_binary(case, php or PHP_BINARIES[case.sapi], script, log, ini)
        results = [json.loads(line) for line in Path(log).read_text().splitlines()]
    if case.ini_file:
        stdout, stderr = stdout.replace(_ini_path(script).encode(), b"%i"), stderr.replace(_ini_path(script).encode(), b"%i")
    error_text = _text(stderr, script)
    if case.sapi == "cli-server" and isinstance(error_text, str):  # the server's own access log is not PHP's
        error_text = _SERVER_LOG.sub("", error_text)
    return {
        "stdout": _text(stdout, script),
        "stderr": error_text,
        "results": _without_path(results, script),
        "exit": status,
    }


def _ini_path(script: str) -> str:
    return os.path.join(os.path.dirname(script), "php.ini")


def _run_binary(case: Case, php: str, script: str, log: str, ini: dict[str, str]) -> tuple[bytes, bytes, int]:
    options = [f"-d{name}={value}" for name, value in ini.items()]
    environment = {**os.environ, **case.server, "PHPRT_RECORD": log}
    no_ini = ["-n"]
    if case.ini_file:  # php -c FILE, without the distribution's conf.d
        Path(_ini_path(script)).write_text(case.ini_file)
        no_ini, environment["PHP_INI_SCAN_DIR"] = ["-c", _ini_path(script)], ""
    arguments = [script]
    if "REQUEST_METHOD" in case.server:  # php-cgi then runs as a web server's CGI program
        environment.update(REDIRECT_STATUS="200", SCRIPT_FILENAME=script)
        arguments = []
    stdout: Any = subprocess.PIPE
    if case.disconnect_after == 0:  # a reader that is already gone: every write fails (EPIPE)
        reader, stdout = os.pipe()
        os.close(reader)
    try:
        completed = subprocess.run(
            [php, *no_ini, *options, *arguments], stdout=stdout, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, env=environment, timeout=60,
        )
    finally:
        if stdout is not subprocess.PIPE:
            os.close(stdout)
    return completed.stdout or b"", completed.stderr, completed.returncode


class ErrorException(Exception):
    """The conformance library's stand-in for PHP's ErrorException."""


class stdClass:  # noqa: N801 - PHP's name
    """An object without a string conversion."""


def _encode(value: Any) -> Any:
    if isinstance(value, (str, bytes)):
        data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return {"bytes": data.hex()}
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()} if value else []
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if callable(value) and hasattr(value, "__name__"):
        return value.__name__  # a callable a case named by its PHP name
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return {"float": phprt.engine.values.format_float(value)}
    return value


def _php_class(exception: BaseException) -> str:
    return {"PhpError": "Error"}.get(type(exception).__name__, type(exception).__name__)


def _raise(exception: BaseException) -> Any:
    raise exception


class _Recorder:
    """``with __w: __w(call)``: records the call's value, or the class and message of the
    exception it threw (PHP's ``try { __r(call); } catch ...``), on the script's own line."""

    def __init__(self, results: list[dict[str, Any]]) -> None:
        self.results = results

    def __call__(self, value: Any) -> None:
        self.results.append({"value": _encode(value)})

    def __enter__(self) -> None:
        pass

    def __exit__(self, kind: Any, exception: BaseException | None, tb: Any) -> bool:
        if not isinstance(exception, Exception):
            return False
        self.results.append({"throw": _php_class(exception), "message": _encode(str(exception))})
        return True


def run_phprt(case: Case) -> dict[str, Any]:
    """Run the case through phprt on a MemoryTransport and observe it."""
    results: list[dict[str, Any]] = []

    def record(thunk: Any) -> None:  # the handler library's __r(lambda: ...)
        with recorder:
            recorder(thunk())

    recorder = _Recorder(results)
    stdout, stderr = io.BytesIO(), io.BytesIO()
    transport: MemoryTransport | CgiTransport
    if case.sapi == "cgi":
        transport = CgiTransport(stdout, stderr, environ=case.server)
    else:
        server = {**SERVER_DEFAULTS.get(case.sapi, {}), **case.server}
        transport = MemoryTransport(case.disconnect_after, server, lost_writes=LOST_WRITES.get(case.sapi, 0))
    ini_file = None
    if case.ini_file:
        with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as file:
            file.write(case.ini_file)
        ini_file = file.name
    try:
        runtime = Runtime(transport=transport, sapi=case.sapi, ini={**BASE_INI, **case.ini}, ini_file=ini_file)
    finally:
        if ini_file is not None:
            os.unlink(ini_file)
    namespace: dict[str, Any] = {
        "__name__": "phprt_conformance_case", "__r": record, "__w": recorder, "rt": runtime,
        "strtoupper": lambda s: s.translate(_ASCII_UPPER), "strlen": lambda s: len(s.encode("utf-8", "surrogateescape")),
        "php_str": lambda v: "" if v is False else str(v), "raise_": _raise,
        "stdClass": stdClass, "ErrorException": ErrorException, "Ref": Ref, "thread_time": time.thread_time,
        **{name: getattr(phprt, name) for name in _CONSTANTS},
    }
    code = compile(render_python(case), PYTHON_PATH, "exec")
    try:
        with runtime:
            exec(code, namespace)
    except (Exception, phprt.StartupFailed):  # reported by the Runtime as PHP reports it / no script ran
        pass
    status: int | None = runtime.exit_status
    if isinstance(transport, MemoryTransport):
        if case.sapi in ("cli-server", "fpm") and transport.head is not None:
            stdout.write(_DATE.sub(b"Date: %s\r", transport.head.block()))
        stdout.write(transport.body)
        stderr.write(transport.stderr)
        if case.sapi == "cli-server":
            status = None  # the server's process goes on
        elif case.sapi == "fpm":  # PHP-FPM's END_REQUEST says 0, if the client stayed to read it
            status = None if transport.client_gone else 0
    out, err = stdout.getvalue(), stderr.getvalue()
    if ini_file is not None:
        out, err = out.replace(ini_file.encode(), b"%i"), err.replace(ini_file.encode(), b"%i")
    return {
        "stdout": _text(out, PYTHON_PATH),
        "stderr": _text(err, PYTHON_PATH),
        "results": _without_path(results, PYTHON_PATH),
        "exit": status,
    }


_ASCII_UPPER = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}


# -- recordings -------------------------------------------------------------------------------


def recorded() -> dict[str, dict[str, Any]]:
    """Every recorded observation, by case id."""
    observations: dict[str, dict[str, Any]] = {}
    for path in sorted(RECORDED_DIR.glob("*.json")):
        observations.update(json.loads(path.read_text()).get("cases", {}))
    return observations


def php_version(php: str = "php") -> str:
    """The version of the PHP binary ``php`` (the CLI or php-cgi)."""
    banner = subprocess.run([php, "-n", "-v"], capture_output=True, text=True, check=True).stdout
    return banner.split()[1]
