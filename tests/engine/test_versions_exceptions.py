"""Version profiles, part 2 (spec/versions.md): the user exception handler and shutdown
functions (VER-SHUTDOWN-EXCEPTION-1, VER-EXCEPTION-HANDLER-STACK-1), output produced inside a
user output handler (VER-HANDLER-OUTPUT-1), E_ALL in the ini (VER-E-ALL-1), and flush()
sending the headers under PHP-FPM and php-cgi (VER-FLUSH-HEADERS-1).

Each port runs the PHP snippet of tests/engine/record_versions.py line for line, at the top
level of a code object compiled under this file's name (so that PHP's "main" is the script's
top level), and is compared with spec/recorded/versions.json: native PHP 8.2, the
@php-wasm/node builds of 8.3-8.5, and the native PHP 8.4.5 CLI ("8.4-cli") for the exit
statuses the wasm builds read before shutdown functions run.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from phprt import MemoryTransport, Runtime
from phprt.fastcgi import FastCgiServer
from tests.support import fastcgi

ROOT = Path(__file__).parents[2]
RECORDED = json.loads((ROOT / "spec" / "recorded" / "versions.json").read_text())["results"]
VERSIONS = ["8.2", "8.3", "8.4", "8.5"]
_LINES = re.compile(r"(on line |\(|:)(\d+)(\)?)")
_TRACE_CLOSURE = re.compile(r"\{closure:[^}]*\}\(")  # 8.4's closure names in traces: not reproduced (VER-CLOSURE-NAME-1)


def _normal(text: str, traces: bool = False) -> str:
    text = _LINES.sub(lambda m: f"{m[1]}N{m[3]}", text)
    return _TRACE_CLOSURE.sub("{closure}(", text) if traces else text


# The snippets of record_versions.py, ported: the same statements on the same lines.
PORTS = {
    "handler_output": """
        rt.ob_start(lambda b: (rt.echo("E"), b.upper())[1])
        rt.echo("hello\\n")
        rt.ob_end_flush()
        rt.echo("level=", rt.ob_get_level(), "\\n")
    """,
    "handler_output_chunk": """
        rt.ob_start(lambda b: (rt.echo("E"), b.upper())[1], 4)
        rt.echo("abcdef")
        rt.echo("|level=", rt.ob_get_level(), "\\n")
        rt.ob_end_clean()
        rt.echo("done\\n")
    """,
    "handler_output_nested": """
        rt.ob_start(lambda b: "[outer:" + b + "]")
        rt.ob_start(lambda b: (rt.echo("E"), rt.print("P"), b.upper())[2])
        rt.echo("hello")
        rt.ob_end_flush()
        rt.ob_end_flush()
        rt.echo("\\n")
    """,
    "handler_output_shutdown": """
        rt.ob_start(lambda b: (rt.echo("E"), b.upper())[1])
        rt.echo("hello\\n")
    """,
    "handler_output_false": """
        def h(b): rt.echo("E"); return False
        rt.ob_start("h")
        rt.echo("hello\\n")
        rt.ob_flush()
        rt.echo("again\\n")
        rt.ob_flush()
        rt.ob_end_clean()
        rt.echo("x\\n")
    """,
    "e_all_ini": """
        from phprt.php import E_ALL
        rt.echo(rt.error_reporting(), " ", E_ALL, "\\n")
        rt.ini_set("error_reporting", "E_ALL")
        rt.echo(rt.error_reporting(), "\\n")
    """,
    "exception_handler_returns": """
        def h1(e): rt.echo("h1\\n")
        def h2(e): rt.echo("h2\\n")
        rt.var_dump(rt.set_exception_handler("h1"), rt.set_exception_handler("h2"), rt.set_exception_handler(None))
        rt.var_dump(rt.restore_exception_handler(), rt.restore_exception_handler(), rt.restore_exception_handler())
        rt.var_dump(rt.set_exception_handler("h1"))
        raise Exception("x")
    """,
    "exception_handler_stack": """
        def h1(e): rt.echo("h1 got ", str(e), "\\n"); rt.var_dump(rt.set_exception_handler("h2"))
        def h2(e): rt.echo("h2 got ", str(e), "\\n")
        rt.set_exception_handler("h1")
        def sd():
            rt.var_dump(rt.set_exception_handler(None), rt.restore_exception_handler(), rt.set_exception_handler(None))
            rt.var_dump(rt.restore_exception_handler(), rt.restore_exception_handler(), rt.set_exception_handler(None))
        rt.register_shutdown_function(sd)
        raise Exception("x")
    """,
    "exception_handler_restored": """
        def h1(e): rt.echo("h1 got ", str(e), "\\n"); rt.var_dump(rt.set_exception_handler(None)); rt.restore_exception_handler()
        rt.set_exception_handler("h1")
        rt.register_shutdown_function(lambda: rt.var_dump(rt.set_exception_handler(None)))
        raise Exception("x")
    """,
    "shutdown_exception": """
        rt.set_exception_handler(lambda e: rt.echo("handled: ", str(e), "\\n"))
        def sd_throw():
            raise Exception("in shutdown")
        rt.register_shutdown_function(sd_throw)
        rt.register_shutdown_function(lambda: rt.echo("second\\n"))
        rt.echo("main\\n")
    """,
    "shutdown_exception_unhandled": """
        def sd1():
            rt.echo("sd1\\n")
            raise Exception("s1")
        rt.register_shutdown_function(sd1)
        rt.register_shutdown_function(lambda: rt.echo("sd2\\n"))
        rt.echo("main\\n")
    """,
    "shutdown_exception_handler_throws": """
        def handler(e):
            rt.echo("handler got ", str(e), "\\n")
            raise Exception("from handler")
        rt.set_exception_handler(handler)
        def sd1():
            rt.echo("sd1\\n")
            raise Exception("s1")
        rt.register_shutdown_function(sd1)
        rt.register_shutdown_function(lambda: rt.echo("sd2\\n"))
        rt.echo("main\\n")
    """,
    "shutdown_exception_handler_exits": """
        rt.set_exception_handler(lambda e: (rt.echo("handler got ", str(e), "\\n"), rt.exit(5)))
        def sd1():
            rt.echo("sd1\\n")
            raise Exception("s1")
        rt.register_shutdown_function(sd1)
        rt.register_shutdown_function(lambda: rt.echo("sd2\\n"))
        rt.echo("main\\n")
    """,
    "shutdown_exception_after_script": """
        rt.set_exception_handler(lambda e: rt.echo("handler got ", str(e), "\\n"))
        def sd1():
            rt.echo("sd1\\n")
            raise Exception("s1")
        rt.register_shutdown_function(sd1)
        rt.register_shutdown_function(lambda: rt.echo("sd2\\n"))
        rt.echo("main\\n")
        raise Exception("x")
    """,
    "shutdown_exception_output_handler": """
        rt.set_exception_handler(lambda e: rt.echo("handler got ", str(e), " level=", rt.ob_get_level(), "\\n"))
        def handler(b, p):
            if p & 8:
                raise Exception("in ob")
            return b
        rt.ob_start(handler)
        rt.register_shutdown_function(lambda: rt.echo("sd1\\n"))
        rt.echo("main\\n")
    """,
}

#: Functions the ports name as strings, as PHP's named functions: global, not closures.
_GLOBALS = "global h, h1, h2\n"


def run(version: str, name: str) -> tuple[str, int]:
    """Run the port of snippet ``name`` under ``version`` as the recording ran the PHP:
    display_errors=1, html_errors=0, log_errors=0, error_reporting=E_ALL, implicit_flush=0.
    The port is the body of a function ``main`` (what PHP's get_active_function_name()
    calls the top level), so that its functions are closures, as the snippets' are."""
    transport = MemoryTransport()
    sapi = "cli" if RECORDED[version][name]["sapi"] == "cli" else "cgi"
    rt = Runtime(transport, sapi=sapi, php_version=version, ini={
        "display_errors": "1", "html_errors": "0", "log_errors": "0", "implicit_flush": "0",
        "error_reporting": "E_ALL"})
    body = textwrap.indent(_GLOBALS + textwrap.dedent(PORTS[name]).strip("\n"), "    ")
    code = compile(f"def main():\n{body}\n", __file__, "exec")
    scope: dict[str, Any] = {"rt": rt}
    exec(code, scope)
    try:
        with rt:
            scope["main"]()
    except Exception:  # an exception nobody handled: reported, then on its way (DEV-UNCAUGHT-1)
        pass
    return transport.body.decode().replace(__file__, "FILE"), rt.exit_status


