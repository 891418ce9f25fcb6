"""``Memo``: what phprt remembers from one request to the next, bounded (PERF-MEMO-1).

A request is started cheaply by remembering what the last ones worked out -- a head's
bytes, a header name's CGI key, a path's plan, the ini a request reads. What a client
sends is in the key, so every such memory is bounded: a dict that, when a new entry is
kept while it holds ``size`` of them, starts again empty (as PHP's realpath cache does
when it is full). Looking up is the dict's own ``get``.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = ["Memo"]

K = TypeVar("K")
V = TypeVar("V")


class Memo(dict[K, V]):
    """A dict of at most ``size`` entries; ``keep`` adds one (PERF-MEMO-1)."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def keep(self, key: K, value: V) -> V:
        """Remember ``value`` for ``key`` -- after forgetting everything, when full -- and return it."""
        if len(self) >= self.size:
            self.clear()
        self[key] = value
        return value
