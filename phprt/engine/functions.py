"""The registry of PHP's functions a Runtime provides (RT-REGISTRY-1).

Each concern marks its PHP functions with ``@php_function``; the registry
``FUNCTIONS`` maps each PHP name to its implementation (a Runtime method), its
arity, the SAPIs and PHP versions that have it. ``phprt.php`` binds every
registered name, ``function_exists()`` answers from it, and spec/functions.md is
generated from it (engine/reference.py).
"""

from __future__ import annotations

import re
from types import FunctionType
from typing import Any, Callable, Iterator, TypeVar, overload

from .base import RuntimeBase, caller_scope
from .errors import UndefinedFunction
from .records import record

__all__ = ["FUNCTIONS", "FunctionRegistry", "PhpFunction", "RegistryFunctions", "php_function", "require"]

_F = TypeVar("_F", bound=Callable[..., Any])
_CO_VARARGS, _CO_VARKEYWORDS = 0x04, 0x08  # inspect's CO_VARARGS and CO_VARKEYWORDS, without importing it
_CLAUSE = re.compile(r"\b[A-Z]{2,}(?:-[A-Z0-9]+)*-(?:\d+|\*)")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


@record(frozen=True)
class PhpFunction:
    """One PHP function: ``name`` (PHP's, lower case), the Runtime ``method``
    implementing it, its arity (``max_args`` None: variadic), whether it is a
    language construct (``echo``, ``exit``: no function to function_exists()) and
    from which version it is a function all the same (``exit`` from 8.4, VER-EXIT-1),
    the SAPIs that have it (php_sapi_name(); None: all), a test of phprt's own
    where the SAPI alone does not decide (``available``), the PHP versions that
    have it (``since``/``until``, inclusive; None: no bound) and the clauses its
    docstring cites."""

    name: str
    method: str
    function: Callable[..., Any]
    min_args: int
    max_args: int | None
    construct: bool = False
    function_from: str | None = None
    sapi: tuple[str, ...] | None = None
    available: Callable[[Any], bool] | None = None
    since: str | None = None
    until: str | None = None
    clauses: tuple[str, ...] = ()

    def exists(self, runtime: RuntimeBase) -> bool:
        """Whether PHP has this function in ``runtime``'s request (LIFE-EXISTS-1)."""
        version = _version(runtime.php_version)
        if self.construct and (self.function_from is None or version < _version(self.function_from)):
            return False
        if self.since is not None and version < _version(self.since):
            return False
        if self.until is not None and version > _version(self.until):
            return False
        if self.available is not None:
            return self.available(runtime)
        return self.sapi is None or runtime.sapi.name in self.sapi

    @property
    def arity(self) -> str:
        """"2", "0-3", or "1+" for a variadic function."""
        if self.max_args is None:
            return f"{self.min_args}+"
        return str(self.min_args) if self.min_args == self.max_args else f"{self.min_args}-{self.max_args}"

    @property
    def where(self) -> str:
        """The module and qualified name of the implementation."""
        import inspect

        function = inspect.unwrap(self.function)
        return f"{function.__module__}.{function.__qualname__}"


class FunctionRegistry:
    """PHP's functions by name, in the order they were registered."""

    def __init__(self) -> None:
        self._functions: dict[str, PhpFunction] = {}

    def register(self, entry: PhpFunction) -> None:
        if entry.name in self._functions:
            raise ValueError(f"PHP function {entry.name}() is registered twice")
        self._functions[entry.name] = entry

    def get(self, name: str) -> PhpFunction | None:
        return self._functions.get(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._functions

    def __iter__(self) -> Iterator[PhpFunction]:
        return iter(self._functions.values())

    def __len__(self) -> int:
        return len(self._functions)


#: Every PHP function a Runtime provides (RT-REGISTRY-1).
FUNCTIONS = FunctionRegistry()


def _arity(function: Callable[..., Any]) -> tuple[int, int | None]:
    """The arity of the implementation's signature without ``self``: its positional-or-keyword
    parameters without a default, and all its parameters (None with ``*args``). Read from
    the code object where inspect.signature() would read nothing else (PERF-IMPORT-1),
    following ``__wrapped__`` as it does."""
    while type(function) is FunctionType and "__wrapped__" in function.__dict__ and "__signature__" not in function.__dict__:
        function = function.__dict__["__wrapped__"]
    if type(function) is not FunctionType or "__signature__" in function.__dict__:
        import inspect

        parameters = list(inspect.signature(function).parameters.values())[1:]
        required = sum(1 for p in parameters if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD)
        variadic = any(p.kind is p.VAR_POSITIONAL for p in parameters)
        return required, None if variadic else len(parameters)
    code = function.__code__
    if code.co_flags & _CO_VARARGS:
        return _required(function), None
    total = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & _CO_VARKEYWORDS)
    return _required(function), total - 1


def _required(function: FunctionType) -> int:
    # The positional-or-keyword parameters before the first default, ``self`` (the first) not counted.
    code = function.__code__
    first = max(code.co_posonlyargcount, 1)
    return max(0, code.co_argcount - len(function.__defaults__ or ()) - first)


def _entry(function: Callable[..., Any], name: str, **options: Any) -> PhpFunction:
    required, most = _arity(function)
    documented = function
    while "__wrapped__" in getattr(documented, "__dict__", {}):  # inspect.unwrap()
        documented = documented.__dict__["__wrapped__"]
    clauses = tuple(dict.fromkeys(_CLAUSE.findall(documented.__doc__ or "")))
    return PhpFunction(name, function.__name__, function, required, most, clauses=clauses, **options)


@overload
def php_function(function: _F, /) -> _F: ...
@overload
def php_function(*, aliases: tuple[str, ...] = (), construct: bool = False, function_from: str | None = None,
                 sapi: tuple[str, ...] | None = None,
                 available: Callable[[Any], bool] | None = None, since: str | None = None,
                 until: str | None = None) -> Callable[[_F], _F]: ...


def php_function(function: Any = None, /, *, aliases: tuple[str, ...] = (), **options: Any) -> Any:
    """Register a Runtime method as the PHP function of its name (and of each
    name in ``aliases``, PHP's aliases such as ``die`` for ``exit``) in
    ``FUNCTIONS`` (RT-REGISTRY-1). Options: see ``PhpFunction``."""

    def register(function: _F) -> _F:
        for name in (function.__name__, *aliases):
            FUNCTIONS.register(_entry(function, name, **options))
        return function

    return register if function is None else register(function)


def require(runtime: RuntimeBase, name: str) -> None:
    """PHP's Error "Call to undefined function" for a function the request's PHP does not
    have -- its version's or its SAPI's, as ``PhpFunction.exists`` says (RT-REGISTRY-1)."""
    entry = FUNCTIONS.get(name)
    if entry is None or not entry.exists(runtime):
        raise UndefinedFunction(name)


class RegistryFunctions(RuntimeBase):
    """The PHP function that asks the registry."""

    @php_function
    def function_exists(self, function: Any) -> bool:
        """Whether PHP would have the function here: one of the PHP functions this
        Runtime provides (fastcgi_finish_request only where it works; a language
        construct such as echo is none), or a function of the script's
        (LIFE-EXISTS-1, RT-REGISTRY-1)."""
        name = self._string_arg("function_exists", 1, "function", function).lower().lstrip("\\")
        entry = FUNCTIONS.get(name)
        if entry is not None:
            return entry.exists(self)
        return callable(caller_scope().get(name))

