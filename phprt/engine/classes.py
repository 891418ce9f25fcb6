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

A lane runs its own copy of the script's code (``LaneCode``, PERF-CLASS-2): each run of plain class
statements one after another is wrapped as ``if not LANE.bind(k): <the statements>``, where LANE is
the lane itself, so that a request whose classes are all kept binds them at once -- one call and a
dictionary update, as opcache binds a script's classes -- and the statements run only where one
is not kept yet.
"""

from __future__ import annotations
import __future__

import _ast
import builtins
import gc
import operator
import sys
import threading
import weakref
from collections.abc import Callable, Mapping
from types import CodeType, FunctionType
from typing import Any

__all__ = ["Lane", "LaneCode", "checkout", "lane_code", "plain_class_bodies"]

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


#: What a lane's code calls ``bind`` on: each lane's copy of the code has the lane there instead.
_LANE = "phprt.engine.classes: the lane that binds these classes"

#: A run of plain class statements: each one's name, class body and bases named by no earlier
#: statement of the run (their index and name); and whether a method of one is decorated.
_Statement = tuple[str, CodeType, tuple[tuple[int, str], ...]]
_Run = tuple[tuple[_Statement, ...], bool]


class LaneCode:
    """A script's code as its lanes run it (PERF-CLASS-2): ``code``, where each run of plain
    class statements reads ``if not LANE.bind(k): <the statements>``; ``plain``, its plain class
    bodies (as ``plain_class_bodies`` gives them); ``runs``, what each run binds."""

    __slots__ = ("code", "plain", "runs")

    def __init__(self, code: CodeType, plain: dict[CodeType, bool], runs: tuple[_Run, ...]) -> None:
        self.code, self.plain, self.runs = code, plain, runs


def lane_code(tree: _ast.Module, code: CodeType, path: str) -> LaneCode | None:
    """The code the lanes of the script run, ``tree`` compiled to ``code`` (PERF-CLASS-2); None
    where it has no plain class statement at its top."""
    if _LANE in code.co_consts:  # the script's own string: its lanes would read the lane there
        return None
    deferred = bool(code.co_flags & __future__.annotations.compiler_flag)
    body: list[_ast.stmt] = []
    runs: list[list[_ast.ClassDef]] = []
    statement: _ast.If | None = None  # the ``if`` of the run under way
    for node in tree.body:
        if not (isinstance(node, _ast.ClassDef) and _plain(node, deferred)):
            statement = None
            body.append(node)
            continue
        if statement is None:
            statement = _bound_or(len(runs), node)
            body.append(statement)
            runs.append([])
        statement.body.append(node)
        runs[-1].append(node)
    if not runs:
        return None
    lanes = compile(_ast.Module(body=body, type_ignores=tree.type_ignores), path, "exec", dont_inherit=True)
    plain = plain_class_bodies(tree, lanes)
    bodies = {(constant.co_name, constant.co_firstlineno): constant for constant in plain}
    made = []
    for run in runs:
        statements, bound = [], set()
        for node in run:
            outside = tuple((index, base.id) for index, base in enumerate(node.bases)
                            if isinstance(base, _ast.Name) and base.id not in bound)
            statements.append((node.name, bodies[node.name, node.lineno], outside))
            bound.add(node.name)
        made.append((tuple(statements), any(_decorated(node) for node in run)))
    return LaneCode(lanes, plain, tuple(made))


def _bound_or(index: int, first: _ast.ClassDef) -> _ast.If:
    # ``if not LANE.bind(index): ...``, at the place of the run's first statement
    lane, number = _ast.Constant(value=_LANE), _ast.Constant(value=index)
    method = _ast.Attribute(value=lane, attr="bind", ctx=_ast.Load())
    call = _ast.Call(func=method, args=[number], keywords=[])
    test = _ast.UnaryOp(op=_ast.Not(), operand=call)
    statement = _ast.If(test=test, body=[], orelse=[])
    for node in (lane, number, method, call, test, statement):
        node.lineno = node.end_lineno = first.lineno
        node.col_offset = node.end_col_offset = first.col_offset
    return statement


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

    __slots__ = ("namespace", "path", "source", "code", "plain", "bound", "kept", "undecorated", "by_class",
                 "functions", "spoiled", "watched", "states", "counts", "__weakref__")

    def __init__(self, path: str, source: LaneCode) -> None:
        self.namespace: dict[str, Any] = {}
        self.path, self.source, self.plain = path, source, source.plain
        #: the script's code as this lane runs it: LANE is this lane, by a weak reference (a code
        #: object is not the collector's to follow: a cycle through one would never be freed)
        this = weakref.proxy(self)
        self.code = source.code.replace(co_consts=tuple(
            this if type(constant) is str and constant == _LANE else constant for constant in source.code.co_consts))
        #: by run, once each of its classes is kept: the classes by name, the bases named outside
        #: the run with the ids they were made with, and whether a method is decorated
        self.bound: list[tuple[dict[str, type], tuple[tuple[str, int], ...], bool] | None] = [None] * len(source.runs)
        self.kept: dict[CodeType, _Kept] = {}  # by the class body's code
        self.undecorated: dict[CodeType, _Kept] = {}  # those whose body reads no decorator
        self.by_class: dict[int, _Kept] = {}  # the same, by the class's id
        self.functions = 0  # the kept classes' functions, each referring to the namespace
        self.spoiled = False  # something of this request may outlive it: the lane ends with it
        #: Once a request's end found every kept class as made and referred to as when it was
        #: made (``_Kept``): the classes, their dicts and functions, the classes' state then, and
        #: how often each was referred to then -- what the next ends compare at once (PERF-CLASS-2).
        self.watched: list[Any] = []
        self.states: list[tuple[Any, ...]] = []
        self.counts: list[int] | None = None

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
        self.counts = None  # another class to watch
        return cls

    def bind(self, run: int) -> bool:
        """Bind the kept classes of the ``run``-th run of plain class statements, as running
        them would, at once (PERF-CLASS-2). False -- and the statements run -- until each of
        them is kept, where a base named outside the run is not the one its class was made
        with, or where the script binds a decorator's name of its own."""
        bound = self.bound[run]
        if bound is None:
            bound = self._bound(run)
            if bound is None:
                return False
        classes, outside, decorated = bound
        namespace = self.namespace
        if decorated and not namespace.keys().isdisjoint(_DECORATORS):
            return False
        for name, made_with in outside:
            if id(namespace[name] if name in namespace else getattr(builtins, name, None)) != made_with:
                return False
        namespace.update(classes)
        return True

    def _bound(self, run: int) -> tuple[dict[str, type], tuple[tuple[str, int], ...], bool] | None:
        # What ``bind`` binds for the run, once each of its classes is kept.
        statements, decorated = self.source.runs[run]
        classes: dict[str, type] = {}
        outside = []
        for name, body, bases in statements:
            kept = self.kept.get(body)
            if kept is None:
                return None
            outside += [(base, kept.bases[index]) for index, base in bases]
            classes[name] = kept.cls
        for cls in classes.values():  # the dict refers to each: counted as the class's own (release)
            self.by_class[id(cls)].references += 1
        self.counts = None
        bound = self.bound[run] = (classes, tuple(outside), decorated)
        return bound

    def _counts(self) -> list[int]:
        # How often each watched object is referred to, taken the same way at every end.
        return list(map(sys.getrefcount, self.watched))

    def release(self) -> None:
        """The request has ended and its namespace is empty: the lane goes back to the
        script's idle lanes if nothing of the request outlived it, else it ends."""
        with _LOCK:
            _RUNNING.pop(id(self.namespace), None)
        if self.spoiled or self.namespace:
            return
        if self.counts is None or list(map(_state, self.watched[:len(self.states)])) != self.states \
                or self._counts() != self.counts:
            self.watched, self.states, self.counts = [], [], None  # as it was when the classes were made
            for kept in self.kept.values():  # restored first: what a request set on a class goes with it
                if not kept.restored() or kept.escaped():
                    return
            kept_classes = self.kept.values()
            self.states = [(kept.attributes, kept.name, kept.qualname, kept.type_bases) for kept in kept_classes]
            self.watched = [kept.cls for kept in kept_classes]
            self.watched += [kept.type_dict for kept in kept_classes] + [
                function for kept in kept_classes for function in kept.functions]
            self.counts = self._counts()
        # the namespace: this lane, the argument, and the kept classes' functions
        if sys.getrefcount(self.namespace) != 2 + self.functions:
            return
        global _idle_lanes
        with _LOCK:
            idle = _IDLE.get(self.path)
            if idle is not None and idle[0] is self.source and len(idle[1]) < MAX_IDLE and _idle_lanes < MAX_LANES:
                idle[1].append(self)
                _idle_lanes += 1


#: What a class statement made of a class, beside its references: its attributes, names and bases.
_state = operator.attrgetter("__dict__", "__name__", "__qualname__", "__bases__")


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
