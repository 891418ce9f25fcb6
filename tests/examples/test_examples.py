"""examples/: the ports of the "Connection handling" notes, run inside a Runtime.

Each test runs one example with ``runpy.run_path`` inside ``with Runtime(...)`` and
checks what the client received (status, headers, body, the transport's events)
and what the script did afterwards (the lines it logged, what a shutdown function
saw). ``sleep`` is replaced by a fake that returns at once and leaves a
``("sleep", seconds)`` marker in ``transport.events``, so the events show what
the client had before the script's later work began. A shutdown function
registered before the script runs (as ``auto_prepend_file`` would register it)
records ``(connection_status(), ignore_user_abort())``.

The expected values were recorded from PHP 8.2.36 running the notes' PHP, with
sleep() shortened to one second, the background work appending to a log file,
and that same shutdown function registered by ``-d auto_prepend_file``:

- "cgi": ``php-cgi -n [-d output_buffering=4096] script.php``, with a reader of its
  stdout that, to play a client that hangs up, closes the pipe once it has the
  head and N body bytes (php-cgi ignores SIGPIPE: the next write fails);
- "cli-server": ``php -n -d output_buffering=4096 -S`` and a socket client
  (``phprt.conformance.servers.run_cli_server``);
- "fpm": ``php-fpm8.2 -n -d output_buffering=4096`` and a FastCGI client
  (``phprt.conformance.servers.run_fpm``);
- "cli": ``php -n``.

output_buffering=4096 is what the php.ini files PHP ships set; the notes that begin
with ob_end_clean() or end with ob_flush() rely on that buffer.
"""

from __future__ import annotations

import re
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import phprt
import phprt.php
from tests.support import EXAMPLES

#: phprt's X-Powered-By, where PHP sends "PHP/8.2.36" (DEV-POWERED-BY-1).
POWERED_BY = ("X-Powered-By", "PHP/8.2 (phprt)")
HTML = ("Content-type", "text/html; charset=UTF-8")
OB_4096 = {"output_buffering": "4096"}
#: The timestamp php_log_err() puts before a line of the error_log file (LOG-FILE-1).
STAMP = re.compile(r"^\[\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d UTC\] ")


@dataclass
class Run:
    transport: phprt.MemoryTransport
    runtime: phprt.Runtime
    script: Path
    log: list[str] = field(default_factory=list)
    #: (connection_status(), ignore_user_abort()) seen by a shutdown function registered first
    probe: list[tuple[Any, Any]] = field(default_factory=list)

    def events(self, *, flushes: bool = True) -> list[tuple[Any, ...]]:
        """The transport's events, consecutive writes joined (PHP's write boundaries are
        not what a client sees); without the flushes when ``flushes`` is false."""
        merged: list[tuple[Any, ...]] = []
        for event in self.transport.events:
            if event[0] == "flush" and not flushes:
                continue
            if event[0] == "write" and merged and merged[-1][0] == "write":
                merged[-1] = ("write", merged[-1][1] + event[1])
            else:
                merged.append(event)
        return merged

    def line_of(self, code: str, occurrence: int = 1) -> int:
        """The line number of the ``occurrence``-th line of the script that is ``code``."""
        numbers = [n for n, line in enumerate(self.script.read_text().splitlines(), 1) if line.strip() == code]
        return numbers[occurrence - 1]

    def html_diagnostic(self, level: str, message: str, line: int) -> bytes:
        # display_errors with html_errors=1, the web SAPIs' default
        return f"<br />\n<b>{level}</b>:  {message} in <b>{self.script}</b> on line <b>{line}</b><br />\n".encode()


def run_example(
    name: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *,
    sapi: str,
    ini: dict[str, str] | None = None,
    server: dict[str, str] | None = None,
    disconnect_after: int | None = None,
) -> Run:
    script = EXAMPLES / name
    log = tmp_path / "example.log"
    monkeypatch.setenv("PHPRT_EXAMPLE_LOG", str(log))
    ini = {"error_log": str(log), **(ini or {})}  # error_log()'s type 0 lines go there too (EXAMPLES-LOG-1)
    transport = phprt.MemoryTransport(disconnect_after=disconnect_after, server=server)

    def sleep(seconds: int) -> int:
        transport.events.append(("sleep", seconds))
        return 0

    monkeypatch.setattr(phprt.php, "sleep", sleep)
    probe: list[tuple[Any, Any]] = []

    def record_status() -> None:
        probe.append((phprt.php.connection_status(), phprt.php.ignore_user_abort()))

    with phprt.Runtime(transport=transport, sapi=sapi, ini=ini) as runtime:
        phprt.php.register_shutdown_function(record_status)
        runpy.run_path(str(script), run_name="__main__")
    lines = [STAMP.sub("", line) for line in log.read_text().splitlines()] if log.exists() else []
    return Run(transport, runtime, script, lines, probe)


