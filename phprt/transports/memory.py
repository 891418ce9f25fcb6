"""MemoryTransport: records what a client would see (TRANSPORT-MEMORY-*)."""

from __future__ import annotations

from typing import Any, Mapping

from .base import ResponseHead, Transport

__all__ = ["MemoryTransport"]


class MemoryTransport(Transport):
    """Records the response in memory, for tests and for showing what PHP does.

    - ``head``: the ``ResponseHead`` ``send_headers`` was given (None until then);
      ``status`` and ``headers`` its status and (name, value) fields (``status``
      stays None until then, and under the CLI profile).
    - ``body``: every byte the client received.
    - ``events``: everything in order: ``("headers", status, headers)``,
      ``("write", bytes)``, ``("flush",)``, ``("finish",)``.
    - ``stderr``: what went to the error stream.

    ``disconnect_after=N`` is a client that reads N body bytes and hangs up: the
    write that reaches N is delivered as far as N, and later writes and flushes
    report the client gone -- except the first ``lost_writes`` writes after the
    hang-up, which are reported delivered and lost, as a TCP socket accepts a send
    after its peer closed (TRANSPORT-MEMORY-2). ``server`` gives the request
    variables ($_SERVER), ``input`` the request body. ``finish()`` may come early
    (fastcgi_finish_request()).
    """

    can_end_early = True

    def __init__(
        self, disconnect_after: int | None = None, server: Mapping[str, Any] | None = None, *, lost_writes: int = 0,
        input: bytes = b"",
    ) -> None:
        self.server = dict(server or {})
        self.input = input
        self.head: ResponseHead | None = None
        self.status: int | None = None
        self.headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []  # appended to, joined when read (PERF-MEMORY-1)
        self._body_length = 0
        self.stderr = b""
        self.events: list[tuple[object, ...]] = []
        self.finished = False
        self.disconnect_after = disconnect_after
        self.lost_writes = lost_writes

    @property
    def chunks(self) -> list[bytes]:
        """The body as it was written, one entry per write."""
        return [event[1] for event in self.events if event[0] == "write"]  # type: ignore[misc]

    @property
    def body(self) -> bytes:
        """Every byte the client received."""
        if len(self._body) > 1:
            self._body[:] = [b"".join(self._body)]
        return self._body[0] if self._body else b""

    @property
    def client_gone(self) -> bool:
        return self.disconnect_after is not None and self._body_length >= self.disconnect_after

    def send_headers(self, head: ResponseHead) -> None:
        self.head, self.status, self.headers = head, head.status, head.fields
        self.events.append(("headers", head.status, self.headers))

    def write(self, data: bytes) -> bool:
        if self.client_gone:
            if self.lost_writes > 0:
                self.lost_writes -= 1
                return True
            return False
        if self.disconnect_after is not None:
            data = data[: self.disconnect_after - self._body_length]
        self._body.append(data)
        self._body_length += len(data)
        self.events.append(("write", data))
        return True

    def flush(self) -> bool:
        if self.client_gone:
            return False
        self.events.append(("flush",))
        return True

    def write_stderr(self, data: bytes) -> None:
        self.stderr += data

    def finish(self) -> None:
        self.finished = True
        self.events.append(("finish",))
