"""A script's leading ``from phprt.php import *`` is served from one dict of what the import
binds (PERF-SCRIPT-1): the same names and values as the import statement gives."""

from __future__ import annotations

from pathlib import Path

import pytest

import phprt.php
from phprt import MemoryTransport, Runtime
from phprt.engine.script import _compiled, execute

#: What the script reports: the names the import bound (besides the module's own) and
#: whether each is the module's object (E_ALL: the Runtime's version's value).
REPORT = (
    "import phprt.php as _m\n"
    "_names = [k for k in globals() if not k.startswith('__') and k != '_m']\n"
    "echo(repr(_names) + '|' + repr(all(globals()[k] is getattr(_m, k) for k in _names if k != 'E_ALL'))"
    " + '|' + str(E_ALL))\n"
)


def _run(path: Path, php_version: str = "8.2") -> str:
    transport = MemoryTransport()
    execute(Runtime(transport, php_version=php_version), str(path))
    return transport.body.decode()


@pytest.mark.clause("PERF-SCRIPT-1")
@pytest.mark.parametrize("php_version, e_all", [("8.2", "32767"), ("8.4", "30719")])
def test_the_prelude_binds_what_the_import_binds(tmp_path: Path, php_version: str, e_all: str) -> None:
    served = tmp_path / "served.py"
    served.write_text('"""A page."""\nfrom phprt.php import *\n' + REPORT)
    imported = tmp_path / "imported.py"  # a statement first: the import runs as written
    imported.write_text("pass\nfrom phprt.php import *\n" + REPORT)
    after_future = tmp_path / "future.py"  # bound after `annotations`: the import runs as written
    after_future.write_text("from __future__ import annotations\nfrom phprt.php import *\n")
    assert _compiled(str(served))[1] == "phprt.php" and _compiled(str(imported))[1] is None
    assert _compiled(str(after_future))[1] is None
    assert "phprt" not in _compiled(str(served))[0].co_names  # the statement is gone from the code
    ours, theirs = _run(served, php_version), _run(imported, php_version)
    assert ours == theirs and ours.endswith(f"|True|{e_all}")
    assert ours.count(",") + 1 == len(phprt.php.__all__)


@pytest.mark.clause("PERF-SCRIPT-1")
def test_setting_an_attribute_of_phprt_php_is_seen_by_the_next_script(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "page.py"
    page.write_text("from phprt.php import *\necho(str(usleep(5)))\n")
    assert _run(page) == "None"
    monkeypatch.setattr(phprt.php, "usleep", lambda microseconds: f"patched {microseconds}")
    assert _run(page) == "patched 5"
    monkeypatch.undo()
    assert _run(page) == "None"


@pytest.mark.clause("PERF-SCRIPT-1")
def test_a_script_keeps_its_line_numbers(tmp_path: Path) -> None:
    page = tmp_path / "page.py"
    page.write_text("from phprt.php import *\n\ntrigger_error('here')\n")
    transport = MemoryTransport()
    execute(Runtime(transport), str(page))
    assert f"here in {page} on line 3" in transport.body.decode()
