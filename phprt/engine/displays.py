"""A script's constant dict displays, made once (PERF-SCRIPT-2).

A dict display whose keys and values are all constants -- a ported script's lookup table or
configuration array, ``{"de": "Germany", "fr": "France", ...}`` -- comes out the same every time it
is evaluated, yet Python makes it entry by entry each time. PHP's opcache makes such an array once
and shares it, immutable, until a script writes to it. The cached code of a script file
(RT-SCRIPT-2) does the same: each such display of ``MIN_ENTRIES`` entries or more is made once, when
the file is compiled, and each evaluation takes a copy of it (``dict.copy()``: a new dict with the
same keys in the same order and the same values) -- what the display would have made. So is a
display one level deeper, of ``MIN_ENTRIES`` entries in all: a list of such dicts (records), a list
of lists of constants (rows), a dict whose values are such dicts -- each evaluation copying the
outer container and each inner one. A display that is the value of a class body's own statement
stays as written: it is what makes a class plain, to be kept by a lane (PERF-CLASS-1); and so does
an annotation, whose text a script may read.
"""

from __future__ import annotations

import _ast  # the parser's nodes alone (PERF-IMPORT-1)
import os
from functools import partial
from types import CodeType
from typing import Any, Callable

__all__ = ["CONSTANT_TYPES", "MIN_ENTRIES", "PLACEHOLDER", "Made", "constant", "made_once", "substituted"]

#: The fewest entries a display has for it to be made once: below, the copy saves nothing.
MIN_ENTRIES = 8

#: The types of the constants a display made once holds.
CONSTANT_TYPES = (int, float, complex, str, bytes, bool, type(None), type(Ellipsis))
#: What the compiled code holds where a display made once is, until ``substituted`` puts it there:
#: a string no script holds (its random part is this process's).
PLACEHOLDER = f"phprt.engine.displays {os.urandom(16).hex()}: a dict display made once, number "


def constant(node: _ast.expr | None) -> bool:
    """Whether ``node`` is the same immutable object each time: a literal, a signed number, or a
    tuple of them."""
    if isinstance(node, _ast.Constant):
        return isinstance(node.value, CONSTANT_TYPES)
    if isinstance(node, _ast.UnaryOp) and isinstance(node.op, (_ast.USub, _ast.UAdd)):
        return isinstance(node.operand, _ast.Constant) and isinstance(node.operand.value, (int, float, complex))
    if isinstance(node, _ast.Tuple):
        return all(constant(item) for item in node.elts)
    return False


def _value(node: _ast.expr) -> Any:
    # What a ``constant`` node, or a display ``_copier`` takes, evaluates to: a dict's entries
    # inserted in order, as the display inserts them.
    if isinstance(node, _ast.Constant):
        return node.value
    if isinstance(node, _ast.UnaryOp):
        operand = node.operand.value  # type: ignore[attr-defined]
        return -operand if isinstance(node.op, _ast.USub) else +operand
    if isinstance(node, _ast.Dict):
        return dict(zip(map(_value, node.keys), map(_value, node.values)))  # type: ignore[arg-type]
    if isinstance(node, _ast.List):
        return list(map(_value, node.elts))
    return tuple(map(_value, node.elts))  # type: ignore[attr-defined]


def _records(rows: list[dict[Any, Any]]) -> list[dict[Any, Any]]:
    return list(map(dict.copy, rows))


def _rows(rows: list[list[Any]]) -> list[list[Any]]:
    return list(map(list.copy, rows))


def _keyed(table: dict[Any, dict[Any, Any]]) -> dict[Any, dict[Any, Any]]:
    return dict(zip(table, map(dict.copy, table.values())))


class Made:
    """A display made once: ``copy()`` gives what evaluating the display gives. (The code holds
    this rather than the value: a code object's constants are hashed with it.)"""

    __slots__ = ("copy",)

    def __init__(self, value: Any, copier: Callable[[Any], Any]) -> None:
        self.copy = value.copy if copier is dict.copy else partial(copier, value)


