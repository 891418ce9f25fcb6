"""A served script's classes, made once and bound again by later requests, as opcache binds a
script's classes from shared memory (PERF-CLASS-1).

A class statement at the top of a script file whose class comes out the same every time
(``plain_class_bodies``: its body holds only methods and constants, and the names it reads --
its bases, its decorators, its annotations -- name the same objects) is run once per *lane*: a
namespace that one request of the script uses at a time, kept with the classes made in it.
Each later request that takes the lane finds its classes made: the class statement binds the
kept class, where the names it reads are bound to what they were when it was made. The kept
methods read the lane's namespace, which is that request's globals.

When the request ends (``Runtime.dispose()``, PERF-RELEASE-2) the namespace is emptied, each kept
class's attributes go back to what the class statement made (PHP's static properties are the
request's: its lists, dicts and sets as new copies, an Enum's members as made), and the lane is
taken again only if nothing of the request outlived it: every kept class, what of its making
leads to it or its functions (``_holders``: its dict, MRO, methods, descriptors, cells...) and
the namespace are referred to exactly as often as when the classes were made. An instance, a
method, a class's ``__dict__``, a frame or a thread the request left behind ends the lane: its
namespace is never another request's. A class the script makes as Python makes it, at each
request (a dataclass; a plain one whose names are bound to other objects this time), is watched
(``_Made``): once garbage, its functions' references to the namespace are expected until the
cycle collector frees it.

Python runs a class statement through ``builtins.__build_class__``; the first lane replaces it
with ``_build_class``, which gives every other class statement to Python's own at the cost of
one dictionary lookup.

A lane runs its own copy of the script's code (``LaneCode``, PERF-CLASS-2): each run of plain class
statements one after another is wrapped as ``if not LANE.bind(k): <the statements>``, where LANE is
the lane itself, so that a request whose classes are all kept binds them at once -- one call and a
dictionary update, as opcache binds a script's classes -- and the statements run only where one
is not kept yet.
"""

from __future__ import annotations
import __future__

import _ast
import abc
import builtins
import gc
import marshal
import operator
import sys
import threading
import weakref
from abc import ABCMeta, abstractmethod, get_cache_token
from collections.abc import Callable, Mapping
from enum import EnumType
from types import BuiltinFunctionType, CodeType, FunctionType, MethodDescriptorType, WrapperDescriptorType
from typing import Any

from .displays import CONSTANT_TYPES as _CONSTANTS
from .displays import Made, substituted
from .displays import constant as _constant

__all__ = ["Lane", "LaneCode", "checkout", "lane_code", "plain_class_bodies"]

#: What a class statement made of a class beside its attributes and references: its names and bases.
_names = operator.attrgetter("__name__", "__qualname__", "__bases__")


def _python_refcounts(objects: list[Any]) -> list[int]:
    """Each object's ``sys.getrefcount()``, passed from the list. The same as _speedups.refcounts()."""
    return list(map(sys.getrefcount, objects))


def _python_same_counts(objects: list[Any], counts: list[int]) -> bool:
    """Whether ``_refcounts(objects) == counts``. The same as _speedups.same_counts() for objects
    that are not ints (which the counts made here could refer to)."""
    return _python_refcounts(objects) == counts


def _python_same_dicts(dicts: list[dict[str, Any]], made: list[dict[str, Any]]) -> bool:
    """``dicts == made``. The same as _speedups.same_dicts()."""
    return dicts == made


def _python_same_names(classes: list[Any], names: list[tuple[str, str, tuple[type, ...]]]) -> bool:
    """Whether each of the first len(names) classes has the names and bases ``names`` holds for it.
    The same as _speedups.same_names()."""
    return list(map(_names, classes[:len(names)])) == names


def _python_as_made(copies: list[_SetBack]) -> bool:
    """Whether each of a lane's kept lists, dicts and sets is as made and its class's alone
    (``_as_made``): nothing for ``_set_back`` to do. The same as _speedups.as_made()."""
    return all(_as_made(kept.type_dict, name, made, dump, keys, nested) for kept, name, made, dump, keys, nested in copies)


_PYTHON_LOOPS = (_python_refcounts, _python_same_counts, _python_same_dicts, _python_same_names, _python_as_made)
try:  # the optional C fast path over every kept class at a request's end (PERF-CLASS-4)
    from ._speedups import VERSION as _C_VERSION
    from ._speedups import as_made as _all_as_made
    from ._speedups import refcounts as _refcounts
    from ._speedups import same_counts as _same_counts
    from ._speedups import same_dicts as _same_dicts
    from ._speedups import same_names as _same_names
    if _C_VERSION != 3:  # built from another _speedups.c
        _refcounts, _same_counts, _same_dicts, _same_names, _all_as_made = _PYTHON_LOOPS
except ImportError:  # not compiled: the Python loops, with the same results
    _refcounts, _same_counts, _same_dicts, _same_names, _all_as_made = _PYTHON_LOOPS

_python_build_class = builtins.__build_class__
#: The lanes running a request now, by their namespace's id (a live namespace's id is its own).
_RUNNING: dict[int, Lane] = {}
#: The idle lanes of each script file, with the code they were made for.
_IDLE: dict[str, tuple[LaneCode, list[Lane]]] = {}
_LOCK = threading.Lock()
#: Idle lanes kept per script (as many as ran it at once, up to this), and in all.
MAX_IDLE = 8
MAX_LANES = 256
_idle_lanes = 0

