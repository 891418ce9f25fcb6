"""A served script's classes, made once and bound again by later requests, as opcache binds a
script's classes from shared memory (PERF-CLASS-1).

A class statement at the top of a script file whose class comes out the same every time
(``plain_class_bodies``: its body holds only methods and constants) is run once per *lane*: a
namespace that one request of the script uses at a time, kept with the classes made in it.
Each later request that takes the lane finds its classes made: the class statement binds the
kept class. The kept methods read the lane's namespace, which is that request's globals.

When the request ends (``Runtime.dispose()``, PERF-RELEASE-2) the namespace is emptied, each kept
class's attributes go back to what the class statement made (PHP's static properties are the
request's), and the lane is taken again only if nothing of the request outlived it: every kept
class, its dict, its methods' functions and the namespace are referred to exactly as often as
when the classes were made. An instance, a method, a class's ``__dict__``, a frame or a thread
the request left behind, or a class statement that made something else this time, ends the
lane: its namespace is never another request's.

Python runs a class statement through ``builtins.__build_class__``; the first lane replaces it
with ``_build_class``, which gives every other class statement to Python's own at the cost of
one dictionary lookup.
"""

from __future__ import annotations
import __future__

import _ast
import builtins
import gc
import sys
import threading
from collections.abc import Callable, Mapping
from types import CodeType, FunctionType
from typing import Any

__all__ = ["Lane", "checkout", "plain_class_bodies"]

_python_build_class = builtins.__build_class__
#: The lanes running a request now, by their namespace's id (a live namespace's id is its own).
_RUNNING: dict[int, Lane] = {}
#: The idle lanes of each script file, with the code they were made for.
_IDLE: dict[str, tuple[CodeType, list[Lane]]] = {}
_LOCK = threading.Lock()
#: Idle lanes kept per script (as many as ran it at once, up to this), and in all.
MAX_IDLE = 8
MAX_LANES = 256
_idle_lanes = 0

_CONSTANTS = (int, float, complex, str, bytes, bool, type(None), type(Ellipsis))
_DECORATORS = ("staticmethod", "classmethod")  # the decorators a plain method may have


def _constant(node: _ast.expr | None) -> bool:
    # A value that is the same immutable object each time: a literal, or a tuple of them.
    if isinstance(node, _ast.Constant):
        return isinstance(node.value, _CONSTANTS)
    if isinstance(node, _ast.UnaryOp) and isinstance(node.op, (_ast.USub, _ast.UAdd)):
        return isinstance(node.operand, _ast.Constant) and isinstance(node.operand.value, (int, float, complex))
    if isinstance(node, _ast.Tuple):
        return all(_constant(item) for item in node.elts)
    return False


def _plain_method(node: _ast.FunctionDef | _ast.AsyncFunctionDef, deferred: bool) -> bool:
    # No decorator but staticmethod or classmethod; constant defaults; no annotation, which
    # would be evaluated where the class is made -- unless ``deferred`` (``from __future__
    # import annotations``: they are strings).
    if len(node.decorator_list) > 1 or node.name in ("__init_subclass__", "__set_name__"):
        return False
    if not deferred and node.returns is not None:
        return False
    if node.decorator_list:
        decorator = node.decorator_list[0]
        if not (isinstance(decorator, _ast.Name) and decorator.id in _DECORATORS):
            return False
    arguments = node.args
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
    if not deferred and any(argument is not None and argument.annotation is not None for argument in every):
        return False
    return all(_constant(default) for default in arguments.defaults) and \
        all(default is None or _constant(default) for default in arguments.kw_defaults)


def _plain(node: _ast.ClassDef, deferred: bool) -> bool:
    if node.decorator_list or node.keywords or not all(isinstance(base, _ast.Name) for base in node.bases):
        return False
    for statement in node.body:
        if isinstance(statement, (_ast.FunctionDef, _ast.AsyncFunctionDef)):
            if not _plain_method(statement, deferred):
                return False
        elif isinstance(statement, _ast.Assign):
            if not (all(isinstance(target, _ast.Name) for target in statement.targets) and _constant(statement.value)):
                return False
        elif not (isinstance(statement, _ast.Pass) or (isinstance(statement, _ast.Expr) and _constant(statement.value))):
            return False
    return True


