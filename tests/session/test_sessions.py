"""Sessions (spec/sessions.md): the files handler shared with php-cgi, the request's end,
user handlers, bad input. Expected values come from php-cgi 8.2 runs quoted in each
docstring (or, for the interoperability tests, from php-cgi itself, run by the test).
"""

from __future__ import annotations

import fcntl
import io
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from phprt import CgiTransport, MemoryTransport, Runtime
from phprt.engine.errors import Bailout
from phprt.session.files import FilesModule, parse_save_path
from phprt.session.handlers import ID_CHARACTERS, create_id, valid_id
from tests.support.ports import spin

needs_php_cgi = pytest.mark.skipif(shutil.which("php-cgi") is None, reason="needs PHP 8.2's php-cgi")


def runtime(save_path: Path | str, cookie: str | None = None, sapi: str = "cgi", **ini: str) -> Runtime:
    server = {"REQUEST_METHOD": "GET"}
    if cookie is not None:
        server["HTTP_COOKIE"] = cookie
    settings = {"session.save_path": str(save_path), "session.gc_probability": "0", "display_errors": "0", **ini}
    return Runtime(transport=MemoryTransport(server=server), sapi=sapi, ini=settings)


def php_cgi(script: Path, save_path: str, cookie: str, **ini: str) -> bytes:
    options = [f"-dsession.save_path={save_path}", "-dsession.gc_probability=0", "-dhtml_errors=0"]
    options += [f"-d{name}={value}" for name, value in ini.items()]
    environment = {**os.environ, "REQUEST_METHOD": "GET", "REDIRECT_STATUS": "200", "SCRIPT_FILENAME": str(script),
                   "HTTP_COOKIE": cookie}
    done = subprocess.run(["php-cgi", "-n", *options], env=environment, capture_output=True, timeout=60, check=True)
    return done.stdout.split(b"\r\n\r\n", 1)[1]


READ_AND_ADD = """<?php
session_start();
echo serialize($_SESSION);
$_SESSION["php"] = ["was" => "here", 1.5];
"""


# -- the files handler, shared with PHP ------------------------------------------------------------


@needs_php_cgi
@pytest.mark.clause("SESS-FILES-1", "SESS-SERIALIZER-1", "SER-FORMAT-1")
@pytest.mark.parametrize("serializer", ["php", "php_serialize"])
@pytest.mark.parametrize("layout", ["flat", "2;0600;"])
def test_phprt_and_php_cgi_read_each_others_sessions(tmp_path: Path, serializer: str, layout: str) -> None:
    """A session phprt wrote is what php-cgi reads, and the reverse, in either format and
    in the N;MODE;/path layout (whose directories exist beforehand, as PHP requires)."""
    base = tmp_path / "sessions"
    base.mkdir()
    sid = "ab12cd34interop"
    save_path = str(base) if layout == "flat" else f'"{layout}{base}"'  # quoted: ";" starts an ini comment
    if layout != "flat":
        (base / "a" / "b").mkdir(parents=True)
    values = {"n": 1, "f": 0.1, "s": "é", "t": True, "z": None, "list": [1, "two", [3]], "map": {"k": "v", "5": 5},
              "obj": SimpleNamespace(p=1)}
    with runtime(save_path, sapi="cgi", **{"session.serialize_handler": serializer}) as rt:
        rt.session_id(sid)
        assert rt.session_start() is True
        rt.session.update(values)
    script = tmp_path / "read.php"
    script.write_text(READ_AND_ADD)
    seen = php_cgi(script, save_path, f"PHPSESSID={sid}", **{"session.serialize_handler": serializer})
    # what PHP unserialized is what phprt serialized, re-serialized by PHP
    assert seen == (b'a:8:{s:1:"n";i:1;s:1:"f";d:0.1;s:1:"s";s:2:"\xc3\xa9";s:1:"t";b:1;s:1:"z";N;s:4:"list";'
                    b'a:3:{i:0;i:1;i:1;s:3:"two";i:2;a:1:{i:0;i:3;}}s:3:"map";a:2:{s:1:"k";s:1:"v";i:5;i:5;}'
                    b's:3:"obj";O:8:"stdClass":1:{s:1:"p";i:1;}}')
    with runtime(save_path, cookie=f"PHPSESSID={sid}", **{"session.serialize_handler": serializer}) as rt:
        assert rt.session_start() is True
        assert rt.session["php"] == {"was": "here", 0: 1.5}
        assert rt.session["map"] == {"k": "v", 5: 5} and rt.session["list"] == [1, "two", [3]]
        assert vars(rt.session["obj"]) == {"p": 1}
        rt.session_destroy()