#: The decorators a plain method may have, and what each name must be bound to as its class is made.
_DECORATORS: dict[str, object] = {"staticmethod": staticmethod, "classmethod": classmethod, "property": property,
                                  "abstractmethod": abstractmethod}
_ACCESSORS = ("setter", "getter", "deleter")  # ``@name.setter``, of a property the body made before
#: The class decorator a plain class statement may have: ``dataclasses.dataclass``, by its module and
#: name (phprt does not import it: a script that uses it has), with these options, each a constant
#: (not ``slots``, which makes another class).
_DATACLASS = ("dataclasses", "dataclass")
_DATACLASS_OPTIONS = ("init", "repr", "eq", "order", "unsafe_hash", "frozen", "match_args", "kw_only")
#: The metaclasses of the classes a module defines that a plain class may have for a base (PERF-CLASS-3):
#: an Enum's members are made with it, and kept with it.
_METACLASSES = (type, ABCMeta, EnumType)

#: The names a plain class statement reads, in order: each with the object it must be bound to
#: (a decorator's; a module's attribute by module and name), or None for whatever it is bound to
#: when the class is made.
_Reads = tuple[tuple[str, object | None], ...]


def _display(node: _ast.expr) -> bool:
    # A constant, or a list, dict or set display of them: a new object of the same value each time.
    if isinstance(node, (_ast.List, _ast.Set)):
        return all(_display(item) for item in node.elts)
    if isinstance(node, _ast.Dict):
        return all(key is not None and _constant(key) for key in node.keys) and all(map(_display, node.values))
    return _constant(node)


_COPIED = (list, dict, set)  # a display's values: a class's own, copied to be compared and set back


def _fresh(value: Any) -> Any:
    # A list, dict or set of constants made again, as its display makes it; anything else as it is.
    kind = type(value)
    if kind is list:
        return [_fresh(item) for item in value]
    if kind is dict:
        return {key: _fresh(item) for key, item in value.items()}
    return set(value) if kind is set else value


def _dumped(value: Any) -> bytes | None:
    # A display's value as marshal writes it (format 2: no references, floats as their bytes): the
    # same bytes for the same types, items and order -- ``[True]`` is not ``[1]``, nor ``-0.0``
    # ``0.0`` -- where ``==`` would not tell them apart; None for what marshal cannot write (a class).
    try:
        return marshal.dumps(value, 2)
    except ValueError:
        return None


#: A kept class's list, dict or set as made: its name, the value made, and either marshal's bytes
#: of it (``_dumped``) or, where there are none (``__annotations__``: classes, equal to themselves
#: alone), a dict's keys in order (else None); and whether it holds lists, dicts or sets itself.
_Copy = tuple[str, Any, bytes | None, list[Any] | None, bool]
#: The same in a lane's list, after the class it belongs to. (Not the class's dict: a holder, whose
#: references are counted before the lane takes the class.)
_SetBack = tuple["_Kept", str, Any, bytes | None, list[Any] | None, bool]


def _annotation_names(node: _ast.expr) -> list[str] | None:
    # The names an annotation reads, where it is made of names, constants, attributes, subscripts,
    # ``|`` and tuples or lists of them (``int``, ``list[Item]``, ``str | None``, ``typing.Any``):
    # the same value wherever those names are bound to the same objects; else None.
    if isinstance(node, _ast.Constant):
        return []
    if isinstance(node, _ast.Name):
        return [node.id]
    if isinstance(node, _ast.Attribute):
        return _annotation_names(node.value)
    parts: list[_ast.expr]
    if isinstance(node, _ast.Subscript):
        parts = [node.value, node.slice]
    elif isinstance(node, _ast.BinOp) and isinstance(node.op, _ast.BitOr):
        parts = [node.left, node.right]
    elif isinstance(node, (_ast.Tuple, _ast.List)):
        parts = node.elts
    else:
        return None
    names: list[str] = []
    for part in parts:
        read = _annotation_names(part)
        if read is None:
            return None
        names += read
    return names


def _dataclass(decorators: list[_ast.expr]) -> bool:
    # Whether a class statement's decorators are ``@dataclass``, or ``@dataclass(...)`` of constant options.
    if len(decorators) != 1:
        return False
    decorator = decorators[0]
    if isinstance(decorator, _ast.Call):
        if decorator.args or not all(keyword.arg in _DATACLASS_OPTIONS and _constant(keyword.value)
                                     for keyword in decorator.keywords):
            return False
        decorator = decorator.func
    return isinstance(decorator, _ast.Name) and decorator.id == "dataclass"