def expected(version: str, name: str) -> tuple[str, int]:
    entry = RECORDED[version][name]
    return entry["text"], entry["exit"]


# -- the user exception handler and shutdown functions ------------------------------------------

@pytest.mark.clause("DIAG-EXCEPTION-HANDLER-1", "VER-EXCEPTION-HANDLER-STACK-1")
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", ["exception_handler_returns", "exception_handler_stack", "exception_handler_restored"])
def test_exception_handler_stack(version: str, name: str) -> None:
    # 8.2: set_exception_handler() inside the handler returns the running handler; from 8.3 it
    # returns NULL (the handler is on the stack while it runs) and the handler is back after
    text, status = run(version, name)
    assert (_normal(text), status) == tuple(map(_normal_any, expected(version, name)))


@pytest.mark.clause("VER-SHUTDOWN-EXCEPTION-1", "DIAG-EXCEPTION-HANDLER-4")
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", ["shutdown_exception", "shutdown_exception_unhandled", "shutdown_exception_handler_throws",
                                  "shutdown_exception_handler_exits", "shutdown_exception_after_script",
                                  "shutdown_exception_output_handler"])
def test_shutdown_exceptions(version: str, name: str) -> None:
    # 8.2: "Fatal error: Uncaught Exception: s1", the other shutdown functions skipped; from
    # 8.3 the handler gets it and the next one runs. The exit status: native PHP (8.2, 8.4.5)
    # only: the wasm builds read it before the shutdown functions run.
    text, status = run(version, name)
    want_text, want_status = expected(version, name)
    assert _normal(text, traces=True) == _normal(want_text, traces=True)
    native = "8.2" if version == "8.2" else "8.4-cli"
    assert status == RECORDED[native][name]["exit"]