@pytest.mark.clause("SESS-FILES-1")
def test_the_file_is_php_s(tmp_path: Path) -> None:
    """php-cgi 8.2 wrote ``a|i:1;b|a:5:{i:0;d:1.5;i:1;s:1:"x";i:2;N;i:3;b:1;i:4;a:1:{s:1:"k";d:0.1;}}o|O:8:"stdClass":1:{s:1:"p";i:1;}``
    to sess_abc123 with mode 0600 for the same data."""
    with runtime(tmp_path) as rt:
        rt.session_id("abc123")
        rt.session_start()
        rt.session.update(a=1, b=[1.5, "x", None, True, {"k": 0.1}], o=SimpleNamespace(p=1))
    path = tmp_path / "sess_abc123"
    assert path.read_bytes() == (b'a|i:1;b|a:5:{i:0;d:1.5;i:1;s:1:"x";i:2;N;i:3;b:1;i:4;a:1:{s:1:"k";d:0.1;}}'
                                 b'o|O:8:"stdClass":1:{s:1:"p";i:1;}')
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.clause("SESS-FILES-2")
def test_save_path_forms() -> None:
    """PS_OPEN_FUNC(files): "N;MODE;/path", "N;/path", a bad N."""
    assert parse_save_path("2;0640;/x") == (2, 0o640, "/x")
    assert parse_save_path("1;/x") == (1, 0o600, "/x")
    assert parse_save_path("/x") == (0, 0o600, "/x")
    assert parse_save_path("99999999999999999999;/x") == "The first parameter in session.save_path is invalid"
    assert parse_save_path("1;77777777;/x") == "The second parameter in session.save_path is invalid"
    module = FilesModule()
    module.open("2;0600;/base", "PHPSESSID")
    assert module.path("abcdef") == "/base/a/b/sess_abcdef"


@pytest.mark.clause("SESS-GC-1")
def test_gc_deletes_what_maxlifetime_says(tmp_path: Path) -> None:
    old, new = tmp_path / "sess_old", tmp_path / "sess_new"
    old.write_bytes(b"a|i:1;")
    new.write_bytes(b"a|i:1;")
    (tmp_path / "other").write_bytes(b"")
    past = time.time() - 2000
    os.utime(old, (past, past))
    with runtime(tmp_path) as rt:
        rt.session_id("current")
        rt.session_start()
        assert rt.session_gc() == 1  # session.gc_maxlifetime 1440
        rt.session_destroy()
    assert not old.exists() and new.exists() and (tmp_path / "other").exists()


@pytest.mark.clause("SESS-LOCK-1")
def test_the_file_is_locked_from_read_to_close(tmp_path: Path) -> None:
    with runtime(tmp_path) as rt:
        rt.session_id("locked1")
        rt.session_start()
        with open(tmp_path / "sess_locked1", "rb") as probe:
            with pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            rt.session_write_close()
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(probe, fcntl.LOCK_UN)


# -- ids ----------------------------------------------------------------------------------------------


@pytest.mark.clause("SESS-ID-1")
def test_generated_ids() -> None:
    """php-cgi 8.2's new ids: 32 characters of 0-9a-f (sid_bits_per_character 4)."""
    assert re.fullmatch(r"[0-9a-f]{32}", create_id())
    assert set(create_id(256, 6)) <= set(ID_CHARACTERS) and len(create_id(22, 5)) == 22
    assert set(create_id(200, 5)) <= set(ID_CHARACTERS[:32])


@pytest.mark.clause("SESS-ID-2")
def test_valid_ids() -> None:
    assert valid_id("a-b,C9") and not valid_id("") and not valid_id("a" * 257) and not valid_id("a.b")