def _method_reads(node: _ast.FunctionDef | _ast.AsyncFunctionDef, properties: set[str]) -> tuple[list[str], list[_ast.expr]] | None:
    # A plain method's decorator name (none, or one of _DECORATORS; ``@p.setter`` of a property
    # ``p`` made before reads none) and its annotations; None for a method that is not plain: another
    # decorator, a default that is not a constant, ``__init_subclass__`` or ``__set_name__``.
    if len(node.decorator_list) > 1 or node.name in ("__init_subclass__", "__set_name__") or \
            getattr(node, "type_params", None):  # ``def f[T](...)`` (3.12): its annotations read T from its own scope
        return None
    decorators: list[str] = []
    for decorator in node.decorator_list:
        if isinstance(decorator, _ast.Name) and decorator.id in _DECORATORS:
            decorators.append(decorator.id)
        elif not (isinstance(decorator, _ast.Attribute) and decorator.attr in _ACCESSORS
                  and isinstance(decorator.value, _ast.Name) and decorator.value.id in properties):
            return None
    arguments = node.args
    if not (all(_constant(default) for default in arguments.defaults)
            and all(default is None or _constant(default) for default in arguments.kw_defaults)):
        return None
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
    annotations = [argument.annotation for argument in every if argument is not None and argument.annotation is not None]
    if node.returns is not None:
        annotations.append(node.returns)
    return decorators, annotations


def _reads(node: _ast.ClassDef, deferred: bool) -> _Reads | None:
    """The names the class statement ``node`` reads, where it makes the same class every time
    those names are bound to the same objects; else None. Under ``from __future__ import
    annotations`` (``deferred``) annotations are strings and read nothing."""
    if node.keywords or not all(isinstance(base, _ast.Name) for base in node.bases) or \
            getattr(node, "type_params", None):  # ``class Box[T]:`` (3.12): its body is a function's, not the module's
        return None
    reads: dict[str, object | None] = {base.id: None for base in node.bases}  # type: ignore[attr-defined]
    if node.decorator_list:
        if not _dataclass(node.decorator_list):
            return None
        reads["dataclass"] = _DATACLASS
    local: set[str] = set()  # the names the body binds: what a name it reads would find first
    properties: set[str] = set()
    annotations: list[_ast.expr] = []
    for statement in node.body:
        if isinstance(statement, (_ast.FunctionDef, _ast.AsyncFunctionDef)):
            method = _method_reads(statement, properties)
            if method is None:
                return None
            decorators, read = method
            for decorator in decorators:
                if decorator in local:
                    return None
                reads[decorator] = _DECORATORS[decorator]
            if decorators == ["property"]:
                properties.add(statement.name)
            annotations += read
            local.add(statement.name)
        elif isinstance(statement, _ast.Assign):
            if not (all(isinstance(target, _ast.Name) for target in statement.targets) and _display(statement.value)):
                return None
            local.update(target.id for target in statement.targets)  # type: ignore[attr-defined]
        elif isinstance(statement, _ast.AnnAssign):  # ``count: int = 0``
            if not (isinstance(statement.target, _ast.Name) and (statement.value is None or _display(statement.value))):
                return None
            annotations.append(statement.annotation)
            local.add(statement.target.id)
        elif not (isinstance(statement, _ast.Pass) or (isinstance(statement, _ast.Expr) and _constant(statement.value))):
            return None
    if not deferred:
        for annotation in annotations:
            names = _annotation_names(annotation)
            if names is None or not local.isdisjoint(names):
                return None
            for name in names:
                reads.setdefault(name, None)
    return tuple(reads.items())


def _first_line(node: _ast.ClassDef) -> int:
    # The line a class statement's body code starts on: its first decorator's, else its own.
    return node.decorator_list[0].lineno if node.decorator_list else node.lineno


def plain_class_bodies(tree: _ast.Module, code: CodeType) -> dict[CodeType, _Reads]:
    """The body code of each class statement at the top of the module ``tree`` (compiled to
    ``code``) that makes the same class every time it runs where the names it reads are bound
    to the same objects: no decorator or keyword, bases named, and a body of methods (no
    decorator but ``staticmethod``, ``classmethod``, ``property`` and its accessors, and
    ``abstractmethod``; constant defaults; no ``__init_subclass__`` or ``__set_name__``),
    assignments of constants (numbers, strings, bytes, None, tuples of them), annotated or not,
    docstrings and ``pass``, its annotations made of names, constants, attributes, subscripts and
    ``|``; each with the names it reads (``_reads``)."""
    deferred = bool(code.co_flags & __future__.annotations.compiler_flag)
    lines = {(node.name, _first_line(node)): reads for node in tree.body
             if isinstance(node, _ast.ClassDef) and (reads := _reads(node, deferred)) is not None}
    return {constant: lines[constant.co_name, constant.co_firstlineno] for constant in code.co_consts
            if isinstance(constant, CodeType) and (constant.co_name, constant.co_firstlineno) in lines}


#: What a lane's code calls ``bind`` on: each lane's copy of the code has the lane there instead.
_LANE = "phprt.engine.classes: the lane that binds these classes"

#: A run of plain class statements: each one's name, class body and the names it reads that no
#: earlier statement of the run binds (each with its index among the names the statement reads).
_Statement = tuple[str, CodeType, tuple[tuple[int, str], ...]]
_Run = tuple[_Statement, ...]


class LaneCode:
    """A script's code as its lanes run it (PERF-CLASS-2): ``code``, where each run of plain
    class statements reads ``if not LANE.bind(k): <the statements>``; ``plain``, its plain class
    bodies (as ``plain_class_bodies`` gives them); ``runs``, what each run binds."""

    __slots__ = ("code", "plain", "runs")

    def __init__(self, code: CodeType, plain: dict[CodeType, _Reads], runs: tuple[_Run, ...]) -> None:
        self.code, self.plain, self.runs = code, plain, runs