def _normal_any(value: Any) -> Any:
    return _normal(value) if isinstance(value, str) else value


@pytest.mark.clause("VER-SHUTDOWN-EXCEPTION-1")
def test_the_8_4_cli_agrees_with_wasm_on_the_text() -> None:
    # the two kinds of 8.4 recorded the same output for every snippet of this file
    for name in PORTS:
        assert _normal(RECORDED["8.4-cli"][name]["text"], traces=True) == _normal(RECORDED["8.4"][name]["text"], traces=True)


# -- PHP 8.5: output inside a user output handler ---------------------------------------------

@pytest.mark.clause("VER-HANDLER-OUTPUT-1")
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", ["handler_output", "handler_output_chunk", "handler_output_nested",
                                  "handler_output_shutdown", "handler_output_false"])
def test_output_inside_a_handler(version: str, name: str) -> None:
    # 8.5: "Deprecated: ob_end_flush(): Producing output from user output handler
    # {closure:FILE:2} is deprecated in FILE on line 4" before the handler's result; "main()"
    # for a chunk size reached by echo, "PHP Request Shutdown: ..." at the request's end
    text, status = run(version, name)
    assert (_normal(text), status) == (_normal(expected(version, name)[0]), expected(version, name)[1])


@pytest.mark.clause("VER-HANDLER-OUTPUT-1")
def test_the_deprecation_can_become_an_exception_after_the_result_is_used() -> None:
    # php-versions.md section 2.1 (wasm 8.5, probe ob85_h): an error handler that throws makes
    # the exception come out of the ob call, after the handler's result went on and the buffer ended
    transport = MemoryTransport()
    with Runtime(transport, sapi="cgi", php_version="8.5", ini={"display_errors": "1"}) as rt:
        def to_exception(level: int, message: str) -> bool:
            raise RuntimeError(message)
        rt.set_error_handler(to_exception)
        rt.ob_start(lambda b: (rt.echo("E"), f"[{b}]")[1])
        rt.echo("x")
        with pytest.raises(RuntimeError, match=r"^ob_end_flush\(\): Producing output from user output handler"):
            rt.ob_end_flush()
        assert rt.ob_get_level() == 0
    assert transport.body == b"[x]"


