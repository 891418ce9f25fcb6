"""A script's constant dict displays are made once, when the file is compiled, and each evaluation
takes a copy (PERF-SCRIPT-2): what the display itself would make, a new dict each time.

The expected values are Python's own: the same source run by ``exec()``, as Python runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import CodeType
from typing import Any

import pytest

from phprt import MemoryTransport, Runtime
from phprt.engine import displays
from phprt.engine.script import _compiled, execute
from phprt.net.site import ScriptCall
from tests.support.doors import DOORS, served_answers

#: Entries of every kind a constant display may hold, in an order Python keeps, with keys that are
#: equal across types (1, 1.0 and True: the first key object stays, the last value wins) and values
#: that == cannot tell apart (-0.0 and 0.0, 1 and True).
TABLE = ('{"de": "Germany", 1: "one", 1.0: "float one", True: "true", (1, "a"): b"bytes", -2: -0.0, '
         '+3: 0.0, None: ..., 2.5j: None, "b": True, "a": 1, "fr": "France", "de2": (1, (2, -3))}')
SCRIPT = f"""from phprt.php import *
TABLE = {TABLE}


def lookup(key):
    local = {TABLE}
    local["seen"] = key
    return local


first = lookup("x")
echo(repr(TABLE), "|", repr([(type(k).__name__, type(v).__name__) for k, v in TABLE.items()]), "|")
echo(repr(first), "|", repr(lookup("y")), "|", repr(first is not lookup("z")), "|")
TABLE["added"] = _GET.get("n", "-")
"""


def _python(source: str) -> bytes:
    # What Python makes of the script, with echo writing what it is given
    out: list[str] = []
    namespace: dict[str, Any] = {"echo": lambda *parts: out.append("".join(map(str, parts))), "_GET": {}}
    exec(compile(source.replace("from phprt.php import *\n", ""), "<python>", "exec"), namespace)
    return "".join(out).encode()


def _served(script: Path, query: str = "") -> bytes:
    transport = MemoryTransport()
    ScriptCall(script, {"REQUEST_METHOD": "GET", "QUERY_STRING": query, "SCRIPT_FILENAME": str(script)}, b"",
               "fpm").run(transport)
    return transport.body


def _made(code: CodeType) -> list[displays.Made]:
    # the displays made once that the code (and the code in it) holds
    found = [item for item in code.co_consts if isinstance(item, displays.Made)]
    return found + [made for item in code.co_consts if isinstance(item, CodeType) for made in _made(item)]


@pytest.mark.clause("PERF-SCRIPT-2")
def test_a_constant_dict_display_gives_what_python_makes_a_new_dict_each_time(tmp_path: Path) -> None:
    script = tmp_path / "table.py"
    script.write_text(SCRIPT)
    assert len(_made(_compiled(str(script))[0])) == 2  # the module's display and the function's
    expected = _python(SCRIPT)
    transport = MemoryTransport()
    execute(Runtime(transport), str(script))
    assert transport.body == expected
    # served: each request's dict is its own -- what one added is not the next one's
    assert [_served(script, f"n={n}") for n in range(3)] == [expected] * 3


#: Displays one level deeper: records (a list of dicts), rows (a list of lists), a dict of dicts --
#: each evaluation's inner containers its own, as the display makes them.
NESTED = """from phprt.php import *


def tables():
    records = [{"id": 1, "name": "a", "price": 1.5}, {"id": 2, "name": "b", "price": -0.0}, {},
               {"id": 3, "id": True, 1: "one", 1.0: "float"}]
    rows = [[1, 2, 3], [], ["x", (1, 2), None, b"y"], [True, 1.0]]
    keyed = {"de": {"name": "Germany", "code": 49}, "fr": {"name": "France", "code": 33}, "de": {"k": -1},
             1: {}, (2, "t"): {"a": 1, "b": 2, "c": 3}}
    return records, rows, keyed