@pytest.mark.clause("SESS-ID-1", "SESS-COOKIE-1")
def test_a_new_session_gets_a_new_id_and_its_cookie(tmp_path: Path) -> None:
    """php-cgi: ``Set-Cookie: PHPSESSID=7d6e13300c2e37dd804528956b2131dd; path=/`` then the nocache headers."""
    with runtime(tmp_path) as rt:
        rt.session_start()
        sid = rt.session_id()
        assert re.fullmatch(r"[0-9a-f]{32}", sid)
        assert rt.headers_list()[1:] == [f"Set-Cookie: PHPSESSID={sid}; path=/", "Expires: Thu, 19 Nov 1981 08:52:00 GMT",
                                         "Cache-Control: no-store, no-cache, must-revalidate", "Pragma: no-cache"]
        rt.session_destroy()


@pytest.mark.clause("SESS-SERIALIZER-1")
def test_numeric_keys_are_skipped_with_a_warning(tmp_path: Path) -> None:
    """php -n 8.2.36 (session_encode_variation6.phpt): ``$_SESSION[5] = 1; $_SESSION["a"] = 2;
    echo session_encode();`` gives ``Warning: session_encode(): Skipping numeric key 5`` and
    ``a|i:2;``, and the request's write warns again: ``PHP Request Shutdown: Skipping numeric key 5``."""
    with runtime(tmp_path, sapi="cli", **{"session.use_cookies": "0"}) as rt:
        rt.session_start()
        rt.session[5] = 1
        rt.session["a"] = 2
        assert rt.session_encode() == "a|i:2;"
    assert [(d.level, d.message) for d in rt.diagnostics] == [
        (2, "session_encode(): Skipping numeric key 5"), (2, "PHP Request Shutdown: Skipping numeric key 5")]


@pytest.mark.clause("SESS-HANDLER-2")
def test_a_handler_returning_int_0_or_minus_1_is_deprecated(tmp_path: Path) -> None:
    """php -n 8.2.36 (session_set_save_handler_iface_002.phpt): write() returning 0 and gc()
    returning -1 give ``bool(false)`` from session_gc() and, at session_write_close(),
    ``Deprecated: session_write_close(): Session callback must have a return value of type
    bool, int returned``; the session is written (0 is success)."""
    class Handler:
        def open(self, path: str, name: str) -> bool: return True
        def close(self) -> bool: return True
        def read(self, sid: str) -> str: return ""
        def write(self, sid: str, data: str) -> int: return 0
        def destroy(self, sid: str) -> bool: return True
        def gc(self, lifetime: int) -> int: return -1

    with runtime(tmp_path, sapi="cli", **{"session.use_cookies": "0"}) as rt:
        rt.session_set_save_handler(Handler())
        rt.session_start()
        rt.session["a"] = 1
        assert rt.session_gc() is False
        rt.session_write_close()
    assert [(d.level, d.message) for d in rt.diagnostics] == [
        (8192, "session_write_close(): Session callback must have a return value of type bool, int returned")]


@pytest.mark.clause("SESS-START-2", "SESS-ID-1")
def test_strict_mode_refuses_an_unknown_id(tmp_path: Path) -> None:
    """php-cgi, use_strict_mode=1, cookie PHPSESSID=newid1: a new id a63e6bcf..., sent as a cookie."""
    with runtime(tmp_path, cookie="PHPSESSID=newid1", **{"session.use_strict_mode": "1"}) as rt:
        rt.session_start()
        sid = rt.session_id()
        assert sid != "newid1" and re.fullmatch(r"[0-9a-f]{32}", sid)
        assert f"Set-Cookie: PHPSESSID={sid}; path=/" in rt.headers_list()
        rt.session_destroy()
    (tmp_path / "sess_known1").write_bytes(b"a|i:1;")
    with runtime(tmp_path, cookie="PHPSESSID=known1", **{"session.use_strict_mode": "1"}) as rt:
        rt.session_start()
        assert rt.session_id() == "known1" and rt.session == {"a": 1}
        rt.session_destroy()


