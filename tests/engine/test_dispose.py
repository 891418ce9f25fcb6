"""An ended request's Runtime is freed without the cycle collector once disposed of (PERF-RELEASE-1)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from phprt import MemoryTransport, Runtime
from phprt.engine.script import execute

SERVER = {"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "localhost",
          "QUERY_STRING": "", "DOCUMENT_ROOT": "/nonexistent"}


@pytest.fixture
def no_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.clause("PERF-RELEASE-1")
@pytest.mark.parametrize("sapi", ["cli", "cgi", "fpm", "cli-server", "apache2handler"])
def test_a_disposed_runtime_is_freed_by_its_last_holder(tmp_path: Path, sapi: str, no_collector: None) -> None:
    page = tmp_path / "page.py"
    page.write_text("from phprt.php import *\nheader('X-A: 1')\nob_start()\necho('hello')\n"
                    "trigger_error('late', E_USER_NOTICE)\nset_time_limit(5)\n")
    transport = MemoryTransport(server={**SERVER, "SCRIPT_FILENAME": str(page)})
    runtime = execute(Runtime(transport, sapi), str(page))
    runtime.dispose()
    assert runtime.error_get_last() == {"type": 1024, "message": "late", "file": str(page), "line": 5}
    assert runtime.http_response_code() == (False if sapi == "cli" else 200)
    runtime.echo("after")  # goes nowhere
    body = transport.body
    assert body.startswith(b"hello") and b"after" not in body
    alive = weakref.ref(runtime)
    del runtime
    assert alive() is None


@pytest.mark.clause("PERF-RELEASE-1", "PERF-OB-9")
def test_a_runtime_whose_script_started_handlers_is_freed_by_its_last_holder(tmp_path: Path,
                                                                             no_collector: None) -> None:
    # the handlers ob_start() remembered for the request (PERF-OB-2, PERF-OB-9) call back into it
    page = tmp_path / "page.py"
    page.write_text("from phprt.php import *\ndef h(b, p):\n    return b.upper()\n\nclass O:\n"
                    "    def m(self, b, p):\n        return b\n\nob_start(h)\necho('a')\nob_end_flush()\n"
                    "ob_start(O().m)\nob_start(lambda b: '<' + b + '>')\necho('b')\n")
    transport = MemoryTransport(server={**SERVER, "SCRIPT_FILENAME": str(page)})
    runtime = execute(Runtime(transport, "cgi"), str(page))
    runtime.dispose()
    assert transport.body == b"A<b>"
    alive = weakref.ref(runtime)
    del runtime
    assert alive() is None


#: Scripts whose requests each left a cycle through their Runtime before PERF-RELEASE-1 covered them.
_LEFT_CYCLES = {
    "ob_gzhandler": "ob_start('ob_gzhandler')\necho('a' * 100)\n",
    "zlib.output_compression": "ini_set('zlib.output_compression', '1')\necho('a' * 100)\n",
    "the URL rewriter": "output_add_rewrite_var('a', 'b')\necho('<a href=\"x.php\">x</a>')\n",
    "a handler that throws": "def h(b, p):\n    raise Exception('x')\n\nob_start(h)\necho('a')\nob_end_flush()\n",
    "a handler that exits": "ob_start(lambda b, p: exit('e'))\necho('a')\n",
    "a session save handler": (
        "class H:\n    def open(self, p, n): return True\n    def close(self): return True\n"
        "    def read(self, i): return ''\n    def write(self, i, d): return True\n"
        "    def destroy(self, i): return True\n    def gc(self, m): return 0\n\n"
        "session_set_save_handler(H(), True)\nsession_start()\necho('s')\n"),
}


@pytest.mark.clause("PERF-RELEASE-1")
@pytest.mark.parametrize("name", list(_LEFT_CYCLES))
def test_a_runtime_is_freed_by_its_last_holder_whatever_its_script_used(tmp_path: Path, name: str,
                                                                       no_collector: None) -> None:
    page = tmp_path / "page.py"
    page.write_text("from phprt.php import *\n" + _LEFT_CYCLES[name])
    transport = MemoryTransport(server={**SERVER, "SCRIPT_FILENAME": str(page), "HTTP_ACCEPT_ENCODING": "gzip"})
    runtime = execute(Runtime(transport, "cgi", ini={"session.save_path": str(tmp_path)}), str(page))
    runtime.dispose()
    assert transport.body or name == "a handler that exits"  # it ran
    alive = weakref.ref(runtime)
    del runtime
    assert alive() is None


@pytest.mark.clause("PERF-RELEASE-1")
def test_dispose_before_the_end_raises() -> None:
    with Runtime(MemoryTransport()) as runtime:
        with pytest.raises(RuntimeError, match="has not ended"):
            runtime.dispose()
