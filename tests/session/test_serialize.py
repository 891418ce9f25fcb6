"""serialize()/unserialize() beyond the recorded cases, $_SESSION in phprt.php, and
the session defaults phprt chose (spec/sessions.md)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import phprt.php as php
from phprt import MemoryTransport, Runtime
from phprt.engine.serialize import IncompleteClass, serialize_value, unserialize_value


@pytest.mark.clause("SER-FORMAT-2")
def test_what_php_cannot_serialize_throws() -> None:
    with Runtime(transport=MemoryTransport()) as rt:
        with pytest.raises(Exception, match="Serialization of 'function' is not allowed"):
            rt.serialize(lambda: None)


@pytest.mark.clause("SER-REF-1")
def test_cycles_and_shared_objects() -> None:
    cyclic: list[object] = [1]
    cyclic.append(cyclic)
    assert serialize_value(cyclic) == b"a:2:{i:0;i:1;i:1;N;}"
    shared = SimpleNamespace()
    value, _ = unserialize_value(serialize_value([shared, shared]))
    assert value[0] is value[1]


class Foo:
    """A class of the port's: unserialize() does not make one."""

    def __wakeup(self) -> None:  # pragma: no cover - must never run
        raise AssertionError("instantiated")


@pytest.mark.clause("DEV-SER-CLASS-1", "SER-CLASS-1")
def test_no_class_is_instantiated() -> None:
    value, _ = unserialize_value(b'O:3:"Foo":1:{s:1:"a";i:1;}')
    assert type(value) is IncompleteClass and vars(value) == {"__PHP_Incomplete_Class_Name": "Foo", "a": 1}
    assert serialize_value(value) == b'O:3:"Foo":1:{s:1:"a";i:1;}'
    assert serialize_value(Foo()) == b'O:3:"Foo":0:{}'


@pytest.mark.clause("SESS-VARS-1")
def test_session_superglobal(tmp_path: Path) -> None:
    with Runtime(transport=MemoryTransport(), ini={"session.save_path": str(tmp_path)}) as rt:
        assert dict(php._SESSION) == {}
        php.session_id("vars1")
        php.session_start()
        php._SESSION["a"] = 1
        assert rt.session == {"a": 1}
        php.session_write_close()
        php._SESSION["b"] = 2  # not saved
        assert php.session_encode() == "a|i:1;b|i:2;"
    assert (tmp_path / "sess_vars1").read_bytes() == b"a|i:1;"


@pytest.mark.clause("SESS-WRITE-1")
def test_lazy_write_touches_unchanged_data(tmp_path: Path) -> None:
    path = tmp_path / "sess_lazy1"
    path.write_bytes(b"a|i:1;")
    past = time.time() - 100
    os.utime(path, (past, past))
    inode = path.stat().st_ino
    with Runtime(transport=MemoryTransport(), ini={"session.save_path": str(tmp_path), "session.gc_probability": "0"}) as rt:
        rt.session_id("lazy1")
        rt.session_start()
    assert path.stat().st_mtime > past + 50 and path.read_bytes() == b"a|i:1;" and path.stat().st_ino == inode


@pytest.mark.clause("DEV-SESS-SAVE-PATH-1", "SESS-INI-1")
def test_defaults(tmp_path: Path) -> None:
    with Runtime(transport=MemoryTransport()) as rt:
        assert rt.session_save_path() == ""
        assert rt.ini_get("session.name") == "PHPSESSID" and rt.ini_get("session.sid_length") == "32"
        assert rt.ini_set("session.gc_maxlifetime", "60") == "1440"
        assert not rt.function_exists("session_module_name")
