"""The sqlite3 session store (SESS-SQLITE-1): PHP's blocking semantics across processes.

Two processes open the same session in one database: the second waits while the first
holds it and reads what the first wrote; once the first has called
session_write_close(), the second runs while the first still waits. Events are ordered
with marker files; every wait has a safety bound and nothing is timed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from phprt import MemoryTransport, Runtime
from phprt.session.sqlite import SqliteSessionHandler

SAFETY = 20.0

FIRST = """import os, sys
from phprt import MemoryTransport, Runtime
from phprt.session.sqlite import SqliteSessionHandler
d, close = sys.argv[1], sys.argv[2] == "1"
with Runtime(transport=MemoryTransport(), sapi="cgi", ini={"session.gc_probability": "0"}) as rt:
    rt.session_set_save_handler(SqliteSessionHandler(os.path.join(d, "sessions.db")))
    rt.session_id("sqlite1")
    rt.session_start()
    open(os.path.join(d, "first-started"), "w").close()
    if close:
        rt.session["by"] = "first"
        rt.session_write_close()
    n = 0
    while not os.path.exists(os.path.join(d, "release")) and n < 2000:
        rt.usleep(10000)
        n += 1
    rt.session["by"] = "first"
    rt.session["late"] = "end"
"""

SECOND = """import json, os, sys
from phprt import MemoryTransport, Runtime
from phprt.session.sqlite import SqliteSessionHandler
d = sys.argv[1]
with Runtime(transport=MemoryTransport(), sapi="cgi", ini={"session.gc_probability": "0"}) as rt:
    rt.session_set_save_handler(SqliteSessionHandler(os.path.join(d, "sessions.db")))
    rt.session_id("sqlite1")
    open(os.path.join(d, "second-attempting"), "w").close()
    rt.session_start()
    print(json.dumps(rt.session, sort_keys=True))
"""


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + SAFETY
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.005)


def spawn(code: str, *args: str, output: bool = True) -> subprocess.Popen[str]:
    root = str(Path(__file__).resolve().parents[2])
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE if output else subprocess.DEVNULL,
                            text=True,
                            env={**os.environ, "PYTHONPATH": root})


@pytest.mark.clause("SESS-SQLITE-1", "SESS-LOCK-1")
@pytest.mark.parametrize("close_early", [False, True], ids=["held", "written-and-closed"])
def test_two_processes_on_one_session(tmp_path: Path, close_early: bool) -> None:
    first = spawn(FIRST, str(tmp_path), "1" if close_early else "0", output=False)
    try:
        wait_for(tmp_path / "first-started")
        second = spawn(SECOND, str(tmp_path))
        wait_for(tmp_path / "second-attempting")
        if close_early:
            out, _ = second.communicate(timeout=SAFETY)  # while the first still waits
            assert json.loads(out) == {"by": "first"}
            assert first.poll() is None
            (tmp_path / "release").touch()
        else:
            assert second.poll() is None
            (tmp_path / "release").touch()
            out, _ = second.communicate(timeout=SAFETY)
            assert json.loads(out) == {"by": "first", "late": "end"}
        assert first.wait(SAFETY) == 0 and second.returncode == 0
    finally:
        for process in (first, locals().get("second")):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()


@pytest.mark.clause("SESS-SQLITE-1")
def test_store_operations(tmp_path: Path) -> None:
    database = tmp_path / "s.db"
    with Runtime(transport=MemoryTransport(), sapi="cgi", ini={"session.gc_probability": "0",
                                                               "session.use_strict_mode": "1"}) as rt:
        rt.session_set_save_handler(SqliteSessionHandler(database))
        rt.session_id("unknown1")
        rt.session_start()
        sid = rt.session_id()
        assert sid != "unknown1"  # strict mode asked validateId()
        rt.session["a"] = [1, 2]
    handler = SqliteSessionHandler(database)
    handler.open("", "PHPSESSID")
    assert handler.read(sid) == b"a|a:2:{i:0;i:1;i:1;i:2;}"
    assert handler.gc(-10) == 1 and handler.read(sid) == b""
    handler.close()
    other = SqliteSessionHandler(database, lock_wait=0)
    other.open("", "PHPSESSID")
    assert other.read(sid) == b""  # the lock was released by close()
    other.close()


@pytest.mark.clause("SESS-SQLITE-1")
def test_a_dead_owner_s_lock_is_taken_over(tmp_path: Path) -> None:
    database = tmp_path / "s.db"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    holder = SqliteSessionHandler(database)
    holder.open("", "X")
    holder.read("dead1")
    holder._db.execute("UPDATE phprt_sessions_locks SET pid = ?", (int(dead.stdout),))  # type: ignore[union-attr]
    holder._db.close()  # type: ignore[union-attr]
    taker = SqliteSessionHandler(database, lock_wait=5)
    taker.open("", "X")
    assert taker.read("dead1") == b""
    taker.close()