# -- close_connection_original.py: sts's original solution, quoted by arr1 (#71172) -------------

PAGE = b'<tr><td class="e">directive </td><td class="v">value </td></tr>\n' * 100


@pytest.mark.clause("EXAMPLES-1", "EXAMPLES-LOG-1")
def test_original_solution_works_when_the_page_outgrows_the_default_buffer(monkeypatch, tmp_path) -> None:
    run = run_example("close_connection_original.py", monkeypatch, tmp_path, sapi="cgi", ini=OB_4096)
    # php-cgi -n -d output_buffering=4096: the head and the 6400 bytes were read at
    # +0.017s, the background line was logged at +1.017s, EOF at +1.020s.
    headers = [POWERED_BY, ("Connection", "close"), ("Content-Length", "6400"), HTML]
    assert run.transport.status == 200
    assert run.transport.headers == headers
    assert run.transport.body == PAGE
    assert run.events() == [("headers", 200, headers), ("write", PAGE), ("flush",), ("sleep", 13), ("finish",)]
    assert run.log == ["do something in the background"]
    assert STAMP.match((tmp_path / "example.log").read_text())  # error_log() with -d error_log=FILE (EXAMPLES-LOG-1)
    assert run.probe == [(0, 0)]


@pytest.mark.clause("EXAMPLES-1")
def test_original_solution_sends_nothing_early_while_the_page_fits_the_default_buffer(monkeypatch, tmp_path) -> None:
    run = run_example("close_connection_original.py", monkeypatch, tmp_path, sapi="cgi",
                      ini={"output_buffering": "8192"})
    # php-cgi -n -d output_buffering=8192: the background line was logged at +1.016s,
    # and only then (+1.017s) did the first byte of the response arrive.
    headers = [POWERED_BY, ("Connection", "close"), ("Content-Length", "6400"), HTML]
    assert run.transport.body == PAGE
    assert run.events(flushes=False) == [("sleep", 13), ("headers", 200, headers), ("write", PAGE), ("finish",)]
    assert run.log == ["do something in the background"]
    assert run.probe == [(0, 0)]


# -- close_connection_early.py: arr1 (#71172) ---------------------------------------------------

SEEN, NEVER_SEEN = b"Text the user will see", b"Text user will never see"


@pytest.mark.clause("EXAMPLES-1")
def test_close_early_sends_the_promised_bytes_before_the_work(monkeypatch, tmp_path) -> None:
    run = run_example("close_connection_early.py", monkeypatch, tmp_path, sapi="cgi", ini=OB_4096)
    # php-cgi -n -d output_buffering=4096: head and "Text the user will see" at +0.017s,
    # "Text user will never see" at +1.019s; probe: connection_status()=0 ignore_user_abort()=0.
    headers = [POWERED_BY, ("Connection", "close"), ("Content-Length", "22"), HTML]
    assert run.transport.headers == headers
    assert run.transport.body == SEEN + NEVER_SEEN
    assert run.events() == [
        ("headers", 200, headers), ("write", SEEN), ("flush",), ("sleep", 30), ("write", NEVER_SEEN), ("finish",),
    ]
    assert run.probe == [(0, 0)]


