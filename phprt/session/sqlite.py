"""A session store on sqlite3 with PHP's blocking semantics across processes (SESS-SQLITE-1).

``SqliteSessionHandler(database)`` is a handler for session_set_save_handler(), shaped
like PHP's SessionHandlerInterface (handlers.py); make one per request, as PHP makes its
handler objects. Like PHP's files handler, reading a
session takes that session's lock and closing releases it, so a second request on the
same session -- in any thread or process using the same database file -- waits until
the first has written and closed; requests on other sessions do not wait.

The lock is a row in a lock table, taken in a ``BEGIN IMMEDIATE`` transaction (sqlite's
write lock makes the check-and-take atomic across processes) and held after it
commits. A lock whose owner process is gone (same host, pid no longer alive) or older
than ``lock_ttl`` seconds is taken over, as the kernel drops a dead process's flock.
Waiting polls every ``poll`` seconds up to ``lock_wait`` (None: forever, as flock).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid
from typing import Any

__all__ = ["SqliteSessionHandler"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS {t} (id TEXT PRIMARY KEY, data BLOB NOT NULL, updated INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {t}_locks (id TEXT PRIMARY KEY, owner TEXT NOT NULL, host TEXT NOT NULL, "
    "pid INTEGER NOT NULL, taken REAL NOT NULL)",
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SqliteSessionHandler:
    """Sessions in the sqlite3 database ``database`` (a path), table ``table``."""

    def __init__(self, database: str | os.PathLike[str], *, table: str = "phprt_sessions", lock_ttl: float = 3600.0,
                 poll: float = 0.01, lock_wait: float | None = None) -> None:
        if not table.replace("_", "").isalnum():
            raise ValueError(f"not a table name: {table!r}")
        self.database, self.table = os.fspath(database), table
        self.lock_ttl, self.poll, self.lock_wait = lock_ttl, poll, lock_wait
        self._db: sqlite3.Connection | None = None
        self._held: set[str] = set()
        self._owner = f"{uuid.uuid4().hex}-{threading.get_ident()}"

    # -- the connection and the lock ------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(self.database, timeout=60.0, isolation_level=None, check_same_thread=False)
            for statement in _SCHEMA:
                self._db.execute(statement.format(t=self.table))
        return self._db

    def _try_lock(self, sid: str) -> bool:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(f"SELECT owner, host, pid, taken FROM {self.table}_locks WHERE id = ?", (sid,)).fetchone()
            free = row is None or row[0] == self._owner or time.time() - row[3] > self.lock_ttl or (
                row[1] == socket.gethostname() and not _alive(row[2]))
            if free:
                db.execute(f"INSERT OR REPLACE INTO {self.table}_locks VALUES (?, ?, ?, ?, ?)",
                           (sid, self._owner, socket.gethostname(), os.getpid(), time.time()))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return free

    def _lock(self, sid: str) -> bool:
        if sid in self._held:
            return True
        deadline = None if self.lock_wait is None else time.monotonic() + self.lock_wait
        while not self._try_lock(sid):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(self.poll)
        self._held.add(sid)
        return True

    def _unlock_all(self) -> None:
        if self._db is not None and self._held:
            self._db.executemany(f"DELETE FROM {self.table}_locks WHERE id = ? AND owner = ?",
                                 [(sid, self._owner) for sid in self._held])
        self._held.clear()

    # -- SessionHandlerInterface ----------------------------------------------------------------------

    def open(self, path: str, name: str) -> bool:
        self._owner = f"{uuid.uuid4().hex}-{threading.get_ident()}"  # this request's locks
        self._connection()
        return True

    def close(self) -> bool:
        try:
            self._unlock_all()
        finally:
            if self._db is not None:
                self._db.close()
                self._db = None
        return True

    def read(self, id: str) -> bytes | bool:
        if not self._lock(id):
            return False
        row = self._connection().execute(f"SELECT data FROM {self.table} WHERE id = ?", (id,)).fetchone()
        return bytes(row[0]) if row is not None else b""

    def write(self, id: str, data: Any) -> bool:
        if not self._lock(id):
            return False
        blob = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)
        self._connection().execute(f"INSERT OR REPLACE INTO {self.table} VALUES (?, ?, ?)", (id, blob, int(time.time())))
        return True

    def destroy(self, id: str) -> bool:
        self._connection().execute(f"DELETE FROM {self.table} WHERE id = ?", (id,))
        return True

    def gc(self, max_lifetime: int) -> int:
        cursor = self._connection().execute(f"DELETE FROM {self.table} WHERE updated < ?",
                                            (int(time.time()) - int(max_lifetime),))
        return cursor.rowcount

    def validateId(self, id: str) -> bool:  # noqa: N802 - PHP's name
        row = self._connection().execute(f"SELECT 1 FROM {self.table} WHERE id = ?", (id,)).fetchone()
        return row is not None

    def updateTimestamp(self, id: str, data: Any) -> bool:  # noqa: N802 - PHP's name
        self._connection().execute(f"UPDATE {self.table} SET updated = ? WHERE id = ?", (int(time.time()), id))
        return True
