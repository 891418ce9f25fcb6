"""Transports: where a Runtime's response goes (TRANSPORT-*)."""

from .cli import CliTransport
from .memory import MemoryTransport

__all__ = ["CliTransport", "MemoryTransport"]