def plain_class_bodies(tree: _ast.Module, code: CodeType) -> dict[CodeType, bool]:
    """The body code of each class statement at the top of the module ``tree`` (compiled to
    ``code``) that makes the same class every time it runs: no decorator or keyword, bases
    named, and a body of methods (no decorator but ``staticmethod`` or ``classmethod``, constant
    defaults, no annotations, no ``__init_subclass__`` or ``__set_name__``), assignments of
    constants (numbers, strings, bytes, None, tuples of them), docstrings and ``pass``; each
    with whether a method of it is decorated (the body reads ``staticmethod`` or ``classmethod``)."""
    deferred = bool(code.co_flags & __future__.annotations.compiler_flag)
    lines = {(node.name, node.lineno): _decorated(node) for node in tree.body
             if isinstance(node, _ast.ClassDef) and _plain(node, deferred)}
    return {constant: lines[constant.co_name, constant.co_firstlineno] for constant in code.co_consts
            if isinstance(constant, CodeType) and (constant.co_name, constant.co_firstlineno) in lines}


def _decorated(node: _ast.ClassDef) -> bool:
    return any(isinstance(statement, (_ast.FunctionDef, _ast.AsyncFunctionDef)) and statement.decorator_list
               for statement in node.body)


class _Kept:
    """A class a lane made: what its statement gave it, and how often it is referred to."""

    __slots__ = ("cls", "bases", "attributes", "name", "qualname", "type_bases", "references", "functions",
                 "function_references", "type_dict", "type_dict_references")

    def __init__(self, cls: type, bases: tuple[type, ...], references: int, namespace: dict[str, Any]) -> None:
        self.cls = cls
        self.bases = tuple(map(id, bases))  # ids: the kept bases are the lane's, or object
        self.attributes = dict(cls.__dict__)
        # the objects a heap type gives for these until they are set: changed, they are others
        self.name, self.qualname, self.type_bases = cls.__name__, cls.__qualname__, cls.__bases__
        #: sys.getrefcount(cls) while nothing of a request refers to it: what the class is made
        #: of (its MRO, its descriptors, a ``__class__`` cell) and the subclasses the lane made
        self.references = references
        #: its methods' functions, which read the namespace, and how often each is referred to
        #: while nothing of a request refers to it (counted as ``escaped()`` counts them)
        self.functions = [function for function in map(_function_of, self.attributes.values())
                          if function is not None and function.__globals__ is namespace]
        self.function_references = [sys.getrefcount(function) for function in self.functions]
        #: the class's own dict, which a ``cls.__dict__`` proxy kept elsewhere would refer to
        self.type_dict: dict[str, Any] = next(
            (item for item in gc.get_referents(cls) if type(item) is dict and "__module__" in item), {})
        self.type_dict_references = sys.getrefcount(self.type_dict) if self.type_dict else -1  # none found: never kept

    def escaped(self) -> bool:
        """Whether something of a request still refers to the class, its dict or one of its functions."""
        return sys.getrefcount(self.cls) != self.references or \
            sys.getrefcount(self.type_dict) != self.type_dict_references or \
            [sys.getrefcount(function) for function in self.functions] != self.function_references

    def restored(self) -> bool:
        """The class as its statement made it, its attributes set back where a request
        changed them; False where that cannot be done."""
        cls, attributes = self.cls, self.attributes
        if cls.__name__ is not self.name or cls.__qualname__ is not self.qualname or cls.__bases__ is not self.type_bases:
            return False
        if cls.__dict__ == attributes:
            return True
        try:
            for name in [name for name in cls.__dict__ if name not in attributes]:
                delattr(cls, name)
            for name, value in attributes.items():
                if cls.__dict__.get(name, _restored) is not value:
                    setattr(cls, name, value)
        except (AttributeError, TypeError):
            return False
        return cls.__dict__ == attributes


_restored = object()