#: The fields that hold annotations, which stay as written: under ``from __future__ import annotations``
#: their text is what the script reads.
_ANNOTATIONS = frozenset({"annotation", "returns"})


def _flat(node: _ast.AST) -> bool:
    # A dict display of constant keys and values (no ``**`` unpacking).
    return isinstance(node, _ast.Dict) and all(key is not None and constant(key) for key in node.keys) and \
        all(map(constant, node.values))


def _size(nodes: list[Any]) -> int:
    # How many entries or items the displays ``nodes`` hold in all.
    return sum(len(node.keys) if isinstance(node, _ast.Dict) else len(node.elts) for node in nodes)


def _copier(node: _ast.AST) -> Callable[[Any], Any] | None:
    """How each evaluation of the display ``node`` copies what it makes once, where it is one to
    make once (of MIN_ENTRIES entries or more in all); else None."""
    if isinstance(node, _ast.Dict):
        if not all(key is not None and constant(key) for key in node.keys):
            return None
        if all(map(constant, node.values)):
            return dict.copy if len(node.keys) >= MIN_ENTRIES else None
        if all(map(_flat, node.values)) and _size(node.values) >= MIN_ENTRIES:
            return _keyed
        return None
    if isinstance(node, _ast.List) and node.elts:
        if all(map(_flat, node.elts)) and _size(node.elts) >= MIN_ENTRIES:
            return _records
        if all(isinstance(item, _ast.List) and all(map(constant, item.elts)) for item in node.elts) and \
                _size(node.elts) >= MIN_ENTRIES:
            return _rows
    return None


def _copied(node: _ast.expr, number: int) -> _ast.Call:
    # ``<PLACEHOLDER number>.copy()``, at the display's place
    holder = _ast.Constant(value=f"{PLACEHOLDER}{number}")
    method = _ast.Attribute(value=holder, attr="copy", ctx=_ast.Load())
    call = _ast.Call(func=method, args=[], keywords=[])
    for made in (holder, method, call):
        made.lineno, made.col_offset = node.lineno, node.col_offset
        made.end_lineno, made.end_col_offset = node.end_lineno, node.end_col_offset
    return call


def made_once(tree: _ast.Module) -> dict[str, Made]:
    """Replace, in ``tree``, each display to make once (``_copier``) by a copy of what ``substituted``
    will put in the compiled code; what each placeholder stands for."""
    made: dict[str, Made] = {}

    def replaced(node: _ast.AST) -> _ast.AST:
        copier = _copier(node)
        if copier is None:
            pending.append(node)
            return node
        display: Any = node
        made[f"{PLACEHOLDER}{len(made)}"] = Made(_value(display), copier)
        return _copied(display, len(made) - 1)

    pending: list[_ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, _ast.ClassDef):  # its own statements' values stay as written (PERF-CLASS-1)
            fields = [*node.decorator_list, *node.bases, *node.keywords]
            pending += fields + [statement for statement in node.body
                                 if isinstance(statement, (_ast.FunctionDef, _ast.AsyncFunctionDef, _ast.ClassDef))]
            continue
        for field in node._fields:
            if field in _ANNOTATIONS:
                continue
            value = getattr(node, field, None)
            if isinstance(value, list):
                value[:] = [replaced(item) if isinstance(item, _ast.AST) else item for item in value]
            elif isinstance(value, _ast.AST):
                setattr(node, field, replaced(value))
    return made


def substituted(code: CodeType, made: dict[str, Made]) -> CodeType:
    """``code`` (and the code objects in it) with each placeholder ``made_once`` left replaced by
    what it stands for."""
    if not made:
        return code
    constants = tuple(made.get(item, item) if type(item) is str else
                      substituted(item, made) if type(item) is CodeType else item for item in code.co_consts)
    if all(new is old for new, old in zip(constants, code.co_consts)):
        return code
    return code.replace(co_consts=constants)
