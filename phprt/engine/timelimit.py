"""The execution time limit: PHP's max_execution_time timer (TIME-*).

PHP on Linux arms ``setitimer(ITIMER_PROF)``: the limit counts the CPU time the
process spends, so ``sleep()`` and blocking I/O do not count, and when it expires
the VM stops the script at its next instruction. phprt counts the CPU time of the
thread a Runtime runs in (``pthread_getcpuclockid``), so runtimes in other threads
neither add to it nor share it (TIME-CPU-1); ``clock="wall"`` counts wall time, as
Windows PHP does (TIME-WALL-1).

One daemon thread watches every armed timer. When a limit expires it raises
``TimeLimitExceeded`` inside the script's thread (``PyThreadState_SetAsyncExc``),
which interrupts pure-Python code wherever it is -- but only at a point where the
thread runs the script's own code, never halfway through phprt's bookkeeping:
while phprt's code runs, the watchdog retries a millisecond later, as PHP's VM
raises the error only at its next interrupt check.
"""

from __future__ import annotations

import sys
import threading
import time
from types import CodeType
from typing import Callable, TypeVar

from .frames import is_phprt

__all__ = ["ExecutionTimer", "TimeLimitExceeded", "calls_script", "in_script_code"]

_RETRY = 0.001  # seconds between attempts while phprt's own code runs
_F = TypeVar("_F", bound=Callable[..., object])


class TimeLimitExceeded(BaseException):
    """Raised in the script's thread when its time limit expires; the Runtime turns
    it into PHP's fatal error (TIME-FATAL-1). A BaseException, so that the script's
    ``except Exception:`` cannot swallow it."""


#: phprt code objects that call into the script (handlers, shutdown functions, the script itself).
_ENTRY_POINTS: set[CodeType] = set()


def calls_script(function: _F) -> _F:
    """Mark a phprt function that calls script code: the script code it calls may be
    interrupted; phprt's own code around it may not."""
    _ENTRY_POINTS.add(function.__code__)
    return function


def in_script_code(thread_id: int) -> bool:
    """Whether the thread is running the script's code (or code the script called)
    rather than phprt's: walking outwards from its innermost frame, the first phprt
    frame must be one that called the script (or there is none)."""
    frame = sys._current_frames().get(thread_id)
    in_script = False
    while frame is not None:
        if is_phprt(frame):
            return in_script and frame.f_code in _ENTRY_POINTS
        in_script = True
        frame = frame.f_back
    return True


def _raise_in(thread_id: int) -> None:
    import ctypes  # only when a limit expires: not on every start-up

    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(TimeLimitExceeded))


def _expired() -> bool:
    return True