def lane_code(tree: _ast.Module, code: CodeType, path: str, copied: dict[str, Made]) -> LaneCode | None:
    """The code the lanes of the script run, ``tree`` compiled to ``code`` (PERF-CLASS-2); None
    where it has no plain class statement at its top. ``copied``: the dict displays made once that
    ``tree`` copies (PERF-SCRIPT-2)."""
    if _LANE in code.co_consts:  # the script's own string: its lanes would read the lane there
        return None
    deferred = bool(code.co_flags & __future__.annotations.compiler_flag)
    body: list[_ast.stmt] = []
    runs: list[list[_ast.ClassDef]] = []
    statement: _ast.If | None = None  # the ``if`` of the run under way
    for node in tree.body:
        if not (isinstance(node, _ast.ClassDef) and _reads(node, deferred) is not None):
            statement = None
            body.append(node)
            continue
        if statement is None:
            statement = _bound_or(len(runs), node)
            body.append(statement)
            runs.append([])
        statement.body.append(node)
        if node.decorator_list:  # what the decorator made of the class is the class as made
            statement.body.append(_settled(len(runs) - 1, len(runs[-1]), node))
        runs[-1].append(node)
    if not runs:
        return None
    lanes = substituted(compile(_ast.Module(body=body, type_ignores=tree.type_ignores), path, "exec", dont_inherit=True),
                        copied)
    plain = plain_class_bodies(tree, lanes)
    bodies = {(constant.co_name, constant.co_firstlineno): constant for constant in plain}
    made = []
    for run in runs:
        statements, bound = [], set()
        for node in run:
            body_code = bodies[node.name, _first_line(node)]
            outside = tuple((index, name) for index, (name, _) in enumerate(plain[body_code]) if name not in bound)
            statements.append((node.name, body_code, outside))
            bound.add(node.name)
        made.append(tuple(statements))
    return LaneCode(lanes, plain, tuple(made))


def _lane_call(method: str, numbers: tuple[int, ...], at: _ast.ClassDef) -> _ast.Call:
    # ``LANE.method(*numbers)``, at the place of the statement ``at``
    lane = _ast.Constant(value=_LANE)
    attribute = _ast.Attribute(value=lane, attr=method, ctx=_ast.Load())
    arguments: list[_ast.expr] = [_ast.Constant(value=number) for number in numbers]
    call = _ast.Call(func=attribute, args=arguments, keywords=[])
    for node in (lane, attribute, call, *arguments):
        node.lineno = node.end_lineno = at.lineno
        node.col_offset = node.end_col_offset = at.col_offset
    return call


def _settled(run: int, index: int, statement: _ast.ClassDef) -> _ast.Expr:
    # ``LANE.settle(run, index)``, after the decorated ``index``-th statement of the ``run``-th run
    expression = _ast.Expr(value=_lane_call("settle", (run, index), statement))
    expression.lineno = expression.end_lineno = statement.lineno
    expression.col_offset = expression.end_col_offset = statement.col_offset
    return expression


def _bound_or(index: int, first: _ast.ClassDef) -> _ast.If:
    # ``if not LANE.bind(index): ...``, at the place of the run's first statement
    test = _ast.UnaryOp(op=_ast.Not(), operand=_lane_call("bind", (index,), first))
    statement = _ast.If(test=test, body=[], orelse=[])
    for node in (test, statement):
        node.lineno = node.end_lineno = first.lineno
        node.col_offset = node.end_col_offset = first.col_offset
    return statement


def _copies(attributes: dict[str, Any]) -> list[_Copy]:
    # The lists, dicts and sets among a class's ``attributes``, each replaced there by a copy of it as
    # made; no name here goes on referring to one of the class's own (its references are counted).
    copies = []
    for name in [name for name, value in attributes.items() if type(value) in _COPIED]:
        made = attributes[name] = _fresh(attributes[name])
        dump = _dumped(made)
        items = made.values() if type(made) is dict else made
        copies.append((name, made, dump, list(made) if dump is None and type(made) is dict else None,
                       any(type(item) in _COPIED for item in items)))
    return copies


_IMMUTABLE = (*_CONSTANTS, tuple, frozenset)  # a class attribute of these leads nowhere: a constant's
_FOREIGN = (BuiltinFunctionType, WrapperDescriptorType, MethodDescriptorType)  # nor of these: Python's own


def _holders(cls: type, type_dict: dict[str, Any], namespace: dict[str, Any]) -> list[Any]:
    # What of a class's making leads to the class or a function of it that reads ``namespace``, so that
    # a reference kept to it would let a later request call that function: its dict, its MRO and
    # bases, and its attributes but constants, their lists, dicts and sets, classes, builtins and
    # others' functions -- its functions, static and class methods, properties, descriptors,
    # ``__annotations__``, instances (an Enum's members) -- with each function's closure and cells
    # (``__class__``).
    holders: list[Any] = [type_dict, cls.__mro__]
    if cls.__bases__:
        holders.append(cls.__bases__)
    for value in type_dict.values():
        kind = type(value)
        if kind in _IMMUTABLE or kind in _FOREIGN or isinstance(value, type) or \
                kind in _COPIED and _dumped(value) is not None:
            continue
        functions = [function for function in _functions_of(value) if function.__globals__ is namespace]
        if kind is FunctionType and not functions:
            continue  # another module's function
        holders.append(value)
        if type(value) is cls:  # an Enum's member: its dict names the class
            holders.append(value.__dict__)
        for function in functions:
            if function is not value:
                holders.append(function)
            if function.__closure__:
                holders += [function.__closure__, *function.__closure__]
    return holders