@pytest.mark.clause("EXAMPLES-1")
def test_close_early_client_that_leaves_stops_the_script_at_the_last_echo(monkeypatch, tmp_path) -> None:
    run = run_example("close_connection_early.py", monkeypatch, tmp_path, sapi="cgi", ini=OB_4096,
                      disconnect_after=22)
    # php-cgi, the reader closing the pipe after the 22 bytes: the script still slept
    # (the probe ran at +1.014s), its last echo failed, and the probe saw
    # connection_status()=1 ignore_user_abort()=0 -- ignore_user_abort() set nothing.
    # php-cgi's flush() never notices a client that left (sapi_cgi_flush() is
    # fflush(stdout), and php-cgi writes with write(2), so stdio holds nothing): checked
    # with <?php echo "x"; sleep(1); flush(); ... echo "y"; and a reader that closed
    # after "x" -- connection_status() was 0 after flush(), the echo stopped the script.
    headers = [POWERED_BY, ("Connection", "close"), ("Content-Length", "22"), HTML]
    assert run.transport.body == SEEN
    assert run.events(flushes=False) == [("headers", 200, headers), ("write", SEEN), ("sleep", 30), ("finish",)]
    assert run.probe == [(1, 0)]


# -- close_connection_content_encoding_none.py: tom lgold2003 (#93441) ---------------------------

TOM_SEEN, TOM_NEVER_SEEN = b"Text user will see", b"Text user will never see"


@pytest.mark.clause("EXAMPLES-1")
def test_content_encoding_none_variant_prints_a_notice_after_the_promised_bytes(monkeypatch, tmp_path) -> None:
    run = run_example("close_connection_content_encoding_none.py", monkeypatch, tmp_path, sapi="cgi", ini=OB_4096)
    # php-cgi -n -d output_buffering=4096: "Connection: close\r\n" and "Content-Encoding:
    # none\r\n" lost their CRLF; the body was "Text user will see" + the notice of the
    # second ob_end_clean() (both at +0.015s) + "Text user will never see" (+1.018s).
    headers = [POWERED_BY, ("Connection", "close"), ("Content-Encoding", "none"), ("Content-Length", "18"), HTML]
    notice = run.html_diagnostic(
        "Notice", "ob_end_clean(): Failed to delete buffer. No buffer to delete", run.line_of("ob_end_clean()", 2)
    )
    assert run.transport.headers == headers
    assert run.transport.body == TOM_SEEN + notice + TOM_NEVER_SEEN
    assert run.events() == [
        ("headers", 200, headers), ("write", TOM_SEEN), ("flush",), ("write", notice), ("sleep", 5),
        ("write", TOM_NEVER_SEEN), ("finish",),
    ]
    assert run.probe == [(0, 1)]


@pytest.mark.clause("EXAMPLES-1")
def test_content_encoding_none_variant_runs_on_after_the_client_left(monkeypatch, tmp_path) -> None:
    run = run_example("close_connection_content_encoding_none.py", monkeypatch, tmp_path, sapi="cgi", ini=OB_4096,
                      disconnect_after=18)
    # php-cgi, the reader closing the pipe after 18 bytes: the script ran to its end
    # (a line logged after the last echo, at +1.013s) and the probe saw
    # connection_status()=1 ignore_user_abort()=1.
    headers = [POWERED_BY, ("Connection", "close"), ("Content-Encoding", "none"), ("Content-Length", "18"), HTML]
    assert run.transport.body == TOM_SEEN
    assert run.events(flushes=False) == [("headers", 200, headers), ("write", TOM_SEEN), ("sleep", 5), ("finish",)]
    assert run.probe == [(1, 1)]


# -- redirect_then_continue.py: mheumann (#112843) ----------------------------------------------

REDIRECT_LINES = [("Location", "PUT YOUR REDIRCT HERE"), ("Connection", "close"), ("Content-Encoding", "none"),
                  ("Content-Length", "0"), HTML]
HTTP_GET = {"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1"}


def without_date(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, "<date>" if name == "Date" else value) for name, value in headers]


@pytest.mark.clause("EXAMPLES-1")
def test_redirect_leaves_on_flush_under_the_built_in_server(monkeypatch, tmp_path) -> None:
    run = run_example("redirect_then_continue.py", monkeypatch, tmp_path, sapi="cli-server", ini=OB_4096,
                      server=HTTP_GET)
    # php -n -d output_buffering=4096 -S: "HTTP/1.1 302 Found", Date, Connection: close,
    # X-Powered-By, then the script's lines, read at +0.0005s; the response ended at
    # +1.001s, after the sleep; probe: connection_status()=0 ignore_user_abort()=1.
    headers = [("Date", "<date>"), ("Connection", "close"), POWERED_BY, *REDIRECT_LINES]
    assert run.transport.status == 302
    assert without_date(run.transport.headers) == headers
    assert run.transport.body == b""
    assert [(e[0], e[1], without_date(e[2])) if e[0] == "headers" else e for e in run.events()] == [
        ("headers", 302, headers), ("flush",), ("sleep", 100), ("finish",),
    ]
    assert run.runtime.exit_status == 0
    assert run.probe == [(0, 1)]


