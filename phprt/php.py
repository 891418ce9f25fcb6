"""PHP's functions as plain names, for ports that read like the original (RT-ACTIVE-1).

    from phprt.php import *

    ob_start()
    echo("Hello")
    contents = ob_get_clean()

Each function calls the method of the same name on the Runtime whose ``with``
block the current thread or asyncio task is in; with none, it raises
RuntimeError. ``print`` is left out of ``*`` so that Python's own ``print``
stays; use ``phprt.php.print`` for PHP's. ``exit`` and ``die`` are PHP's: they
end the request (replacing Python's interactive ``exit``). ``runtime()`` returns the active
Runtime itself, and ``Ref`` stands for PHP's by-reference arguments
(``headers_sent(file := Ref(), line := Ref())``). ``_SERVER``, ``_GET``, ``_POST``,
``_COOKIE``, ``_FILES`` and ``_REQUEST`` are the active Runtime's request variables,
so ``$_GET['t']`` ports as ``_GET['t']`` (REQ-SUPERGLOBAL-1).
"""

from __future__ import annotations

import sys
from types import FunctionType, ModuleType
from typing import Any, Callable, Iterator, MutableMapping

from .engine.constants import *  # noqa: F403
from .engine.constants import __all__ as _constants
from .engine.functions import FUNCTIONS, PhpFunction
from .engine.runtime import ACTIVE, ECHO, Runtime
from .engine.script import STAR_EXPORTS
from .engine.values import Ref
from .output.printf import PhpOutput

_c_function: Callable[[str, Any, Callable[..., Any], bool, str, str | None], Callable[..., Any]] | None
_c_direct: Callable[[str, Any, Callable[..., Any], str, str | None], Callable[..., Any]] | None
try:  # the optional C fast path (PERF-CALL-4, PERF-CALL-6)
    from ._dispatch import VERSION as _C_VERSION
    from ._dispatch import direct as _c_direct
    from ._dispatch import function as _c_function
    if _C_VERSION != 3:  # built from an older _dispatch.c
        _c_function = _c_direct = None
except ImportError:  # not compiled: every function is a Python copy (PERF-CALL-3)
    _c_function = _c_direct = None


def runtime() -> Runtime:
    """The Runtime active in this thread or asyncio task."""
    active = ACTIVE.get()
    if active is None:
        raise RuntimeError("no phprt Runtime is active here: call PHP functions inside `with Runtime(...):`")
    return active


def _call(*args: Any, **kwargs: Any) -> Any:
    # The PHP function NAME: calls the active Runtime's method NAME with what the port
    # passed, no more -- its frame holds the arguments, as PHP's trace shows them. _bind()
    # makes one copy of this code per PHP function, with NAME its name (PERF-CALL-3).
    try:
        if kwargs:
            return ACTIVE.get().NAME(*args, **kwargs)  # type: ignore[union-attr]
        if args:
            return ACTIVE.get().NAME(*args)  # type: ignore[union-attr]
        return ACTIVE.get().NAME()  # type: ignore[union-attr]
    except AttributeError:
        if ACTIVE.get() is None:
            runtime()  # raises: no Runtime is active
        raise


def _call0() -> Any:
    # _call for a PHP function that takes no argument (PERF-CALL-3)
    try:
        return ACTIVE.get().NAME()  # type: ignore[union-attr]
    except AttributeError:
        if ACTIVE.get() is None:
            runtime()  # raises: no Runtime is active
        raise


def _echo(*args: Any, **kwargs: Any) -> Any:
    # echo, PHP's construct (no frame in PHP's trace): the echo the active Runtime started its
    # request with, called as it is -- no attribute looked up at each call (PERF-CALL-5)
    echo = ECHO.get()
    if echo is None:
        return runtime().echo(*args, **kwargs)  # runtime() raises: no Runtime is active
    return echo(*args, **kwargs)


