"""``Memo``: what phprt remembers from one request to the next, bounded (PERF-MEMO-1).

A request is started cheaply by remembering what the last ones worked out -- a head's
bytes, a header name's CGI key, a path's plan, the ini a request reads. What a client
sends is in the key, so every such memory is bounded: a dict that, when a new entry is
kept while it holds ``size`` of them, starts again empty (as PHP's realpath cache does
when it is full), and that keeps no entry heavier than ``largest`` where that is given (a
head of long lines is made each time). Looking up is the dict's own ``get``.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = ["Memo"]

K = TypeVar("K")
V = TypeVar("V")


class Memo(dict[K, V]):
    """A dict of at most ``size`` entries, each of a weight of at most ``largest`` where
    that is given; ``keep`` adds one (PERF-MEMO-1)."""

    __slots__ = ("size", "largest")

    def __init__(self, size: int, largest: int | None = None) -> None:
        super().__init__()
        self.size, self.largest = size, largest

    def keep(self, key: K, value: V, weight: int = 0) -> V:
        """Remember ``value`` for ``key`` -- after forgetting everything, when full; not at all
        when ``weight`` is over ``largest`` -- and return it."""
        if self.largest is None or weight <= self.largest:
            if len(self) >= self.size:
                self.clear()
            self[key] = value
        return value
