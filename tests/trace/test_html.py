"""The timeline page (TRACE-HTML-1, TRACE-HTML-2): self-contained, rendered by a real
headless Chromium without a script error, its clause texts those of spec/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from phprt.engine.trace import CLAUSES
from phprt.trace.clauses import TEXT, clause_texts
from phprt.trace.cli import trace_script
from phprt.trace.html import page
from tests.support import ROOT
from tests.trace import browser

SCRIPT = '''\
from phprt.php import *

def shout(buffer, phase):
    return buffer.upper()

register_shutdown_function(lambda: print("status", connection_status()))
ob_start(shout)
header("X-Trace: 1")
echo("hello </script> & <b>world</b>\\n")
ob_end_flush()
flush()
for step in range(3):
    echo(f"step {step}\\n")
    flush()
'''


@pytest.fixture
def traced_page(tmp_path: Path) -> Path:
    script = tmp_path / "held_out.py"
    script.write_text(SCRIPT)
    trace, transport = trace_script(str(script), sapi="cgi", disconnect_after=20)
    assert transport.body == b"HELLO </SCRIPT> & <B"  # the client hung up after 20 bytes
    path = tmp_path / "trace.html"
    path.write_text(page(trace), encoding="utf-8")
    return path


@pytest.mark.clause("TRACE-HTML-1")
def test_page_is_self_contained(traced_page: Path) -> None:
    text = traced_page.read_text()
    assert "<link" not in text and " src=" not in text and "url(" not in text and "@import" not in text
    assert re.findall(r"https?://[^\"' )]+", text) == ["http://www.w3.org/2000/svg"]  # a namespace name, never fetched
    assert text.count("</script>") == 2  # the script's own "</script>" is escaped in the data
    assert '"kind": "client-abort"' in text and "CONN-ABORT-1" in text


@pytest.mark.clause("TRACE-HTML-2")
def test_clause_texts_are_spec_s() -> None:
    assert clause_texts(ROOT / "spec") == TEXT, "spec/ changed: run python -m phprt.trace.clauses"
    assert set(TEXT) == set(CLAUSES)


@pytest.mark.clause("TRACE-HTML-1")
@pytest.mark.skipif(browser.chromium() is None, reason="chromium is not installed (apt-get install chromium)")
def test_page_renders_in_headless_chromium(traced_page: Path, tmp_path: Path) -> None:
    dom = browser.dump_dom(traced_page)
    assert 'data-rendered="ok"' in dom, dom[-2000:]
    errors = re.search(r'<pre id="errors">(.*?)</pre>', dom, re.S)
    assert errors is not None and errors.group(1) == ""
    assert "connection_status() = 1" in dom and "HEADERS SENT" in dom
    shot = tmp_path / "trace.png"
    browser.screenshot(traced_page, shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