# -- E_ALL in the ini -----------------------------------------------------------------------------

@pytest.mark.clause("VER-E-ALL-1")
@pytest.mark.parametrize("version", VERSIONS)
def test_e_all_in_the_ini(version: str) -> None:
    # error_reporting=E_ALL in the ini: 32767 (8.2, 8.3), 30719 (8.4, 8.5); ini_set() does not
    # read constants: "E_ALL" is 0 in every version; phprt.php's E_ALL is the version's
    assert run(version, "e_all_ini") == expected(version, "e_all_ini")


@pytest.mark.clause("VER-E-ALL-1")
@pytest.mark.parametrize(("arguments", "want"), [
    (["-d", "error_reporting=E_ALL"], "30719 30719"),  # php -n -d error_reporting=E_ALL (native 8.4.5)
    (["-d", "error_reporting=E_ALL & ~E_DEPRECATED"], "22527 30719"),
    ([], "30719 30719"),  # no ini: the default
])
def test_e_all_on_the_command_line(tmp_path: Path, arguments: list[str], want: str) -> None:
    # Measured with the static PHP 8.4.5 CLI: php -n ARGS -r 'echo error_reporting(), " ", E_ALL;'
    script = tmp_path / "s.py"
    script.write_text('from phprt.php import *\necho(error_reporting(), " ", E_ALL)\n')
    done = subprocess.run([sys.executable, "-m", "phprt", "run", "--php-version", "8.4", *arguments, str(script)],
                          capture_output=True, timeout=60, cwd=ROOT)
    assert done.stdout.decode() == want


@pytest.mark.clause("VER-E-ALL-1")
def test_e_all_in_a_php_ini_file(tmp_path: Path) -> None:
    # php -c FILE with "error_reporting = E_ALL & ~E_NOTICE": 30711 under the 8.4.5 CLI, 32759 under 8.2
    ini = tmp_path / "php.ini"
    ini.write_text("error_reporting = E_ALL & ~E_NOTICE\n")
    for version, want in (("8.2", 32759), ("8.4", 30711)):
        with Runtime(MemoryTransport(), php_version=version, ini_file=ini) as rt:
            assert rt.error_reporting() == want


# -- PHP 8.4: flush() sends the headers under PHP-FPM and php-cgi --------------------------------

FLUSH_SCRIPT = '''import os
from phprt.php import *
header("X-Test: 12345")
flush()
sent = headers_sent()
go = os.environ.get("GO") or _SERVER.get("GO", "")
for _ in range(800):  # waits (at most 20 s) for the client to say it has read the head
    if os.path.exists(go):
        break
    usleep(25000)
echo(var_export(sent, True))
'''


@pytest.mark.clause("VER-FLUSH-HEADERS-1")
@pytest.mark.parametrize(("version", "sapi"), [("8.2", "cgi"), ("8.2", "fpm"), ("8.4", "cgi"), ("8.4", "fpm"),
                                               ("8.5", "fpm"), ("8.3", "fpm")])
