"""The one way every front end runs a script: ``ScriptRunner`` (NET-RUNTIME-1, NET-RUNNER-1).

The HTTP server, the FastCGI responder and the WSGI and ASGI applications hand
each request's ``ScriptCall`` and transport to their runner, which runs it in a
Runtime of its own in one of its reused worker threads (a ``WorkerPool``,
NET-POOL-1) -- ``submit`` in another thread, ``run`` in the calling one when that
is the runner's own, as the HTTP server's are -- and says how it ended (an
``Outcome``): to the front end's ``done`` callback, in that thread, and to whoever
waits on the ``Ticket`` or ``join()``. With
``max_running`` a submit waits while that many scripts run, as a request waits
for a busy PHP-FPM pool's next free worker (FCGI-CONCURRENT-1).

A worker is a daemon thread (the server decides how long to wait for it) that
starts each script with an empty context, never a copy of the submitter's
contextvars nor what the previous script left: the Runtime it makes is the only
one active in it (RT-ACTIVE-1).
"""

from __future__ import annotations

import contextvars
import threading
from typing import TYPE_CHECKING, Callable

from ..engine.records import record
from ..transports.base import Transport
from .pool import WorkerPool
from .site import ScriptCall

if TYPE_CHECKING:
    from ..engine.runtime import Runtime

__all__ = ["Outcome", "Running", "ScriptRunner", "Ticket"]


@record(frozen=True)
class Outcome:
    """How a script ended: its Runtime, ended, or what stopped it before that
    (``SystemExit``, or no thread to be had); nothing escapes a worker."""

    runtime: Runtime | None
    error: BaseException | None


class Ticket:
    """A submitted script; ``wait()`` returns its ``Outcome`` once it has ended and
    its ``done`` has run."""

    def __init__(self) -> None:
        self._ended = threading.Event()
        self._outcome: Outcome | None = None

    def _set(self, outcome: Outcome) -> None:
        self._outcome = outcome
        self._ended.set()

    def wait(self, timeout: float | None = None) -> Outcome | None:
        """The outcome, or None if the script is still running after ``timeout`` seconds."""
        self._ended.wait(timeout)
        return self._outcome


class Running:
    """How many scripts run now (``count``): at most ``limit`` (None: no bound), ``enter()``
    waiting for room as a request waits for a busy PHP-FPM pool (FCGI-CONCURRENT-1);
    ``join()`` waits until none does. One plain lock, whose condition is notified only when
    an ``enter()`` or a ``join()`` waits (NET-PERF-5)."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.count = 0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._waiting = 0

    def enter(self) -> None:
        """A script begins, once fewer than ``limit`` run."""
        with self._lock:
            if self.limit is not None and self.count >= self.limit:
                self._waiting += 1
                try:
                    while self.count >= self.limit:
                        self._changed.wait()
                finally:
                    self._waiting -= 1
            self.count += 1

    def leave(self) -> None:
        """A script has ended."""
        with self._lock:
            self.count -= 1
            if self._waiting:
                self._changed.notify_all()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until no script runs (at most ``timeout`` seconds); whether none does."""
        with self._lock:
            self._waiting += 1
            try:
                return self._changed.wait_for(lambda: self.count == 0, timeout)
            finally:
                self._waiting -= 1


class ScriptRunner:
    """Runs scripts in reused threads, at most ``max_running`` at once (None: no bound
    but the pool's ``MAX_THREADS``, beyond which scripts queue). ``close()`` ends the
    idle threads (a server calls it when it shuts down)."""

    #: The pool's threads when ``max_running`` is None.
    MAX_THREADS = 1024
    #: Seconds a worker waits for another script before it ends (NET-RUNNER-1): under
    #: load, and between the requests of a steady client, a thread runs script after
    #: script; one idle this long ends, so an idle server holds no thread (PHP-FPM's
    #: ``pm.process_idle_timeout`` is 10 s). A script's end is learnt from its
    #: ``Ticket`` or ``join()``, never by joining its thread.
    IDLE_TIMEOUT = 2.0

    def __init__(self, max_running: int | None = None, *, name: str = "phprt-script") -> None:
        if max_running is not None and max_running < 1:
            raise ValueError("max_running must be at least 1")
        self.name = name
        self._pool = WorkerPool(max_running or self.MAX_THREADS, name=name, idle_timeout=self.IDLE_TIMEOUT)
        self._running = Running(max_running)

    @property
    def running(self) -> int:
        """How many scripts are running now."""
        return self._running.count

    @property
    def pool(self) -> WorkerPool:
        """The runner's threads: a server may serve its connections in them and run
        each script where its request is served (``run``, SERVE-RUN-1)."""
        return self._pool

    def run(self, call: ScriptCall, transport: Transport, *,
            done: Callable[[Outcome], None] | None = None) -> Outcome:
        """Run ``call`` on ``transport`` in the calling thread, one of the runner's own
        (``pool``), as ``submit`` runs it in another: counted in ``running``, within
        ``max_running``, in a fresh context, then ``done(outcome)``; its Outcome.
        Saves a thread hand-off per request (NET-RUNNER-1)."""
        self._running.enter()  # while max_running scripts run, this waits (FCGI-CONCURRENT-1)
        outcome = self._outcome([call, transport], contextvars.Context())
        self._end(outcome, done, None)  # no one waits on a ticket: none is made
        return outcome

    def submit(self, call: ScriptCall, transport: Transport, *,
               done: Callable[[Outcome], None] | None = None) -> Ticket:
        """Run ``call`` on ``transport`` in a worker, then ``done(outcome)`` there.
        Waits first while ``max_running`` scripts run."""
        self._running.enter()  # while max_running scripts run, this waits (FCGI-CONCURRENT-1)
        ticket = Ticket()
        # The worker keeps its job until it ends: the request goes in a list it empties.
        job = [call, transport]
        try:
            self._pool.submit(lambda: self._work(job, done, ticket))
        except RuntimeError as error:  # no thread to be had: the request ends unanswered, the server goes on
            self._end(Outcome(None, error), done, ticket)
        return ticket

    def _work(self, job: list[object], done: Callable[[Outcome], None] | None, ticket: Ticket) -> None:
        self._end(self._outcome(job), done, ticket)

    @staticmethod
    def _outcome(job: list[object], context: contextvars.Context | None = None) -> Outcome:
        call, transport = job
        job.clear()
        assert isinstance(call, ScriptCall) and isinstance(transport, Transport)
        try:
            runtime = call.run(transport) if context is None else context.run(call.run, transport)
            outcome = Outcome(runtime, None)
        except BaseException as error:  # noqa: B036 - the front end's done says what happened
            outcome = Outcome(None, error)
        if outcome.runtime is not None:
            outcome.runtime.input = b""  # the body's memory goes back now, before the front end lets the Runtime go
        transport.input = b""  # (SERVE-BODY-1, FCGI-LIMIT-1)
        return outcome

    def _end(self, outcome: Outcome, done: Callable[[Outcome], None] | None, ticket: Ticket | None) -> None:
        try:
            if done is not None:
                done(outcome)
        finally:
            if ticket is not None:
                ticket._set(outcome)
            self._running.leave()

    def close(self, timeout: float | None = None) -> bool:
        """Take no more scripts; the idle threads end, the busy ones once their script
        has. Waits at most ``timeout`` seconds (None: no wait); whether all ended."""
        return self._pool.close(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until no script runs (at most ``timeout`` seconds); whether none does."""
        return self._running.join(timeout)