@pytest.mark.clause("SESS-ID-4")
def test_regenerate_id_keeps_the_data(tmp_path: Path) -> None:
    """session_regenerate_id(): the old file keeps the data (or is deleted with true), the
    new id's cookie replaces the old one."""
    for delete in (False, True):
        with runtime(tmp_path) as rt:
            rt.session_id("regen1")
            rt.session_start()
            rt.session["a"] = 1
            assert rt.session_regenerate_id(delete) is True
            new = rt.session_id()
            assert new != "regen1"
            cookies = [line for line in rt.headers_list() if line.startswith("Set-Cookie")]
            assert cookies == [f"Set-Cookie: PHPSESSID={new}; path=/"]
        assert (tmp_path / f"sess_{new}").read_bytes() == b"a|i:1;"
        assert (tmp_path / "sess_regen1").exists() is not delete
        if not delete:
            assert (tmp_path / "sess_regen1").read_bytes() == b"a|i:1;"


@pytest.mark.clause("SESS-CACHE-1")
@pytest.mark.parametrize("limiter, expected", [
    ("public", ["Expires: {expires}", "Cache-Control: public, max-age=10800", "Last-Modified: {mtime}"]),
    ("private", ["Expires: Thu, 19 Nov 1981 08:52:00 GMT", "Cache-Control: private, max-age=10800", "Last-Modified: {mtime}"]),
    ("private_no_expire", ["Cache-Control: private, max-age=10800", "Last-Modified: {mtime}"]),
])
def test_cache_limiters(tmp_path: Path, limiter: str, expected: list[str]) -> None:
    """php-cgi 8.2 for public: ``Expires: Thu, 03 Dec 2026 22:31:06 GMT`` (now + 180 minutes),
    ``Cache-Control: public, max-age=10800``, ``Last-Modified:`` the script's mtime; private
    and private_no_expire likewise, in that order."""
    script = tmp_path / "page.py"
    script.write_text("")
    os.utime(script, (1796326266, 1796326266))
    server = {"REQUEST_METHOD": "GET", "SCRIPT_FILENAME": str(script)}
    with Runtime(transport=MemoryTransport(server=server), sapi="cgi",
                 ini={"session.save_path": str(tmp_path), "session.use_cookies": "0"}) as rt:
        rt.session_cache_limiter(limiter)
        rt.session_id("lim1")
        before = int(time.time())
        rt.session_start()
        lines = rt.headers_list()[1:]
        rt.session_destroy()
    mtime = "Thu, 03 Dec 2026 19:31:06 GMT"
    if limiter == "public":
        expires = [time.strftime("Expires: %a, %d %b %Y %H:%M:%S GMT", time.gmtime(before + 10800 + d)) for d in (0, 1, 2)]
        assert lines[0] in expires
        lines[0] = "Expires: {expires}"
    assert lines == [line.replace("{mtime}", mtime) if "{mtime}" in line else line for line in expected]


@pytest.mark.clause("SESS-COOKIE-1")
def test_cookie_lifetime_adds_expires_and_max_age(tmp_path: Path) -> None:
    with runtime(tmp_path, **{"session.cookie_lifetime": "60", "session.cache_limiter": ""}) as rt:
        rt.session_id("life1")
        rt.session_start()
        line = rt.headers_list()[1]
        rt.session_destroy()
    assert re.fullmatch(r"Set-Cookie: PHPSESSID=life1; expires=\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT; "
                        r"Max-Age=60; path=/", line)


# -- the request's end -------------------------------------------------------------------------------


SCRIPT_END = """
def sd():
    rt.session["sd"] = 1
rt.register_shutdown_function(sd)
rt.ob_start(lambda buffer, phase: (rt.session.__setitem__("ob", phase), buffer)[1])
rt.session_id("end1")
rt.session_start()
rt.session["x"] = 2
"""


