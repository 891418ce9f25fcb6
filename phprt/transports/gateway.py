"""Between a Runtime and a Python web server: a head in the server's form, made once
per distinct head (``HeadForms``, WSGI-PERF-2), which ``phprt.wsgi`` and
``phprt.asgi`` share; and for ``phprt.asgi``, whose scripts never run on the event
loop, the channel the script writes to and the loop reads from, across threads
(ASGI-THREAD-1), and the threads the scripts run in (``ScriptThreads``,
WSGI-PERF-1). No I/O of its own; phprt/transports/heads.py gives the head as a
status and fields."""

from __future__ import annotations

import threading
from functools import partial
from typing import Any, Callable, Generic, TypeVar, Union

from ..engine.memo import Memo
from ..net.http11 import declared_length
from ..net.logs import Log
from ..net.pool import WorkerPool
from ..net.runner import Running
from ..net.site import ScriptCall, StaticResponse
from .base import ResponseHead, Transport
from .heads import BAD_GATEWAY, INTERNAL_ERROR, GatewayHead, gateway_form

#: A script to run, or a document root's lookup that says what answers (WSGI-PERF-4).
Job = Union[ScriptCall, Callable[[], Union[ScriptCall, StaticResponse]]]

__all__ = ["BodyTooLarge", "HeadForms", "PATH_SAFE", "ResponseChannel", "ScriptThreads", "body_left"]

#: RFC 3986's pchar and "/": what a path rebuilt from a server's decoded one leaves unescaped.
PATH_SAFE = "/:@!$&'()*+,;=-._~"
#: What the channel holds for a slow client before the script's write waits.
_PENDING_LIMIT = 1 << 20

Form = TypeVar("Form")


class BodyTooLarge(Exception):
    """The request's body is over the application's ``max_body``: it is answered 413."""


# -- heads, converted once per distinct head ------------------------------------------------


class HeadForms(Generic[Form]):
    """A PHP head as a gateway hands it to its server, remembered per distinct head
    (WSGI-PERF-2): ``gateway_form`` (WSGI-HEAD-1, WSGI-HOP-1, WSGI-STATUS-1), the
    Content-Length nginx would read from it (WSGI-EARLY-1) and ``form(gateway)``,
    the server's own shape of it (WSGI's native strings, ASGI's lowercased bytes).
    All three depend on the status, the reason, the lines and the charset alone, so
    the same head -- most responses of a script -- is converted once, not per request.
    At most ``size`` heads are kept; then they are forgotten and made again."""

    def __init__(self, form: Callable[[GatewayHead], Form], size: int = 256) -> None:
        self.form = form
        self._known: Memo[tuple[Any, ...], tuple[GatewayHead, int | None, Form]] = Memo(size)
        self.internal_error = (INTERNAL_ERROR, 0, form(INTERNAL_ERROR))

    def of(self, head: ResponseHead) -> tuple[GatewayHead, int | None, Form]:
        key = (head.status, head.reason, head.lines, head.charset)
        known = self._known.get(key)
        if known is None:
            gateway = gateway_form(head)
            length = None
            if gateway is not BAD_GATEWAY:
                length = declared_length([part.value for part in head.named("content-length")], last_only=True)
            known = (gateway, length, self.form(gateway))
            self._known.keep(key, known)
        return known


def body_left(known: tuple[GatewayHead, int | None, Any], method: str) -> int | None:
    """How many body bytes a response with this head (as ``HeadForms.of`` gives it) may still
    have: none where it can have no body -- a HEAD request, 204, 304, WSGI-STATUS-1's 502 --
    else the Content-Length it declared, or None: all until the end (WSGI-EARLY-1)."""
    gateway, length, _ = known
    if gateway is BAD_GATEWAY or not gateway.body_allowed(method):
        return 0
    return length


def _no_form(gateway: GatewayHead) -> GatewayHead:
    return gateway


# -- the channel between the script's thread and the server ------------------------------


