"""MemoryTransport: records what a client would see (TRANSPORT-MEMORY-*)."""

from __future__ import annotations

from .._transport import Transport

__all__ = ["MemoryTransport"]


class MemoryTransport(Transport):
    """Records the response in memory, for tests and for showing what PHP does.

    - ``status``, ``headers``: what ``send_headers`` was given (``status`` stays
      None until then, and under the CLI profile).
    - ``body``: every byte the client received.
    - ``events``: everything in order: ``("headers", status, headers)``,
      ``("write", bytes)``, ``("flush",)``, ``("finish",)``.
    - ``stderr``: what went to the error stream.

    ``disconnect_after=N`` makes a client that hangs up after receiving N body
    bytes: the write that crosses N delivers only what fits, and from then on
    ``write`` and ``flush`` report the client gone.
    """

    def __init__(self, disconnect_after: int | None = None) -> None:
        self.status: int | None = None
        self.headers: list[tuple[str, str]] = []
        self.body = b""
        self.stderr = b""
        self.events: list[tuple[object, ...]] = []
        self.finished = False
        self.disconnect_after = disconnect_after

    @property
    def chunks(self) -> list[bytes]:
        """The body as it was written, one entry per write."""
        return [event[1] for event in self.events if event[0] == "write"]  # type: ignore[misc]

    @property
    def client_gone(self) -> bool:
        return self.disconnect_after is not None and len(self.body) >= self.disconnect_after

    def send_headers(self, status: int | None, headers: list[tuple[str, str]]) -> None:
        self.status, self.headers = status, list(headers)
        self.events.append(("headers", status, list(headers)))

    def write(self, data: bytes) -> bool:
        if self.client_gone:
            return False
        if self.disconnect_after is not None:
            data = data[: self.disconnect_after - len(self.body)]
        self.body += data
        self.events.append(("write", data))
        return not self.client_gone

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
