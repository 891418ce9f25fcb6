"""spec/functions.md, the reference page of PHP's functions, from the registry (RT-REGISTRY-1).

    python -m phprt.engine.reference > spec/functions.md
"""

from __future__ import annotations

import sys

from . import runtime as _runtime  # noqa: F401 - importing the Runtime registers every concern's functions
from .functions import FUNCTIONS, FunctionRegistry, PhpFunction

__all__ = ["reference"]

_HEAD = """\
# PHP functions phprt provides

Generated from the registry (**RT-REGISTRY-1**) by `python -m phprt.engine.reference >
spec/functions.md`; `tests/engine/test_registry.py` fails when this page is out of date. Arity is PHP's
(required-maximum, `+` for a variadic function). A construct is a language construct, not a
function: `function_exists()` is false for it. SAPIs are PHP's names (`php_sapi_name()`). Each
function is a method of `Runtime`; the last column is where it is written.

| Function | Arity | SAPIs | PHP | Clauses | Implementation |
| --- | --- | --- | --- | --- | --- |
"""


def _row(entry: PhpFunction) -> str:
    name = f"`{entry.name}`"
    if entry.construct:
        name += " (construct)"
    if entry.method != entry.name:
        name += f", alias of `{entry.method}`"
    sapis = "all" if entry.sapi is None else ", ".join(entry.sapi)
    if entry.available is not None and entry.available.__doc__:
        sapis += f"; {' '.join(entry.available.__doc__.split())}"
    versions = f"{entry.since or ''}..{entry.until or ''}" if entry.since or entry.until else "all"
    return f"| {name} | {entry.arity} | {sapis} | {versions} | {', '.join(entry.clauses)} | `{entry.where}` |\n"


def reference(registry: FunctionRegistry = FUNCTIONS) -> str:
    """The Markdown page listing each registered function."""
    return _HEAD + "".join(_row(entry) for entry in sorted(registry, key=lambda entry: entry.name))


if __name__ == "__main__":
    sys.stdout.write(reference())
