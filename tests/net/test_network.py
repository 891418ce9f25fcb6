"""The common ground of the network transports: the document root, the Site, the
request variables a script sees, fastcgi_finish_request off PHP-FPM (spec/network.md).

Expected responses come from ``php -S`` (spec/recorded/network-cli-server.json, written by
``python -m tests.conformance.record_network``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import phprt.php as php
from phprt import MemoryTransport, Runtime
from phprt.net.docroot import DocumentRoot, Refused
from phprt.net.site import HttpRequest, ScriptCall, Site, StaticResponse
from tests.support import NETWORK as RECORDED
from tests.support import VOLATILE, add_escapes


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "html").mkdir()
    (root / "v1.0").mkdir()
    for name in ("index.py", "x.py", "sub/index.py", "sub/page.py", "info.py", "v1.0/index.py"):
        (root / name).write_text("from phprt.php import *\necho('hi')\n")
    (root / "html" / "index.html").write_text("<p>hi</p>")
    (root / "style.css").write_text("body{}\n")
    (root / "d.json").write_text('{"a":1}\n')
    (root / "noext").write_text("x")
    add_escapes(root, "secret")
    os.symlink(root / "x.py", root / "alias.py")
    return root


def _parse_response(raw: str) -> tuple[list[str], str]:
    head, _, body = raw.partition("\r\n\r\n")
    return head.split("\r\n"), body


@pytest.mark.clause("DOCROOT-MAP-1", "DEV-DOCROOT-1")
@pytest.mark.parametrize(
    ("url", "file", "script_name", "path_info"),
    [
        ("/", "index.py", "/index.py", ""),
        ("/x", "x.py", "/x.py", ""),
        ("/x.py", "x.py", "/x.py", ""),
        ("/x.py/more/path", "x.py", "/x.py", "/more/path"),
        ("/x/more/", "x.py", "/x.py", "/more/"),
        ("/sub/", "sub/index.py", "/sub/index.py", ""),
        ("/sub", "sub/index.py", "/sub/index.py", ""),
        ("/sub/page", "sub/page.py", "/sub/page.py", ""),
        ("/sub/./page.py", "sub/page.py", "/sub/page.py", ""),
        ("/html/", "html/index.html", "/html/index.html", ""),
        ("/style.css", "style.css", "/style.css", ""),
        ("/%73tyle.css", "style.css", "/style.css", ""),
        ("/alias.py", "x.py", "/alias.py", ""),
        ("/nothing", "index.py", "/index.py", "/nothing"),
        ("//etc/passwd", "index.py", "/index.py", "/etc/passwd"),
        ("/sub/nothing/more", "sub/index.py", "/sub/index.py", "/nothing/more"),
        ("/style.css/more", "style.css", "/style.css", "/more"),
        ("/v1.0/", "v1.0/index.py", "/v1.0/index.py", ""),
        ("/x.py/", "x.py", "/x.py", "/"), ("/x.py//", "x.py", "/x.py", "/"), ("/x.py/.", "x.py", "/x.py", "/"),
        ("/x/", "x.py", "/x.py", "/"), ("/x.py/more/.", "x.py", "/x.py", "/more/"), ("/sub/.", "sub/index.py", "/sub/index.py", ""),
    ],
)
def test_a_url_path_names_a_file_as_php_s_does(docroot: Path, url: str, file: str, script_name: str, path_info: str) -> None:
    resolved = DocumentRoot(docroot).resolve(url)
    assert (resolved.path, resolved.script_name, resolved.path_info) == (docroot / file, script_name, path_info)
    assert resolved.is_script == file.endswith(".py")


@pytest.mark.clause("DOCROOT-REFUSE-1", "DEV-DOCROOT-1")
@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("x.py", 400), ("http://host/x.py", 400), ("*", 400),
        ("/..", 404), ("/../secret.py", 404), ("/sub/../../secret.txt", 404), ("/%2e%2e/secret.txt", 404),
        ("/.%2E/secret.txt", 404), ("/%2E%2e/%2e%2e/etc/passwd", 404),
        ("/..%2fsecret.txt", 400), ("/%2e%2e%2fsecret.txt", 400), ("/sub%2F..%2F..%2Fsecret.txt", 400),
        ("/..%5csecret.txt", 400), ("/..\\secret.txt", 400), ("/sub\\..\\..\\secret.txt", 400),
        ("/x.py%00.css", 400), ("/%zz", 400), ("/%", 400),
        ("/etc/passwd.txt", 404), ("/sub/nothing.css", 404), ("/sub/deeper/", 404), ("/sub/deeper/x", 404),
        ("/link.txt", 404), ("/link.py", 404), ("/linkdir/leak.txt", 404), ("/linkdir/", 404),
        ("/__pycache__/x.cpython-311.pyc", 404),
    ],
)
def test_nothing_outside_the_document_root_is_named(docroot: Path, url: str, status: int) -> None:
    with pytest.raises(Refused) as refused:
        DocumentRoot(docroot).resolve(url)
    assert refused.value.status == status


@pytest.mark.clause("DOCROOT-REFUSE-1", "NET-STATIC-1")
@pytest.mark.parametrize("url", ["/../secret.py", "/%2e%2e/secret.txt", "/link.txt", "/__pycache__/x.cpython-311.pyc",
                                 "/" + "x" * 300 + ".txt"])
def test_a_refused_path_is_answered_as_a_missing_file_to_every_method(docroot: Path, url: str) -> None:
    site = Site(docroot)
    answers = {method: site.answer(HttpRequest(method, url)) for method in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH")}
    assert {method: answer.status for method, answer in answers.items()} == {
        "GET": 404, "HEAD": 404, "POST": 404, "PUT": 405, "DELETE": 405, "PATCH": 405}
    assert all(isinstance(answer, StaticResponse) and answer.log_message for answer in answers.values())
    assert ("Allow", "GET, HEAD, POST") in answers["PUT"].headers and answers["HEAD"].body == b""


@pytest.mark.clause("DOCROOT-REFUSE-1")
def test_a_fastcgi_script_filename_must_be_a_script_inside_the_root(docroot: Path) -> None:
    root = DocumentRoot(docroot)
    assert root.script(str(docroot / "sub" / "page.py")) == docroot / "sub" / "page.py"
    for filename in ("sub/page.py", str(docroot / "style.css"), str(docroot / "missing.py"),
                     str(docroot / "link.py"), str(docroot.parent / "secret.py"),
                     str(docroot / ".." / "secret.py"), str(docroot / "x.py\0")):
        with pytest.raises(Refused):
            root.script(filename)


def _request(raw: str) -> HttpRequest:
    head, _, body = raw.partition("\r\n\r\n")
    request_line, *fields = head.split("\r\n")
    method, target, protocol = request_line.split(" ")
    headers = tuple((name, value.strip()) for name, _, value in (field.partition(":") for field in fields))
    return HttpRequest(method, target, protocol, headers, body.encode(), ("127.0.0.1", 40000), ("127.0.0.1", 8000))


@pytest.mark.clause("NET-SERVER-1")
@pytest.mark.parametrize("name", ["post-with-path-info", "http10-no-query", "repeated-fields", "index-fallback",
                                  "path-info-trailing-slash", "path-info-ending-in-a-dot", "auth-basic", "auth-digest",
                                  "auth-basic-without-a-colon", "proxy-header"])
def test_server_variables_are_those_php_s_gives_in_its_order(docroot: Path, name: str) -> None:
    request = _request(RECORDED["requests"][name].replace(".php", ".py"))
    answer = Site(docroot).answer(request)
    assert isinstance(answer, ScriptCall) and answer.input == request.body
    _, body = _parse_response(RECORDED["responses"][name])
    expected = {key: json.loads(value) for key, _, value in (line.partition("=") for line in body.splitlines())}
    expected = {key: value.replace("%root%", str(docroot)).replace(".php", ".py") if isinstance(value, str) else value
                for key, value in expected.items()}
    ours = answer.server
    assert list(ours) == list(expected)
    assert {k: v for k, v in ours.items() if k not in VOLATILE} == {k: v for k, v in expected.items() if k not in VOLATILE}
    assert isinstance(ours["REQUEST_TIME_FLOAT"], float) and isinstance(ours["REQUEST_TIME"], int)
    assert ours["SERVER_SOFTWARE"] == "PHP 8.2 Development Server (phprt)"


@pytest.mark.clause("NET-STATIC-1", "NET-ERROR-1")
@pytest.mark.parametrize("name", ["static-css", "static-json", "static-unknown-type", "missing", "missing-with-entities",
                                  "static-put", "static-options", "no-fallback-with-a-dot", "head-missing",
                                  "put-missing", "delete-no-index"])
def test_static_files_and_error_pages_are_php_s_bytes(docroot: Path, name: str) -> None:
    (docroot / "index.py").unlink()  # the recorded root has no index, only sub/ has one
    answer = Site(docroot).answer(_request(RECORDED["requests"][name]))
    assert isinstance(answer, StaticResponse)
    lines, body = _parse_response(RECORDED["responses"][name])
    status = int(lines[0].split(" ")[1])
    php_s_own = ("Host", "Date", "Connection")  # the head every php -S response starts with
    fields = [tuple(line.split(": ", 1)) for line in lines[1:] if line.split(":")[0] not in php_s_own]
    assert (answer.status, list(answer.headers), b"".join(answer.chunks())) == (status, fields, body.encode("latin-1"))


@pytest.mark.clause("NET-SITE-1")
def test_a_site_serves_a_directory_one_script_or_a_callable(docroot: Path) -> None:
    request = HttpRequest("GET", "/any/path?a=1", client=("127.0.0.1", 1), local=("127.0.0.1", 2))
    one = Site(docroot / "x.py").answer(request)
    assert isinstance(one, ScriptCall) and one.script == docroot / "x.py"
    assert (one.server["SCRIPT_NAME"], one.server["SCRIPT_FILENAME"]) == ("/any/path", str(docroot / "x.py"))

    def work() -> None:
        php.echo("from a callable")

    called = Site(work, sapi="cgi").answer(request)
    assert isinstance(called, ScriptCall) and called.sapi == "cgi"
    transport = MemoryTransport()
    called.run(transport)
    assert transport.body == b"from a callable"
    with pytest.raises(ValueError):
        Site(docroot, sapi="cli")
    with pytest.raises(FileNotFoundError):
        Site(docroot / "missing")


@pytest.mark.clause("NET-SITE-1")
def test_the_servers_take_a_site_made_from_the_public_name(docroot: Path) -> None:
    from phprt.fastcgi import FastCgiServer
    from phprt.server import HttpServer
    from phprt.server import Site as PublicSite

    site = PublicSite(docroot, sapi="cgi")
    servers = [HttpServer(site), FastCgiServer(site)]
    try:
        assert all(server.site is site for server in servers)
    finally:
        for server in servers:
            server.close()


@pytest.mark.clause("NET-RUNTIME-1")
def test_an_uncaught_exception_ends_its_request_only(docroot: Path) -> None:
    def failing() -> None:
        php.echo("before ")
        raise ValueError("broken")

    request = HttpRequest("GET", "/", client=("127.0.0.1", 1), local=("127.0.0.1", 2))
    transports = [MemoryTransport(), MemoryTransport()]
    runtimes = [Site(failing, ini={"html_errors": "0"}).answer(request).run(transports[0]),  # type: ignore[union-attr]
                Site(docroot).answer(request).run(transports[1])]  # type: ignore[union-attr]
    assert runtimes[0].exit_status == 255 and runtimes[1].exit_status == 0
    assert transports[0].body.startswith(b"before \nFatal error: Uncaught ValueError: broken")
    assert transports[1].body == b"hi"


@pytest.mark.clause("REQ-SUPERGLOBAL-1")
def test_superglobals_read_and_write_the_active_runtime() -> None:
    server = {"REQUEST_METHOD": "POST", "QUERY_STRING": "t=1&a[]=x", "HTTP_COOKIE": "c=3",
              "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": "3"}

    namespace: dict[str, object] = {}
    exec("from phprt.php import *", namespace)
    with Runtime(transport=MemoryTransport(server=server, input=b"p=2"), sapi="cgi") as rt:
        assert namespace["_GET"]["t"] == "1" and dict(namespace["_GET"]) == {"t": "1", "a": {0: "x"}}  # type: ignore[index]
        assert namespace["_POST"]["p"] == "2" and namespace["_COOKIE"]["c"] == "3"  # type: ignore[index]
        assert list(namespace["_REQUEST"]) == ["t", "a", "p", "c"]  # type: ignore[call-overload]
        assert namespace["_SERVER"]["REQUEST_METHOD"] == "POST" and len(namespace["_FILES"]) == 0  # type: ignore[index, arg-type]
        namespace["_GET"]["added"] = "yes"  # type: ignore[index]
        assert rt.get["added"] == "yes" and php.runtime() is rt
    with pytest.raises(RuntimeError):
        namespace["_GET"]["t"]  # type: ignore[index]


class _EndsEarly(MemoryTransport):
    finish_request = True


@pytest.mark.clause("DEV-FINISH-1")
@pytest.mark.parametrize("sapi", ["cgi", "cli-server", "apache2handler"])
def test_fastcgi_finish_request_where_a_transport_offers_it(sapi: str) -> None:
    transport = _EndsEarly()
    with Runtime(transport=transport, sapi=sapi, ini={"expose_php": "0"}) as rt:
        rt.ob_start()
        rt.echo("sent")
        assert rt.function_exists("fastcgi_finish_request") is True
        assert rt.fastcgi_finish_request() is True
        assert rt.fastcgi_finish_request() is False
        rt.echo("x" * 100_000)
        rt.flush()
        assert rt.ob_get_level() == 0 and rt.headers_sent() is True and rt.connection_status() == 0
    assert transport.body == b"sent"
    assert transport.events[-1] == ("finish",) and transport.events.count(("finish",)) == 1
    with Runtime(transport=MemoryTransport(), sapi=sapi) as rt:  # not offered: PHP's undefined function
        assert rt.function_exists("fastcgi_finish_request") is False


@pytest.mark.clause("HDR-SERVER-1")
def test_the_built_in_server_s_head_comes_from_the_request_not_from_server() -> None:
    """php -S, ``$_SERVER["HTTP_HOST"]="changed"; $_SERVER["SERVER_PROTOCOL"]="HTTP/9.9"; echo "b\n";``
    for ``GET /inj.php HTTP/1.1`` with ``Host: orig.test``: ``HTTP/1.1 200 OK``, ``Host: orig.test``."""
    transport = MemoryTransport(server={"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "orig.test"})
    with Runtime(transport=transport, sapi="cli-server", ini={"expose_php": "0"}) as rt:
        rt.server["HTTP_HOST"] = "changed\r\nSet-Cookie: injected=1"
        rt.server["SERVER_PROTOCOL"] = "HTTP/9.9"
        rt.echo("b\n")
    assert transport.head is not None
    assert transport.head.lines[:2] == ("HTTP/1.1 200 OK", "Host: orig.test")
    assert not any("injected" in line for line in transport.head.lines)


@pytest.mark.clause("NET-SERVER-1")
def test_argv_is_the_query_string_split_at_plus_signs(docroot: Path) -> None:
    """php -S for ``/sub/nothing/more?q+r+s``: argv ["q","r","s"], argc 3 (also in the recording)."""
    answer = Site(docroot).answer(HttpRequest("GET", "/x.py?q+r+s"))
    assert isinstance(answer, ScriptCall) and (answer.server["argv"], answer.server["argc"]) == (["q", "r", "s"], 3)


@pytest.mark.clause("DOCROOT-MAP-1")
def test_a_path_the_file_system_refuses_is_404_not_a_failure(docroot: Path) -> None:
    answer = Site(docroot).answer(HttpRequest("GET", "/" + "a" * 300 + ".txt"))  # ENAMETOOLONG
    assert isinstance(answer, StaticResponse) and answer.status == 404 and answer.log_message == "File name too long"


@pytest.mark.clause("NET-MOUNT-1")
def test_a_mounted_site_maps_the_path_below_its_mount_point(docroot: Path) -> None:
    site = Site(docroot)
    answer = site.answer(HttpRequest("GET", "/app/sub/page.py/more?a=1", mount="/app"))
    assert isinstance(answer, ScriptCall) and answer.script == docroot / "sub" / "page.py"
    server = answer.server
    assert (server["REQUEST_URI"], server["SCRIPT_NAME"], server["PATH_INFO"], server["PHP_SELF"]) == (
        "/app/sub/page.py/more?a=1", "/app/sub/page.py", "/more", "/app/sub/page.py/more")
    top = site.answer(HttpRequest("GET", "/app", mount="/app"))
    assert isinstance(top, ScriptCall) and top.script == docroot / "index.py" and top.server["SCRIPT_NAME"] == "/app/index.py"
    outside = site.answer(HttpRequest("GET", "/application/thing", mount="/app"))  # not below /app: mapped whole
    assert isinstance(outside, ScriptCall) and outside.server["SCRIPT_NAME"] == "/index.py"
    assert outside.server["PATH_INFO"] == "/application/thing"


@pytest.mark.clause("NET-MOUNT-1", "WSGI-REQUEST-1", "ASGI-REQUEST-1")
def test_wsgi_script_name_and_asgi_root_path_are_the_mount_point() -> None:
    from phprt.asgi import request_from_scope
    from phprt.wsgi import request_from_environ

    environ = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/my app", "PATH_INFO": "/x.py", "QUERY_STRING": "a=1",
               "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "h", "SERVER_PORT": "80"}
    request = request_from_environ(environ)
    assert (request.target, request.mount, request.site_path) == ("/my%20app/x.py?a=1", "/my%20app", "/x.py")
    scope = {"type": "http", "method": "GET", "path": "/app/x.py", "raw_path": b"/app/x.py", "root_path": "/app",
             "query_string": b"", "headers": [], "http_version": "1.1"}
    request = request_from_scope(scope, b"")
    assert (request.target, request.mount, request.site_path) == ("/app/x.py", "/app", "/x.py")