@pytest.mark.clause("SESS-END-1")
@pytest.mark.parametrize("ending", ["normal", "exit", "uncaught", "timeout"])
def test_written_after_shutdown_functions_and_output_end(tmp_path: Path, ending: str) -> None:
    """PHP's session RSHUTDOWN runs after the shutdown functions and php_output_end_all():
    what both put in $_SESSION is written; exit, an uncaught exception and a timeout
    still write (php-cgi 8.2: ``write(hid1,a|i:1;x|i:2;sd|i:1;)`` after exit and after
    the uncaught exception's fatal error)."""
    rt = runtime(tmp_path, **{"max_execution_time": "1"})
    try:
        with rt:
            exec(SCRIPT_END, {"rt": rt})
            if ending == "exit":
                rt.exit()
            elif ending == "uncaught":
                raise ValueError("uncaught")
            elif ending == "timeout":
                spin(30)
    except ValueError:
        pass
    # ob's phase: PHP_OUTPUT_HANDLER_FINAL (8) | START (1) when the buffer ends unflushed
    assert (tmp_path / "sess_end1").read_bytes() == b"x|i:2;sd|i:1;ob|i:9;"
    assert rt.session_status() == 1


@pytest.mark.clause("SESS-END-1", "SESS-LOCK-1")
def test_a_bailout_inside_the_session_write_leaves_no_lock(tmp_path: Path) -> None:
    class Exiting:
        def open(self, path: str, name: str) -> bool:
            self.module = FilesModule()
            self.module.open(path, name)
            return True

        def close(self) -> bool:
            return self.module.close()

        def read(self, id: str) -> Any:
            return self.module.read(id, 0)

        def write(self, id: str, data: str) -> bool:
            raise Bailout(0)

        def destroy(self, id: str) -> bool:
            return True

        def gc(self, max_lifetime: int) -> int:
            return 0

    with runtime(tmp_path) as rt:
        rt.session_set_save_handler(Exiting(), False)
        rt.session_id("bail1")
        rt.session_start()
    with open(tmp_path / "sess_bail1", "rb") as probe:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)


# -- user handlers -----------------------------------------------------------------------------------


class Recorder:
    def __init__(self, mode: str = "ok") -> None:
        self.mode, self.calls = mode, []

    def open(self, path: str, name: str) -> Any:
        self.calls.append(f"open({path},{name})")
        return "yes" if self.mode == "open" else True

    def close(self) -> bool:
        self.calls.append("close")
        return True

    def read(self, id: str) -> Any:
        self.calls.append(f"read({id})")
        if self.mode == "throw":
            raise RuntimeError("boom")
        return False if self.mode == "read" else "a|i:1;"

    def write(self, id: str, data: str) -> bool:
        self.calls.append(f"write({id},{data})")
        return self.mode != "write"

    def destroy(self, id: str) -> bool:
        self.calls.append("destroy")
        return True

    def gc(self, max_lifetime: int) -> int:
        return 0


def run_with(handler: Recorder, tmp_path: Path) -> tuple[Runtime, list[Any]]:
    results: list[Any] = []
    rt = Runtime(transport=CgiTransport(io.BytesIO(), io.BytesIO(), environ={"REQUEST_METHOD": "GET"}), sapi="cgi",
                 ini={"session.save_path": str(tmp_path), "session.gc_probability": "0", "html_errors": "0",
                      "display_errors": "0"})
    with rt:
        results.append(rt.session_set_save_handler(handler))
        rt.session_id("hid1")
        try:
            results.append(rt.session_start())
        except Exception as error:
            results.append(f"{type(error).__name__}: {error}")
        results.append(rt.session_status())
        rt.session["x"] = 2
    return rt, results


@pytest.mark.clause("SESS-HANDLER-1")
def test_a_handler_object_is_called_as_php_calls_it(tmp_path: Path) -> None:
    """php-cgi 8.2: open(/tmp/s15,PHPSESSID) read(hid1) ... write(hid1,a|i:1;x|i:2;) close,
    the write from session_register_shutdown's session_write_close()."""
    handler = Recorder()
    rt, results = run_with(handler, tmp_path)
    assert results == [True, True, 2]
    assert handler.calls == [f"open({tmp_path},PHPSESSID)", "read(hid1)", "write(hid1,a|i:1;x|i:2;)", "close"]
    assert not [d for d in rt.diagnostics if d.level != 8192]


