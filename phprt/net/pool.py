"""Reused worker threads, as PHP-FPM reuses its children (NET-POOL-1).

A ``WorkerPool`` runs each job in one of at most ``size`` daemon threads; a job
submitted while all of them are busy waits in a queue for the next free one, as
a request waits for a busy PHP-FPM pool's next free child. A thread idle for
``idle_timeout`` seconds ends (PHP-FPM's ``pm.process_idle_timeout``, 10 s by
default; shorter here, so an idle server holds no thread), and ``close()`` ends
them all once their jobs are done.

A reused thread starts every job clean: the job runs in a fresh, empty
``contextvars.Context`` (so nothing a previous request set -- the active
Runtime, the capture router, the ``sys.argv`` view -- is seen by the next,
RT-ACTIVE-1). Whatever a job raises ends that job only; the time limit, which
binds to the thread that starts a Runtime (TIME-THREADS-1), is bound afresh by
each request's Runtime.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from typing import Callable

__all__ = ["WorkerPool"]

Job = Callable[[], object]


class WorkerPool:
    """At most ``size`` reused threads named ``name``; jobs beyond them queue (NET-POOL-1)."""

    def __init__(self, size: int, *, name: str, idle_timeout: float = 2.0) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one thread")
        self.size = size
        self.name = name
        self.idle_timeout = idle_timeout
        self._jobs: deque[Job] = deque()
        self._lock = threading.Condition()
        self._threads = 0
        self._idle = 0
        self._closed = False

    @property
    def threads(self) -> int:
        """How many threads the pool holds now."""
        with self._lock:
            return self._threads

    def submit(self, job: Job) -> None:
        """Run ``job()`` in a free thread, a new one while fewer than ``size`` run,
        or the next to become free. Raises RuntimeError when no thread can be started
        and none is there to take the job, or once the pool is closed."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the pool is closed")
            self._jobs.append(job)
            if self._idle > len(self._jobs) - 1:
                self._lock.notify()
                return
            if self._threads >= self.size:
                return  # queued for the next free thread
            self._threads += 1
        try:
            threading.Thread(target=self._work, name=self.name, daemon=True).start()
        except RuntimeError:
            with self._lock:
                self._threads -= 1
                if self._threads == 0 and job in self._jobs:
                    self._jobs.remove(job)
                    raise
                # another thread will take it

    def _take(self) -> Job | None:
        with self._lock:
            while not self._jobs:
                if self._closed:
                    break
                self._idle += 1
                woken = self._lock.wait(self.idle_timeout)
                self._idle -= 1
                if not woken and not self._jobs:
                    break
            if self._jobs:
                return self._jobs.popleft()
            self._threads -= 1
            self._lock.notify_all()
            return None

    def _work(self) -> None:
        while (job := self._take()) is not None:
            try:
                contextvars.Context().run(job)
            except BaseException:  # noqa: B036, S110 - a job says itself how it ended
                pass
            del job

    def close(self, timeout: float | None = None) -> bool:
        """Take no more jobs; the threads end once the queue is empty. Waits at most
        ``timeout`` seconds for them to end (None: no wait); whether they all did."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
            if timeout is None:
                return self._threads == 0
            return self._lock.wait_for(lambda: self._threads == 0, timeout)
