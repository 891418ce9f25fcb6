"""An uncaught exception as PHP reports it (DIAG-UNCAUGHT-1).

PHP turns an exception nobody caught into the fatal error "Uncaught " + the
exception's string form + "\\n  thrown", located where the exception was raised.
The string form is ``Class: message in FILE:LINE``, then "Stack trace:" and one
line per call, innermost first, ending in ``{main}``. This module builds it from a
Python traceback: the script's frames are PHP's user functions, a phprt method the
script called is the internal function PHP names in the trace, and a script
function phprt called (a handler, a shutdown function) was called from
"[internal function]" -- or, when the script called phprt through echo, print or
exit, PHP's language constructs, from the script's line.
"""

from __future__ import annotations

from types import FrameType, TracebackType
from typing import Any

from .errors import PhpError, UndefinedFunction
from .frames import is_phprt
from .values import PHP_BYTES, format_float

__all__ = ["php_class_name", "stack_trace", "uncaught_error"]

_ESCAPES = {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x0C: "\\f", 0x0B: "\\v", 0x5C: "\\\\", 0x1B: "\\e"}
_STRING_PARAM_MAX_LEN = 15  # zend.exception_string_param_max_len
_CONSTRUCTS = ("echo", "print", "exit")  # language constructs: no frame of their own in PHP


def php_class_name(value: object) -> str:
    """The PHP class an exception (or any object) stands for: phprt's PhpError is PHP's Error."""
    return "Error" if type(value) in (PhpError, UndefinedFunction) else type(value).__name__


def _escaped(data: bytes) -> str:
    # smart_str_append_escaped(): C escapes, other non-printables as \xHH
    return "".join(_ESCAPES.get(b) or (chr(b) if 32 <= b < 127 else f"\\x{b:02X}") for b in data)


def _argument(value: Any) -> str:
    # _build_trace_args()
    if value is None:
        return "NULL"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value, 14)
    if isinstance(value, (str, bytes)):
        data = value.encode("utf-8", PHP_BYTES) if isinstance(value, str) else value
        more = "..." if len(data) > _STRING_PARAM_MAX_LEN else ""
        return f"'{_escaped(data[:_STRING_PARAM_MAX_LEN])}{more}'"
    if isinstance(value, (list, tuple, dict)):
        return "Array"
    return f"Object({php_class_name(value)})"


def _php_name(frame: FrameType) -> str:
    """The name of the PHP function a phprt frame runs."""
    name = frame.f_code.co_name
    return str(frame.f_locals.get("name", name)) if name in ("userland", "function") else name


def _call(frame: FrameType) -> str:
    """``name(args)`` for the function a frame runs, as PHP's trace names it."""
    code = frame.f_code
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    values = [frame.f_locals.get(name) for name in names]
    if code.co_flags & 0x04 and len(code.co_varnames) > len(names):  # CO_VARARGS
        values += list(frame.f_locals.get(code.co_varnames[len(names)], ()))
    name = code.co_name
    if is_phprt(frame):  # a PHP function: the Runtime method (or phprt.php function) called
        name = _php_name(frame)
        values = values[1:] if names[:1] == ("self",) else values
    elif name == "<lambda>" or "<locals>" in code.co_qualname:
        name = "{closure}"
    elif names[:1] in (("self",), ("cls",)) and values:
        owner = values[0] if names[0] == "cls" else type(values[0])
        name = f"{getattr(owner, '__name__', owner)}{'::' if names[0] == 'cls' else '->'}{name}"
        values = values[1:]
    return f"{name}({', '.join(_argument(value) for value in values)})"


def uncaught_error(exception: BaseException, traceback: TracebackType | None) -> tuple[str, str, int]:
    """PHP's message for the uncaught exception, and the file and line it names."""
    frames: list[tuple[FrameType, int]] = []
    while traceback is not None:
        frames.append((traceback.tb_frame, traceback.tb_lineno))
        traceback = traceback.tb_next
    where = _php_trace(frames, entered=not isinstance(exception, UndefinedFunction))
    if where is None:
        return f"Uncaught {_string_form(exception, 'Unknown', 0, [])}\n  thrown", "Unknown", 0
    file, line, trace = where
    return f"Uncaught {_string_form(exception, file, line, trace)}\n  thrown", file, line


def stack_trace(entry: FrameType | None, current: FrameType) -> str:
    """PHP's "Stack trace:" of the calls running now, from the frame that entered the
    Runtime (``entry``, {main}) to ``current``: what PHP 8.5 prints after a fatal
    error (VER-FATAL-TRACE-1)."""
    frames: list[tuple[FrameType, int]] = []
    frame: FrameType | None = current
    while frame is not None:
        frames.append((frame, frame.f_lineno))
        if frame is entry:
            break
        frame = frame.f_back
    where = _php_trace(frames[::-1])
    trace = [] if where is None else where[2]
    lines = [f"#{number} {call}" for number, call in enumerate(trace)] + [f"#{len(trace)} {{main}}"]
    return "Stack trace:\n" + "\n".join(lines)


def _php_trace(frames: list[tuple[FrameType, int]], *, entered: bool = True) -> tuple[str, int, list[str]] | None:
    # The file and line of the innermost script frame and PHP's trace, from the
    # (frame, line) pairs outermost first; None when no script frame runs. Not
    # ``entered``: the PHP function the innermost script frame called does not exist
    # and has no frame.
    modules = [i for i, (frame, _) in enumerate(frames) if frame.f_code.co_name == "<module>" and not is_phprt(frame)]
    frames = frames[modules[0]:] if modules else frames
    # the script's frames: (frame, line, and if phprt called it, the phprt frame the previous one called)
    script: list[tuple[FrameType, int, FrameType | None]] = []
    entry: FrameType | None = None  # the first phprt frame since the last script frame
    inner_call: str | None = None  # the phprt function the innermost script frame was in
    for frame, line in frames:
        if is_phprt(frame):
            if script and entry is None:
                inner_call = _call(frame)
            entry = entry or frame
            continue
        if entry is not None:
            inner_call = None
        script.append((frame, line, entry))
        entry = None
    if not script:
        return None
    file, line = script[-1][0].f_code.co_filename, script[-1][1]
    trace: list[str] = []
    if inner_call is not None and entered:
        trace.append(f"{file}({line}): {inner_call}")
    for index in range(len(script) - 1, -1, -1):
        frame, _, via = script[index]
        if index == 0 and via is None:
            break  # the script's main code: {main}
        if via is None or index and _php_name(via) in _CONSTRUCTS:
            caller, caller_line, _ = script[index - 1]
            trace.append(f"{caller.f_code.co_filename}({caller_line}): {_call(frame)}")
            continue
        trace.append(f"[internal function]: {_call(frame)}")
        if index:  # the PHP function the script called, which called this one
            caller, caller_line, _ = script[index - 1]
            trace.append(f"{caller.f_code.co_filename}({caller_line}): {_call(via)}")
    return file, line, trace


def _string_form(exception: BaseException, file: str, line: int, trace: list[str]) -> str:
    # Exception::__toString()
    message = str(exception)
    head = f"{php_class_name(exception)}: {message}" if message else php_class_name(exception)
    lines = [f"#{number} {entry}" for number, entry in enumerate(trace)] + [f"#{len(trace)} {{main}}"]
    return f"{head} in {file}:{line}\nStack trace:\n" + "\n".join(lines)
