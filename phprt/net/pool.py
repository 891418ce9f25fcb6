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

With ``running``, at most that many jobs are handed to threads at once: the
interpreter runs one thread's Python at a time, and each thread more that is woken
only waits for its lock. A job beyond them waits for the first of them to end, whose
thread runs it next with no thread switch -- until it has waited ``relief``
seconds (the running jobs are blocked: they sleep, or wait on I/O), when an idle or
a new thread takes it, as NET-LOOP-1 relieves a loop whose request runs long
(NET-POOL-2).
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import deque
from typing import Callable, Optional

__all__ = ["WorkerPool"]

Job = Callable[[], object]
Done = Optional[Callable[[], object]]


class _Thread:
    """A pool thread, and the lock by which a job is handed to it while it is idle."""

    __slots__ = ("go", "job", "done")

    def __init__(self, job: Job | None, done: Done) -> None:
        self.go = threading.Lock()
        self.go.acquire()
        self.job, self.done = job, done


class WorkerPool:
    """At most ``size`` reused threads named ``name``; jobs beyond them queue (NET-POOL-1).
    A job goes straight to the thread idle most recently (its memory is warm), by that
    thread's own lock: no queue and no condition between (NET-PERF-6). With ``running``,
    a job beyond that many running ones waits for one of them, or ``relief`` seconds for
    another thread (NET-POOL-2)."""

    def __init__(self, size: int, *, name: str, idle_timeout: float = 2.0, running: int | None = None,
                 relief: float = 0.01) -> None:
        if size < 1 or (running is not None and running < 1):
            raise ValueError("a pool needs at least one thread")
        self.size = size
        self.name = name
        self.idle_timeout = idle_timeout
        self.running = size if running is None else min(running, size)
        self.relief = relief
        #: Jobs waiting for a thread, with when they came: all ``size`` threads are busy, or ``running``.
        self._jobs: deque[tuple[Job, Done, float]] = deque()
        self._idle: list[_Thread] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a thread has ended
        self._queued = threading.Condition(self._lock)  # a job waits, for the relief thread (NET-POOL-2)
        self._relieving = False  # the relief thread runs
        self._threads = 0
        self._closed = False

    @property
    def threads(self) -> int:
        """How many threads the pool holds now."""
        return self._threads

    def submit(self, job: Job, done: Done = None) -> None:
        """Run ``job()`` in a free thread, a new one while fewer than ``size`` run,
        or the next to become free; then ``done()``, once the thread is free again (idle,
        or on its next job), so that whoever ``done`` tells finds it free. Raises
        RuntimeError when no thread can be started and none is there to take the job, or
        once the pool is closed."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the pool is closed")
            if self._threads - len(self._idle) >= self.running:  # for the next thread free (NET-POOL-2)
                self._wait(job, done)
                return
            if not self._place(job, done):
                return
        self._start(job, done)

    def _place(self, job: Job, done: Done) -> bool:
        # under the lock, with a thread idle or fewer than ``size``: the idle thread most
        # recently free takes the job (False), else a new thread is counted for it (True:
        # the caller starts it, ``_start``, out of the lock)
        if self._idle:
            thread = self._idle.pop()
            thread.job, thread.done = job, done
            thread.go.release()
            return False
        self._threads += 1
        return True

    def _wait(self, job: Job, done: Done) -> None:
        # under the lock: the job waits for a thread; past ``running``, the relief thread
        # hands it to another if it waits ``relief`` seconds (NET-POOL-2)
        self._jobs.append((job, done, time.monotonic()))
        if self.running < self.size and len(self._jobs) == 1:
            if self._relieving:
                self._queued.notify()
            else:
                self._relieving = True
                try:
                    threading.Thread(target=self._relieve, name=f"{self.name}-relief", daemon=True).start()
                except RuntimeError:  # the job waits for a thread to end
                    self._relieving = False

    def _start(self, job: Job, done: Done) -> None:
        # a new thread for the job, counted in _threads already
        try:
            threading.Thread(target=self._work, args=(_Thread(job, done),), name=self.name, daemon=True).start()
        except RuntimeError:
            with self._lock:
                self._threads -= 1
                self._changed.notify_all()
                if self._threads == 0:
                    raise
                self._jobs.append((job, done, time.monotonic()))  # another thread will take it

    def _relieve(self) -> None:
        """The relief thread (NET-POOL-2): the job that has waited ``relief`` seconds goes to
        an idle thread, or a new one while fewer than ``size`` run. It sleeps while no job
        waits, and ends after ``idle_timeout`` without one."""
        with self._lock:
            while True:
                if not self._jobs:
                    if not self._closed and (self._queued.wait(self.idle_timeout) or self._jobs):
                        continue
                    self._relieving = False
                    return
                late = self._jobs[0][2] + self.relief - time.monotonic()
                if late > 0:
                    self._queued.wait(late)
                    continue
                if not self._idle and self._threads >= self.size:  # the job waits for one to end, as before
                    self._queued.wait(self.relief)
                    continue
                job, done, _ = self._jobs.popleft()
                if self._place(job, done):
                    self._lock.release()
                    try:
                        self._start(job, done)
                    finally:
                        self._lock.acquire()

    def _work(self, thread: _Thread) -> None:
        job, done = thread.job, thread.done
        while job is not None:
            thread.job = thread.done = None
            try:
                contextvars.Context().run(job)
            except BaseException:  # noqa: B036, S110 - a job says itself how it ended
                pass
            del job
            job, done = self._next(thread, done)

    def _next(self, thread: _Thread, done: Done) -> tuple[Job | None, Done]:
        # The job this thread runs next, waiting for one at most ``idle_timeout``; None: it
        # ends. ``done`` (the last job's) is called once the thread is free again.
        with self._lock:
            if self._jobs:
                job, following_done, _ = self._jobs.popleft()
                following: tuple[Job | None, Done] | None = (job, following_done)
            elif self._closed:
                self._end()
                following = (None, None)
            else:
                self._idle.append(thread)
                following = None
        if done is not None:
            try:
                done()
            except BaseException:  # noqa: B036, S110 - as a job's own exception
                pass
        if following is not None:
            return following
        if thread.go.acquire(timeout=self.idle_timeout):
            return thread.job, thread.done  # no job: close() ended it
        with self._lock:
            if thread in self._idle:  # no job came
                self._idle.remove(thread)
                self._end()
                return None, None
        thread.go.acquire()  # a submit took this thread just now: its job is coming
        return thread.job, thread.done

    def _end(self) -> None:
        # under the lock: this thread ends
        self._threads -= 1
        self._changed.notify_all()

    def close(self, timeout: float | None = None) -> bool:
        """Take no more jobs; the threads end once the queue is empty. Waits at most
        ``timeout`` seconds for them to end (None: no wait); whether they all did."""
        with self._lock:
            self._closed = True
            self._queued.notify()  # the relief thread ends once no job waits
            idle, self._idle = self._idle, []
            for thread in idle:  # each ends as it wakes: counted out now
                self._end()
                thread.job = thread.done = None
                thread.go.release()
            if timeout is None:
                return self._threads == 0
            return self._changed.wait_for(lambda: self._threads == 0, timeout)