@pytest.mark.clause("SESS-HANDLER-2", "SESS-START-2")
def test_a_handler_that_fails(tmp_path: Path) -> None:
    """php-cgi 8.2: read returning false: "session_start(): Failed to read session data:
    user (path: ...)" and false; write returning false: "session_write_close(): Failed to
    write session data using user defined save handler. (session.save_path: ..., handler:
    H::write)"; a non-bool from open: the TypeError PHP's bool return type would give."""
    handler = Recorder("read")
    rt, results = run_with(handler, tmp_path)
    assert results == [True, False, 1] and handler.calls[-1] == "close"
    assert [d.message for d in rt.diagnostics] == [f"session_start(): Failed to read session data: user (path: {tmp_path})"]
    handler = Recorder("write")
    rt, results = run_with(handler, tmp_path)
    assert [d.message for d in rt.diagnostics] == [
        f"session_write_close(): Failed to write session data using user defined save handler. "
        f"(session.save_path: {tmp_path}, handler: Recorder::write)"]
    rt, results = run_with(Recorder("open"), tmp_path)
    assert results[1] == "TypeError: Session callback must have a return value of type bool, string returned"


@pytest.mark.clause("SESS-HANDLER-3")
def test_a_handler_that_raises(tmp_path: Path) -> None:
    """php-cgi 8.2: read() throwing: session_start() throws it, no warning, no close()
    (PHP calls no user code while an exception is pending), status PHP_SESSION_NONE."""
    handler = Recorder("throw")
    rt, results = run_with(handler, tmp_path)
    assert results == [True, "RuntimeError: boom", 1]
    assert handler.calls == [f"open({tmp_path},PHPSESSID)", "read(hid1)"]
    assert rt.diagnostics == []


@pytest.mark.clause("SESS-HANDLER-1")
def test_not_a_handler(tmp_path: Path) -> None:
    with runtime(tmp_path) as rt:
        with pytest.raises(TypeError, match=r"must be of type SessionHandlerInterface, int given"):
            rt.session_set_save_handler(5)


# -- bad input ----------------------------------------------------------------------------------------


@pytest.mark.clause("SESS-DECODE-1", "SESS-START-2")
def test_a_corrupt_file(tmp_path: Path) -> None:
    """php-cgi 8.2 with sess_corrupt1 holding ``a|i:1;b|x``: "session_start(): Failed to
    decode session object. Session has been destroyed", false, status 1, id "", $_SESSION
    empty, the file deleted."""
    (tmp_path / "sess_corrupt1").write_bytes(b"a|i:1;b|x")
    with runtime(tmp_path, cookie="PHPSESSID=corrupt1") as rt:
        assert rt.session_start() is False
        assert (rt.session_status(), rt.session_id(), rt.session) == (1, "", {})
        assert [d.message for d in rt.diagnostics] == [
            "session_start(): Failed to decode session object. Session has been destroyed"]
    assert not (tmp_path / "sess_corrupt1").exists()


@pytest.mark.clause("SESS-FILES-2")
def test_an_unwritable_save_path(tmp_path: Path) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    directory.chmod(0o500)
    if os.access(directory, os.W_OK):  # root writes anywhere: as PHP would
        pytest.skip("running as root")
    with runtime(directory) as rt:
        rt.session_id("ro1")
        assert rt.session_start() is False


@pytest.mark.clause("SESS-LOCK-1", "SESS-DECODE-1")
def test_hostile_session_data_is_bounded(tmp_path: Path) -> None:
    (tmp_path / "sess_deep1").write_bytes(b"a|" + b"a:1:{i:0;" * 5000 + b"i:1;" + b"}" * 5000)
    with runtime(tmp_path, cookie="PHPSESSID=deep1") as rt:
        assert rt.session_start() is False
    assert not (tmp_path / "sess_deep1").exists()


WAIT_AND_READ = """<?php
touch(getenv("MARKER"));
session_start();
echo json_encode($_SESSION);
"""