@pytest.mark.clause("EXAMPLES-1")
def test_redirect_client_leaving_after_the_head_is_not_noticed(monkeypatch, tmp_path) -> None:
    run = run_example("redirect_then_continue.py", monkeypatch, tmp_path, sapi="cli-server", ini=OB_4096,
                      server=HTTP_GET, disconnect_after=0)
    # php -S, the client closing its socket once it had the head: nothing is written
    # after that, so PHP never notices; the script ran on (a line logged before exit at
    # +1.022s) and the probe saw connection_status()=0 ignore_user_abort()=1.
    assert run.transport.status == 302
    assert [e[0] for e in run.events(flushes=False)] == ["headers", "sleep", "finish"]
    assert run.probe == [(0, 1)]


@pytest.mark.clause("EXAMPLES-1")
def test_redirect_waits_for_the_end_of_the_script_under_cgi(monkeypatch, tmp_path) -> None:
    run = run_example("redirect_then_continue.py", monkeypatch, tmp_path, sapi="cgi", ini=OB_4096)
    # php-cgi -n -d output_buffering=4096: flush() and ob_flush() sent nothing; the
    # head ("Status: 302 Found" ...) was read only at +1.016s, after the sleep.
    headers = [POWERED_BY, *REDIRECT_LINES]
    assert run.transport.status == 302
    assert run.transport.headers == headers
    assert run.events(flushes=False) == [("sleep", 100), ("headers", 302, headers), ("finish",)]
    assert run.runtime.exit_status == 0
    assert run.probe == [(0, 1)]


# -- redirect_fastcgi_finish_request.py: Ilya Penyaev (#110184) ---------------------------------


@pytest.mark.clause("EXAMPLES-1")
def test_fastcgi_finish_request_ends_the_response_before_the_work(monkeypatch, tmp_path) -> None:
    run = run_example("redirect_fastcgi_finish_request.py", monkeypatch, tmp_path, sapi="fpm", ini=OB_4096)
    # php-fpm8.2 -n -d output_buffering=4096: the head and END_REQUEST arrived together
    # at +0.0007s; the work was logged at +1.019s; probe: connection_status()=0
    # ignore_user_abort()=1. With a sleep(1) added after flush(), the head still came
    # with END_REQUEST, after it (+1.001s): fastcgi_finish_request() sent it, not flush().
    headers = [POWERED_BY, ("Location", "/thank-you.html"), ("Connection", "close"), ("Content-Length", "0"), HTML]
    assert run.transport.status == 302
    assert run.transport.headers == headers
    assert run.transport.body == b""
    assert run.events(flushes=False) == [("headers", 302, headers), ("finish",), ("sleep", 5)]
    assert run.transport.events.count(("finish",)) == 1
    assert run.log == ["work done after the redirect"]
    assert run.probe == [(0, 1)]


# -- close_connection_gzhandler.py: Anonymous (#107027) -----------------------------------------

REPORT = b"Your report is being prepared."
GZIP = {"HTTP_ACCEPT_ENCODING": "gzip"}


@pytest.mark.clause("EXAMPLES-1")
def test_gzhandler_variant_sends_the_page_uncompressed_with_its_length(monkeypatch, tmp_path) -> None:
    run = run_example("close_connection_gzhandler.py", monkeypatch, tmp_path, sapi="cgi", ini=OB_4096, server=GZIP)
    # HTTP_ACCEPT_ENCODING=gzip php-cgi -n -d output_buffering=4096: Content-Length
    # turned zlib.output_compression off, so ob_gzhandler passed the page through: no
    # Content-Encoding, no Vary; head and body at +0.016s, the work logged at +1.016s.
    headers = [POWERED_BY, ("Content-Length", "30"), ("Connection", "close"), HTML]
    assert run.transport.headers == headers
    assert run.transport.body == REPORT
    assert run.events() == [("headers", 200, headers), ("write", REPORT), ("flush",), ("sleep", 10), ("finish",)]
    assert run.log == ["report prepared"]
    assert run.probe == [(0, 1)]


