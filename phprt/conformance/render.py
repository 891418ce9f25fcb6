"""A case rendered as a PHP script and as a Python script for phprt.

Both renderings put the handler library (library.py) and every call on the same line
numbers, so every "in FILE on line N" agrees. The PHP script writes each call's result
(its value, or the class and message of what it threw) as one JSON line to the file
named by the environment variable ``PHPRT_RECORD``; the Python one calls ``__w``.
"""

from __future__ import annotations

import ast
import copy
from typing import Any

import phprt

from .cases import Case
from .library import EXCEPTION_HANDLERS, LIBRARY

CONSTANTS = {name for name in phprt.__all__ if name.startswith(("PHP_", "E_", "CONNECTION_"))}
_OBJECT_FACTORIES = {"Str": "new Str", "stdClass": "new stdClass"}
_OPERATORS = {ast.BitOr: "|", ast.BitAnd: "&", ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


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
            return php_literal(node.value)
        if isinstance(node, ast.Name):
            if node.id in CONSTANTS:
                return node.id
            if node.id.startswith(("c_", "o_")):
                return "$" + node.id
            if node.id.startswith(("h_", "eh_", "hc_", "sd_", "ex_")):
                return php_literal(node.id)
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


def php_literal(value: Any) -> str:
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
    lines = [" ".join([_PHP_RECORDER] + [php for php, _ in EXCEPTION_HANDLERS])] + [php for php, _ in LIBRARY]
    lines += [_Renderer(line).php() if line.strip() else "" for line in case.calls]
    return "\n".join(lines) + "\n"


def render_python(case: Case) -> str:
    lines = ["# phprt conformance case"] + [py for _, py in LIBRARY]
    lines += [_Renderer(line).python() if line.strip() else "" for line in case.calls]
    return "\n".join(lines) + "\n"