class ExecutionTimer:
    """One Runtime's timer. ``start(seconds)`` (re)starts it from zero, ``stop()``
    disarms it. When it expires, ``on_expire()`` runs in the watchdog thread; it
    returns False to be asked again shortly (the thread is in phprt's code)."""

    def __init__(self, on_expire: Callable[[], bool], clock: str = "cpu") -> None:
        if clock not in ("cpu", "wall"):
            raise ValueError(f"unknown clock {clock!r}; expected 'cpu' or 'wall'")
        self.clock = clock
        self._on_expire = on_expire
        self._deadline: float | None = None
        self._clock_id: int | None = None
        self.thread_id = 0  # none until bind(): the Runtime binds when its request starts (PERF-START-3)

    def now(self) -> float:
        """The clock's reading: the thread's CPU seconds, or monotonic wall seconds.
        The thread's CPU clock is looked up when first read: a request that never
        arms its timer never asks for it (PERF-START-3)."""
        if self.clock == "wall":
            return time.monotonic()
        clock_id = self._clock_id
        if clock_id is None:
            clock_id = self._clock_id = time.pthread_getcpuclockid(self.thread_id)
        return time.clock_gettime(clock_id)

    def bind(self) -> None:
        """Count the calling thread from now on (the thread that runs the script)."""
        self.thread_id = threading.get_ident()
        self._clock_id = None

    def start(self, seconds: float) -> None:
        """Restart the count with a limit of ``seconds``; 0 or less disarms it. A timer
        disarmed already takes no lock: only its own thread arms it (PERF-START-3)."""
        if seconds <= 0 and self._deadline is None:
            return
        if not self.thread_id:
            self.bind()
        with _WATCHDOG.lock:
            self._deadline = self.now() + seconds if seconds > 0 else None
            _WATCHDOG.update(self, seconds)

    def stop(self) -> None:
        """Disarm the timer; one disarmed already takes no lock (PERF-START-3)."""
        if self._deadline is None:
            return
        with _WATCHDOG.lock:
            if self._deadline is not None:
                self._deadline = None
                _WATCHDOG.update(self)

    def disown(self) -> None:
        """Stop, and forget whom to call on expiry (its Runtime is being let go, PERF-RELEASE-1)."""
        self.stop()
        self._on_expire = _expired

    def remaining(self) -> float | None:
        """Seconds left on the clock, or None when disarmed (or the thread is gone)."""
        deadline = self._deadline
        if deadline is None:
            return None
        try:
            return deadline - self.now()
        except OSError:  # the thread has ended
            self._deadline = None
            return None

    def interrupt(self) -> bool:
        """Raise TimeLimitExceeded in the timer's thread if it runs script code."""
        if not in_script_code(self.thread_id):
            return False
        _raise_in(self.thread_id)
        return True

    def _expire(self) -> None:
        # The deadline stays set while ``on_expire`` runs and after it fails (still due:
        # ask again at the next round), so that a timer read as disarmed without the lock
        # is disarmed (PERF-START-3); ``on_expire`` may start it anew (the hard timeout).
        deadline = self._deadline
        if self._on_expire() and self._deadline == deadline:
            self._deadline = None


class _Watchdog:
    """The thread that watches every armed timer. A thread's CPU clock advances no
    faster than the wall clock, so sleeping for the smallest time left is exact."""

    def __init__(self) -> None:
        self._timers: set[ExecutionTimer] = set()
        self.lock = threading.RLock()  # held while a deadline changes or expires
        self._changed = threading.Condition(self.lock)
        self._thread: threading.Thread | None = None
        self._wake_at: float | None = None  # monotonic time of the next round; None: when notified

    def update(self, timer: ExecutionTimer, left: float | None = None) -> None:
        # Called with ``lock`` held. The watchdog is woken only when this deadline comes
        # before the one it sleeps towards; a disarmed or later deadline waits for its next
        # round (PERF-START-2). ``left``: the seconds to the deadline, when just set.
        if timer._deadline is None:
            self._timers.discard(timer)
            return
        # The round it is woken for is planned here, by the waker: a watchdog that finds the
        # timer disarmed already when it gets to look (a request shorter than a thread
        # switch) keeps that round, and the next request's later deadline wakes no one.
        self._timers.add(timer)
        if left is None:
            left = timer.remaining()
        if left is None:
            return
        due = time.monotonic() + left
        if self._thread is None:
            self._wake_at = due
            self._thread = threading.Thread(target=self._run, name="phprt-time-limit", daemon=True)
            self._thread.start()
        elif self._wake_at is None or due < self._wake_at:
            self._wake_at = due
            self._changed.notify()

    def _run(self) -> None:
        with self._changed:
            while True:
                wait: float | None = None
                for timer in list(self._timers):
                    left = timer.remaining()
                    if left is None:
                        self._timers.discard(timer)
                    elif left <= 0:
                        timer._expire()
                        if timer._deadline is None:
                            self._timers.discard(timer)
                        else:
                            wait = _RETRY if wait is None else min(wait, _RETRY)
                    else:
                        wait = left if wait is None else min(wait, left)
                now = time.monotonic()
                if wait is None and self._wake_at is not None and self._wake_at > now:
                    # No timer armed now (its request ended before this round): keep the round
                    # already planned, so the next request's deadline, later than it, wakes no
                    # one (PERF-START-2); past it with no timer, sleep until notified.
                    wait = self._wake_at - now
                else:
                    self._wake_at = None if wait is None else now + wait
                self._changed.wait(wait)


_WATCHDOG = _Watchdog()