class _Kept:
    """A class a lane made: what its statement gave it, and how often it is referred to."""

    __slots__ = ("cls", "reads", "attributes", "copies", "members", "name", "qualname", "type_bases", "references",
                 "functions", "holders", "holder_references", "type_dict")

    def __init__(self, cls: type, reads: tuple[int, ...], namespace: dict[str, Any]) -> None:
        self.cls = cls
        #: the ids of what the names its statement reads were bound to: objects the class refers
        #: to (its bases, decorators, annotations), which live as long as it does
        self.reads = reads
        self.attributes = dict(cls.__dict__)
        self.type_dict: dict[str, Any] = _type_dict(cls) or {}
        #: its lists, dicts and sets (a display's value, ``__annotations__``), as made: copies, which
        #: a request's end compares with the class's and sets back (``Lane.release``)
        self.copies = _copies(self.attributes)
        #: its instances in its own dict (an Enum's members), each with its attributes as made
        self.members = [(value.__dict__, dict(value.__dict__)) for value in self.attributes.values() if type(value) is cls]
        # the objects a heap type gives for these until they are set: changed, they are others
        self.name, self.qualname, self.type_bases = cls.__name__, cls.__qualname__, cls.__bases__
        #: sys.getrefcount(cls) while nothing of a request refers to it: what the class is made
        #: of (its MRO, its descriptors, a ``__class__`` cell, its members' ``__objclass__``), the
        #: subclasses the lane made, and this -- set by the lane once this is made
        self.references = 0
        #: its methods' functions, which read the namespace
        self.functions = [function for value in self.attributes.values() for function in _functions_of(value)
                          if function.__globals__ is namespace]
        #: what of its making leads to it or its functions (``_holders``), and how often each is
        #: referred to while nothing of a request refers to it (counted as ``escaped()`` counts them);
        #: with no dict of its own found, it is never taken again
        self.holders = _holders(cls, self.type_dict, namespace) if self.type_dict else []
        self.holder_references = list(map(sys.getrefcount, self.holders)) if self.type_dict else [-1]

    def escaped(self) -> bool:
        """Whether something of a request still refers to the class or what leads to it."""
        return sys.getrefcount(self.cls) != self.references or \
            list(map(sys.getrefcount, self.holders)) != self.holder_references

    def restored(self) -> bool:
        """The class as its statement made it, its attributes set back where a request
        changed them (its lists, dicts and sets are set back first, by ``Lane.release``); False
        where that cannot be done."""
        cls, attributes = self.cls, self.attributes
        if cls.__name__ is not self.name or cls.__qualname__ is not self.qualname or cls.__bases__ is not self.type_bases:
            return False
        for member, made in self.members:  # an Enum's member as made, in place
            if member != made or list(member) != list(made):
                member.clear()
                member.update(made)
        if cls.__dict__ == attributes:
            return True
        try:
            for name in [name for name in cls.__dict__ if name not in attributes]:
                delattr(cls, name)
            for name, value in attributes.items():
                if cls.__dict__.get(name, _restored) is not value and type(value) not in _COPIED:
                    setattr(cls, name, value)
        except (AttributeError, TypeError):
            return False
        return cls.__dict__ == attributes


_restored = object()


def _type_dict(cls: type) -> dict[str, Any] | None:
    # The class's own dict, which a ``cls.__dict__`` proxy kept elsewhere would refer to.
    return next((item for item in gc.get_referents(cls) if type(item) is dict and "__module__" in item), None)


class _Made:
    """A class a lane's script made as Python makes it, at each request, watched by a weak
    reference while it lives. Until the cycle collector frees it (a class refers to itself), its
    functions refer to the namespace; where, at the end of the request that made it, nothing else
    refers to it or to what of its making leads to it (``_holders``, as it was made: a decorator
    may add to it), none of them can be called -- it is garbage, and stays so -- and the namespace
    may serve the next request."""

    __slots__ = ("cls", "references", "functions", "holder_references")

    def __init__(self, cls: type, references: int, functions: int, namespace: dict[str, Any]) -> None:
        self.cls = weakref.ref(cls)
        self.references = references  # sys.getrefcount(cls) as it was made
        self.functions = functions  # how many of its functions read the namespace
        #: by holder, as made; None once the end of its request found it garbage
        self.holder_references: dict[int, int] | None = self._holder_references(cls, namespace)

    @staticmethod
    def _holder_references(cls: type, namespace: dict[str, Any]) -> dict[int, int]:
        # how often each holder is referred to, by its id (the holders live as long as the class)
        type_dict = _type_dict(cls)
        holders = [] if type_dict is None else _holders(cls, type_dict, namespace)
        return dict(zip(map(id, holders), map(sys.getrefcount, holders)))

    def lingering(self, namespace: dict[str, Any]) -> int | None:
        """How many references to ``namespace`` its functions hold while the class waits to be freed
        (none once it is); None where something else refers to the class or what leads to it."""
        cls = self.cls()
        if cls is None:
            return 0
        made = self.holder_references
        if made is not None:
            now = self._holder_references(cls, namespace)
            if sys.getrefcount(cls) != self.references or not made or \
                    any(now.get(holder) != references for holder, references in made.items()):
                return None
            self.holder_references = None
        return self.functions


