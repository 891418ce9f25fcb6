"""PHP callables in Python: resolving, naming and calling them (CALL-*).

A port may pass what PHP accepts -- a function name as a string, "Class::method",
[object_or_class, "method"] -- or any Python callable. Names follow PHP:
"fn", "Class::method", "Class::__invoke", and "Closure::__invoke" for lambdas
and closures.
"""

from __future__ import annotations

from types import FunctionType, MethodType, ModuleType
from typing import Any, Callable, Mapping

from .timelimit import calls_script

__all__ = ["InvalidCallable", "PhpCallable", "closure_name", "resolve_callable"]

_CO_VARARGS = 0x04  # inspect.CO_VARARGS: inspect is imported only where a signature is read (PERF-IMPORT-1)
#: What makes inspect.signature() read a function other than by its code.
_SIGNED = frozenset({"__wrapped__", "__signature__"})
_MISSING = object()


class InvalidCallable(Exception):
    """A value PHP's zend_is_callable() rejects; the message is PHP's."""


class PhpCallable:
    """A resolved callable with its PHP name and how many arguments it takes."""

    __slots__ = ("function", "name", "_arity")

    def __init__(self, function: Callable[..., Any], name: str) -> None:
        self.function = function
        self.name = name
        self._arity: dict[int, int] = {}

    @calls_script
    def __call__(self, *args: Any) -> Any:
        """Call with PHP's arguments, dropping the trailing ones the callable cannot take.

        PHP passes every argument and a user function ignores the extra ones;
        a Python function would raise TypeError instead.
        """
        count = len(args)
        accepted = self._arity.get(count)
        if accepted is None:
            accepted = self._arity[count] = _accepted_positional(self.function, count)
        return self.function(*args[:accepted])

    def taking(self, count: int) -> Callable[..., Any]:
        """What to call with ``count`` arguments: the function itself where it takes them
        all (nothing to drop, PERF-CALL-2), else this callable. The caller then marks
        itself ``calls_script``, as ``__call__`` is."""
        accepted = self._arity.get(count)
        if accepted is None:
            accepted = self._arity[count] = _accepted_positional(self.function, count)
        return self.function if accepted == count else self


def _accepted_positional(function: Callable[..., Any], offered: int) -> int:
    # A plain Python function's positional parameters are its code's (PERF-CALL-1), and a
    # method bound to an object or class takes one fewer: the same answer inspect.signature()
    # gives, without building a Signature (PERF-OB-9).
    plain, bound = (function.__func__, 1) if type(function) is MethodType else (function, 0)
    if type(plain) is FunctionType and _SIGNED.isdisjoint(plain.__dict__):
        code = plain.__code__
        if code.co_flags & _CO_VARARGS:
            return offered
        taken = code.co_argcount - bound
        if taken >= 0:
            return taken if taken < offered else offered  # min(), without its argument parsing
    import inspect

    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return offered
    positional = 0
    for parameter in parameters:
        if parameter.kind is parameter.VAR_POSITIONAL:
            return offered
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            positional += 1
    return min(positional, offered)


def resolve_callable(value: Any, scope: Mapping[str, Any]) -> PhpCallable:
    """Resolve ``value`` as PHP resolves a callable; names are looked up in ``scope``.

    Raises InvalidCallable with zend_is_callable()'s message (CALL-RESOLVE-1).
    """
    if isinstance(value, str):
        return _resolve_string(value, scope)
    if isinstance(value, (list, tuple, dict)):
        return _resolve_array(value, scope)
    if callable(value) and not isinstance(value, type):
        return PhpCallable(value, callable_name(value))
    raise InvalidCallable("no array or string given")


def _resolve_string(value: str, scope: Mapping[str, Any]) -> PhpCallable:
    if "::" in value:
        class_name, _, method = value.partition("::")
        return _method_of(_class_named(class_name, scope), class_name, method)
    function = scope.get(value)
    if not callable(function) or isinstance(function, type):
        raise InvalidCallable(f'function "{value}" not found or invalid function name')
    return PhpCallable(function, value)


def _resolve_array(value: Any, scope: Mapping[str, Any]) -> PhpCallable:
    if len(value) != 2:
        raise InvalidCallable("array callback must have exactly two members")
    # PHP reads an array callback's members at indexes 0 and 1, whatever their order.
    if isinstance(value, dict) and not (0 in value and 1 in value):
        raise InvalidCallable("array callback has to contain indices 0 and 1")
    target, method = value[0], value[1]
    if isinstance(target, str):
        target = _class_named(target, scope)
    elif target is None or isinstance(target, (bool, int, float, bytes, list, tuple, dict)):
        raise InvalidCallable("first array member is not a valid class name or object")
    if not isinstance(method, str):
        raise InvalidCallable("second array member is not a valid method")
    cls = target if isinstance(target, type) else type(target)
    return _method_of(target, cls.__name__, method)


def _class_named(name: str, scope: Mapping[str, Any]) -> type:
    cls = scope.get(name)
    if not isinstance(cls, type):
        raise InvalidCallable(f'class "{name}" not found')
    return cls


def _method_of(owner: Any, class_name: str, method: str) -> PhpCallable:
    function = getattr(owner, method, None)
    if not callable(function):
        raise InvalidCallable(f'class {class_name} does not have a method "{method}"')
    if isinstance(owner, type) and isinstance(_static_attribute(owner, method), FunctionType):
        raise InvalidCallable(f"non-static method {class_name}::{method}() cannot be called statically")
    return PhpCallable(function, f"{class_name}::{method}")


def _static_attribute(owner: type, name: str) -> Any:
    # The attribute as the class's dicts hold it -- a staticmethod, or a plain function for a
    # method -- along its MRO, then its metaclass's, as inspect.getattr_static() finds it on a
    # class, without that function's generality (PERF-OB-9)
    metaclass: type = type(owner)
    for klass in owner.__mro__ + metaclass.__mro__:
        found = klass.__dict__.get(name, _MISSING)
        if found is not _MISSING:
            return found
    return None


def closure_name(callback: PhpCallable) -> str:
    """PHP 8.5's name of a closure, ``{closure:FILE:LINE}`` where it is defined, for a
    callable PHP 8.2 calls "Closure::__invoke"; other names stay (VER-CLOSURE-NAME-1)."""
    code = getattr(callback.function, "__code__", None)
    if callback.name != "Closure::__invoke" or code is None:
        return callback.name
    return f"{{closure:{code.co_filename}:{code.co_firstlineno}}}"


def callable_name(value: Callable[..., Any]) -> str:
    """The name PHP gives a callable (CALL-NAME-1)."""
    bound_to = getattr(value, "__self__", None)
    function = getattr(value, "__func__", value)
    qualname = getattr(function, "__qualname__", None)
    if qualname is None:
        # A callable object, or a functools.partial (PHP would have written a closure).
        if hasattr(value, "func"):
            return "Closure::__invoke"
        return f"{type(value).__name__}::__invoke"
    name = getattr(function, "__name__", qualname)
    if bound_to is not None and not isinstance(bound_to, ModuleType):
        owner = bound_to if isinstance(bound_to, type) else type(bound_to)
        return f"{owner.__name__}::{name}"
    if name == "<lambda>" or "<locals>" in qualname:
        return "Closure::__invoke"
    if "." in qualname:
        return "::".join(qualname.split(".")[-2:])
    return str(name)
