"""Running one request's script inside its Runtime (RT-RUN-1, NET-RUNTIME-1).

A script is a ported PHP script -- a ``.py`` file run as ``__main__``, the way
``php`` runs a ``.php`` file -- or a Python callable that does the same work.
"""

from __future__ import annotations

import os
import runpy
from typing import Callable, Union

from ._runtime import Runtime

__all__ = ["Script", "execute"]

Script = Union[str, "os.PathLike[str]", Callable[[], object]]


def execute(runtime: Runtime, script: Script) -> Runtime:
    """Run ``script`` as the request of ``runtime``, start to end. An uncaught
    exception is reported as PHP reports it (DIAG-UNCAUGHT-1) and ends here:
    ``runtime.exit_status`` says how the request ended."""
    try:
        with runtime:
            if callable(script):
                script()
            else:
                runpy.run_path(os.fspath(script), run_name="__main__")
    except Exception:  # the Runtime reported it as PHP's "Uncaught ..." fatal error
        pass
    return runtime