first = tables()
echo(repr(first), "|", repr([[type(k).__name__ for k in record] for record in first[0]]), "|")
first[0][0]["added"] = 1
first[1][0].append(4)
first[2]["fr"]["name"] = "changed"
echo(repr(tables()), "|", repr(first[0][0] is not tables()[0][0]), "|", _GET.get("n", "-"))
"""


@pytest.mark.clause("PERF-SCRIPT-2")
def test_records_rows_and_a_dict_of_dicts_give_what_python_makes(tmp_path: Path) -> None:
    script = tmp_path / "nested.py"
    script.write_text(NESTED)
    assert len(_made(_compiled(str(script))[0])) == 3
    expected = _python(NESTED)
    assert [_served(script) for _ in range(3)] == [expected] * 3


@pytest.mark.clause("PERF-SCRIPT-2")
def test_what_is_not_a_constant_display_runs_as_written(tmp_path: Path) -> None:
    script = tmp_path / "kept.py"
    keys = ", ".join(f'"k{index}": {index}' for index in range(displays.MIN_ENTRIES))
    script.write_text(
        "from phprt.php import *\nname = 'n'\n"
        f"small = {{{keys.rpartition(',')[0]}}}\n"  # one entry short
        f"named = {{{keys}, 'x': name}}\n"  # a value read from a name
        f"unpacked = {{{keys}, **small}}\n"  # ``**``
        f"nested = {{{keys}, 'inner': [1, 2]}}\n"  # a list among constants
        f"deeper = [[[1]] * {displays.MIN_ENTRIES}]\n"  # lists two levels deep
        f"mixed = [{{{keys}}}, [1, 2]]\n"  # a dict and a list: the dict alone is made once
        f"class Config:\n    TABLE = {{{keys}}}\n\n"  # a class's own: what makes a class plain (PERF-CLASS-1)
        f"def annotated(x: {{{keys}}}) -> {{{keys}}}:\n    pass\n\n"  # annotations: their text may be read
        "echo(len(small), len(named), len(unpacked), len(nested), len(Config.TABLE))\n")
    assert [type(made.copy()) for made in _made(_compiled(str(script))[0])] == [dict]  # mixed's dict alone
    assert _served(script) == f"{displays.MIN_ENTRIES - 1}{displays.MIN_ENTRIES + 1}{displays.MIN_ENTRIES}" \
        f"{displays.MIN_ENTRIES + 1}{displays.MIN_ENTRIES}".encode()


@pytest.mark.clause("PERF-SCRIPT-2")
def test_an_annotation_s_text_is_the_script_s(tmp_path: Path) -> None:
    script = tmp_path / "future.py"
    keys = ", ".join(f"'k{index}': {index}" for index in range(displays.MIN_ENTRIES))
    source = (f"from __future__ import annotations\nfrom phprt.php import *\n\ndef f(x: {{{keys}}}) -> dict:\n"
              f"    return {{{keys}}}\n\ntable: {{{keys}}} = {{{keys}}}\n"
              "echo(repr(f.__annotations__), repr(__annotations__), len(table), len(f(1)))\n")
    script.write_text(source)
    assert len(_made(_compiled(str(script))[0])) == 2  # the function's body and the assignment's value
    assert _served(script) == _python(source)


@pytest.mark.clause("PERF-SCRIPT-2", "PERF-CLASS-1")
def test_a_kept_class_s_method_copies_its_display(tmp_path: Path) -> None:
    script = tmp_path / "method.py"
    keys = ", ".join(f'"k{index}": {index}' for index in range(displays.MIN_ENTRIES))
    script.write_text("from phprt.php import *\n\nclass Page:\n    def table(self):\n"
                      f"        made = {{{keys}}}\n        made['n'] = len(made)\n        return made\n\n"
                      "echo(Page().table()['n'], ' ', Page().table()['n'])\n")
    assert len(_made(_compiled(str(script))[0])) == 1
    assert [_served(script) for _ in range(3)] == [f"{displays.MIN_ENTRIES} {displays.MIN_ENTRIES}".encode()] * 3


@pytest.mark.clause("PERF-SCRIPT-2", "RT-RUN-1")
def test_python_m_phprt_run_gives_what_python_makes(tmp_path: Path) -> None:
    script = tmp_path / "table.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, "-m", "phprt", "run", str(script)], capture_output=True, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.stdout == _python(SCRIPT)


@pytest.mark.clause("PERF-SCRIPT-2")
def test_every_server_door_gives_what_python_makes(tmp_path: Path) -> None:
    (tmp_path / "table.py").write_text(SCRIPT)
    assert served_answers(tmp_path, "/table.py") == dict.fromkeys(DOORS, (200, _python(SCRIPT)))