@pytest.mark.clause("EXAMPLES-1")
def test_gzhandler_variant_falls_back_under_zlib_output_compression(monkeypatch, tmp_path) -> None:
    run = run_example("close_connection_gzhandler.py", monkeypatch, tmp_path, sapi="cgi",
                      ini={**OB_4096, "zlib.output_compression": "On"}, server=GZIP)
    # ... -d zlib.output_compression=On: ob_start("ob_gzhandler") failed with a warning
    # and a notice, ob_start() ran; zlib's own buffer kept everything, uncompressed,
    # until the script ended (all 409 bytes read at +1.012s, after the work).
    line = run.line_of('if not ob_start("ob_gzhandler"):')
    body = (
        run.html_diagnostic("Warning", "ob_start(): Output handler 'ob_gzhandler' conflicts with "
                            "'zlib output compression'", line)
        + run.html_diagnostic("Notice", "ob_start(): Failed to create buffer", line)
        + REPORT
    )
    headers = [POWERED_BY, ("Content-Length", "30"), ("Connection", "close"), HTML]
    assert run.transport.headers == headers
    assert run.transport.body == body
    assert run.events() == [("flush",), ("sleep", 10), ("headers", 200, headers), ("write", body), ("finish",)]
    assert run.log == ["report prepared"]


# -- shutdown_abort_cleanup.py: a1n2ton (#95087) ------------------------------------------------

PAGE_HEADERS = [POWERED_BY, HTML]


@pytest.mark.clause("EXAMPLES-1")
def test_abort_cleanup_keeps_the_file_when_the_client_stays(monkeypatch, tmp_path) -> None:
    (tmp_path / "file.ini").write_text("[x]\n")
    monkeypatch.chdir(tmp_path)
    run = run_example("shutdown_abort_cleanup.py", monkeypatch, tmp_path, sapi="cgi")
    # php-cgi -n (which runs the script in the script's own directory; there the
    # file.ini stayed): "Working...\n" at +0.011s, "Done.\n" at +1.011s, probe 0 0.
    assert run.transport.body == b"Working...\nDone.\n"
    assert run.events() == [
        ("headers", 200, PAGE_HEADERS), ("write", b"Working...\n"), ("flush",), ("sleep", 2),
        ("write", b"Done.\n"), ("finish",),
    ]
    assert (tmp_path / "file.ini").exists()
    assert run.probe == [(0, 0)]


@pytest.mark.clause("EXAMPLES-1")
def test_abort_cleanup_removes_the_file_when_the_client_left(monkeypatch, tmp_path) -> None:
    (tmp_path / "file.ini").write_text("[x]\n")
    monkeypatch.chdir(tmp_path)
    run = run_example("shutdown_abort_cleanup.py", monkeypatch, tmp_path, sapi="cgi", disconnect_after=11)
    # php-cgi, the reader closing the pipe after "Working...\n": "Done.\n" failed,
    # abort() saw connection_aborted() true and file.ini was gone; probe 1 0.
    assert run.transport.body == b"Working...\n"
    assert run.events(flushes=False) == [
        ("headers", 200, PAGE_HEADERS), ("write", b"Working...\n"), ("sleep", 2), ("finish",),
    ]
    assert not (tmp_path / "file.ini").exists()
    assert run.probe == [(1, 0)]


# -- connection_constants.py: Marco (#120770) ---------------------------------------------------


@pytest.mark.clause("EXAMPLES-1")
def test_connection_constants_and_the_notes_broken_test(monkeypatch, tmp_path) -> None:
    run = run_example("connection_constants.py", monkeypatch, tmp_path, sapi="cli")
    # php -n: the note's `if (CONNECTION_ABORTED & CONNECTION_TIMEOUT)` printed nothing.
    assert run.transport.body == (
        b"0 = CONNECTION_NORMAL\n1 = CONNECTION_ABORTED\n2 = CONNECTION_TIMEOUT\n"
        b"3 = CONNECTION_ABORTED & CONNECTION_TIMEOUT\nCONNECTION_ABORTED & CONNECTION_TIMEOUT = 0\n"
        b"connection_status() = 0\n"
    )
    assert run.probe == [(0, 0)]


