"""Running one request's script inside its Runtime (RT-RUN-1, RT-SCRIPT-1, NET-RUNTIME-1).

A script is a ported PHP script -- a ``.py`` file run as ``__main__``, the way
``php`` runs a ``.php`` file -- or a Python callable that does the same work.

Each run of a file gets a module namespace of its own (``__name__ == "__main__"``,
``__file__``) and its own view of ``sys.argv``; nothing process-wide is swapped
while it runs, so requests running at once in other threads never see each other's
(RT-SCRIPT-1). The file's code object is compiled once and kept while the file's
path, inode, size and modification time stay the same, as opcache does with
``validate_timestamps`` (RT-SCRIPT-2). It is compiled inside the request, as PHP compiles
a script after request startup: a Python syntax error is PHP's "Parse error" of the script's
own file and line, reported through the request like any fatal error (RT-RUN-3, DEV-PARSE-1).
"""

from __future__ import annotations

import _ast  # the parser's nodes alone: the ast module's helpers are not needed (PERF-IMPORT-1)
import builtins
import importlib
import os
import sys
import threading
from collections import UserList
from contextvars import ContextVar
from types import CodeType, ModuleType
from typing import Any, Callable, Iterable, Mapping, Sequence, Union, cast

from . import classes, displays
from .constants import E_PARSE
from .errors import StartupFailed
from .runtime import Runtime
from .timelimit import calls_script

__all__ = ["STAR_EXPORTS", "Script", "compile_script", "execute", "parse_error"]

Script = Union[str, "os.PathLike[str]", Callable[[], object]]

_ARGV: ContextVar[list[str] | None] = ContextVar("phprt_argv", default=None)
_CODE: dict[str, tuple[tuple[int, int, int, int], CodeType, str | None, classes.LaneCode | None]] = {}
_INSTALL = threading.Lock()
#: What ``from M import *`` binds, by module, for a Runtime: a module registers its provider when
#: it is imported (phprt/php.py registers ``phprt.php``); a script whose first statement is that
#: import has its namespace filled from it instead (PERF-SCRIPT-1).
STAR_EXPORTS: dict[str, Callable[[Runtime], Mapping[str, Any]]] = {}
_PRELUDES = frozenset({"phprt.php"})


class ArgvView(UserList[str]):
    """``sys.argv`` while scripts run: the running script's own argument list in the
    thread or asyncio task that runs it, the process's list everywhere else."""

    def __init__(self, process: list[str]) -> None:  # no super().__init__: ``data`` is a view
        self.process = process

    @property
    def data(self) -> list[str]:
        own = _ARGV.get()
        return self.process if own is None else own

    @data.setter
    def data(self, value: list[str]) -> None:
        own = _ARGV.get()
        if own is None:
            self.process = value
        else:
            own[:] = value


    # What UserList would build as another view answers as a plain list.
    def __getitem__(self, index: Any) -> Any:
        return self.data[index]

    def __add__(self, other: Iterable[str]) -> list[str]:  # type: ignore[override]
        return self.data + list(other)

    def __radd__(self, other: Iterable[str]) -> list[str]:  # type: ignore[override]
        return list(other) + self.data

    def __mul__(self, count: int) -> list[str]:  # type: ignore[override]
        return self.data * count

    def __rmul__(self, count: int) -> list[str]:  # type: ignore[override]
        return self.data * count

    def copy(self) -> list[str]:  # type: ignore[override]
        return self.data.copy()


def _install_argv_view() -> None:
    # Once per process: sys.argv becomes a view; outside scripts it reads as before.
    if not isinstance(sys.argv, ArgvView):
        with _INSTALL:
            if not isinstance(sys.argv, ArgvView):
                sys.argv = ArgvView(sys.argv)  # type: ignore[assignment]


def compile_script(path: str) -> CodeType:
    """The script's code object (see ``_compiled``)."""
    return _compiled(path)[0]


def _compiled(path: str, status: os.stat_result | None = None) -> tuple[CodeType, str | None, classes.LaneCode | None]:
    """The script's code object, compiled once per version of the file (RT-SCRIPT-2): one
    ``stat`` validates the cached code, as opcache's ``validate_timestamps`` does; the file
    is opened and read only when it is new or changed, and the code is kept under the
    ``fstat`` of what was read. With it, the module of a leading ``from phprt.php import *``
    taken out of the code (PERF-SCRIPT-1), else None, and the code a served request runs to bind
    the classes an earlier one made, where it has class statements that can be (PERF-CLASS-1,
    PERF-CLASS-2), else None. Its constant dict displays are made once, here (PERF-SCRIPT-2).
    ``status`` is that ``stat``, when
    the server already asked it for this request (FCGI-PERF-3)."""
    if status is None:
        status = os.stat(path)
    cached = _CODE.get(path)
    if cached is not None and cached[0] == (status.st_ino, status.st_dev, status.st_size, status.st_mtime_ns):
        return cached[1], cached[2], cached[3]
    with open(path, "rb") as source:
        status = os.fstat(source.fileno())
        key = (status.st_ino, status.st_dev, status.st_size, status.st_mtime_ns)
        tree = cast(_ast.Module, compile(source.read(), path, "exec", _ast.PyCF_ONLY_AST, dont_inherit=True))
    prelude = _take_prelude(tree)
    made = displays.made_once(tree)  # its constant dict displays, made now (PERF-SCRIPT-2)
    code = displays.substituted(compile(tree, path, "exec", dont_inherit=True), made)
    lanes = classes.lane_code(tree, code, path, made)
    _CODE[path] = (key, code, prelude, lanes)
    return code, prelude, lanes