class Lane:
    """A namespace one request of a script uses at a time, and the classes made in it."""

    __slots__ = ("namespace", "path", "source", "code", "plain", "bound", "kept", "unread", "by_class", "copies",
                 "made", "pending", "functions", "abc_token", "watched", "dicts", "attributes", "names", "counts", "__weakref__")

    def __init__(self, path: str, source: LaneCode) -> None:
        self.namespace: dict[str, Any] = {}
        self.path, self.source, self.plain = path, source, source.plain
        #: the script's code as this lane runs it: LANE is this lane, by a weak reference (a code
        #: object is not the collector's to follow: a cycle through one would never be freed)
        this = weakref.proxy(self)
        self.code = source.code.replace(co_consts=tuple(
            this if type(constant) is str and constant == _LANE else constant for constant in source.code.co_consts))
        #: by run, once each of its classes is kept: the classes by name, and the names read
        #: outside the run with the ids of what they were bound to when the classes were made
        self.bound: list[tuple[dict[str, type], tuple[tuple[str, int], ...]] | None] = [None] * len(source.runs)
        self.kept: dict[CodeType, _Kept] = {}  # by the class body's code
        self.unread: dict[CodeType, _Kept] = {}  # those whose statement reads no name: bound at once
        self.by_class: dict[int, _Kept] = {}  # the same, by the class's id
        #: their lists, dicts and sets (``_Kept.copies``), set back at each end
        self.copies: list[_SetBack] = []
        self.made: list[_Made] = []  # the script's other classes with functions, while they live
        #: decorated classes made, until their statement ends (``settle``): each with what it reads, and
        #: the kept classes with how often each was referred to after it was made
        self.pending: dict[CodeType, tuple[type, tuple[int, ...], list[type], list[int]]] = {}
        self.abc_token = get_cache_token()  # ABCMeta.register() calls, anywhere, change it
        self.functions = 0  # the kept classes' functions, each referring to the namespace
        #: Once a request's end found every kept class as made and referred to as when it was
        #: made (``_Kept``): the classes, their dicts and functions; the dicts, the attributes, names
        #: and bases as made; and how often each was referred to then -- what the next ends compare
        #: at once (PERF-CLASS-2).
        self.watched: list[Any] = []
        self.dicts: list[dict[str, Any]] = []
        self.attributes: list[dict[str, Any]] = []
        self.names: list[tuple[str, str, tuple[type, ...]]] = []
        self.counts: list[int] | None = None

    def build(self, body: FunctionType, name: str, bases: tuple[type, ...]) -> type | None:
        """The class a plain class statement makes: the kept one, where the names the statement
        reads are bound as they were when it was made; or one made now, and kept where each
        decorator's name is the decorator and each base the lane's or a module's; else None, for
        Python to make."""
        code = body.__code__
        reads = _found(self.namespace, self.plain[code])
        decorated = any(expected is _DATACLASS for _, expected in self.plain[code])
        kept = self.kept.get(code)
        if kept is not None:  # else made anew, and watched: another base, decorator or annotation than last
            # time, or a decorator that would run again on the kept class (``bind`` binds it as it left it)
            return kept.cls if kept.reads == reads and not decorated else None
        if reads is None or not all(base is object or id(base) in self.by_class or _importable(base) for base in bases):
            return None
        # What the new class adds to the kept classes' references -- as a base, an ancestor in its
        # MRO, in an annotation -- counted the same way before and after.
        kept_classes = [kept.cls for kept in self.kept.values()]
        before = list(map(sys.getrefcount, kept_classes))
        cls: type = _python_build_class(body, name, *bases)
        after = self._count_since(kept_classes, before)
        if decorated:  # kept once its decorator has made it what it is (``settle``)
            self.pending[code] = (cls, reads, kept_classes, after)
            return cls
        self._keep(code, cls, reads)
        return cls

    def _count_since(self, classes: list[type], before: list[int]) -> list[int]:
        # What was done since ``before`` was counted adds to the references of the kept ``classes``:
        # counted, as they were, by a list of them; the new counts.
        now = list(map(sys.getrefcount, classes))
        for cls, counted, counts in zip(classes, before, now):
            self.by_class[id(cls)].references += counts - counted
        return now

    def settle(self, run: int, index: int) -> None:
        """After the decorated ``index``-th class statement of the ``run``-th run: keep the class
        it made as its decorator left it, where the decorator gave the class back (``@dataclass``
        does), counting what it added to the kept classes' references."""
        name, code, _ = self.source.runs[run][index]
        pending = self.pending.pop(code, None)
        if pending is None:
            return
        cls, reads, kept_classes, counted = pending
        del pending
        if self.namespace.get(name) is not cls:
            return  # another class: it is the script's, made as Python makes it
        self._count_since(kept_classes, counted)
        self._keep(code, cls, reads, bound=1)

    def _keep(self, code: CodeType, cls: type, reads: tuple[int, ...], bound: int = 0) -> None:
        # Keep the class a plain class statement made; ``bound``: the names it is bound to now. What
        # is kept of it (an ``__annotations__`` naming kept classes, copied) refers to them too.
        kept_classes = [kept.cls for kept in self.kept.values()]
        before = list(map(sys.getrefcount, kept_classes))
        kept = _Kept(cls, reads, self.namespace)
        self._count_since(kept_classes, before)
        del kept_classes
        self.kept[code] = self.by_class[id(cls)] = kept
        kept.references = sys.getrefcount(cls) - 2 - bound  # as escaped() counts it: not this frame's name
        if not reads:
            self.unread[code] = kept
        self.copies += [(kept, *copy) for copy in kept.copies]
        self.functions += len(kept.functions)
        self.counts = None  # another class to watch

    def watch(self, cls: type, references: int) -> None:
        """Watch a class the script made as Python makes it (``references``: sys.getrefcount(cls)
        as it was made), where a function of it refers to the namespace."""
        namespace = self.namespace
        functions = sum(function.__globals__ is namespace for value in cls.__dict__.values()
                        for function in _functions_of(value))
        if functions:
            self.made.append(_Made(cls, references, functions, namespace))

    def bind(self, run: int) -> bool:
        """Bind the kept classes of the ``run``-th run of plain class statements, as running
        them would, at once (PERF-CLASS-2). False -- and the statements run -- until each of
        them is kept, or where a name they read outside the run is not bound to what it was
        when its class was made."""
        bound = self.bound[run]
        if bound is None:
            bound = self._bound(run)
            if bound is None:
                return False
        classes, outside = bound
        namespace = self.namespace
        for name, made_with in outside:
            if id(namespace[name] if name in namespace else getattr(builtins, name, _missing)) != made_with:
                return False
        namespace.update(classes)
        return True

    def _bound(self, run: int) -> tuple[dict[str, type], tuple[tuple[str, int], ...]] | None:
        # What ``bind`` binds for the run, once each of its classes is kept.
        classes: dict[str, type] = {}
        outside: dict[str, int] = {}  # each name once: statements of a run bind none but their classes
        for name, body, reads in self.source.runs[run]:
            kept = self.kept.get(body)
            if kept is None:
                return None
            outside.update((read, kept.reads[index]) for index, read in reads)
            classes[name] = kept.cls
        for cls in classes.values():  # the dict refers to each: counted as the class's own (release)
            self.by_class[id(cls)].references += 1
        self.counts = None
        bound = self.bound[run] = (classes, tuple(outside.items()))
        return bound

    def _counts(self) -> list[int]:
        # How often each watched object is referred to, taken the same way at every end.
        return _refcounts(self.watched)

    def release(self) -> None:
        """The request has ended and its namespace is empty: the lane goes back to the
        script's idle lanes if nothing of the request outlived it, else it ends."""
        with _LOCK:
            _RUNNING.pop(id(self.namespace), None)
        if self.namespace:
            return
        if not _all_as_made(self.copies) and not _set_back(self.copies):
            return
        token = get_cache_token()
        if token != self.abc_token:  # a class made some class its virtual subclass: not one of these
            if any(type(kept.cls) is ABCMeta and _registered(kept.cls) for kept in self.kept.values()):
                return
            self.abc_token = token
        if self.counts is None or not _same_dicts(self.dicts, self.attributes) \
                or not _same_names(self.watched, self.names) or not _same_counts(self.watched, self.counts):
            self.watched, self.dicts, self.attributes, self.names, self.counts = [], [], [], [], None
            for kept in self.kept.values():  # restored first: what a request set on a class goes with it
                if not kept.restored() or kept.escaped():
                    return
            kept_classes = self.kept.values()  # as they were when they were made
            self.dicts = [kept.type_dict for kept in kept_classes] + [
                member for kept in kept_classes for member, _ in kept.members]
            self.attributes = [kept.attributes for kept in kept_classes] + [
                made for kept in kept_classes for _, made in kept.members]
            self.names = [(kept.name, kept.qualname, kept.type_bases) for kept in kept_classes]
            self.watched = [kept.cls for kept in kept_classes] + [
                holder for kept in kept_classes for holder in kept.holders]
            self.counts = self._counts()
        # the namespace: this lane, the argument, the kept classes' functions and those of the
        # script's other classes that wait for the cycle collector
        lingering = 0
        if self.made:
            self.made = [made for made in self.made if made.cls() is not None]
            for made in self.made:
                functions = made.lingering(self.namespace)
                if functions is None:
                    return
                lingering += functions
        if sys.getrefcount(self.namespace) != 2 + self.functions + lingering:
            return
        global _idle_lanes
        with _LOCK:
            idle = _IDLE.get(self.path)
            if idle is not None and idle[0] is self.source and len(idle[1]) < MAX_IDLE and _idle_lanes < MAX_LANES:
                idle[1].append(self)
                _idle_lanes += 1


