"""The response head outside the CGI conformance cases: the built-in server's head
and the ResponseHead a transport receives.

The ``php -S`` expectations were recorded from PHP 8.2.36: ``php -n -S 127.0.0.1:8765``
serving the script quoted in each test, fetched with a raw socket; the Date line
is replaced by ``Date: %s``.
"""

from __future__ import annotations

import re

import pytest

from phprt import MemoryTransport, Ref, Runtime

POWERED_BY = "X-Powered-By: PHP/8.2 (phprt)"


def served(script, server: dict[str, str]) -> tuple[bytes, bytes, list[str]]:  # type: ignore[no-untyped-def]
    transport = MemoryTransport(server=server)
    with Runtime(transport=transport, sapi="cli-server", ini={"html_errors": "0"}) as rt:
        script(rt)
    assert transport.head is not None
    head = re.sub(rb"Date: [^\r]*GMT", b"Date: %s", transport.head.block())
    return head.replace(POWERED_BY.encode(), b"X-Powered-By: PHP/8.2.36"), transport.body, \
        [d.message for d in rt.diagnostics]


@pytest.mark.clause("HDR-SERVER-1", "SAPI-HEAD-1")
def test_builtin_server_status_line_and_essential_headers() -> None:
    # http_response_code(308); header("X-A: 1"); header("Status: 404 Nope"); echo "b";
    def script(rt: Runtime) -> None:
        rt.http_response_code(308)
        rt.header("X-A: 1")
        rt.header("Status: 404 Nope")
        rt.echo("b")

    head, body, _ = served(script, {"SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "example.test"})
    assert head == (b"HTTP/1.1 308 Permanent Redirect\r\nHost: example.test\r\nDate: %s\r\nConnection: close\r\n"
                    b"X-Powered-By: PHP/8.2.36\r\nX-A: 1\r\nStatus: 404 Nope\r\nContent-type: text/html; charset=UTF-8\r\n\r\n")
    assert body == b"b"
    head, _, _ = served(script, {"SERVER_PROTOCOL": "HTTP/1.0"})  # GET /s.php?a HTTP/1.0, no Host
    assert head.startswith(b"HTTP/1.0 308 Permanent Redirect\r\nDate: %s\r\nConnection: close\r\n")


@pytest.mark.clause("HDR-SERVER-1", "HDR-SENT-1", "HDR-SENT-3")
def test_builtin_server_flush_sends_headers_without_output() -> None:
    # header("HTTP/1.0 299 Custom Reason"); flush(); var_dump(headers_sent($f, $l), $f, $l); header("X: y");
    seen = []

    def script(rt: Runtime) -> None:
        rt.header("HTTP/1.0 299 Custom Reason")
        rt.flush()
        file, line = Ref(), Ref()
        seen.extend([rt.headers_sent(file, line), file.value, line.value])
        rt.header("X: y")

    head, _, messages = served(script, {"SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "example.test"})
    assert head == (b"HTTP/1.0 299 Custom Reason\r\nHost: example.test\r\nDate: %s\r\nConnection: close\r\n"
                    b"X-Powered-By: PHP/8.2.36\r\nContent-type: text/html; charset=UTF-8\r\n\r\n")
    assert seen == [True, "", 0]
    assert messages == ["Cannot modify header information - headers already sent"]


@pytest.mark.clause("HDR-SERVER-1")
def test_builtin_server_keeps_content_type_on_304_and_a_script_date() -> None:
    # http_response_code(418); header("Date: mine"); http_response_code(304); echo "body";
    def script(rt: Runtime) -> None:
        rt.http_response_code(418)
        rt.header("Date: mine")
        rt.http_response_code(304)
        rt.echo("body")

    head, body, _ = served(script, {"SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "example.test"})
    assert head == (b"HTTP/1.1 304 Not Modified\r\nHost: example.test\r\nConnection: close\r\n"
                    b"X-Powered-By: PHP/8.2.36\r\nDate: mine\r\nContent-type: text/html; charset=UTF-8\r\n\r\n")
    assert body == b"body"


@pytest.mark.clause("HDR-SERVER-2")
def test_builtin_server_sends_no_default_content_type_for_a_304_unsent_at_the_script_end() -> None:
    # Recorded from php -n -S (sapi/cli/tests/bug64878.phpt): the head of each script below.
    def code_only(rt: Runtime) -> None:  # http_response_code(304);
        rt.http_response_code(304)

    def status_line_then_shutdown_output(rt: Runtime) -> None:
        # header("HTTP/1.1 304 Not Modified"); register_shutdown_function(fn() => print "s");
        rt.header("HTTP/1.1 304 Not Modified")
        rt.register_shutdown_function(lambda: rt.echo("s"))

    def typed(rt: Runtime) -> None:  # http_response_code(304); header("Content-Type: text/plain");
        rt.http_response_code(304)
        rt.header("Content-Type: text/plain")

    server = {"SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "h"}
    start = b"HTTP/1.1 304 Not Modified\r\nHost: h\r\nDate: %s\r\nConnection: close\r\nX-Powered-By: PHP/8.2.36\r\n"
    assert served(code_only, server)[0] == start + b"\r\n"
    assert served(status_line_then_shutdown_output, server)[0] == start + b"\r\n"
    assert served(typed, server)[0] == start + b"Content-type: text/plain;charset=UTF-8\r\n\r\n"


@pytest.mark.clause("HDR-LOCATION-1", "HDR-SERVER-1")
def test_builtin_server_redirects_a_post_with_302() -> None:
    # POST /s.php?d HTTP/1.1 -- header("Location: /x");
    head, _, _ = served(lambda rt: rt.header("Location: /x"),
                        {"SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "h", "REQUEST_METHOD": "POST"})
    assert head.startswith(b"HTTP/1.1 302 Found\r\nHost: h\r\n")


@pytest.mark.clause("HDR-LOCATION-1", "SAPI-HEAD-1")
def test_a_sapi_that_reports_the_protocol_answers_a_post_with_303() -> None:
    # main/SAPI.c: proto_num > 1000 and a method other than GET/HEAD (apache2handler sets proto_num).
    def code(method: str, protocol: str) -> object:
        server = {"REQUEST_METHOD": method, "SERVER_PROTOCOL": protocol}
        with Runtime(transport=MemoryTransport(server=server), sapi="apache2handler") as rt:
            rt.header("Location: /next")
            return rt.http_response_code()

    assert [code("POST", "HTTP/1.1"), code("GET", "HTTP/1.1"), code("POST", "HTTP/1.0")] == [303, 302, 302]


@pytest.mark.clause("HDR-LOCATION-1", "PERF-START-3")
def test_the_redirect_code_is_the_sapis_request_whatever_the_script_did_to_server() -> None:
    # main/SAPI.c reads SG(request_info) (proto_num, request_method), which the SAPI filled before
    # the script ran; $_SERVER is a copy the script may change. Worked out when Location is set.
    server = {"REQUEST_METHOD": "POST", "SERVER_PROTOCOL": "HTTP/1.1"}
    with Runtime(transport=MemoryTransport(server=server), sapi="apache2handler") as rt:
        rt.server["REQUEST_METHOD"], rt.server["SERVER_PROTOCOL"] = "GET", "HTTP/1.0"
        rt.header("Location: /next")
        assert rt.http_response_code() == 303


@pytest.mark.clause("TRANSPORT-HEAD-1", "REQ-SERVER-1")
def test_the_transport_receives_one_response_head() -> None:
    transport = MemoryTransport(server={"HTTP_ACCEPT_ENCODING": "gzip"})
    with Runtime(transport=transport, sapi="cgi") as rt:
        assert rt.server == {"HTTP_ACCEPT_ENCODING": "gzip"}
        rt.header("HTTP/1.1 404 Not Found")
        rt.header("X-NoColon")
        rt.header("x-a:  1 ")
        rt.echo("body")
    head = transport.head
    assert head is not None and (head.status, head.reason) == (404, "Not Found")
    assert head.lines == ("Status: 404 Not Found", POWERED_BY, "X-NoColon", "x-a:  1", "Content-type: text/html; charset=UTF-8")
    assert head.fields == [("X-Powered-By", "PHP/8.2 (phprt)"), ("x-a", "1"), ("Content-type", "text/html; charset=UTF-8")]
    assert head.block() == "\r\n".join((*head.lines, "", "")).encode()
    assert [event[0] for event in transport.events] == ["headers", "write", "finish"]


@pytest.mark.clause("DEV-ALIAS-1")
def test_a_header_callback_echo_does_not_overwrite_the_body_in_flight() -> None:
    # php-cgi -n -d output_buffering=16: header_register_callback(fn() => print "[cb]");
    # print "line one\nline two"; sends "[cb] one\nline two[cb]" (PHP reuses the buffer's memory).
    transport = MemoryTransport()
    with Runtime(transport=transport, sapi="cgi", ini={"output_buffering": "16"}) as rt:
        rt.header_register_callback(lambda: rt.echo("[cb]"))
        rt.print("line one\nline two")
    assert transport.body == b"line one\nline two[cb]"


@pytest.mark.clause("COOKIE-OPTIONS-1")
def test_an_option_key_is_numeric_as_an_array_key_is() -> None:
    # Recorded from php -n: setcookie("a", "b", ["5" => 1]) and ["99999999999999999999" => 1]
    # (too big for an integer key: a string key, so an unknown option).
    with Runtime(transport=MemoryTransport(), sapi="cgi") as rt:
        with pytest.raises(ValueError) as numeric:
            rt.setcookie("a", "b", {"5": 1})
        with pytest.raises(ValueError) as unknown:
            rt.setcookie("a", "b", {"99999999999999999999": 1})
    assert str(numeric.value) == "setcookie(): option array cannot have numeric keys"
    assert str(unknown.value) == 'setcookie(): option "99999999999999999999" is invalid'
