"""PERF-MEMO-1: what phprt remembers between requests is bounded, one ``Memo`` for each."""

from __future__ import annotations

import http.client
import io
from pathlib import Path

import pytest

from phprt import asgi, wsgi
from phprt.asgi import ASGIApp
from phprt.engine import frames, ini_files
from phprt.engine.memo import Memo
from phprt.fastcgi import FastCgiServer
from phprt.http import headers, request
from phprt.net import http11, site
from phprt.net.docroot import DocumentRoot
from phprt.server import HttpServer
from phprt.transports.gateway import HeadForms
from phprt.wsgi import WSGIApp
from tests.support import asgi as asgi_client
from tests.support.fastcgi import STDOUT, Client, fcgi_request, nginx_params
from tests.support.wsgi import serve as serve_wsgi


@pytest.mark.clause("PERF-MEMO-1")
def test_a_full_memo_starts_again_empty_when_it_keeps_one_more() -> None:
    memo: Memo[str, int] = Memo(3)
    assert [memo.keep(key, value) for key, value in (("a", 1), ("b", 2), ("c", 3))] == [1, 2, 3]
    assert memo == {"a": 1, "b": 2, "c": 3} and memo.get("b") == 2
    memo["b"] = 20  # a key it holds is replaced in place, as in a dict
    assert memo.keep("d", 4) == 4
    assert memo == {"d": 4} and memo.get("a") is None and memo.size == 3
    light: Memo[str, int] = Memo(3, largest=10)  # and no entry heavier than ``largest``
    assert light.keep("a", 1, 10) == 1 and light.keep("b", 2, 11) == 2
    assert light == {"a": 1}


@pytest.mark.clause("PERF-MEMO-1")
def test_each_memory_kept_between_requests_is_a_memo_of_its_stated_size(tmp_path: Path) -> None:
    root = DocumentRoot(tmp_path)
    sizes = {
        "php-cgi/PHP-FPM heads": (headers._CGI_HEADS, 64),
        "php -S heads": (headers._SERVER_HEADS, 64),
        "per-request ini": (ini_files._request_cache, 256),
        "request-variable settings": (request._SETTINGS, 64),
        "served framings and heads": (http11._HEADS, 64),
        "request heads read": (http11._READ_HEADS, 256),
        "serve's header keys": (site._FIELD_KEYS, 1024),
        "ASGI header names": (asgi._FIELD_NAMES, 1024),
        "WSGI key sets": (wsgi._FIELD_KEYS, 256),
        "gateway heads": (HeadForms(lambda head: head)._known, 256),
        "document root plans": (root._plans, 4096),
        "document root realpaths": (root._realpaths, 4096),
        "code found not phprt's": (frames._OTHER_CODE, 1024),
    }
    assert {name: (type(memo), memo.size) for name, (memo, _) in sizes.items()} == {
        name: (Memo, size) for name, (_, size) in sizes.items()}
    heads = {"php-cgi/PHP-FPM heads", "php -S heads", "served framings and heads"}  # each of at most 2,048 bytes of lines
    largest = {name: 2048 if name in heads else None for name in sizes} | {"request heads read": 4096}
    assert {name: memo.largest for name, (memo, _) in sizes.items()} == largest


@pytest.mark.clause("PERF-MEMO-1")
def test_a_client_that_sends_ever_new_header_names_grows_no_memory_past_its_bound(tmp_path: Path) -> None:
    # Through `serve`'s server and a real client: 1,170 header names never seen before (90 a
    # request, within the 100 fields a request may have), each still in $_SERVER under its CGI key.
    (tmp_path / "keys.py").write_text(
        "from phprt.php import *\necho(len([k for k in _SERVER if k.startswith('HTTP_X_NEW_')]))\n")
    site._FIELD_KEYS.clear()
    with HttpServer(tmp_path, log=io.StringIO()) as server:
        connection = http.client.HTTPConnection(*server.address, timeout=10)
        try:
            counts = []
            for batch in range(13):
                connection.putrequest("GET", "/keys.py")
                for index in range(90):
                    connection.putheader(f"X-New-{batch}-{index}", "1")
                connection.endheaders()
                counts.append(connection.getresponse().read())
        finally:
            connection.close()
    assert counts == [b"90"] * 13
    assert 0 < len(site._FIELD_KEYS) <= 1024


#: php -n -S and php-cgi -n, index.php: <?php / echo "x"; / headers_sent($f, $l); /
#: echo "|", basename($f), ":", $l;  -> "x|index.php:2", on every request.
OUTPUT_STARTED = ("import os\nfrom phprt.php import *\necho('x')\nheaders_sent(f := Ref(), l := Ref())\n"
                  "echo('|', os.path.basename(f.value), ':', l.value)\n")


def _three_gets(address: tuple[str, int], path: str) -> list[bytes]:
    # Three requests for ``path`` on one kept connection, with a real client: their bodies.
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        bodies = []
        for _ in range(3):
            connection.request("GET", path)
            bodies.append(connection.getresponse().read())
        return bodies
    finally:
        connection.close()


@pytest.mark.clause("PERF-FRAME-1", "PERF-MEMO-1", "HDR-SENT-1")
def test_where_output_started_is_the_scripts_line_on_every_request_through_each_door(tmp_path: Path) -> None:
    # The script's code is remembered as not phprt's after the first request; the next ones
    # still name its line (line 3 here: the port's echo, PHP's line 2 after its "<?php").
    (tmp_path / "index.py").write_text(OUTPUT_STARTED)
    with HttpServer(tmp_path, log=io.StringIO()) as server:
        served = _three_gets(server.address, "/index.py")
    with FastCgiServer(tmp_path, "127.0.0.1:0") as fastcgi:
        client = Client(fastcgi.address)
        try:
            for request_id in range(1, 4):
                client.send(fcgi_request(nginx_params(tmp_path, "/index.py"), request_id=request_id, flags=1))
                served.append(client.read_end(request_id).stream(STDOUT, request_id).partition(b"\r\n\r\n")[2])
        finally:
            client.close()
    with serve_wsgi(WSGIApp(tmp_path)) as port:
        served += _three_gets(("127.0.0.1", port), "/index.py")
    app = ASGIApp(tmp_path)
    served += [asgi_client.call(app, asgi_client.get("/index.py")).body for _ in range(3)]
    assert served == [b"x|index.py:3"] * 12