# -- order_processing.py: after pulstar (#34800) and Lee (#45779) -------------------------------

ORDER_PAGE = [b"<p>Processing your order...</p>\n", b"<p>book registered</p>\n", b"<p>lamp registered</p>\n",
              b"<p>chair registered</p>\n", b"<p>Thank you!</p>\n"]
ORDER_WORK = ["order 1001: registered book", "order 1001: registered lamp", "order 1001: registered chair",
              "order 1001: committed"]


@pytest.mark.clause("EXAMPLES-1")
def test_order_is_confirmed_when_the_visitor_stays(monkeypatch, tmp_path) -> None:
    run = run_example("order_processing.py", monkeypatch, tmp_path, sapi="cgi")
    # php-cgi -n: each line arrived a second after the one before; log as below.
    first, book, lamp, chair, thanks = ORDER_PAGE
    assert run.transport.body == b"".join(ORDER_PAGE)
    assert run.events() == [
        ("headers", 200, PAGE_HEADERS), ("write", first), ("flush",),
        ("sleep", 1), ("write", book), ("flush",),
        ("sleep", 1), ("write", lamp), ("flush",),
        ("sleep", 1), ("write", chair), ("flush",),
        ("write", thanks), ("finish",),
    ]
    assert run.log == [*ORDER_WORK, "order 1001: confirmed"]
    assert run.probe == [(0, 1)]


@pytest.mark.clause("EXAMPLES-1")
def test_order_is_completed_but_not_confirmed_when_the_visitor_leaves(monkeypatch, tmp_path) -> None:
    run = run_example("order_processing.py", monkeypatch, tmp_path, sapi="cgi", disconnect_after=32)
    # php-cgi, the reader closing the pipe after the first line (32 bytes): every
    # product was still registered and the order committed, then check_order() set it
    # as not confirmed; probe: connection_status()=1 ignore_user_abort()=1.
    assert run.transport.body == ORDER_PAGE[0]
    assert run.events(flushes=False) == [
        ("headers", 200, PAGE_HEADERS), ("write", ORDER_PAGE[0]), ("sleep", 1), ("sleep", 1), ("sleep", 1),
        ("finish",),
    ]
    assert run.log == [*ORDER_WORK, "order 1001: visitor left, set as not confirmed"]
    assert run.probe == [(1, 1)]


# -- stop_button_loop.py: after the manual's text, ej and bg --------------------------------------

STEPS = [f"Step {n} done<br>\n".encode() for n in range(1, 6)]


@pytest.mark.clause("EXAMPLES-1")
def test_loop_runs_to_the_end_while_the_client_stays(monkeypatch, tmp_path) -> None:
    run = run_example("stop_button_loop.py", monkeypatch, tmp_path, sapi="cgi")
    # php-cgi -n: a line a second; log step 1..5, finished, then the shutdown line.
    expected: list[tuple[Any, ...]] = [("headers", 200, PAGE_HEADERS)]
    for step in STEPS:
        expected += [("write", step), ("flush",), ("sleep", 1)]
    assert run.transport.body == b"".join(STEPS)
    assert run.events() == [*expected, ("finish",)]
    assert run.log == [f"step {n}" for n in range(1, 6)] + ["finished", "shutdown: connection_status()=0 at step 5"]
    assert run.probe == [(0, 0)]


@pytest.mark.clause("EXAMPLES-1")
def test_loop_stops_at_the_first_write_after_the_client_left(monkeypatch, tmp_path) -> None:
    run = run_example("stop_button_loop.py", monkeypatch, tmp_path, sapi="cgi", disconnect_after=32)
    # php-cgi, the reader closing the pipe after two lines (32 bytes): step 2 was still
    # logged, step 3's echo failed and ended the script; the shutdown function saw
    # connection_status()=1 at step 3.
    assert run.transport.body == STEPS[0] + STEPS[1]
    assert run.events(flushes=False) == [
        ("headers", 200, PAGE_HEADERS), ("write", STEPS[0]), ("sleep", 1), ("write", STEPS[1]), ("sleep", 1),
        ("finish",),
    ]
    assert run.log == ["step 1", "step 2", "shutdown: connection_status()=1 at step 3"]
    assert run.probe == [(1, 0)]
