"""``Runtime(capture_print=True)``: Python's print() as PHP's echo (RT-CAPTURE-1).

While such a Runtime's block runs, ``sys.stdout`` is a router: a write made in
that Runtime's thread or asyncio task (a context variable says which) goes into
the Runtime's output layer; every other write goes to the stream that was
``sys.stdout`` before. Unlike ``contextlib.redirect_stdout``, other threads' and
tasks' prints are untouched. The router is removed when the last capturing
Runtime ends, unless something else replaced ``sys.stdout`` meanwhile.
"""

from __future__ import annotations

import sys
import threading
from contextvars import ContextVar, Token
from typing import Any, Callable, TextIO

__all__ = ["capturing", "release"]

_ECHO: ContextVar[Callable[[Any], None] | None] = ContextVar("phprt_capture_echo", default=None)
_LOCK = threading.Lock()
_users = 0
_last: _Router | None = None  # the router last installed, installed again for the same stream


class _BinaryRouter:
    """``sys.stdout.buffer``: bytes written by the capturing context are echoed too."""

    def __init__(self, router: _Router) -> None:
        self._router = router

    def write(self, data: bytes) -> int:
        echo = _ECHO.get()
        if echo is None:
            return int(self._router.fallback.buffer.write(data))
        echo(bytes(data))
        return len(data)

    def flush(self) -> None:
        if _ECHO.get() is None:
            self._router.fallback.buffer.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._router.fallback.buffer, name)


class _Router:
    def __init__(self, fallback: TextIO) -> None:
        self.fallback = fallback
        self.buffer = _BinaryRouter(self)

    def write(self, text: str) -> int:
        echo = _ECHO.get()
        if echo is None:
            return self.fallback.write(text)
        echo(text)
        return len(text)

    def flush(self) -> None:
        if _ECHO.get() is None:
            self.fallback.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fallback, name)


def capturing(echo: Callable[[Any], None]) -> Token[Callable[[Any], None] | None]:
    """Route this context's stdout writes to ``echo`` until ``release(token)``."""
    global _users, _last
    with _LOCK:
        if not isinstance(sys.stdout, _Router):  # the router of this stream, made once (PERF-RELEASE-1)
            if _last is None or _last.fallback is not sys.stdout:
                _last = _Router(sys.stdout)
            sys.stdout = _last
        _users += 1
    return _ECHO.set(echo)


def release(token: Token[Callable[[Any], None] | None]) -> None:
    global _users
    _ECHO.reset(token)
    with _LOCK:
        _users -= 1
        if not _users and isinstance(sys.stdout, _Router):
            sys.stdout = sys.stdout.fallback