class ResponseChannel(Transport, Generic[Form]):
    """The transport of a request served through an ASGI server, its script in
    another thread (ASGI-THREAD-1).

    ``ScriptCall.run`` gives it the request's ``server`` and ``input``. The
    script's thread writes to it as to any transport; the server's side
    takes what has arrived (``poll``, woken by ``on_change``) and says when
    the client has gone (``client_gone``). Thread-safe; no I/O.

    - The response is complete when the script finishes it (the request's end,
      fastcgi_finish_request()), when the body reaches the Content-Length the
      head declared (read as nginx reads a FastCGI responder's), or at once
      after a head that allows no body (a HEAD request, 204, 304)
      (WSGI-EARLY-1). Output after that is dropped and reported delivered, as a
      web server in front of PHP discards it.
    - Once the client has gone, writes and flushes report it (WSGI-ABORT-1).
    - A second head (a header callback that outputs) is body bytes where the
      SAPI writes its head into the stream, as php-cgi does (WSGI-HEAD-2).
    - A write waits while more than 1 MiB is waiting for a slow client.
    - ``ended`` is the script's thread done with it; the server learns it from
      ``poll`` with the rest, by the same one wake-up (WSGI-PERF-3).
    - No condition variable per request, and a head that leaves the response
      open wakes no one until the write, flush or end that follows it (WSGI-PERF-5).

    ``heads`` converts the head (``HeadForms``); ``log`` is where PHP's stderr goes:
    a ``Log``, or a text stream (None: the process's stderr) that becomes one when
    something is written (WSGI-ERRORS-1).
    """

    can_end_early = True
    finish_request = True
    joins_writes = True  # the server takes what has come since it last looked, as one (PERF-ECHO-4)

    def __init__(self, heads: HeadForms[Form] | None = None, *, sapi: str = "cgi", method: str = "GET",
                 log: Any = None) -> None:
        self._heads: HeadForms[Any] = heads if heads is not None else HeadForms(_no_form)
        self._head_in_stream = sapi != "apache2handler"
        self._method = method
        self._log = log
        self._lock = threading.Lock()
        #: Where a script's write waits for room: made by the first write that must wait (WSGI-PERF-5).
        self._room: threading.Condition | None = None
        self._sleepers = 0  # writers waiting on _room: only they need a notify
        self._unsignalled = False  # a head arrived, its wake-up left to what follows it (WSGI-PERF-5)
        self._head: tuple[GatewayHead, int | None, Form] | None = None
        self._head_taken = False
        self._chunks: list[bytes] = []
        self._pending = 0
        self._remaining: int | None = None  # what the declared Content-Length still allows
        self._complete = False  # the client has (or will have) the whole response
        self._gone = False  # the client went away before that
        self._ended = False  # the script's thread is done with the channel
        self._wake: Callable[[], object] | None = None
        self._woken = False  # wake() was called since the server's last poll(): once is enough
        #: What the server sends instead, when the lookup in the script's thread found a
        #: file or an error page (WSGI-PERF-4); set before ``ended``.
        self.static: StaticResponse | None = None

    # -- the script's side (a Transport) --

    def send_headers(self, head: ResponseHead) -> None:
        with self._lock:
            if self._gone or self._complete:
                return
            if self._head is not None:  # PHP sent its head again (WSGI-HEAD-2)
                if self._head_in_stream:
                    self._append(head.block())
                return
            self._head = known = self._heads.of(head)
            self._remaining = body_left(known, self._method)
            self._complete = self._remaining == 0
            if self._complete:
                self._changed()
            else:  # a write, a flush or the end follows at once and wakes the server for both (WSGI-PERF-5)
                self._unsignalled = True

    def write(self, data: bytes) -> bool:
        with self._lock:
            if self._pending >= _PENDING_LIMIT:
                if self._room is None:
                    self._room = threading.Condition(self._lock)
                self._sleepers += 1
                while self._pending >= _PENDING_LIMIT and not self._gone:
                    self._room.wait()
                self._sleepers -= 1
            if self._gone:
                return False
            if not self._complete:
                self._append(data)
            return True

    def flush(self) -> bool:
        if self._unsignalled:  # a head alone, flushed (the built-in server's flush()): the server learns of it now
            with self._lock:
                if self._unsignalled:
                    self._changed()
        return not self._gone  # one read of a flag set under the lock

    def write_stderr(self, data: bytes) -> None:
        self._logger().stderr(data)

    def finish(self) -> None:
        with self._lock:
            self._complete = True
            self._changed()

    def ended(self, error: BaseException | None = None) -> None:
        """The script's thread is done: what stopped it, if anything, goes to the
        log (WSGI-ERRORS-1), and the response ends."""
        if error is not None:
            self._logger().exception(error)
        with self._lock:
            self._complete = self._ended = True
            self._changed()

    def _logger(self) -> Log:
        if not isinstance(self._log, Log):
            self._log = Log(self._log)
        return self._log

    def _append(self, data: bytes) -> None:
        # under the lock: body bytes for the server, up to the declared length
        if self._remaining is not None:
            data = data[:self._remaining]
            self._remaining -= len(data)
            self._complete = self._remaining == 0
        if data:
            self._chunks.append(data)
            self._pending += len(data)
        self._changed()

    def _changed(self) -> None:
        # under the lock: whoever waits for this learns of it
        self._unsignalled = False
        if self._sleepers:
            assert self._room is not None
            self._room.notify_all()
        if self._wake is not None and not self._woken:
            self._woken = True
            try:
                self._wake()
            except RuntimeError:  # the server's event loop has closed
                self._wake = None

    # -- the server's side --

    def poll(self) -> tuple[Form | None, bytes, bool] | None:
        """What arrived since the last call: the head in the server's form (once;
        ``HeadForms.internal_error``'s for a response that ended without one), the
        body bytes, and whether the response is complete with them; None when
        nothing did. ``script_ended`` then says whether the script's thread is done."""
        with self._lock:
            self._woken = self._unsignalled = False
            done = self._complete or self._gone
            head = None
            if not self._head_taken and (self._head is not None or done):
                head, self._head_taken = (self._head or self._heads.internal_error)[2], True
            if len(self._chunks) == 1:
                data = self._chunks.pop()
            else:
                data = b"".join(self._chunks)
                self._chunks.clear()
            self._pending = 0
            if head is None and not data and not done:
                return None
            if self._sleepers:  # a write waiting for room has it now
                assert self._room is not None
                self._room.notify_all()
            return head, data, done

    def on_change(self, wake: Callable[[], object] | None) -> None:
        """Call ``wake()`` (from the script's thread) when something arrives or the
        script ends: once until the server's next ``poll()``, which takes all that
        arrived meanwhile (WSGI-PERF-3)."""
        with self._lock:
            self._wake = wake
            self._woken = False

    def client_gone(self) -> None:
        """The client went away: the script's next write or flush reports it,
        unless the response was already complete (WSGI-ABORT-1)."""
        with self._lock:
            if not self._complete:
                self._gone = True
                self._chunks.clear()
                self._pending = 0
            self._changed()  # a writer waiting for room, and a server waiting for output, look again

    @property
    def complete(self) -> bool:
        """Whether the response is complete (WSGI-EARLY-1)."""
        return self._complete

    @property
    def gone(self) -> bool:
        """Whether the client went away before the response was complete (WSGI-ABORT-1)."""
        return self._gone

    @property
    def script_ended(self) -> bool:
        """Whether the script's thread is done with the channel (ASGI-SEND-1)."""
        return self._ended