def test_flush_sends_the_headers(version: str, sapi: str) -> None:
    # php-src sapi/fpm/tests/gh12385.phpt: header("X-Test: 12345"); flush(); var_dump(headers_sent())
    # is bool(true) and the client has the header (8.4.1+, GH-12385); before 8.4 nothing is sent
    transport = MemoryTransport(server={"REQUEST_METHOD": "GET"})
    with Runtime(transport, sapi=sapi, php_version=version) as rt:
        rt.header("X-Test: 12345")
        rt.flush()
        sent = rt.headers_sent()
        head = transport.head
    assert sent is (version >= "8.4")
    assert (head is not None and "X-Test: 12345" in head.lines) is (version >= "8.4")


def _read_head(read: Any, deadline: float) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no head from the server: {data!r}")
        data += read()
    return data


@pytest.mark.clause("VER-FLUSH-HEADERS-1")
def test_flush_sends_the_head_over_fastcgi(tmp_path: Path) -> None:
    # phprt's FastCGI responder under the 8.4 profile, a raw FastCGI client: the head arrives in
    # a STDOUT record while the script still runs (it waits for the client's go-file)
    (tmp_path / "flush.py").write_text(FLUSH_SCRIPT)
    go = tmp_path / "go"
    with FastCgiServer(tmp_path, "127.0.0.1:0", php_version="8.4") as server:
        client = fastcgi.Client(server.address)
        try:
            client.send(fastcgi.fcgi_request(fastcgi.nginx_params(tmp_path, "/flush.py", GO=str(go))))
            early = client.read_until(lambda reply: b"\r\n\r\n" in reply.stdout)
            assert early.end() is None  # the request has not ended: the script waits
            head = early.stdout
            go.write_text("")
            reply = client.read_end()
        finally:
            client.close()
    assert b"X-Test: 12345\r\n" in head
    assert reply.stdout.partition(b"\r\n\r\n")[2] == b"true"


@pytest.mark.clause("VER-FLUSH-HEADERS-1")
def test_flush_sends_the_head_over_cgi(tmp_path: Path) -> None:
    # python -m phprt run --sapi cgi --php-version 8.4: the head reaches the pipe's reader while
    # the script still runs
    script = tmp_path / "flush.py"
    script.write_text(FLUSH_SCRIPT)
    go = tmp_path / "go"
    process = subprocess.Popen([sys.executable, "-m", "phprt", "run", "--sapi", "cgi", "--php-version", "8.4",
                                str(script)], stdout=subprocess.PIPE, cwd=ROOT,
                               env={**os.environ, "GO": str(go), "REQUEST_METHOD": "GET"})
    assert process.stdout is not None
    try:
        def read() -> bytes:
            ready, _, _ = select.select([process.stdout], [], [], 1.0)
            return os.read(process.stdout.fileno(), 65536) if ready else b""  # type: ignore[union-attr]

        head = _read_head(read, time.monotonic() + 30)
        assert process.poll() is None  # still running: the head came from flush()
        go.write_text("")
        rest = process.communicate(timeout=30)[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert b"X-Test: 12345\r\n" in head
    assert (head + rest).partition(b"\r\n\r\n")[2] == b"true"


@pytest.mark.clause("VER-E-ALL-1")
def test_e_all_in_a_servers_ini(tmp_path: Path) -> None:
    # a server parses its ini once, as the version it serves reads it; outside a Runtime,
    # phprt.php's E_ALL is PHP 8.2's
    import phprt.php

    (tmp_path / "e.py").write_text('from phprt.php import *\necho(error_reporting(), " ", E_ALL)\n')
    with FastCgiServer(tmp_path, "127.0.0.1:0", php_version="8.4", ini={"error_reporting": "E_ALL & ~E_NOTICE"}) as server:
        reply = fastcgi.exchange(server.address, fastcgi.fcgi_request(fastcgi.nginx_params(tmp_path, "/e.py")))
    assert reply.stdout.partition(b"\r\n\r\n")[2] == b"30711 30719"
    assert phprt.php.E_ALL == 32767
