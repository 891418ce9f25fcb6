"""Sessions through the WSGI and ASGI doors (SESS-START-1, SESS-END-1): a first request
starts a session and gets its cookie; a second request that sends the cookie back sees
what the first stored, and the files handler's file holds it in PHP's format."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest

from phprt.asgi import ASGIApp
from phprt.wsgi import WSGIApp
from tests.support import asgi, wsgi

SCRIPT = """from phprt.php import *
session_start()
_SESSION["visits"] = _SESSION.get("visits", 0) + 1
echo("visits=" + str(_SESSION["visits"]))
"""


def _ini(save_path: Path) -> dict[str, str]:
    return {"session.save_path": str(save_path), "session.gc_probability": "0"}


@pytest.mark.clause("SESS-START-1", "SESS-END-1")
def test_wsgi(tmp_path: Path) -> None:
    (tmp_path / "visit.py").write_text(SCRIPT)
    app = WSGIApp(tmp_path / "visit.py", ini=_ini(tmp_path))
    with wsgi.serve(app) as port:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as first:
            cookie = first.headers["Set-Cookie"]
            assert first.read() == b"visits=1"
        sid = re.fullmatch(r"PHPSESSID=([0-9a-f]{32}); path=/", cookie)
        assert sid is not None
        again = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Cookie": f"PHPSESSID={sid[1]}"})
        with urllib.request.urlopen(again, timeout=30) as second:
            assert second.read() == b"visits=2" and "Set-Cookie" not in second.headers
    assert (tmp_path / f"sess_{sid[1]}").read_text() == "visits|i:2;"


@pytest.mark.clause("SESS-START-1", "SESS-END-1")
def test_asgi(tmp_path: Path) -> None:
    (tmp_path / "visit.py").write_text(SCRIPT)
    app = ASGIApp(tmp_path / "visit.py", ini=_ini(tmp_path))
    first = asgi.call(app, b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
    cookies = [value for name, value in first.start["headers"] if name == b"set-cookie"]
    sid = re.fullmatch(rb"PHPSESSID=([0-9a-f]{32}); path=/", cookies[0])
    assert first.body == b"visits=1" and sid is not None
    second = asgi.call(app, b"GET / HTTP/1.1\r\nHost: test\r\nCookie: PHPSESSID=" + sid[1] + b"\r\n\r\n")
    assert second.body == b"visits=2"
    assert not [value for name, value in second.start["headers"] if name == b"set-cookie"]
    assert (tmp_path / f"sess_{sid[1].decode()}").read_text() == "visits|i:2;"