def _as_made(type_dict: dict[str, Any], name: str, made: Any, dump: bytes | None, keys: list[Any] | None,
             nested: bool) -> bool:
    # Whether a kept class's list, dict or set ``name`` in its ``type_dict`` is as made and the class's
    # alone (no one else may change the next request's): a dict marshal cannot write (``__annotations__``,
    # a holder, whose references are counted) equal, keys in order; another, with no lists, dicts or sets
    # inside that might be another's, referred to by the class alone and marshal's bytes of it the same
    # (counted: the class's reference, this name's, the argument's); empty as made: no bytes to compare.
    value = type_dict.get(name, _restored)
    if dump is None and type(value) is dict:
        return value == made and list(value) == keys
    return dump is not None and not nested and sys.getrefcount(value) == 3 and (
        _dumped(value) == dump if made else value.__class__ is made.__class__ and not value)


def _set_back(copies: list[_SetBack]) -> bool:
    # Each kept class's list, dict and set as made (``_as_made``): else a new copy, or a dict set back in
    # place (a holder). False where one cannot be set.
    for kept, name, made, dump, keys, nested in copies:
        if _as_made(kept.type_dict, name, made, dump, keys, nested):
            continue
        value = kept.type_dict.get(name, _restored)
        if dump is None and type(value) is dict:
            value.clear()
            value.update(made)
            continue
        try:
            setattr(kept.cls, name, _fresh(made))
        except (AttributeError, TypeError):
            return False
    return True


