"""Sessions as PHP keeps them (SESS-*): the session functions (functions.py), PHP's
files handler (files.py), the save-handler protocol (handlers.py) and a store on
sqlite3 (sqlite.py)."""

from .handlers import SessionHandlerInterface

__all__ = ["SessionHandlerInterface"]