def _take_prelude(tree: _ast.Module) -> str | None:
    # The first statement, or the first after the docstring, when it is ``from phprt.php
    # import *``: taken out, and its module named (PERF-SCRIPT-1). (After a __future__
    # import it stays: the names would be bound in another order.)
    body = tree.body
    index = 0
    if body and isinstance(body[0], _ast.Expr) and isinstance(body[0].value, _ast.Constant) \
            and isinstance(body[0].value.value, str):
        index = 1
    if index == len(body):
        return None
    statement = body[index]
    if isinstance(statement, _ast.ImportFrom) and statement.level == 0 and statement.module in _PRELUDES \
            and [alias.name for alias in statement.names] == ["*"]:
        del body[index]
        return statement.module
    return None


def parse_error(error: SyntaxError, path: str) -> tuple[str, str, int]:
    """PHP's E_PARSE for a Python syntax error in the script at ``path``: the message
    ``syntax error, <Python's message>``, the file Python names (else ``path``) and the line
    (1 when Python names none) (DEV-PARSE-1)."""
    return f"syntax error, {error.msg}", error.filename or path, error.lineno or 1


def execute(runtime: Runtime, script: Script, argv: Sequence[str] | None = None,
            status: os.stat_result | None = None) -> Runtime:
    """Run ``script`` as the request of ``runtime``, start to end. ``argv`` is what
    the script sees as ``sys.argv`` (by default the script's path alone); ``status``
    the script file's ``stat()`` taken for this request, if the caller has one
    (FCGI-PERF-3: not asked again). An uncaught
    exception is reported as PHP reports it (DIAG-UNCAUGHT-1) and ends here:
    ``runtime.exit_status`` says how the request ended."""
    _install_argv_view()
    if not callable(script):
        script = os.fspath(script)
    token = _ARGV.set(list(argv) if argv is not None else [script if isinstance(script, str) else ""])
    try:
        with runtime:
            _run(runtime, script, status)
    except (Exception, StartupFailed):  # reported as PHP's "Uncaught ..." / the request never started
        pass
    finally:
        _ARGV.reset(token)
    return runtime


@calls_script
def _run(runtime: Runtime, script: str | Callable[[], object], status: os.stat_result | None = None) -> None:
    # The script's own code runs below this frame: the time limit may stop it anywhere (TIME-THREADS-1).
    if callable(script):
        script()
        return
    try:
        code, prelude, lanes = _compiled(script, status)
    except SyntaxError as error:  # zend_compile_file() failed: E_PARSE, then the request ends (RT-RUN-3)
        message, file, line = parse_error(error, script)
        runtime._error(E_PARSE, message, (file, line))
        return
    namespace = _namespace(runtime, script, prelude, lanes)
    lane = runtime._lane
    exec(code if lane is None else lane.code, namespace)


#: A module's namespace as ``ModuleType("__main__")`` makes it, with ``__file__`` and ``__builtins__``.
_MODULE = {**vars(ModuleType("__main__")), "__file__": None, "__builtins__": builtins}
#: By prelude: the names it binds, and the module namespace with them, copied for each run (PERF-SCRIPT-1).
_PRELUDED: dict[str, tuple[Mapping[str, Any], dict[str, Any]]] = {}


def _namespace(runtime: Runtime, script: str, prelude: str | None, lanes: classes.LaneCode | None) -> dict[str, Any]:
    # A fresh ``__main__`` namespace for one run: the module's keys in their order, then what
    # the prelude's import would bind, as it would bind it -- one dict copy (PERF-SCRIPT-1).
    # The Runtime holds it, for dispose() to empty (PERF-RELEASE-2). For a served request of a
    # script with classes to bind again, it is a lane's, which runs ``lanes`` (PERF-CLASS-1, -2).
    if prelude is None:
        template = _MODULE
    else:
        provider = STAR_EXPORTS.get(prelude)
        if provider is None:
            importlib.import_module(prelude)
            provider = STAR_EXPORTS[prelude]
        exports = provider(runtime)
        made = _PRELUDED.get(prelude)
        if made is None or made[0] is not exports:
            made = _PRELUDED[prelude] = (exports, {**_MODULE, **exports})
        template = made[1]
    if lanes is not None and runtime._disposed_by_server:
        runtime._lane = lane = classes.checkout(script, lanes, template)
        namespace = lane.namespace
    else:
        namespace = template.copy()
    namespace["__file__"] = script
    runtime._globals = namespace
    return namespace