@needs_php_cgi
@pytest.mark.clause("SESS-LOCK-1", "SESS-FILES-1")
def test_php_cgi_waits_for_phprt_s_lock(tmp_path: Path) -> None:
    """The lock is PHP's flock: php-cgi on a session phprt holds waits, then reads what
    phprt wrote when it closed."""
    script, marker = tmp_path / "read.php", tmp_path / "php-attempting"
    script.write_text(WAIT_AND_READ)
    with runtime(tmp_path) as rt:
        rt.session_id("shared1")
        rt.session_start()
        environment = {**os.environ, "REQUEST_METHOD": "GET", "REDIRECT_STATUS": "200", "SCRIPT_FILENAME": str(script),
                       "HTTP_COOKIE": "PHPSESSID=shared1", "MARKER": str(marker)}
        php = subprocess.Popen(["php-cgi", "-n", f"-dsession.save_path={tmp_path}", "-dsession.gc_probability=0"],
                               env=environment, stdout=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 20
            while not marker.exists():
                assert time.monotonic() < deadline and php.poll() is None
                time.sleep(0.005)
            rt.session["by"] = "phprt"
            rt.session_write_close()
            out, _ = php.communicate(timeout=20)
        finally:
            if php.poll() is None:
                php.kill()
                php.communicate()
    assert out.split(b"\r\n\r\n", 1)[1] == b'{"by":"phprt"}'


@pytest.mark.clause("SESS-END-1")
def test_a_client_abort_still_writes(tmp_path: Path) -> None:
    """A client gone stops the script (PHP's bailout); the session is written at the end
    as after exit()."""
    rt = Runtime(transport=MemoryTransport(0, {"REQUEST_METHOD": "GET"}), sapi="cli-server",
                 ini={"session.save_path": str(tmp_path), "session.gc_probability": "0"})
    with rt:
        rt.session_id("abort1")
        rt.session_start()
        rt.session["a"] = 1
        rt.echo("x")
        rt.flush()
        rt.session["after"] = 1  # not reached: the abort stopped the script
    assert (tmp_path / "sess_abort1").read_bytes() == b"a|i:1;"


@pytest.mark.clause("SESS-HANDLER-2")
def test_write_failure_at_the_end_is_in_unknown(tmp_path: Path) -> None:
    """php-cgi 8.2: "... handler: H::write) in Unknown on line 0" from the shutdown-time write."""
    rt, _ = run_with(Recorder("write"), tmp_path)
    assert [(d.file, d.line) for d in rt.diagnostics] == [("Unknown", 0)]


@pytest.mark.clause("DEV-SESS-REFERER-1", "SESS-START-1")
@pytest.mark.parametrize("referer, kept", [("http://evil.example/", False), ("http://good.example/x", True)])
def test_referer_check(tmp_path: Path, referer: str, kept: bool) -> None:
    """php-cgi 8.2 after using $_SERVER: "dropped" for evil.example, "kept" for good.example."""
    (tmp_path / "sess_refabc").write_bytes(b"a|i:1;")
    server = {"REQUEST_METHOD": "GET", "QUERY_STRING": "PHPSESSID=refabc", "HTTP_REFERER": referer}
    with Runtime(transport=MemoryTransport(server=server), sapi="cgi",
                 ini={"session.save_path": str(tmp_path), "session.use_only_cookies": "0",
                      "session.referer_check": "good.example", "session.gc_probability": "0"}) as rt:
        rt.session_start()
        assert (rt.session_id() == "refabc") is kept and rt.session == ({"a": 1} if kept else {})
        rt.session_destroy()


@pytest.mark.clause("SESS-WRITE-1", "SESS-END-1")
def test_a_failed_write_at_the_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """php-cgi 8.2 under ``ulimit -f 1`` with 5000 bytes of session: "Warning: PHP Request
    Shutdown: Write wrote less bytes than requested in Unknown on line 0", then "PHP Request
    Shutdown: Failed to write session data (files). Please verify that the current setting of
    session.save_path is correct (/tmp/s15) in Unknown on line 0"."""
    import phprt.session.files as files

    with runtime(tmp_path) as rt:
        rt.session_id("wfail1")
        rt.session_start()
        rt.session["a"] = "x" * 5000
        monkeypatch.setattr(files.os, "pwrite", lambda fd, data, offset: 1024)
    monkeypatch.undo()
    assert [(d.message, d.file, d.line) for d in rt.diagnostics] == [
        ("PHP Request Shutdown: Write wrote less bytes than requested", "Unknown", 0),
        ("PHP Request Shutdown: Failed to write session data (files). Please verify that the current setting of "
         f"session.save_path is correct ({tmp_path})", "Unknown", 0)]
