"""Which Python frames are phprt's and which are the ported script's."""

from __future__ import annotations

import sys
from types import CodeType, FrameType

from .memo import Memo

__all__ = ["PACKAGE", "caller_location", "is_phprt", "script_frame"]

PACKAGE = __name__.partition(".")[0]

#: The code objects of phprt's own functions seen so far, by id (a code object's hash
#: reads all of it; holding it keeps its id its own): a function's code runs in its
#: module's globals, so once found to be phprt's it always is. Bounded by phprt's size
#: (PERF-FRAME-1).
_PHPRT_CODE: dict[int, CodeType] = {}
#: The code objects found not to be phprt's -- the scripts' and the Python they call --
#: likewise by id and held, the last 1,024 of them (PERF-FRAME-1, PERF-MEMO-1).
_OTHER_CODE: Memo[int, CodeType] = Memo(1024)
#: The last of them asked about: a loop that calls phprt asks about the same code each time.
_last_other: CodeType | None = None


def is_phprt(frame: FrameType) -> bool:
    """Whether the frame runs phprt's own code (``python -m phprt``'s ``__main__`` too)."""
    global _last_other
    code = frame.f_code
    if code is _last_other:
        return False
    if id(code) in _PHPRT_CODE:
        return True
    if _OTHER_CODE.get(id(code)) is code:
        _last_other = code
        return False
    module: str = frame.f_globals.get("__name__", "")
    if module == "__main__":
        spec = frame.f_globals.get("__spec__")  # None for a script run as __main__: no getattr() to fail
        module = "" if spec is None else getattr(spec, "name", "")
    if module == PACKAGE or module.startswith(PACKAGE + "."):
        _PHPRT_CODE[id(code)] = code
        return True
    _OTHER_CODE.keep(id(code), code)
    return False


def script_frame(stop: FrameType | None = None) -> FrameType | None:
    """The innermost frame outside phprt: the ported script (or a handler it wrote).
    None when the frame ``stop`` (the request's shutdown) comes first: then no
    script code is running, as PHP's zend_is_executing() says. Each of phprt's frames
    on the way costs a set lookup (PERF-FRAME-1)."""
    frame: FrameType | None = sys._getframe(1)
    known = _PHPRT_CODE
    while frame is not None and frame is not stop:
        if id(frame.f_code) not in known and not is_phprt(frame):
            return frame
        frame = frame.f_back
    return None


def caller_location(stop: FrameType | None = None) -> tuple[str, int]:
    """The file and line of the ported script's code that called into phprt."""
    frame = script_frame(stop)
    return ("Unknown", 0) if frame is None else (frame.f_code.co_filename, frame.f_lineno)
