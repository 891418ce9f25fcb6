"""Transports: where a Runtime's response goes (TRANSPORT-*)."""

from .cgi import CgiTransport
from .cli import CliTransport
from .memory import MemoryTransport

__all__ = ["CgiTransport", "CliTransport", "MemoryTransport"]
