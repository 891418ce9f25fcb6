"""Which Python frames are phprt's and which are the ported script's."""

from __future__ import annotations

import sys
from types import FrameType

__all__ = ["PACKAGE", "caller_location", "is_phprt", "script_frame"]

PACKAGE = __name__.partition(".")[0]


def is_phprt(frame: FrameType) -> bool:
    """Whether the frame runs phprt's own code (``python -m phprt``'s ``__main__`` too)."""
    module: str = frame.f_globals.get("__name__", "")
    if module == "__main__":
        module = getattr(frame.f_globals.get("__spec__"), "name", "")
    return module == PACKAGE or module.startswith(PACKAGE + ".")


def script_frame(stop: FrameType | None = None) -> FrameType | None:
    """The innermost frame outside phprt: the ported script (or a handler it wrote).
    None when the frame ``stop`` (the request's shutdown) comes first: then no
    script code is running, as PHP's zend_is_executing() says."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame is not stop:
        if not is_phprt(frame):
            return frame
        frame = frame.f_back
    return None


def caller_location(stop: FrameType | None = None) -> tuple[str, int]:
    """The file and line of the ported script's code that called into phprt."""
    frame = script_frame(stop)
    return ("Unknown", 0) if frame is None else (frame.f_code.co_filename, frame.f_lineno)
