"""Version profiles (spec/versions.md, VER-*): phprt under php_version 8.2-8.5 against
what real PHP printed for the same snippet, read from spec/recorded/versions.json
(recorded by tests/engine/record_versions.py: native PHP 8.2 CLI, the @php-wasm/node
builds of 8.3.33, 8.4.25 and 8.5.10). Each test ports one snippet line for line; the
script's path reads "FILE" on both sides. The recording's 8.3-8.5 runs are under the
SAPI "wasm", a web SAPI: the ports run under "cgi", the 8.2 ones under "cli".
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from phprt import E_USER_ERROR, MemoryTransport, Runtime

RECORDED = json.loads((Path(__file__).parents[2] / "spec" / "recorded" / "versions.json").read_text())["results"]
VERSIONS = ["8.2", "8.3", "8.4", "8.5"]
_LINES = re.compile(r"(on line |\(|:)(\d+)(\)?)")


def _normal(text: str) -> str:
    # line numbers differ between a PHP snippet and its Python port
    return _LINES.sub(lambda m: f"{m[1]}N{m[3]}", text)


def run(version: str, script: Callable[[Runtime], Any]) -> tuple[str, int]:
    """Run ``script(rt)`` under ``version``: the output with this file as FILE, and the exit status."""
    transport = MemoryTransport()
    sapi = "cli" if RECORDED[version][_snippet(script)]["sapi"] == "cli" else "cgi"
    rt = Runtime(transport, sapi=sapi, php_version=version,
                 ini={"display_errors": "1", "html_errors": "0", "log_errors": "0", "implicit_flush": "0"})
    try:
        script(rt)  # which enters rt: its frame is PHP's {main}
    except TypeError:  # reported as PHP reports it, then on its way (DEV-UNCAUGHT-1)
        pass
    return _normal(transport.body.decode().replace(__file__, "FILE")), rt.exit_status


def _snippet(script: Callable[..., Any]) -> str:
    return script.__name__.removeprefix("snippet_")


def expected(version: str, script: Callable[..., Any]) -> tuple[str, int]:
    entry = RECORDED[version][_snippet(script)]
    return _normal(entry["text"]), entry["exit"]


# -- the snippets, ported (record_versions.py holds the PHP) -------------------------------------

def snippet_response_code_after_output(rt: Runtime) -> None:
    with rt:
        rt.echo("x\n")
        rt.var_dump(rt.http_response_code(404))
        rt.var_dump(rt.http_response_code())


def snippet_user_error(rt: Runtime) -> None:
    with rt:
        rt.trigger_error("boom", E_USER_ERROR)
        rt.echo("after\n")


_nested: list[Runtime] = []  # the Runtime lvl2() calls: PHP's functions take no Runtime argument


def lvl2() -> None:
    _nested[-1].trigger_error("custom fatal", E_USER_ERROR)


def lvl1() -> None:
    lvl2()


def snippet_user_error_nested(rt: Runtime) -> None:
    _nested[:] = [rt]
    with rt:
        lvl1()


def eh(n: int, s: str) -> bool:
    return True


def xh(e: BaseException) -> None:
    _nested[-1].echo("in xh: ")
    _nested[-1].var_dump(_nested[-1].get_exception_handler())


def snippet_handler_getters(rt: Runtime) -> None:
    _nested[:] = [rt]
    rt.echo("yes" if rt.function_exists("get_error_handler") else "no", "\n")
    rt.set_error_handler("eh")
    rt.set_exception_handler("xh")
    rt.var_dump(rt.get_error_handler(), rt.get_exception_handler())
    rt.set_error_handler(None)
    rt.var_dump(rt.get_error_handler())
    rt.restore_error_handler()
    rt.var_dump(rt.get_error_handler())
    raise Exception("x")


def snippet_empty_cookie_names(rt: Runtime) -> None:
    with rt:
        for function in (rt.setcookie, rt.setrawcookie):
            try:
                function("")
            except ValueError as error:
                rt.echo(str(error), "\n")
        try:
            rt.readfile("")
        except ValueError as error:
            rt.echo(str(error), "\n")


def snippet_partitioned(rt: Runtime) -> None:
    with rt:
        for name, value, options in [("a", "b", {"secure": True, "samesite": "None", "partitioned": True}),
                                     ("c", "d", {"partitioned": True})]:
            try:
                rt.setcookie(name, value, options)
                rt.echo("ok\n")
            except ValueError as error:
                rt.echo(str(error), "\n")


def snippet_closure_name(rt: Runtime) -> None:
    with rt:
        rt.ob_start(lambda b: b)
        h = rt.ob_list_handlers()
        rt.ob_end_flush()
        rt.echo(h[0], "\n")


def snippet_buffer_size(rt: Runtime) -> None:
    with rt:
        for cs in [0, 1, 4095, 4096, 8191, 8192, 16384]:
            rt.ob_start(None, cs)
            s = rt.ob_get_status()
            rt.ob_end_clean()
            rt.echo(cs, "=", s["buffer_size"], "\n")


def snippet_disabled_handler_flush(rt: Runtime) -> None:
    with rt:
        calls = 0

        def handler(b: str, p: int) -> str:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RuntimeError("x")
            return f"[{p}]"

        rt.ob_start(handler)
        try:
            rt.ob_flush()
        except RuntimeError:
            pass
        rt.ob_flush()
        s = rt.ob_get_status()
        rt.ob_end_clean()
        rt.echo(f"calls={calls} flags={s['flags']}\n")


def _exit_snippet(argument: Any) -> Callable[[Runtime], None]:
    def script(rt: Runtime) -> None:
        with rt:
            rt.register_shutdown_function(lambda: rt.echo("[s]"))
            rt.echo("a\n")
            rt.exit(argument)
    return script


EXITS = {"true": True, "false": False, "null": None, "float_frac": 1.5, "float_whole": 2.0, "numeric_string": "7",
         "int": 3, "array": []}


def snippet_exit_array_caught(rt: Runtime) -> None:
    with rt:
        try:
            rt.exit([])
        except TypeError as error:
            rt.echo("TypeError: ", str(error), "\n")
        rt.echo("after\n")


# -- the tests ----------------------------------------------------------------------------------

@pytest.mark.clause("VER-PROFILE-1")
def test_the_profiles_and_an_unknown_version() -> None:
    assert [Runtime(php_version=v).version.name for v in VERSIONS] == VERSIONS
    with pytest.raises(ValueError, match=r"unsupported php_version '8\.1'; phprt reproduces PHP 8\.2, 8\.3, 8\.4, 8\.5"):
        Runtime(php_version="8.1")


@pytest.mark.clause("VER-RESPONSE-CODE-1")
@pytest.mark.parametrize("version", VERSIONS)
def test_response_code_after_headers_sent(version: str) -> None:
    # 8.3+: "Warning: http_response_code(): Cannot set response code - headers already sent
    # (output started at FILE:2) in FILE on line 3", bool(false), the code unchanged (int(200))
    assert run(version, snippet_response_code_after_output) == expected(version, snippet_response_code_after_output)


@pytest.mark.clause("VER-RESPONSE-CODE-1")
def test_response_code_after_headers_sent_cli() -> None:
    # The CLI warns too from 8.3 (static PHP 8.4.5 CLI, php-versions.md section 4 item 8):
    # false, and http_response_code() is false after it; PHP 8.2's CLI (recorded): true, then 404.
    transport = MemoryTransport()
    snippet_response_code_after_output(Runtime(transport, php_version="8.3",
                                               ini={"display_errors": "1", "html_errors": "0"}))
    assert _normal(transport.body.decode().replace(__file__, "FILE")) == _normal(
        "x\n\nWarning: http_response_code(): Cannot set response code - headers already sent"
        " (output started at FILE:2) in FILE on line 3\nbool(false)\nbool(false)\n")


@pytest.mark.clause("VER-E-ALL-1")
@pytest.mark.parametrize("version", VERSIONS)
def test_e_all_and_its_defaults(version: str) -> None:
    e_all = int(RECORDED[version]["e_all"]["text"])  # 32767; 30719 from 8.4
    handled: list[int] = []
    with Runtime(MemoryTransport(), php_version=version, ini={"display_errors": "0"}) as rt:
        assert rt.version.e_all == e_all
        assert rt.error_reporting() == e_all  # the default error_reporting
        rt.set_error_handler(lambda level, message: handled.append(level))  # the default mask
        assert rt._error_handlers[-1][2] == e_all


@pytest.mark.clause("VER-USER-ERROR-1", "VER-FATAL-TRACE-1")
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("script", [snippet_user_error, snippet_user_error_nested])
def test_trigger_user_error(version: str, script: Callable[[Runtime], None]) -> None:
    # 8.4+: "Deprecated: Passing E_USER_ERROR to trigger_error() is deprecated since 8.4, throw an
    # exception or call exit with a string message instead" first; 8.5: "Stack trace:\n#0 FILE(2):
    # trigger_error('custom fatal', 256)\n#1 FILE(3): lvl2()\n#2 FILE(4): lvl1()\n#3 {main}\n" after the fatal error
    assert run(version, script) == expected(version, script)


@pytest.mark.clause("VER-EXIT-1")
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", list(EXITS))
def test_exit(version: str, name: str) -> None:
    # 8.4+: exit(true) exits 1 printing nothing; exit(null) deprecated; exit(1.5) "Implicit
    # conversion" deprecated, status 1; exit([]) "Uncaught TypeError: exit(): Argument #1
    # ($status) must be of type string|int, array given", status 255; shutdown functions run.
    script = _exit_snippet(EXITS[name])
    script.__name__ = f"exit_{name}"
    assert run(version, script) == expected(version, script)


@pytest.mark.clause("VER-EXIT-1")
@pytest.mark.parametrize("version", VERSIONS)
def test_exit_type_error_is_catchable_and_exit_a_function(version: str) -> None:
    assert run(version, snippet_exit_array_caught) == expected(version, snippet_exit_array_caught)
    # function_exists('exit') and ('die'): false before 8.4, true from 8.4 (recorded)
    exists = RECORDED[version]["exit_callable"]["text"].split("\n")
    with Runtime(MemoryTransport(), php_version=version) as rt:
        assert [f"bool({str(rt.function_exists(n)).lower()})" for n in ("exit", "die")] == [exists[0], exists[2]]


@pytest.mark.clause("VER-EMPTY-NAME-1")
@pytest.mark.parametrize("version", VERSIONS)
def test_must_not_be_empty(version: str) -> None:
    # 8.4+: "setcookie(): Argument #1 ($name) must not be empty", "Path must not be empty"
    assert run(version, snippet_empty_cookie_names) == expected(version, snippet_empty_cookie_names)


@pytest.mark.clause("VER-PARTITIONED-1")
@pytest.mark.parametrize("version", VERSIONS)
def test_partitioned_cookies(version: str) -> None:
    # before 8.5: 'setcookie(): option "partitioned" is invalid'; 8.5: accepted, and
    # '"partitioned" option cannot be used without "secure" option' without secure
    assert run(version, snippet_partitioned) == expected(version, snippet_partitioned)


@pytest.mark.clause("VER-PARTITIONED-1")
def test_partitioned_cookie_line() -> None:
    # 8.5 (wasm, php-versions.md row 20): "Set-Cookie: a=b; secure; SameSite=None; Partitioned"
    with Runtime(MemoryTransport(), sapi="cgi", php_version="8.5") as rt:
        rt.setcookie("a", "b", {"secure": True, "samesite": "None", "partitioned": True})
        assert rt.headers_list()[-1] == "Set-Cookie: a=b; secure; SameSite=None; Partitioned"


@pytest.mark.clause("VER-CLOSURE-NAME-1")
@pytest.mark.parametrize("version", VERSIONS)
def test_closure_handler_name(version: str) -> None:
    # "Closure::__invoke" before 8.5; 8.5 "{closure:FILE:LINE}", the line where it is defined
    assert run(version, snippet_closure_name) == expected(version, snippet_closure_name)


@pytest.mark.clause("VER-BUFFER-SIZE-1")
@pytest.mark.parametrize("version", VERSIONS)
def test_buffer_size(version: str) -> None:
    # 8.5 (GH-16135): 1=4096, 4096=4096, 8192=8192, 16384=16384 (before: 16384, 8192, 12288, 20480)
    assert run(version, snippet_buffer_size) == expected(version, snippet_buffer_size)


@pytest.mark.clause("VER-DISABLED-HANDLER-1")
@pytest.mark.parametrize("version", VERSIONS)
def test_disabled_handler_not_flushed_again(version: str) -> None:
    # 8.2/8.3 "[4]calls=2 flags=28785"; 8.4+ (GH-15181) "calls=1 flags=12401"
    assert run(version, snippet_disabled_handler_flush) == expected(version, snippet_disabled_handler_flush)


@pytest.mark.clause("VER-PROFILE-1")
@pytest.mark.parametrize(("version", "status", "output"), [("8.3", 0, b"1"), ("8.4", 1, b"")])
def test_php_version_on_the_command_line(tmp_path: Path, version: str, status: int, output: bytes) -> None:
    # python -m phprt run --php-version: exit(true) as that version (VER-EXIT-1, recorded above)
    import subprocess
    import sys

    script = tmp_path / "s.py"
    script.write_text("from phprt.php import *\nexit(True)\n")
    done = subprocess.run([sys.executable, "-m", "phprt", "run", "--php-version", version, str(script)],
                          capture_output=True, timeout=60, cwd=Path(__file__).parents[2])
    assert (done.returncode, done.stdout) == (status, output)


@pytest.mark.clause("VER-GET-HANDLER-1")
@pytest.mark.parametrize("version", VERSIONS)
def test_the_handler_getters_from_8_5(version: str) -> None:
    # 8.5: "yes", the handlers as given ("eh", "xh"), NULL after set_error_handler(null), "eh" again
    # after restore_error_handler(), and NULL inside the exception handler; before 8.5 no such
    # function: "Call to undefined function get_error_handler()" goes to xh, whose own call is the
    # uncaught Error (exit 255)
    transport = MemoryTransport()
    rt = Runtime(transport, sapi="cli", php_version=version,
                 ini={"display_errors": "1", "html_errors": "0", "log_errors": "0"})
    with contextlib.suppress(Exception), rt:
        snippet_handler_getters(rt)
    text = transport.body.decode().replace(__file__, "FILE")
    recorded = RECORDED[version]["handler_getters"]
    assert (_normal(text), rt.exit_status) == (_normal(recorded["text"]), recorded["exit"])
