"""The one log writer each front end has: lines on a text stream, never raising.

``php -S`` stamps each line with the local time as C's ``ctime()`` writes it
(SERVE-LOG-1), PHP-FPM with ``[03-Dec-2026 17:32:33]``; a WSGI or ASGI
application writes what PHP writes to its stderr as it is, to ``wsgi.errors``
or the process's stderr (WSGI-ERRORS-1). The stream ``None`` is ``sys.stderr``
as it is at each write, so a test's or a server's replacement is honoured.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable, TextIO

__all__ = ["Log", "ctime_stamp", "fpm_stamp"]


_CTIME: list[tuple[int, str]] = [(-1, "")]  # the last second stamped, and its stamp


def ctime_stamp() -> str:
    """``php -S``'s: ``[Sat Nov 21 13:02:08 2026] `` (SERVE-LOG-1). The text is made
    once per second of the clock, the same bytes ``ctime()`` gives for any instant
    of it (NET-PERF-4)."""
    now = time.time()
    second, stamp = _CTIME[0]
    if int(now) != second:
        second = int(now)
        stamp = f"[{time.ctime(second)}] "
        _CTIME[0] = (second, stamp)
    return stamp


def fpm_stamp() -> str:
    """PHP-FPM's: ``[21-Nov-2026 13:02:08] ``."""
    return time.strftime("[%d-%b-%Y %H:%M:%S] ")


class Log:
    """A front end's log on ``stream`` (None: ``sys.stderr`` at each write).

    ``line(text)`` writes one line after ``stamp()``; ``stderr(data)`` is what a
    script's Runtime writes to its stderr (log_errors), decoded as UTF-8: one
    stamped line where there is a ``stamp``, else the text as it is;
    ``exception(error)`` writes a traceback. A write to a closed or broken
    stream is dropped, and nothing is written once ``closed`` is set."""

    def __init__(self, stream: TextIO | None = None, *, stamp: Callable[[], str] | None = None) -> None:
        self._stream = stream
        self._stamp = stamp
        self._lock = threading.Lock()
        self.closed = False

    def write(self, text: str) -> None:
        if self.closed:
            return
        stream = self._stream if self._stream is not None else sys.stderr
        with self._lock:
            try:
                stream.write(text)
                stream.flush()
            except (OSError, ValueError):
                pass  # a closed or broken log stream does not stop the server

    def line(self, text: str) -> None:
        self.write(f"{self._stamp() if self._stamp else ''}{text}\n")

    def stderr(self, data: bytes) -> None:
        text = data.decode("utf-8", "replace")
        if self._stamp is None:
            self.write(text)
        else:
            self.line(text.rstrip("\n"))  # one message, with the timestamp once

    def exception(self, error: BaseException) -> None:
        import traceback  # where one is written: a server starts without it (PERF-IMPORT-1)

        self.write("".join(traceback.format_exception(error)))