def _bind(entry: PhpFunction) -> Callable[..., Any]:
    # _call's code with NAME replaced by the PHP name: the method is looked up as an
    # attribute written in the code would be, and the frame is named as PHP names the
    # function (engine/uncaught.py); no source is compiled. In C where the method's own
    # frame shows what the port passed, PHP's trace being read from it (PERF-CALL-4).
    # echo calls the echo its request started with (_echo, PERF-CALL-5).
    name = entry.name
    if name == "echo":
        echo = FunctionType(_echo.__code__.replace(co_name=name, co_qualname=name), globals(), name)
        echo.__doc__ = entry.function.__doc__
        return echo if _c_direct is None else _c_direct(name, ECHO, echo, __name__, echo.__doc__)
    template = (_call0 if entry.max_args == 0 else _call).__code__
    code = template.replace(co_name=name, co_qualname=name,
                            co_names=tuple(name if each == "NAME" else each for each in template.co_names))
    function = FunctionType(code, globals(), name)
    function.__doc__ = entry.function.__doc__
    if _c_function is None or not _shows_what_was_passed(entry.function):
        return function
    return _c_function(name, ACTIVE, function, entry.max_args == 0, __name__, function.__doc__)


def _shows_what_was_passed(method: Callable[..., Any]) -> bool:
    # Whether a call's frame of ``method`` holds the arguments passed and no more: it has
    # no keyword-only parameter, and no default for a named one -- ``(self, *args)``,
    # ``(self)``, ``(self, arg, *more)`` (PERF-CALL-4)
    code = getattr(method, "__code__", None)
    return code is not None and not code.co_kwonlyargcount and not getattr(method, "__defaults__", None)


# Every PHP function in the registry (RT-REGISTRY-1).
globals().update({entry.name: _bind(entry) for entry in FUNCTIONS})
_E_ALL = globals().pop("E_ALL")  # the active Runtime's, through __getattr__ (VER-E-ALL-1)


def __getattr__(name: str) -> Any:
    """``E_ALL``: the active Runtime's version's (30719 from 8.4, VER-E-ALL-1), read when a
    script imports it (``from phprt.php import *`` in the script runs inside its Runtime)."""
    if name == "E_ALL":
        active = ACTIVE.get()
        return _E_ALL if active is None else active.version.e_all
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Superglobal(MutableMapping[Any, Any]):
    """One of PHP's superglobals: the array of that name in the active Runtime."""

    def __init__(self, name: str, attribute: str) -> None:
        self._name, self._attribute = name, attribute

    def _array(self) -> MutableMapping[Any, Any]:
        array: MutableMapping[Any, Any] = getattr(runtime(), self._attribute)
        return array

    def __getitem__(self, key: Any) -> Any:
        return self._array()[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._array()[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._array()[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._array())

    def __len__(self) -> int:
        return len(self._array())

    def __repr__(self) -> str:
        active = ACTIVE.get()
        return f"<{self._name} of {active!r}>" if active is not None else f"<{self._name}: no active Runtime>"


def php_output() -> PhpOutput:
    """PHP's ``fopen("php://output", "w")``: a file whose writes are echo in the active
    Runtime, for ``fprintf(php_output(), ...)`` (PRINTF-OUTPUT-1)."""
    return runtime().php_output()


_SERVER = Superglobal("_SERVER", "server")
_GET = Superglobal("_GET", "get")
_POST = Superglobal("_POST", "post")
_COOKIE = Superglobal("_COOKIE", "cookie")
_FILES = Superglobal("_FILES", "files")
_REQUEST = Superglobal("_REQUEST", "request")
_SESSION = Superglobal("_SESSION", "session")  # SESS-VARS-1

__all__ = [
    "Ref", "runtime", "php_output", "_SERVER", "_GET", "_POST", "_COOKIE", "_FILES", "_REQUEST", "_SESSION",
    *(entry.name for entry in FUNCTIONS if entry.name != "print"), *_constants,
]


#: What ``from phprt.php import *`` binds, by E_ALL's value (PERF-SCRIPT-1).
_exports: dict[int, dict[str, Any]] = {}


def _star_exports(active: Runtime) -> dict[str, Any]:
    """The names ``from phprt.php import *`` binds in ``active``, in ``__all__``'s order, with
    its version's E_ALL: one dict, kept until an attribute of this module is set (PERF-SCRIPT-1)."""
    e_all = active.version.e_all
    exports = _exports.get(e_all)
    if exports is None:
        module = sys.modules[__name__]
        exports = _exports[e_all] = {name: e_all if name == "E_ALL" else getattr(module, name) for name in __all__}
    return exports


class _Module(ModuleType):
    """This module: setting or deleting one of its attributes (a test's monkeypatch) drops
    the names kept for ``import *`` (PERF-SCRIPT-1)."""

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        _exports.clear()

    def __delattr__(self, name: str) -> None:
        super().__delattr__(name)
        _exports.clear()


sys.modules[__name__].__class__ = _Module
STAR_EXPORTS[__name__] = _star_exports
