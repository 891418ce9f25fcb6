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
(``headers_sent(file := Ref(), line := Ref())``).
"""

from __future__ import annotations

from typing import Any, Callable

from ._constants import __all__ as _constants
from ._constants import *  # noqa: F403
from ._runtime import ACTIVE, FUNCTIONS, Runtime
from ._values import Ref



def runtime() -> Runtime:
    """The Runtime active in this thread or asyncio task."""
    active = ACTIVE.get()
    if active is None:
        raise RuntimeError("no phprt Runtime is active here: call PHP functions inside `with Runtime(...):`")
    return active


def _bind(name: str) -> Callable[..., Any]:
    def function(*args: Any, **kwargs: Any) -> Any:
        return getattr(runtime(), name)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = getattr(Runtime, name).__doc__
    return function


globals().update({name: _bind(name) for name in FUNCTIONS})

__all__ = ["Ref", "runtime", *(name for name in FUNCTIONS if name != "print"), *_constants]