class Lane:
    """A namespace one request of a script uses at a time, and the classes made in it."""

    __slots__ = ("namespace", "path", "code", "plain", "kept", "undecorated", "by_class", "functions", "spoiled")

    def __init__(self, path: str, code: CodeType, plain: Mapping[CodeType, bool]) -> None:
        self.namespace: dict[str, Any] = {}
        self.path, self.code, self.plain = path, code, plain
        self.kept: dict[CodeType, _Kept] = {}  # by the class body's code
        self.undecorated: dict[CodeType, _Kept] = {}  # those whose body reads no decorator
        self.by_class: dict[int, _Kept] = {}  # the same, by the class's id
        self.functions = 0  # the kept classes' functions, each referring to the namespace
        self.spoiled = False  # something of this request may outlive it: the lane ends with it

    def build(self, body: FunctionType, name: str, bases: tuple[type, ...]) -> type:
        """The class a plain class statement makes: the kept one, or one made now and kept."""
        namespace = self.namespace
        if self.plain[body.__code__] and not namespace.keys().isdisjoint(_DECORATORS):
            self.spoiled = True  # the body would read the script's own: made as Python makes it
            return _python_build_class(body, name, *bases)  # type: ignore[no-any-return]
        kept = self.kept.get(body.__code__)
        if kept is not None:
            if kept.bases == (tuple(map(id, bases)) if bases else ()):
                return kept.cls
            self.spoiled = True  # another base than last time: made anew, and the lane ends
            return _python_build_class(body, name, *bases)  # type: ignore[no-any-return]
        if any(base is not object and id(base) not in self.by_class for base in bases):
            return _python_build_class(body, name, *bases)  # type: ignore[no-any-return]
        # Counted the same way before and after (a loop's own references to a base would count):
        # what the new class adds to its bases' references.
        before = [sys.getrefcount(base) for base in bases]
        cls: type = _python_build_class(body, name, *bases)
        after = [sys.getrefcount(base) for base in bases]
        references = sys.getrefcount(cls)
        for index in range(len(bases)):
            if bases[index] is not object:
                self.by_class[id(bases[index])].references += after[index] - before[index]
        kept = self.kept[body.__code__] = self.by_class[id(cls)] = _Kept(cls, bases, references, namespace)
        if not self.plain[body.__code__]:
            self.undecorated[body.__code__] = kept
        self.functions += len(kept.functions)
        return cls

    def release(self) -> None:
        """The request has ended and its namespace is empty: the lane goes back to the
        script's idle lanes if nothing of the request outlived it, else it ends."""
        with _LOCK:
            _RUNNING.pop(id(self.namespace), None)
        if self.spoiled or self.namespace:
            return
        for kept in self.kept.values():  # restored first: what a request set on a class goes with it
            if not kept.restored() or kept.escaped():
                return
        # the namespace: this lane, the argument, and the kept classes' functions
        if sys.getrefcount(self.namespace) != 2 + self.functions:
            return
        global _idle_lanes
        with _LOCK:
            idle = _IDLE.get(self.path)
            if idle is not None and idle[0] is self.code and len(idle[1]) < MAX_IDLE and _idle_lanes < MAX_LANES:
                idle[1].append(self)
                _idle_lanes += 1


def _function_of(value: object) -> FunctionType | None:
    # The function of a class attribute that is a method (plain, static or class), else None.
    function = getattr(value, "__func__", value)
    return function if isinstance(function, FunctionType) else None


def _build_class(body: Callable[..., Any], name: str, /, *bases: Any, **keywords: Any) -> Any:
    """``builtins.__build_class__`` once a lane is made: a plain class statement of a lane's
    script goes to the lane, every other one to Python's own."""
    lane = _RUNNING.get(id(getattr(body, "__globals__", None)))
    if lane is None or keywords:
        return _python_build_class(body, name, *bases, **keywords)
    code: Any = getattr(body, "__code__", None)
    if not bases:  # the kept class of a statement without bases or decorators: bound at once
        kept = lane.undecorated.get(code)
        if kept is not None and not kept.bases:
            return kept.cls
    if code not in lane.plain:
        return _python_build_class(body, name, *bases, **keywords)
    return lane.build(body, name, bases)  # type: ignore[arg-type]


def checkout(path: str, code: CodeType, plain: Mapping[CodeType, bool], template: Mapping[str, Any]) -> Lane:
    """A lane of the script ``path`` compiled to ``code`` for a request: an idle one, or a new
    one; its namespace filled from ``template``. ``Lane.release()`` ends its use."""
    global _idle_lanes
    with _LOCK:
        idle = _IDLE.get(path)
        if idle is None or idle[0] is not code:
            if idle is not None:
                _idle_lanes -= len(idle[1])
            idle = _IDLE[path] = (code, [])
        if idle[1]:
            lane = idle[1].pop()
            _idle_lanes -= 1
        else:
            lane = Lane(path, code, plain)
        _RUNNING[id(lane.namespace)] = lane
        if builtins.__build_class__ is not _build_class:
            builtins.__build_class__ = _build_class
    lane.namespace.update(template)
    return lane