def _functions_of(value: object) -> list[FunctionType]:
    # The functions of a class attribute: a method's (plain, static or class), a property's accessors.
    if type(value) is property:
        return [function for function in (value.fget, value.fset, value.fdel) if type(function) is FunctionType]
    function = getattr(value, "__func__", value)
    return [function] if isinstance(function, FunctionType) else []


_missing = object()  # a name bound nowhere


def _found(namespace: dict[str, Any], reads: _Reads) -> tuple[int, ...] | None:
    # The ids of what the names a class statement reads are bound to, as its body finds them (the
    # script's globals, then the builtins); None where a decorator's name is not the decorator.
    found = []
    for name, expected in reads:
        value = namespace[name] if name in namespace else getattr(builtins, name, _missing)
        if expected.__class__ is tuple:  # a module's attribute (``_DATACLASS``): the module is the script's import
            expected = getattr(sys.modules.get(expected[0]), expected[1], _missing)
        if expected is not None and value is not expected:
            return None
        found.append(id(value))
    return tuple(found)


def _importable(cls: type) -> bool:
    # A class a module defines (``Exception``, ``abc.ABC``, an application's base class): the same
    # object at every request, as the module is imported once -- of a metaclass that makes the
    # same class every time, with no ``__init_subclass__`` of its own, which a subclass made once
    # would call once (PERF-CLASS-3).
    module = sys.modules.get(cls.__module__)
    found: Any = module
    for part in cls.__qualname__.split("."):
        found = getattr(found, part, None)
    return found is cls and type(cls) in _METACLASSES and \
        all("__init_subclass__" not in vars(base) for base in cls.__mro__[:-1])


#: C's ``_abc`` keeps an ABC's registry in ``_abc_impl``; abc._get_dump() gives it (``_py_abc`` has none).
_abc_dump = getattr(abc, "_get_dump", None)


def _registered(cls: type) -> bool:
    # Whether ``cls.register()`` made a class its virtual subclass: an ABC's registry, which is not
    # in its dict -- in ``_abc_impl``, or Python's ``_py_abc``'s ``_abc_registry``.
    return bool(_abc_dump(cls)[0] if _abc_dump is not None else getattr(cls, "_abc_registry", None))


def _build_class(body: Callable[..., Any], name: str, /, *bases: Any, **keywords: Any) -> Any:
    """``builtins.__build_class__`` once a lane is made: a plain class statement of a lane's
    script goes to the lane, every other one to Python's own."""
    lane = _RUNNING.get(id(getattr(body, "__globals__", None)))
    if lane is None:
        return _python_build_class(body, name, *bases, **keywords)
    code: Any = getattr(body, "__code__", None)
    kept = lane.unread.get(code)
    if kept is not None:  # the kept class of a statement that reads no name: bound at once
        return kept.cls
    if code in lane.plain and not keywords:
        kept_class = lane.build(body, name, bases)  # type: ignore[arg-type]
        if kept_class is not None:
            return kept_class
    cls = _python_build_class(body, name, *bases, **keywords)
    references = sys.getrefcount(cls)  # counted as Lane.release counts it: a name and the argument
    lane.watch(cls, references)
    return cls


def checkout(path: str, source: LaneCode, template: Mapping[str, Any]) -> Lane:
    """A lane of the script ``path``, whose lanes run ``source``, for a request: an idle one, or a
    new one; its namespace filled from ``template``. ``Lane.release()`` ends its use."""
    global _idle_lanes
    with _LOCK:
        idle = _IDLE.get(path)
        if idle is None or idle[0] is not source:
            if idle is not None:
                _idle_lanes -= len(idle[1])
            idle = _IDLE[path] = (source, [])
        if idle[1]:
            lane = idle[1].pop()
            _idle_lanes -= 1
        else:
            lane = Lane(path, source)
        _RUNNING[id(lane.namespace)] = lane
        if builtins.__build_class__ is not _build_class:
            builtins.__build_class__ = _build_class
    lane.namespace.update(template)
    return lane
