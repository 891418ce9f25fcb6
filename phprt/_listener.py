"""What the HTTP server and the FastCGI responder share: a listening socket and its lifecycle.

``Listener`` accepts connections in a selector loop and serves each in a thread
of its own (SERVE-CONCURRENT-1, FCGI-CONCURRENT-1); ``stop()`` ends the loop,
``shutdown()`` also ends idle connections and gives running requests a grace
period. ``serve_until_signalled`` runs one in the foreground until SIGINT or
SIGTERM (SERVE-CLI-1, FCGI-WORKERS-1). What a connection says is the
subclass's business.
"""

from __future__ import annotations

import selectors
import signal
import socket
import threading
import time
from types import FrameType
from typing import Any, Callable, Generic, Optional, Protocol, Self, TypeVar, Union

__all__ = ["STOP_SIGNALS", "Listener", "host_port", "serve_until_signalled", "stop_on_signals"]

#: The signals that stop a server.
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})

_Handler = Union[Callable[[int, Optional[FrameType]], Any], int, signal.Handlers, None]


def host_port(listen: str, expected: str = "HOST:PORT") -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as (host, port); port 0 picks a free one."""
    host, colon, port = listen.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"--listen expects {expected}, not {listen!r}")
    return host, int(port)


class Accepted(Protocol):
    """An accepted connection, as ``Listener`` keeps it."""

    @property
    def name(self) -> str:
        """Names its thread: ``phprt-KIND-NAME``."""

    @property
    def idle(self) -> bool:
        """Waiting for a request that has not begun: ``shutdown()`` ends it at once."""

    def interrupt(self) -> None:
        """Shut the socket both ways, so that the connection's thread ends."""


C = TypeVar("C", bound=Accepted)


class Listener(Generic[C]):
    """A listening socket whose connections are each served in a thread of their own.

    ``serve_forever()`` accepts until ``stop()`` or ``shutdown()``; ``start()`` (or
    ``with``) serves from a background thread. A subclass makes the connection
    (``_connection``) and serves it (``_handle``); at most ``max_connections``
    are served at once (None: no limit), later ones wait in the listen queue.
    """

    #: Names the threads: ``phprt-KIND-accept``, ``phprt-KIND-NAME``.
    kind = "listener"

    def __init__(self, listener: socket.socket, max_connections: int | None = None) -> None:
        listener.setblocking(False)
        self._listener = listener
        self._slots = threading.BoundedSemaphore(max_connections) if max_connections is not None else None
        self.stopping = False
        self._shut = False
        self._lock = threading.Lock()
        self._connections: dict[C, threading.Thread] = {}
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._thread: threading.Thread | None = None

    @property
    def listener(self) -> socket.socket:
        return self._listener

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def start(self) -> Self:
        """Serve from a background thread; returns at once, the socket already listens."""
        if self._thread is None:
            self._thread = threading.Thread(target=self.serve_forever, name=f"phprt-{self.kind}-accept", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Accept connections until ``stop()`` or ``shutdown()``, each served in its own thread."""
        wake = socket.socketpair()  # made here, so each worker process has its own
        with self._lock:
            self._wake = wake
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self._listener, selectors.EVENT_READ)
                selector.register(wake[0], selectors.EVENT_READ)
                while not self.stopping:
                    for key, _ in selector.select(timeout=1.0):
                        if key.fileobj is self._listener and not self.stopping:
                            self._accept()
        finally:
            with self._lock:
                self._wake = None
            for end in wake:
                end.close()

    def stop(self) -> None:
        """Stop accepting; ``serve_forever()`` returns. Safe in a signal handler."""
        self.stopping = True
        wake = self._wake
        if wake is not None:
            try:
                wake[1].send(b"x")
            except OSError:
                pass

    def _accept(self) -> None:
        slots = self._slots
        if slots is not None and not slots.acquire(timeout=0.2):  # at capacity: the client waits in the queue
            return
        try:
            sock, peer = self._listener.accept()
        except OSError as error:
            if slots is not None:
                slots.release()
            if not isinstance(error, (BlockingIOError, InterruptedError, ConnectionAbortedError)):
                time.sleep(0.05)  # e.g. out of file descriptors: let it pass
            return  # else another worker took it, or the peer left
        try:
            sock.setblocking(True)
            if sock.family != socket.AF_UNIX:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = self._connection(sock, peer)
        except OSError:
            sock.close()
            if slots is not None:
                slots.release()
            return
        thread = threading.Thread(target=self._serve_connection, args=(connection,), daemon=True,
                                  name=f"phprt-{self.kind}-{connection.name}")
        with self._lock:
            self._connections[connection] = thread
        try:
            thread.start()
        except RuntimeError as error:  # no thread to be had: this client goes, the server stays
            self._unserved(connection, error)
            with self._lock:
                self._connections.pop(connection, None)
            sock.close()
            if slots is not None:
                slots.release()

    def _serve_connection(self, connection: C) -> None:
        try:
            self._handle(connection)
        finally:
            with self._lock:
                self._connections.pop(connection, None)
            if self._slots is not None:
                self._slots.release()

    def _connection(self, sock: socket.socket, peer: Any) -> C:
        """The connection for an accepted socket (blocking)."""
        raise NotImplementedError

    def _handle(self, connection: C) -> None:
        """Serve ``connection`` in its own thread until it ends; close its socket."""
        raise NotImplementedError

    def _unserved(self, connection: C, error: Exception) -> None:
        """``connection`` is closed without being served: no thread could be started."""

    def _busy(self, connections: dict[C, threading.Thread]) -> bool:
        """Whether requests still run, which ``shutdown()`` waits for."""
        return bool(connections)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop accepting, end idle connections, give running requests ``timeout``
        seconds to finish, then cut the rest and ``close()`` (SERVE-CLI-1)."""
        if self._shut:
            return
        self._shut = True
        self.stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                connections = dict(self._connections)
            for connection in connections:
                if connection.idle:
                    connection.interrupt()
            if not self._busy(connections) or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        for connection in connections:  # still running after the grace period
            connection.interrupt()
        for thread in connections.values():
            thread.join(0.5)
        self.close()

    def close(self) -> None:
        """Close the listening socket."""
        self._listener.close()


def stop_on_signals(listener: Listener[Any], *, hurry: bool = False) -> dict[int, _Handler]:
    """Make SIGINT and SIGTERM ``stop()`` ``listener``; with ``hurry`` a second one
    raises KeyboardInterrupt, to stop waiting for running requests. Returns the
    handlers they had."""
    def stop(signum: int, frame: FrameType | None) -> None:
        if hurry and listener.stopping:
            raise KeyboardInterrupt
        listener.stop()

    return {number: signal.signal(number, stop) for number in STOP_SIGNALS}


def serve_until_signalled(listener: Listener[Any], grace: float, *, hurry: bool = False) -> None:
    """Serve in the calling thread until SIGINT or SIGTERM, then ``shutdown(grace)``
    (SERVE-CLI-1, FCGI-WORKERS-1); ``hurry`` as ``stop_on_signals`` takes it."""
    main = threading.current_thread() is threading.main_thread()
    previous = stop_on_signals(listener, hurry=hurry) if main else {}
    try:
        try:
            listener.serve_forever()
        finally:
            listener.shutdown(grace)
    except KeyboardInterrupt:  # a second Ctrl-C: stop waiting for the running requests
        pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
