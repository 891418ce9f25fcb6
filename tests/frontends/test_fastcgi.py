"""The FastCGI responder (spec/fastcgi.md), through a raw FastCGI client on real sockets.

The client (tests/support/fastcgi.py) is written from the FastCGI 1.0 specification, not from phprt's
code. The same client recorded what ``php-fpm8.2 -n`` (8.2.36, one static pool
with the built-in defaults) sends for the PHP half of each case in ``CASES``;
``pytest --php-live`` records it again and fails on any difference.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from phprt import MemoryTransport, Runtime
from phprt.fastcgi import FastCgiServer, fpm_server_variables
from phprt.net.fastcgi import (
    Connection,
    ProtocolError,
    RecordReader,
    decode_pairs,
    encode_pairs,
    encode_record,
    encode_stream,
)
from tests.support import ROOT, unused_modules_probe
from tests.support.fastcgi import (
    ABORT,
    BEGIN,
    DATA,
    END,
    GET_VALUES,
    PARAMS,
    SCRIPTS,
    STDERR,
    STDIN,
    STDOUT,
    TIMEOUT,
    UNKNOWN,
    VALUES_RESULT,
    Client,
    Reply,
    begin,
    exchange,
    fcgi_request,
    nginx_params,
    pairs,
    record,
)
from tests.support.output import MIXED_PY, mixed_is_php_fpms

# -- the scripts ------------------------------------------------------------------------------

# (PHP, Python port) pairs: the same lines, so every "on line N" agrees.
PAIRS = {
    "hello": ('<?php\necho "Hello\\n";\n', 'from phprt.php import *\necho("Hello\\n")\n'),
    "server": (
        '<?php\nforeach ($_SERVER as $k => $v) {\n'
        '    if (!str_starts_with($k, "REQUEST_TIME")) echo $k, "=", is_array($v) ? implode(",", $v) : $v, "\\n";\n}\n',
        'from phprt.php import *\nfor k, v in _SERVER.items():\n'
        '    if not k.startswith("REQUEST_TIME"): echo(k, "=", ",".join(v) if isinstance(v, list) else v, "\\n")\n\n',
    ),
    "post": (
        '<?php\necho file_get_contents("php://input"), "|";\nforeach ($_POST as $k => $v) echo "$k=$v;";\n',
        'from phprt.php import *\necho(runtime().input, "|")\nfor k, v in _POST.items(): echo(f"{k}={v};")\n',
    ),
    "exit3": ('<?php\necho "x";\nexit(3);\n', 'from phprt.php import *\necho("x")\nexit(3)\n'),
    "big": ('<?php\necho str_repeat("a", 70000), str_repeat("b", 100);\n',
            'from phprt.php import *\necho("a" * 70000, "b" * 100)\n'),
    "log": (
        '<?php\nini_set("display_errors", "0"); ini_set("log_errors", "1");\ntrigger_error("careful", E_USER_WARNING);\necho "after\\n";\n'
        'trigger_error("again", E_USER_NOTICE);\n',
        'from phprt.php import *\nini_set("display_errors", "0"); ini_set("log_errors", "1")\ntrigger_error("careful", E_USER_WARNING)\necho("after\\n")\n'
        'trigger_error("again", E_USER_NOTICE)\n',
    ),
    "status": (
        '<?php\nheader("X-Custom: yes");\nhttp_response_code(201);\necho "created";\n',
        'from phprt.php import *\nheader("X-Custom: yes")\nhttp_response_code(201)\necho("created")\n',
    ),
    "finish": (
        '<?php\necho "done";\nfastcgi_finish_request();\necho "dropped";\n',
        'from phprt.php import *\necho("done")\nfastcgi_finish_request()\necho("dropped")\n',
    ),
}

@pytest.fixture(scope="module")
def docroot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = Path(os.path.realpath(tmp_path_factory.mktemp("fcgi-root")))
    for name, (php, port) in PAIRS.items():
        (root / f"{name}.php").write_text(php)
        (root / f"{name}.py").write_text(port)
    for name, text in SCRIPTS.items():
        (root / name).write_text(text)
    (root / "notes.txt").write_text("not a script\n")
    (root / "sub").mkdir()
    (root / "sub" / "index.py").write_text('from phprt.php import *\necho("sub")\n')
    return root


@pytest.fixture(scope="module")
def server(docroot: Path) -> Iterator[FastCgiServer]:
    with FastCgiServer(docroot, "127.0.0.1:0") as running:
        yield running


# -- the protocol core, without I/O -----------------------------------------------------------


@pytest.mark.clause("FCGI-RECORD-1")
def test_records_are_padded_to_eight_bytes_and_read_in_any_pieces() -> None:
    # FastCGI 1.0, section 3.3: header, content, padding; 8-byte alignment is what PHP-FPM uses.
    assert encode_record(STDOUT, 1, b"abc") == b"\x01\x06\x00\x01\x00\x03\x05\x00abc" + bytes(5)
    assert encode_record(END, 258, bytes(8)) == b"\x01\x03\x01\x02\x00\x08\x00\x00" + bytes(8)
    assert len(encode_record(STDOUT, 1, b"x" * 65535)) == 8 + 65535 + 1
    with pytest.raises(ValueError):
        encode_record(STDOUT, 1, b"x" * 65536)
    stream = record(PARAMS, b"\x01\x01ab") + record(STDIN, b"q" * 9, request_id=7)
    reader = RecordReader()
    got = [r for byte in stream for r in reader.feed(bytes([byte]))]  # one byte at a time
    assert [(r.type, r.request_id, r.content) for r in got] == [(PARAMS, 1, b"\x01\x01ab"), (STDIN, 7, b"q" * 9)]
    assert not reader.pending


@pytest.mark.clause("FCGI-RECORD-1", "FCGI-STDOUT-1")
def test_a_stream_is_cut_into_records_of_at_most_65535_bytes() -> None:
    data = bytes(range(256)) * 600  # 153600 bytes
    reader = RecordReader()
    records = reader.feed(encode_stream(STDOUT, 3, data))
    assert [len(r.content) for r in records] == [65535, 65535, 153600 - 2 * 65535]
    assert b"".join(r.content for r in records) == data
    assert encode_stream(STDOUT, 3, b"") == b""  # an empty record would end the stream


@pytest.mark.clause("FCGI-PAIRS-1")
def test_name_value_pairs_use_one_or_four_byte_lengths() -> None:
    long_value = "v" * 200
    encoded = encode_pairs([(b"A", b"1"), (b"LONG", long_value.encode()), (b"N" * 130, b"")])
    assert encoded == pairs([("A", "1"), ("LONG", long_value), ("N" * 130, "")])
    assert encoded[:5] == b"\x01\x01A1\x04"
    assert encoded[5:9] == b"\x80\x00\x00\xc8"  # 200 in four bytes, high bit set
    assert decode_pairs(encoded) == [(b"A", b"1"), (b"LONG", long_value.encode()), (b"N" * 130, b"")]
    for cut in (b"\x05", b"\x01\x05ab", b"\x80\x00", b"\x02\x01a"):
        with pytest.raises(ProtocolError):
            decode_pairs(cut)


@pytest.mark.clause("FCGI-PAIRS-1", "FCGI-BEGIN-1")
def test_a_pair_may_cross_params_records() -> None:
    connection = Connection()
    stream = pairs([("REQUEST_METHOD", "GET"), ("X", "y" * 300)])
    data = begin(flags=1) + record(PARAMS, stream[:7]) + record(PARAMS, stream[7:20]) + record(PARAMS, stream[20:])
    events = connection.receive(data + record(PARAMS) + record(STDIN, b"body") + record(STDIN))
    assert len(events) == 1
    event = events[0]
    assert event.params == ((b"REQUEST_METHOD", b"GET"), (b"X", b"y" * 300))  # type: ignore[union-attr]
    assert event.stdin == b"body" and event.keep_conn  # type: ignore[union-attr]


# -- requests through the server ----------------------------------------------------------------


def _normalise(data: bytes, root: Path) -> bytes:
    data = data.replace(str(root).encode(), b"%ROOT%")
    for version in (b"PHP/8.2 (phprt)", b"PHP/8.2.36"):
        data = data.replace(b"X-Powered-By: " + version, b"X-Powered-By: PHP/%s")
    return data.replace(b".php", b".py")


# Each case: (script, params beyond nginx's, stdin). The PHP run uses SCRIPT.php, phprt SCRIPT.py.
CASES: dict[str, tuple[str, dict[str, Any], bytes]] = {
    "hello": ("hello", {}, b""),
    "head": ("hello", {"method": "HEAD"}, b""),
    "server-split": ("server", {"path_info": "/more/x", "query": "a=1+b",
                                "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"ann:s3cret").decode()}, b""),
    "server-fix-pathinfo": ("server", {"path_info": None, "SCRIPT_NAME": "/server.php/more",
                                       "SCRIPT_FILENAME": "%ROOT%/server.php/more"}, b""),
    "post": ("post", {"method": "POST", "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": "11"},
             b"a=1&b=two+2"),
    "exit3": ("exit3", {}, b""),
    "big": ("big", {}, b""),
    "log": ("log", {}, b""),
    "status": ("status", {}, b""),
    "finish": ("finish", {}, b""),
    "missing": ("nope", {}, b""),
    "no-method": ("hello", {"REQUEST_METHOD": None}, b""),
}

# What php-fpm8.2 -n (8.2.36) sent for CASES, normalised by _normalise (the .php names read .py).
_HEAD = b"X-Powered-By: PHP/%s\r\nContent-type: text/html; charset=UTF-8\r\n\r\n"
RECORDED: dict[str, tuple[bytes, bytes]] = {
    "hello": (_HEAD + b"Hello\n", b""),
    "head": (_HEAD, b""),
    "server-split": (_HEAD + (
        b"HTTP_AUTHORIZATION=Basic YW5uOnMzY3JldA==\nPATH_INFO=/more/x\nSCRIPT_FILENAME=%ROOT%/server.py\n"
        b"HTTP_HOST=localhost\nREDIRECT_STATUS=200\nSERVER_NAME=localhost\nSERVER_PORT=80\nSERVER_ADDR=127.0.0.1\n"
        b"REMOTE_USER=\nREMOTE_PORT=50000\nREMOTE_ADDR=127.0.0.1\nSERVER_SOFTWARE=nginx/1.22.1\n"
        b"GATEWAY_INTERFACE=CGI/1.1\nREQUEST_SCHEME=http\nSERVER_PROTOCOL=HTTP/1.1\nDOCUMENT_ROOT=%ROOT%\n"
        b"DOCUMENT_URI=/server.py/more/x\nREQUEST_URI=/server.py/more/x?a=1+b\nSCRIPT_NAME=/server.py\n"
        b"CONTENT_LENGTH=\nCONTENT_TYPE=\nREQUEST_METHOD=GET\nQUERY_STRING=a=1+b\nFCGI_ROLE=RESPONDER\n"
        b"PHP_SELF=/server.py/more/x\nPHP_AUTH_USER=ann\nPHP_AUTH_PW=s3cret\nargv=a=1,b\nargc=2\n"), b""),
    "server-fix-pathinfo": (_HEAD + (
        b"PATH_TRANSLATED=%ROOT%\nORIG_SCRIPT_FILENAME=%ROOT%/server.py/more\nSCRIPT_FILENAME=%ROOT%/server.py\n"
        b"HTTP_HOST=localhost\nREDIRECT_STATUS=200\nSERVER_NAME=localhost\nSERVER_PORT=80\nSERVER_ADDR=127.0.0.1\n"
        b"REMOTE_USER=\nREMOTE_PORT=50000\nREMOTE_ADDR=127.0.0.1\nSERVER_SOFTWARE=nginx/1.22.1\n"
        b"GATEWAY_INTERFACE=CGI/1.1\nREQUEST_SCHEME=http\nSERVER_PROTOCOL=HTTP/1.1\nDOCUMENT_ROOT=%ROOT%\n"
        b"DOCUMENT_URI=/server.py\nREQUEST_URI=/server.py\nSCRIPT_NAME=/server.py/more\nCONTENT_LENGTH=\n"
        b"CONTENT_TYPE=\nREQUEST_METHOD=GET\nQUERY_STRING=\nFCGI_ROLE=RESPONDER\nPHP_SELF=/server.py/more\n"
        b"argv=\nargc=0\n"), b""),
    "post": (_HEAD + b"a=1&b=two+2|a=1;b=two 2;", b""),
    "exit3": (_HEAD + b"x", b""),
    "big": (_HEAD + b"a" * 70000 + b"b" * 100, b""),
    "log": (_HEAD + b"after\n", b"PHP message: PHP Warning:  careful in %ROOT%/log.py on line 3; "
                                b"PHP message: PHP Notice:  again in %ROOT%/log.py on line 5"),
    "status": (b"Status: 201 Created\r\nX-Powered-By: PHP/%s\r\nX-Custom: yes\r\n"
               b"Content-type: text/html; charset=UTF-8\r\n\r\ncreated", b""),
    "finish": (_HEAD + b"done", b""),
    "missing": (b"Status: 404 Not Found\r\n" + _HEAD + b"File not found.\n", b"Primary script unknown"),
    "no-method": (_HEAD, b""),
}


def _case_params(root: Path, case: str, extension: str) -> tuple[list[tuple[str, str]], bytes]:
    script, options, stdin = CASES[case]
    options = dict(options)
    named = {key: options.pop(key) for key in ("method", "query", "path_info") if key in options}
    extra = {key: str(value).replace("%ROOT%", str(root)).replace(".php", extension)
             for key, value in options.items() if value is not None}
    params = nginx_params(root, f"/{script}{extension}", **named, **extra)
    params = [(key, value) for key, value in params if options.get(key, "") is not None]
    return params, stdin


def _observe(address: Any, root: Path, case: str, extension: str) -> tuple[bytes, bytes, tuple[int, int] | None]:
    params, stdin = _case_params(root, case, extension)
    reply = exchange(address, fcgi_request(params, stdin))
    return _normalise(reply.stdout, root), _normalise(reply.stderr, root), reply.end()


@pytest.mark.clause("FCGI-STDOUT-1", "FCGI-STDERR-1", "FCGI-END-1", "FCGI-SERVER-1", "FCGI-PATHINFO-1",
                    "FCGI-SCRIPT-1", "FCGI-BEGIN-1", "FCGI-FINISH-1", "SAPI-FPM-2")
@pytest.mark.parametrize("case", sorted(CASES))
def test_stdout_and_stderr_are_php_fpm_s(server: FastCgiServer, docroot: Path, case: str) -> None:
    stdout, stderr, end = _observe(server.address, docroot, case, ".py")
    assert (stdout, stderr) == RECORDED[case]
    assert end == (0, 0)  # appStatus 0 even after exit(3), REQUEST_COMPLETE


@pytest.fixture(scope="module")
def php_fpm(request: pytest.FixtureRequest, docroot: Path) -> Iterator[str]:
    """A private php-fpm8.2 pool serving the same document root, for --php-live."""
    if not request.config.getoption("--php-live"):
        pytest.skip("compares with a live php-fpm8.2 only with --php-live")
    binary = shutil.which("php-fpm8.2") or "/usr/sbin/php-fpm8.2"
    assert os.path.exists(binary), "--php-live needs php-fpm8.2"
    with tempfile.TemporaryDirectory(prefix="phprt-fpm-") as tmp:
        sock = f"{tmp}/fpm.sock"
        Path(tmp, "fpm.conf").write_text(
            f"[global]\npid = {tmp}/fpm.pid\nerror_log = {tmp}/fpm.log\ndaemonize = no\n\n"
            f"[www]\nlisten = {sock}\npm = static\npm.max_children = 1\n")
        process = subprocess.Popen([binary, "-n", "-F", "-R", "-y", f"{tmp}/fpm.conf"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + TIMEOUT
            while not os.path.exists(sock):
                assert process.poll() is None and time.monotonic() < deadline, "php-fpm8.2 did not start"
                time.sleep(0.01)
            yield sock
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(TIMEOUT)


@pytest.mark.clause("FCGI-STDOUT-1", "FCGI-END-1", "FCGI-SERVER-1", "FCGI-PATHINFO-1", "FCGI-SCRIPT-1")
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_recording_is_what_php_fpm_sends(php_fpm: str, docroot: Path, case: str) -> None:
    stdout, stderr, end = _observe(php_fpm, docroot, case, ".php")
    assert (stdout, stderr) == RECORDED[case]
    assert end == (0, 0)


@pytest.mark.clause("DEV-FCGI-PROTOCOL-1", "DEV-FCGI-SCRIPT-1")
def test_php_fpm_differs_where_the_deviations_say(php_fpm: str, docroot: Path, tmp_path: Path) -> None:
    # What php-fpm8.2 does where phprt follows the FastCGI specification instead.
    for payload in (begin(role=9) + record(PARAMS), record(20, b"junk", request_id=0)):
        client = Client(php_fpm)
        try:
            client.send(payload)
            assert client.read_eof().records == []  # closed, unanswered
        finally:
            client.close()
    hello = nginx_params(docroot, "/hello.php")
    reply = exchange(php_fpm, b"\x02" + fcgi_request(hello)[1:])  # version 2 is run
    assert reply.stdout.endswith(b"Hello\n")
    assert [kind for kind, _, content in reply.records if not content] == []  # no empty STDOUT record
    denied = exchange(php_fpm, fcgi_request(nginx_params(docroot, "/notes.txt")))
    assert denied.stdout.startswith(b"Status: 403 Forbidden\r\n") and denied.stdout.endswith(b"Access denied.\n")
    assert b"security.limit_extensions" in denied.stderr
    out = tmp_path / "status"
    (docroot / "ticks.php").write_text(
        '<?php register_shutdown_function(function () { file_put_contents($_GET["out"], connection_status()); });\n'
        'for ($i = 0; $i < 8; $i++) { echo "tick\\n"; flush(); usleep(25000); }\n')
    client = Client(php_fpm)
    try:
        client.send(fcgi_request(nginx_params(docroot, "/ticks.php", query=f"out={out}")))
        client.read_until(lambda r: b"tick" in r.stdout)
        client.send(record(ABORT))
        assert client.read_end().stdout.count(b"tick") == 8  # ABORT_REQUEST is never read
    finally:
        client.close()
    assert _wait_for(out) == "0"


@pytest.mark.clause("FCGI-SERVER-1")
def test_request_time_and_repeated_params() -> None:
    before = time.time()
    server, script = fpm_server_variables([("REQUEST_METHOD", "GET"), ("X", "1"), ("Y", "2"), ("X", "3")])
    assert list(server)[:4] == ["Y", "X", "REQUEST_METHOD", "FCGI_ROLE"]  # recorded from php-fpm8.2
    assert server["X"] == "3" and script is None
    assert isinstance(server["REQUEST_TIME_FLOAT"], float) and before <= server["REQUEST_TIME_FLOAT"] <= time.time()
    assert server["REQUEST_TIME"] == int(server["REQUEST_TIME_FLOAT"])
    assert list(server)[-5:] == ["PHP_SELF", "REQUEST_TIME_FLOAT", "REQUEST_TIME", "argv", "argc"]
    digest = fpm_server_variables([("HTTP_AUTHORIZATION", 'Digest username="ann"')])[0]
    assert digest["PHP_AUTH_DIGEST"] == 'username="ann"' and "PHP_AUTH_USER" not in digest


@pytest.mark.clause("FCGI-SCRIPT-1", "FCGI-PATHINFO-1", "DEV-FCGI-SCRIPT-1")
@pytest.mark.parametrize("filename", ["%ROOT%/notes.txt", "%ROOT%/sub", "%ROOT%/sub/", "%ROOT%/../outside.py",
                                      "/etc/passwd", "relative.py", "%ROOT%/sub/../hello.py"])
def test_only_a_script_inside_the_root_runs(server: FastCgiServer, docroot: Path, filename: str) -> None:
    outside = docroot.parent / "outside.py"
    outside.write_text('from phprt.php import *\necho("outside")\n')
    params = nginx_params(docroot, "/x.py", SCRIPT_FILENAME=filename.replace("%ROOT%", str(docroot)))
    reply = exchange(server.address, fcgi_request(params))
    assert reply.stderr == b"Primary script unknown"
    assert reply.stdout.startswith(b"Status: 404 Not Found\r\n") and reply.stdout.endswith(b"\r\n\r\nFile not found.\n")


@pytest.mark.clause("FCGI-BEGIN-1", "FCGI-STDOUT-1")
def test_keep_conn_serves_requests_one_after_another(server: FastCgiServer, docroot: Path) -> None:
    client = Client(server.address)
    try:
        for request_id in (1, 2, 3):
            client.send(fcgi_request(nginx_params(docroot, "/hello.py"), request_id=request_id, flags=1))
            reply = client.read_end(request_id)
            assert reply.stream(STDOUT, request_id).endswith(b"\r\n\r\nHello\n")
            # the stream ends with an empty record, then END_REQUEST
            kinds = [(kind, len(content)) for kind, rid, content in reply.records if rid == request_id]
            assert kinds[-2:] == [(STDOUT, 0), (END, 8)]
        client.quiet_for(0.3)  # kept open
    finally:
        client.close()
    closing = Client(server.address)
    try:
        closing.send(fcgi_request(nginx_params(docroot, "/hello.py")))
        assert closing.read_eof().end() == (0, 0)  # without KEEP_CONN: closed after END_REQUEST
    finally:
        closing.close()


@pytest.mark.clause("FCGI-BEGIN-1")
def test_stdin_in_many_records_is_the_body(server: FastCgiServer, docroot: Path) -> None:
    body = b"a=" + b"x" * 150000 + b"&b=2"
    params = nginx_params(docroot, "/post.py", method="POST", CONTENT_TYPE="application/x-www-form-urlencoded",
                          CONTENT_LENGTH=str(len(body)))
    stdin = b"".join(record(STDIN, body[i:i + 8000]) for i in range(0, len(body), 8000))
    data = begin() + record(PARAMS, pairs(params)) + record(PARAMS) + stdin + record(STDIN)
    reply = exchange(server.address, data)
    assert reply.stdout.split(b"\r\n\r\n", 1)[1] == body + b"|a=" + b"x" * 150000 + b";b=2;"


# -- management records, roles, multiplexing, aborts --------------------------------------------


@pytest.mark.clause("FCGI-VALUES-1", "DEV-FCGI-POOL-1")
def test_get_values_answers_what_php_fpm_answers(server: FastCgiServer) -> None:
    client = Client(server.address)
    try:
        client.send(record(GET_VALUES, pairs({"FCGI_MAX_CONNS": "", "FCGI_MAX_REQS": "", "FCGI_MPXS_CONNS": "",
                                              "OTHER": ""}), request_id=0))
        reply = client.read_until(lambda r: r.records)
        # php-fpm8.2 answered exactly this record: 0f 01 "FCGI_MPXS_CONNS" "0", request id 0
        assert reply.records == [(VALUES_RESULT, 0, b"\x0f\x01FCGI_MPXS_CONNS0")]
        client.quiet_for(0.2)  # the connection goes on
    finally:
        client.close()


@pytest.mark.clause("FCGI-UNKNOWN-1", "DEV-FCGI-PROTOCOL-1")
@pytest.mark.parametrize("kind", [0, END, STDOUT, VALUES_RESULT, 12, 200])
def test_unknown_types_are_answered_unknown_type(server: FastCgiServer, docroot: Path, kind: int) -> None:
    client = Client(server.address)
    try:
        client.send(record(kind, b"junk", request_id=0))
        reply = client.read_until(lambda r: r.records)
        assert reply.records == [(UNKNOWN, 0, bytes([kind]) + bytes(7))]
        client.send(fcgi_request(nginx_params(docroot, "/hello.py")))  # and the connection still serves
        assert client.read_end().stdout.endswith(b"Hello\n")
    finally:
        client.close()


@pytest.mark.clause("FCGI-ROLE-1", "DEV-FCGI-PROTOCOL-1")
@pytest.mark.parametrize("role", [2, 3, 9])
def test_other_roles_are_answered_unknown_role(server: FastCgiServer, role: int) -> None:
    client = Client(server.address)
    try:
        client.send(begin(role=role, request_id=5))
        reply = client.read_eof()
        assert reply.records == [(END, 5, b"\x00\x00\x00\x00\x03\x00\x00\x00")]
    finally:
        client.close()
    kept = Client(server.address)
    try:
        kept.send(begin(role=role, flags=1, request_id=5))
        assert kept.read_end(5).end(5) == (0, 3)
        kept.quiet_for(0.2)
    finally:
        kept.close()


@pytest.mark.clause("FCGI-MPX-1", "DEV-FCGI-PROTOCOL-1")
def test_a_second_request_on_a_busy_connection_is_cant_mpx_conn(server: FastCgiServer, docroot: Path) -> None:
    client = Client(server.address)
    try:
        client.send(fcgi_request(nginx_params(docroot, "/echo_n.py", query="n=1"), flags=1))
        client.send(fcgi_request(nginx_params(docroot, "/echo_n.py", query="n=2"), request_id=2))
        reply = client.read_end(1)
        assert reply.end(2) == (0, 1)  # CANT_MPX_CONN
        assert not reply.stream(STDOUT, 2)
        assert b"n=1 " in reply.stdout
        client.send(record(STDIN, b"stray", request_id=9))  # a request that is not active: ignored
        client.send(fcgi_request(nginx_params(docroot, "/echo_n.py", query="n=3"), request_id=3))
        assert b"n=3 " in client.read_end(3).stream(STDOUT, 3)
    finally:
        client.close()


def _ticks(docroot: Path, out: Path) -> bytes:
    return fcgi_request(nginx_params(docroot, "/ticks.py", query=f"out={out}"))


def _wait_for(path: Path) -> str:
    deadline = time.monotonic() + TIMEOUT
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"{path} was never written"
        time.sleep(0.02)
    return path.read_text()


@pytest.mark.clause("FCGI-ABORT-1", "CONN-ABORT-1", "DEV-FCGI-PROTOCOL-1")
def test_abort_request_stops_the_script_at_its_next_flush(server: FastCgiServer, docroot: Path, tmp_path: Path) -> None:
    out = tmp_path / "status"
    client = Client(server.address)
    try:
        client.send(_ticks(docroot, out))
        client.read_until(lambda r: b"tick" in r.stdout)
        client.send(record(ABORT))
        reply = client.read_end()
        assert reply.end() == (0, 0)  # END_REQUEST still answers the ABORT_REQUEST
    finally:
        client.close()
    status, ticks, _ = _wait_for(out).split()
    assert status == "1" and int(ticks) < 400  # ABORTED, and stopped long before its end


@pytest.mark.clause("FCGI-ABORT-1", "CONN-ABORT-1")
def test_a_web_server_that_closes_is_a_client_abort(server: FastCgiServer, docroot: Path, tmp_path: Path) -> None:
    out = tmp_path / "status"
    client = Client(server.address)
    client.send(_ticks(docroot, out))
    client.read_until(lambda r: b"tick" in r.stdout)
    client.close()
    status, ticks, _ = _wait_for(out).split()
    assert status == "1" and int(ticks) < 400


@pytest.mark.clause("SAPI-FPM-3", "FCGI-ABORT-1", "CONN-ABORT-1", "LIFE-SHUTDOWN-1")
def test_an_empty_flush_after_the_web_server_left_is_a_client_abort(tmp_path: Path) -> None:
    """PHP-FPM (recorded: spec/cases/fuzz.toml, fuzz-fpm-empty-flush-after-hang-up): 11 bytes
    echoed and flushed, the web server reads them and closes its unix socket, then flush() with
    nothing buffered -- its zero-length write fails, the script stops there and the shutdown
    function sees connection_status() 1."""
    root = tmp_path / "root"
    root.mkdir()
    out, gone, after = tmp_path / "status", tmp_path / "gone", tmp_path / "after"
    (root / "empty_flush.py").write_text(
        "from phprt.php import *\nimport os, time\n"
        "def done():\n    with open(_GET['out'], 'w') as f:\n        f.write(str(connection_status()))\n"
        "register_shutdown_function(done)\n"
        "echo('h' * 11)\nflush()\n"
        "deadline = time.monotonic() + 10\n"
        "while not os.path.exists(_GET['gone']) and time.monotonic() < deadline:\n    time.sleep(0.01)\n"
        "flush()\n"
        "open(_GET['after'], 'w').close()\n")
    with FastCgiServer(root, str(tmp_path / "fcgi.sock")) as running:
        client = Client(running.address)
        try:
            client.send(fcgi_request(nginx_params(root, "/empty_flush.py",
                                                  query=f"out={out}&gone={gone}&after={after}")))
            client.read_until(lambda reply: b"h" * 10 in reply.stdout)
        finally:
            client.close()
        gone.write_text("closed")
        assert _wait_for(out) == "1"
    assert not after.exists()


@pytest.mark.clause("FCGI-ABORT-1")
def test_a_web_server_that_stops_reading_is_gone_and_never_holds_up_shutdown(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    out = tmp_path / "status"
    (root / "flood.py").write_text(
        "from phprt.php import *\n"
        "def done():\n    with open(_GET['out'], 'w') as f:\n        f.write(str(connection_status()))\n"
        "register_shutdown_function(done)\n"
        "while True:\n    echo('x' * 65536)\n    flush()\n")
    running = FastCgiServer(root, "127.0.0.1:0", write_timeout=0.5).start()
    client = socket.create_connection(running.address)
    try:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.sendall(fcgi_request(nginx_params(root, "/flood.py", query=f"out={out}")))  # and never reads
        assert _wait_for(out) == "1"  # the write that found no reader for 0.5 s was a client abort
        deadline = time.monotonic() + 60  # a safety net: the state is what is checked, not the time
        while running._busy() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not running._busy(), "the aborted script still holds a slot: shutdown would have to cut it"
        running.shutdown(5.0)
    finally:
        client.close()
        running.shutdown()


@pytest.mark.clause("FCGI-CONCURRENT-1")
def test_scripts_past_max_requests_wait_for_a_free_slot(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "gate.py").write_text(
        "import os, time\nfrom phprt.php import *\n"
        "echo('in ' + _GET['n'])\nfastcgi_finish_request()\n"
        "while not os.path.exists(_GET['gate']):\n    time.sleep(0.01)\n")
    gate = tmp_path / "open"
    with FastCgiServer(root, "127.0.0.1:0", max_requests=1) as running:
        first, second = Client(running.address), Client(running.address)
        try:
            first.send(fcgi_request(nginx_params(root, "/gate.py", query=f"n=1&gate={gate}")))
            assert b"in 1" in first.read_end().stdout  # answered; its script still holds the one slot
            second.send(fcgi_request(nginx_params(root, "/gate.py", query=f"n=2&gate={gate}")))
            second.quiet_for(0.3)  # waits for the slot: nothing comes
            gate.write_text("")
            assert b"in 2" in second.read_end().stdout
        finally:
            first.close()
            second.close()


def _late_script(tmp_path: Path) -> tuple[Path, Path, Path]:
    # (root, started, gate): root/late.py echoes "late", makes ``started`` and runs until ``gate`` exists
    root = tmp_path / "root"
    root.mkdir()
    started, gate = tmp_path / "started", tmp_path / "open"
    (root / "late.py").write_text(
        "import os, time\nfrom phprt.php import *\necho('late')\n"
        f"open({str(started)!r}, 'w').close()\n"
        f"while not os.path.exists({str(gate)!r}):\n    time.sleep(0.01)\n")
    return root, started, gate


@pytest.mark.clause("FCGI-THREAD-1")
def test_a_response_that_ends_after_the_server_stopped_lets_its_script_end(tmp_path: Path) -> None:
    # The script's response ends (its END_REQUEST, the connection given back) once the server's
    # loop has stopped: the connection is closed in the script's thread, which then ends its
    # Runtime as every Runtime ends -- it used to wait for the connection's lock it held itself.
    root, started, gate = _late_script(tmp_path)
    server = FastCgiServer(root, "127.0.0.1:0").start()
    client = Client(server.address)
    try:
        client.send(fcgi_request(nginx_params(root, "/late.py")))
        for _ in range(1000):
            if started.exists():
                break
            time.sleep(0.01)
        assert started.exists()
        server.shutdown(0.1)  # the loop stops; the script runs on past the grace
        gate.write_text("")  # the script ends its response now
        assert server.runner.join(30), "the script's thread never ended its request"
    finally:
        client.close()


def _threads_in(server: FastCgiServer, script: Path) -> tuple[set[int], set[int]]:
    # (threads serving one of ``server``'s connections, threads running ``script``), from their stacks
    serving, running = set(), set()
    for ident, frame in sys._current_frames().items():
        stack: Any = frame
        while stack is not None:
            if stack.f_code.co_name == "_served" and stack.f_locals.get("self") is server:
                serving.add(ident)
            if stack.f_code.co_filename == str(script):
                running.add(ident)
            stack = stack.f_back
    return serving, running


@pytest.mark.clause("FCGI-THREAD-1", "FCGI-CONCURRENT-1", "FCGI-VALUES-1")
def test_a_script_runs_in_its_connections_thread_while_the_loop_reads_the_connection(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    script = root / "gate.py"
    script.write_text(
        "import os, time\nfrom phprt.php import *\necho('waiting')\nflush()\n"
        "deadline = time.monotonic() + 10\n"
        "while not os.path.exists(_GET['gate']) and time.monotonic() < deadline:\n    time.sleep(0.01)\n")
    gate = tmp_path / "open"
    with FastCgiServer(root, "127.0.0.1:0") as running:
        client = Client(running.address)
        try:
            client.send(fcgi_request(nginx_params(root, f"/{script.name}", query=f"gate={gate}")))
            client.read_until(lambda r: b"waiting" in r.stdout)
            serving, scripts = _threads_in(running, script)
            assert len(serving) == 1 and serving == scripts  # one thread serves the connection and runs the script
            client.send(record(GET_VALUES, pairs({"FCGI_MPXS_CONNS": ""}), request_id=0))
            answered = client.read_until(lambda r: any(kind == VALUES_RESULT for kind, _, _ in r.records))
            assert answered.end() is None  # answered by the loop while the script still runs
            gate.write_text("")
            assert client.read_end().end() == (0, 0)
        finally:
            client.close()


@pytest.mark.clause("FCGI-THREAD-1", "FCGI-ABORT-1")
def test_the_loop_never_waits_for_a_connection_its_script_holds(server: FastCgiServer, docroot: Path,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "status"
    client = Client(server.address)
    try:
        client.send(_ticks(docroot, out))
        client.read_until(lambda r: b"tick" in r.stdout)
        with server._lock:
            (channel,) = [c for c in server._running if c.transports]
        with channel.lock:  # as a send of the script holds it, waiting for a web server that does not read
            client.send(record(ABORT))
            other = exchange(server.address, fcgi_request(nginx_params(docroot, "/hello.py")))
            assert other.stdout.endswith(b"Hello\n")  # the loop went on serving the others
            assert not channel.transports[1].aborted  # the ABORT_REQUEST waits with the connection
        assert client.read_end().end() == (0, 0)  # taken once the lock is free: the script stops
    finally:
        client.close()
    status, ticks, _ = _wait_for(out).split()
    assert status == "1" and int(ticks) < 400


@pytest.mark.clause("FCGI-ABORT-1")
def test_abort_before_the_request_ran(server: FastCgiServer, docroot: Path, tmp_path: Path) -> None:
    out = tmp_path / "status"
    client = Client(server.address)
    try:
        params = nginx_params(docroot, "/ticks.py", query=f"out={out}")
        client.send(begin() + record(PARAMS, pairs(params)) + record(PARAMS) + record(ABORT))
        reply = client.read_eof()
        assert [kind for kind, _, _ in reply.records][-1] == END and reply.end() == (0, 0)
        assert not reply.stdout
    finally:
        client.close()
    time.sleep(0.3)
    assert not out.exists()


@pytest.mark.clause("FCGI-FINISH-1", "FPM-FINISH-1")
def test_finish_request_ends_the_response_before_the_script(server: FastCgiServer, docroot: Path,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "end"
    client = Client(server.address)
    try:
        client.send(fcgi_request(nginx_params(docroot, "/late.py", query=f"out={out}&sleep=1500000")))
        reply = client.read_eof()
        answered = client.times[-1]
        assert reply.stdout.endswith(b"\r\n\r\nearly answer") and reply.end() == (0, 0)
    finally:
        client.close()
    ended = float(_wait_for(out))
    assert answered < ended  # the web server had everything before the script ended


@pytest.mark.clause("FCGI-FINISH-1", "FCGI-BEGIN-1")
def test_after_finish_request_a_kept_connection_takes_the_next_request(server: FastCgiServer, docroot: Path,
                                                                       tmp_path: Path) -> None:
    out = tmp_path / "end"
    client = Client(server.address)
    try:
        client.send(fcgi_request(nginx_params(docroot, "/late.py", query=f"out={out}&sleep=3000000"), flags=1))
        client.read_end(1)
        client.send(fcgi_request(nginx_params(docroot, "/hello.py"), request_id=2, flags=1))
        second = client.read_end(2)
        assert second.stream(STDOUT, 2).endswith(b"Hello\n")
        assert not out.exists()  # the first script is still running
    finally:
        client.close()
    _wait_for(out)


# -- malformed input ----------------------------------------------------------------------------


MALFORMED = {
    "version 0": record(BEGIN, struct.pack(">HB5x", 1, 0), version=0),
    "version 2": record(BEGIN, struct.pack(">HB5x", 1, 0), version=2),
    "short begin": record(BEGIN, b"\x00\x01"),
    "begin id 0": record(BEGIN, struct.pack(">HB5x", 1, 0), request_id=0),
    "begin twice": begin() + begin(),
    "cut pair": begin() + record(PARAMS, b"\x05\x05ab") + record(PARAMS),
    "stdin before params end": begin() + record(STDIN, b"x"),
    "get values with id": record(GET_VALUES, pairs({"FCGI_MPXS_CONNS": ""}), request_id=3),
    "garbage": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "truncated": begin() + record(PARAMS, pairs({"A": "b"}))[:11],
    "huge params": begin() + b"".join(record(PARAMS, b"\x7f" * 65535) for _ in range(17)),
}


@pytest.mark.clause("FCGI-MALFORMED-1")
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_input_closes_that_connection_only(server: FastCgiServer, docroot: Path, case: str) -> None:
    bystander = Client(server.address)  # a connection in the middle of its own request
    bystander.send(begin(flags=1) + record(PARAMS, pairs(nginx_params(docroot, "/hello.py"))))
    client = Client(server.address)
    try:
        try:
            client.send(MALFORMED[case])
            if case == "truncated":
                client.sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # already closed by the server
        reply = client.read_eof()
        assert reply.records == [] and reply.eof
        bystander.send(record(PARAMS) + record(STDIN))
        assert bystander.read_end().stdout.endswith(b"Hello\n")
        assert exchange(server.address, fcgi_request(nginx_params(docroot, "/hello.py"))).end() == (0, 0)
    finally:
        client.close()
        bystander.close()


@pytest.mark.clause("FCGI-MALFORMED-1", "NET-RUNTIME-1")
@pytest.mark.parametrize("script", ["raise.py", "system_exit.py"])
def test_a_failing_script_ends_its_request_only(server: FastCgiServer, docroot: Path, script: str) -> None:
    reply = exchange(server.address, fcgi_request(nginx_params(docroot, f"/{script}")))
    assert reply.end() == (0, 0)
    if script == "raise.py":
        assert b"before <br />\n<b>Fatal error</b>:  Uncaught RuntimeError: boom" in reply.stdout
    assert exchange(server.address, fcgi_request(nginx_params(docroot, "/hello.py"))).stdout.endswith(b"Hello\n")


# -- concurrency ------------------------------------------------------------------------------


@pytest.mark.clause("FCGI-CONCURRENT-1", "NET-RUNTIME-1", "DEV-FCGI-POOL-1")
def test_a_hundred_concurrent_requests_each_get_their_own_response(server: FastCgiServer, docroot: Path) -> None:
    barrier = threading.Barrier(100, timeout=TIMEOUT)

    def one(n: int) -> tuple[int, Reply]:
        client = Client(server.address)
        try:
            barrier.wait()
            client.send(fcgi_request(nginx_params(docroot, "/echo_n.py", query=f"n={n}")))
            return n, client.read_end()
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=100) as pool:
        results = list(pool.map(one, range(100)))
    for n, reply in results:
        head, _, body = reply.stdout.partition(b"\r\n\r\n")
        assert f"X-N: {n}\r\n".encode() in head + b"\r\n"
        assert body == f"n={n} pid={os.getpid()} level=0 buffered".encode()
        assert reply.end() == (0, 0)


# -- the listening socket, the command line and the worker pool ---------------------------------


@pytest.mark.clause("FCGI-LISTEN-1")
def test_unix_socket_mode_stale_files_and_removal(docroot: Path, tmp_path: Path) -> None:
    path = str(tmp_path / "phprt.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)  # a socket file nobody listens on
    stale.close()
    with FastCgiServer(docroot, path) as server:
        assert server.address == path
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
        assert exchange(path, fcgi_request(nginx_params(docroot, "/hello.py"))).stdout.endswith(b"Hello\n")
        with pytest.raises(OSError, match="in use"):
            FastCgiServer(docroot, path)
    assert not os.path.exists(path)
    plain = tmp_path / "plain"
    plain.write_text("x")
    with pytest.raises(OSError, match="not a socket"):
        FastCgiServer(docroot, str(plain))
    with pytest.raises(ValueError):
        FastCgiServer(docroot, "localhost")


@pytest.mark.clause("FCGI-SCRIPT-1")
def test_a_server_for_one_callable_runs_it_for_every_request() -> None:
    def page() -> None:
        from phprt.php import _SERVER, echo
        echo("callable ", _SERVER["REQUEST_URI"])

    with FastCgiServer(page, "127.0.0.1:0") as server:
        reply = exchange(server.address, fcgi_request({"REQUEST_METHOD": "GET", "REQUEST_URI": "/any"}))
    assert reply.stdout.endswith(b"\r\n\r\ncallable /any")


def _spawn(docroot: Path, *args: str, cpus: int | None = None) -> subprocess.Popen[bytes]:
    # ``cpus``: the master runs on that many CPUs (its workers beyond them are spares, NET-PERF-10)
    environment = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    allowed = sorted(os.sched_getaffinity(0))[:cpus] if cpus else None
    return subprocess.Popen([sys.executable, "-m", "phprt", "fastcgi", str(docroot), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environment,
                            preexec_fn=(lambda: os.sched_setaffinity(0, allowed)) if allowed else None)


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(child) for child in (task / "children").read_text().split())
    return found


def _await(ready: Any, what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not ready():
        assert process.poll() is None, f"{what}: the server exited: {process.stdout.read() if process.stdout else ''!r}"
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    process.send_signal(sig)
    try:
        return process.wait(TIMEOUT)
    finally:
        _reap(process)


def _reap(process: subprocess.Popen[bytes]) -> None:
    # the server killed if it still runs, its output closed
    if process.poll() is None:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


@pytest.mark.clause("FCGI-LISTEN-1", "NET-CLI-1", "FCGI-WORKERS-1")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_command_serves_a_unix_socket_until_a_signal(docroot: Path, tmp_path: Path, sig: int) -> None:
    path = str(tmp_path / "cli.sock")
    process = _spawn(docroot, "--listen", path)
    try:
        _await(lambda: os.path.exists(path), "socket", process)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
        reply = exchange(path, fcgi_request(nginx_params(docroot, "/hello.py")))
        assert reply.stdout.endswith(b"Hello\n") and reply.stdout.startswith(b"X-Powered-By: PHP/8.2 (phprt)\r\n")
    finally:
        status = _stop(process, sig)
    assert status == 0
    assert not os.path.exists(path)


@pytest.mark.clause("FCGI-THREAD-1", "NET-CLI-1")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_command_stopped_while_a_request_runs_ends_it_and_exits(tmp_path: Path, sig: int) -> None:
    # One worker runs the request in its loop's thread, the main one; the signal stops the loop
    # while the script runs, whose response then ends with the loop stopped: the client gets it
    # all and the command exits -- it used to wait forever for a lock its own thread held.
    root, started, gate = _late_script(tmp_path)
    path = str(tmp_path / "cli.sock")
    process = _spawn(root, "--listen", path)
    try:
        _await(lambda: os.path.exists(path), "socket", process)
        client = Client(path)
        try:
            client.send(fcgi_request(nginx_params(root, "/late.py")))
            _await(started.exists, "the script", process)
            process.send_signal(sig)
            time.sleep(0.3)  # the signal's handler runs in the script's thread: the loop stops first
            gate.write_text("")
            assert client.read_end().stdout.endswith(b"late")
        finally:
            client.close()
        assert process.wait(TIMEOUT) == 0
    finally:
        _reap(process)


@pytest.mark.clause("PERF-IMPORT-1", "NET-CLI-1")
def test_the_command_serves_without_the_modules_only_some_requests_use(tmp_path: Path) -> None:
    expected = unused_modules_probe(tmp_path)
    path = str(tmp_path / "cli.sock")
    process = _spawn(tmp_path, "--listen", path)
    try:
        _await(lambda: os.path.exists(path), "socket", process)
        reply = exchange(path, fcgi_request(nginx_params(tmp_path, "/modules.py")))
    finally:
        _stop(process)
    assert reply.stdout.partition(b"\r\n\r\n")[2].decode() == expected


@pytest.mark.clause("FCGI-WORKERS-1", "NET-CLI-1", "NET-PERF-10")
def test_workers_share_the_socket_are_replaced_and_stop_together(docroot: Path, tmp_path: Path) -> None:
    # On one CPU, two of the three workers are spares; each runs one script at a time, so the
    # connections the busy worker leaves waiting are taken by the spares.
    path = str(tmp_path / "pool.sock")
    process = _spawn(docroot, "--listen", path, "--workers", "3", "--max-children", "1", "-d", "output_buffering=0",
                     cpus=1)
    try:
        _await(lambda: os.path.exists(path) and len(_children(process.pid)) == 3, "three workers", process)
        workers = _children(process.pid)
        seen: set[int] = set()
        for _ in range(40):  # concurrent batches until more than one worker has answered
            with ThreadPoolExecutor(max_workers=12) as pool:
                replies = list(pool.map(lambda _: exchange(path, fcgi_request(
                    nginx_params(docroot, "/pid.py", query="sleep=100000"))), range(12)))
            seen.update(int(reply.stdout.split(b"\r\n\r\n")[1]) for reply in replies)
            if len(seen) > 1:
                break
        assert len(seen) > 1 and seen <= workers
        victim = next(iter(workers))
        os.kill(victim, signal.SIGKILL)
        _await(lambda: len(_children(process.pid)) == 3 and victim not in _children(process.pid), "a new worker",
               process)
        assert exchange(path, fcgi_request(nginx_params(docroot, "/hello.py"))).stdout.endswith(b"Hello\n")
        workers = _children(process.pid)
    finally:
        status = _stop(process)
    assert status == 0
    assert not os.path.exists(path)
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


@pytest.mark.clause("FCGI-STDOUT-1", "SAPI-FPM-1")
def test_stdout_is_what_the_runtime_delivers(server: FastCgiServer, docroot: Path) -> None:
    # The same script on a MemoryTransport under "fpm": the FastCGI stdout is its head block and body.
    params = nginx_params(docroot, "/status.py")
    reply = exchange(server.address, fcgi_request(params))
    memory = MemoryTransport(server=dict(params))
    with Runtime(transport=memory, sapi="fpm"):
        from phprt.php import echo, header, http_response_code
        header("X-Custom: yes")
        http_response_code(201)
        echo("created")
    assert memory.head is not None
    assert reply.stdout == memory.head.block() + memory.body


@pytest.mark.clause("FCGI-STDOUT-1", "NET-CLI-1")
@pytest.mark.parametrize("sapi", ["cgi", "apache2handler", "cli-server"])
def test_other_profiles_still_send_a_cgi_head(docroot: Path, sapi: str) -> None:
    with FastCgiServer(docroot, "127.0.0.1:0", sapi=sapi) as server:
        reply = exchange(server.address, fcgi_request(nginx_params(docroot, "/status.py")))
    head, _, body = reply.stdout.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"Status: 201 Created" and body == b"created"
    assert b"X-Custom: yes" in lines and not any(line.startswith(b"HTTP/") for line in lines)


@pytest.mark.clause("FCGI-MALFORMED-1")
def test_random_records_never_stop_the_server(server: FastCgiServer, docroot: Path) -> None:
    import random

    chooser = random.Random(20260521)
    odd_values = ["", "\0", "/", "..", "%ROOT%/hello.py\0x", "%ROOT%/../../etc", "\udcff\udcfe", "x" * 70000]
    for _ in range(60):
        parts = []
        for _ in range(chooser.randint(1, 6)):
            kind = chooser.choice([BEGIN, ABORT, PARAMS, STDIN, DATA, GET_VALUES, 0, 77])
            if chooser.random() < 0.5:
                names = ["SCRIPT_FILENAME", "REQUEST_METHOD", "PATH_INFO", "DOCUMENT_ROOT", "HTTP_AUTHORIZATION"]
                content = pairs([(chooser.choice(names), chooser.choice(odd_values).replace("%ROOT%", str(docroot)))
                                 for _ in range(3)])[:65535]
            else:
                content = bytes(chooser.getrandbits(8) for _ in range(chooser.randint(0, 40)))
            parts.append(record(kind, content, request_id=chooser.choice([0, 1, 2])))
        data = b"".join(parts)
        if chooser.random() < 0.3:
            data = data[: chooser.randint(0, len(data))]
        client = Client(server.address)
        try:
            client.send(data + (record(PARAMS) + record(STDIN) if chooser.random() < 0.5 else b""))
            client.sock.shutdown(socket.SHUT_WR)
            client.read_eof()  # the server always closes: a TimeoutError fails the test
        except TimeoutError:
            raise
        except OSError:
            pass  # the server closed first
        finally:
            client.close()
    reply = exchange(server.address, fcgi_request(nginx_params(docroot, "/hello.py")))
    assert reply.stdout.endswith(b"Hello\n") and reply.end() == (0, 0)


@pytest.mark.clause("FPM-PERF-1", "PERF-ECHO-4", "SAPI-FPM-1", "FPM-END-1")
def test_many_small_echos_are_cut_into_php_fpms_records(server: FastCgiServer, docroot: Path) -> None:
    # php-fpm8.2 -n: for ($i = 0; $i < 3000; $i++) { echo "abcde", $i % 10; if ($i == 1500) error_log("half"); }
    # sent STDOUT 8184, STDOUT 890, STDERR 17 ("PHP message: half"), STDOUT 7248, STDOUT 1746, END_REQUEST.
    # phprt's X-Powered-By is 5 bytes longer (DEV-POWERED-BY-1) and it ends both streams with an
    # empty record (DEV-FCGI-PROTOCOL-1).
    from phprt.engine.runtime import POWERED_BY

    (docroot / "many.py").write_text('from phprt.php import *\nfor i in range(3000):\n    echo("abcde", i % 10)\n'
                                     '    if i == 1500:\n        error_log("half")\n')
    reply = exchange(server.address, fcgi_request(nginx_params(docroot, "/many.py")))
    longer = len(POWERED_BY) - len("PHP/8.2.36")
    assert [(kind, len(content)) for kind, _, content in reply.records] == [
        (STDOUT, 8184), (STDOUT, 890 + longer), (STDERR, 17), (STDOUT, 7248), (STDOUT, 1746), (STDOUT, 0), (STDERR, 0),
        (END, 8)]
    assert reply.stderr == b"PHP message: half"
    assert reply.stdout.endswith(b"abcde7abcde8abcde9") and reply.stdout.count(b"abcde") == 3000


@pytest.mark.clause("PERF-ECHO-4", "SAPI-FPM-1")
def test_an_echo_too_long_to_join_is_cut_as_php_fpm_cuts_its_writes(server: FastCgiServer, docroot: Path) -> None:
    # php-fpm8.2 -n: echo str_repeat("x", 5000), str_repeat("y", 12000), 1; sent STDOUT 5068 (the head
    # and the x's), STDOUT 12000 (the y's, too big for the buffer: written as they are), STDOUT 1, END_REQUEST
    from phprt.engine.runtime import POWERED_BY

    (docroot / "long_echo.py").write_text('from phprt.php import *\necho("x" * 5000, "y" * 12000, 1)\n')
    reply = exchange(server.address, fcgi_request(nginx_params(docroot, "/long_echo.py")))
    longer = len(POWERED_BY) - len("PHP/8.2.36")  # DEV-POWERED-BY-1; the empty STDOUT: DEV-FCGI-PROTOCOL-1
    assert [(kind, len(content)) for kind, _, content in reply.records] == [
        (STDOUT, 5068 + longer), (STDOUT, 12000), (STDOUT, 1), (STDOUT, 0), (END, 8)]


@pytest.mark.clause("PERF-OB-5", "SAPI-FPM-1", "PERF-OB-4")
def test_output_appended_straight_out_is_cut_into_php_fpms_records(server: FastCgiServer, docroot: Path) -> None:
    # php-fpm8.2 -n, the same script in PHP: for ($i = 0; $i < 4000; $i++) { echo "abcd", $i % 10;
    #   if ($i % 500 == 0) echo "é"; if ($i == 700) { ob_start(); echo "inner", $i; ob_end_flush(); }
    #   if ($i == 1200) flush(); if ($i == 1600) error_log("late"); } ob_start(null, 100);
    #   for ($i = 0; $i < 50; $i++) echo "chunked", $i; ob_end_flush(); echo str_repeat("z", 9000); echo "end";
    # sent STDOUT 6087, STDOUT 2002, STDERR 17, STDOUT 6136, STDOUT 8184, STDOUT 7126, END_REQUEST.
    from phprt.engine.runtime import POWERED_BY

    (docroot / "mixed.py").write_text(MIXED_PY)
    reply = exchange(server.address, fcgi_request(nginx_params(docroot, "/mixed.py")))
    longer = len(POWERED_BY) - len("PHP/8.2.36")  # DEV-POWERED-BY-1; the empty records: DEV-FCGI-PROTOCOL-1
    assert [(kind, len(content)) for kind, _, content in reply.records] == [
        (STDOUT, 6087 + longer), (STDOUT, 2002), (STDERR, 17), (STDOUT, 6136), (STDOUT, 8184), (STDOUT, 7126),
        (STDOUT, 0), (STDERR, 0), (END, 8)]
    mixed_is_php_fpms(reply.stdout.partition(b"\r\n\r\n")[2])
