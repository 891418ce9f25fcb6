"""The output handler registries of php-src's main/output.c: aliases, conflicts
and reverse conflicts, which extensions fill at start-up (as zlib does in its
MINIT, output/compression.py) and php_output_handler_start() consults (OUT-GZIP-5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..engine import constants as C
from ..engine.frames import PACKAGE

if TYPE_CHECKING:
    from ..engine.base import RuntimeBase
    from .stack import OutputHandler

__all__ = [
    "CHECKED", "alias", "alias_name", "alias_register", "conflict_register", "conflicts", "handler_conflict",
    "reverse_conflict_register",
]

#: Makes the internal handler a name stands for: (runtime, name, chunk_size, flags).
AliasConstructor = Callable[["RuntimeBase", str, int, int], "OutputHandler"]
#: Whether a handler of this name may not start now, warned about with this prefix: (runtime, name, prefix).
ConflictCheck = Callable[["RuntimeBase", str, str], bool]

_aliases: dict[str, AliasConstructor] = {}
_conflicts: dict[str, ConflictCheck] = {}
_reverse_conflicts: dict[str, list[ConflictCheck]] = {}
#: The names some check is registered for: conflicts() has nothing to do for any other (PERF-OB-3).
CHECKED: set[str] = set()


def alias_register(name: str, constructor: AliasConstructor) -> None:
    """php_output_handler_alias_register(): ``ob_start(name)`` starts an internal handler."""
    _aliases[name] = constructor


def conflict_register(name: str, check: ConflictCheck) -> None:
    """php_output_handler_conflict_register(): ``check`` runs before a handler ``name`` starts."""
    _conflicts[name] = check
    CHECKED.add(name)


def reverse_conflict_register(name: str, check: ConflictCheck) -> None:
    """php_output_handler_reverse_conflict_register(): one more check for handler ``name``."""
    _reverse_conflicts.setdefault(name, []).append(check)
    CHECKED.add(name)


def alias_name(callback: Any) -> str | None:
    """The handler name ob_start()'s callback names: a string, or one of phprt's own
    functions standing for the PHP function of its name (``phprt.php.ob_gzhandler``)."""
    if isinstance(callback, str):
        return callback
    name, module = getattr(callback, "__name__", None), getattr(callback, "__module__", None)
    return name if isinstance(name, str) and isinstance(module, str) and module.startswith(PACKAGE) else None


def alias(name: str | None) -> AliasConstructor | None:
    """php_output_handler_alias(): the internal handler the name stands for, if any."""
    return None if name is None else _aliases.get(name)


def conflicts(runtime: RuntimeBase, name: str, prefix: str) -> bool:
    """The checks php_output_handler_start() makes: whether a handler ``name``
    conflicts with one already started (each check gives PHP's warning)."""
    check = _conflicts.get(name)
    if check is not None and check(runtime, name, prefix):
        return True
    reverse = _reverse_conflicts.get(name)  # most names have none: no generator (PERF-OB-1)
    return reverse is not None and any(check(runtime, name, prefix) for check in reverse)


def handler_conflict(runtime: RuntimeBase, new: str, started: str, prefix: str) -> bool:
    """php_output_handler_conflict(): whether ``started`` runs, with PHP's warning."""
    if not runtime._handler_started(started):
        return False
    problem = "cannot be used twice" if new == started else f"conflicts with '{started}'"
    runtime._error(C.E_WARNING, f"{prefix}Output handler '{new}' {problem}", docref=True)
    return True