# -- the threads the scripts run in ----------------------------------------------------------


class ScriptThreads:
    """The threads an ASGI application runs its scripts in (ASGI-THREAD-1,
    WSGI-PERF-1): each script in a Runtime of its own, in a reused thread of a
    ``WorkerPool`` (NET-POOL-1: the most recently idle thread takes the next script, by a
    lock of its own), in a fresh empty context (RT-ACTIVE-1), at most ``MAX_THREADS`` at
    once, the others waiting for the next free thread; a thread idle for ``IDLE_TIMEOUT``
    seconds ends. The script's end is told to its ``ResponseChannel`` (``ended``), then
    ``join()``."""

    MAX_THREADS = 1024
    IDLE_TIMEOUT = 2.0
    #: Scripts handed to threads at once; one more waits for the first of them to end, or
    #: ``RELIEF`` seconds for a thread of its own (NET-POOL-2).
    RUNNING = 2
    RELIEF = 0.01

    def __init__(self, name: str = "phprt-script") -> None:
        self.name = name
        self._pool: WorkerPool | None = None  # made at the first script, with the limits then set
        self._lock = threading.Lock()  # for the pool's making
        self._running = Running()
        self._closed = False

    @property
    def running(self) -> int:
        """How many scripts are running (or waiting for a thread) now."""
        return self._running.count

    @property
    def threads(self) -> int:
        """How many threads there are now."""
        return 0 if self._pool is None else self._pool.threads

    def submit(self, call: Job, channel: ResponseChannel[Any]) -> None:
        """Run ``call`` on ``channel`` in one of the threads; ``channel.ended(error)``
        says when it has ended. Never waits. ``call`` may be a document root's lookup
        (``functools.partial(site.answer, request)``): it runs first, in the same thread,
        and a static answer goes to ``channel.static`` (WSGI-PERF-4)."""
        if self._closed:  # the request ends unanswered
            channel.ended(RuntimeError("the application's script threads are closed"))
            return
        self._running.enter()
        pool = self._pool
        if pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = WorkerPool(self.MAX_THREADS, name=self.name, idle_timeout=self.IDLE_TIMEOUT,
                                            running=self.RUNNING, relief=self.RELIEF)
                pool = self._pool
        try:
            pool.submit(partial(self._run, call, channel), self._running.leave)  # ended: its thread is free
        except RuntimeError as failure:  # no thread to be had: the request ends unanswered, the server goes on
            try:
                channel.ended(failure)
            finally:
                self._running.leave()

    def _run(self, call: Job, channel: ResponseChannel[Any]) -> None:
        error: BaseException | None = None
        try:
            if not isinstance(call, ScriptCall):  # a lookup: what answers is found here, off the server's loop
                answer = call()
                if isinstance(answer, StaticResponse):
                    channel.static = answer
                    return
                call = answer
            call.run(channel)
        except BaseException as caught:  # noqa: B036 - the channel says what happened
            error = caught
        finally:
            channel.input = b""  # the body's memory goes back now
            try:
                channel.ended(error)
            except BaseException:  # noqa: B036, S110 - nothing escapes a thread; the next script runs
                pass

    def join(self, timeout: float | None = None) -> bool:
        """Wait until no script runs (at most ``timeout`` seconds); whether none does."""
        return self._running.join(timeout)

    def close(self) -> None:
        """Take no more scripts; the idle threads end now, the others once their
        script (and the scripts waiting for a thread) have ended."""
        with self._lock:
            self._closed = True
        if self._pool is not None:
            self._pool.close()
