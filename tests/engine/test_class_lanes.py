"""A served script's plain classes, made once per lane and bound again by later requests, each
request with its own static state and globals (PERF-CLASS-1, DEV-CLASS-1).

What PHP does here, recorded with ``php-cgi -n`` and ``php -n -S`` (8.2.36), three requests each:
``class C { public static $n = 0; } C::$n++; echo C::$n, "\\n";`` gives "1" at every request.
Each request's classes are observed through a module the scripts import (``seen``), which
outlives the requests as a server's modules do, by weak references: a reference to a kept class
that outlives its request would end the lane (its methods would read whichever request had it).
"""

from __future__ import annotations

import _ast
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from phprt import MemoryTransport
from phprt.engine.classes import plain_class_bodies
from phprt.net.site import ScriptCall
from tests.support.lanes import COUNTER, seen_module


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    seen_module(tmp_path, monkeypatch)
    (tmp_path / "counter.py").write_text(COUNTER)
    return tmp_path


def served(script: Path, query: str = "") -> bytes:
    transport = MemoryTransport()
    ScriptCall(script, {"REQUEST_METHOD": "GET", "QUERY_STRING": query, "SCRIPT_FILENAME": str(script)}, b"",
               "fpm").run(transport)
    return transport.body


def seen() -> Any:
    import seen as module

    return module


@pytest.mark.clause("PERF-CLASS-1", "DEV-CLASS-1")
def test_a_plain_class_is_made_once_and_each_request_has_its_own_static_state(site: Path) -> None:
    # PHP: a static property is 1 after one increment at every request (recorded, above)
    bodies = [served(site / "counter.py", f"s={n}") for n in range(3)]
    assert bodies == [b"1 n0 -", b"1 n1 -", b"1 n2 -"]  # the count and the added attribute start afresh
    classes = [ref() for ref in seen().classes]
    assert classes[0] is classes[1] is classes[2] is not None


@pytest.mark.clause("PERF-CLASS-1")
def test_an_instance_kept_past_its_request_never_sees_a_later_request(site: Path) -> None:
    assert served(site / "counter.py", "s=1&keep=1") == b"1 n1 -"
    assert served(site / "counter.py", "s=2") == b"1 n2 -"
    kept = seen().kept[0]
    with pytest.raises(NameError):  # its request's globals are gone, and were not the next one's
        kept.name()
    assert served(site / "counter.py", "s=3") == b"1 n3 -"
    first, second, third = (ref() for ref in seen().classes)
    assert second is not first  # the lane ended with the request that kept the instance
    assert third is second


@pytest.mark.clause("PERF-CLASS-1")
@pytest.mark.parametrize("keep", ["keep_method", "keep_dict"])
def test_a_method_kept_past_its_request_never_reads_a_later_request(site: Path, keep: str) -> None:
    assert served(site / "counter.py", f"s=1&{keep}=1") == b"1 n1 -"
    assert served(site / "counter.py", "s=2") == b"1 n2 -"
    kept = seen().kept[0]
    method = kept if keep == "keep_method" else kept["secret"]
    with pytest.raises(NameError):  # not "2": the lane that made it ended with its request
        method(None)
    first, second = (ref() for ref in seen().classes)
    assert second is not first


@pytest.mark.clause("PERF-CLASS-1")
def test_classes_that_may_come_out_otherwise_are_made_by_every_request(site: Path) -> None:
    (site / "other.py").write_text(
        "from phprt.php import *\nimport seen\nimport weakref\n\n"
        "class Plain:\n    pass\n\n"
        "class Items:\n    items = []\n\n"  # a mutable class attribute
        "def decorate(cls):\n    return cls\n\n"
        "@decorate\nclass Decorated:\n    pass\n\n"
        "if True:\n    class Nested:\n        pass\n\n"
        "Items.items.append(1)\n"
        "seen.classes.append((weakref.ref(Plain), Items, Decorated, Nested))\necho(len(Items.items))\n")
    assert [served(site / "other.py") for _ in range(2)] == [b"1", b"1"]
    (plain, *first), (again, *second) = seen().classes
    assert plain() is again() is not None  # the plain one is kept: what the others are does not end the lane
    assert all(a is not b for a, b in zip(first, second))


@pytest.mark.clause("PERF-CLASS-1")
def test_a_script_that_binds_its_own_staticmethod_has_its_class_made_with_it(site: Path) -> None:
    (site / "own.py").write_text(
        "from phprt.php import *\nimport seen\nimport weakref\n\n"
        "calls = []\n\ndef staticmethod(function):\n    calls.append(function.__name__)\n    return function\n\n"
        "class Tools:\n    @staticmethod\n    def tool():\n        return 1\n\n"
        "seen.classes.append(weakref.ref(Tools))\necho(len(calls))\n")
    assert [served(site / "own.py") for _ in range(2)] == [b"1", b"1"]  # the script's decorator ran each time
    assert seen().kept == [] and len(seen().classes) == 2


@pytest.mark.clause("PERF-CLASS-1", "RT-SCRIPT-2")
def test_a_changed_script_makes_its_classes_again(site: Path) -> None:
    served(site / "counter.py")
    script = site / "counter.py"
    script.write_text(COUNTER.replace('label = "n"', 'label = "m"'))
    os.utime(script, ns=(0, 10**18))  # another modification time, whatever the clock's resolution
    assert served(script) == b"1 m- -"
    assert seen().classes[1]() is not seen().classes[0]()


@pytest.mark.clause("PERF-CLASS-1")
def test_requests_running_at_once_each_have_a_lane(site: Path) -> None:
    (site / "wait.py").write_text(
        "from phprt.php import *\nimport seen\nimport weakref\n\nclass Plain:\n    pass\n\n"
        "seen.classes.append(weakref.ref(Plain))\n"
        "if _GET.get('first'):\n    seen.events['started'].set()\n    seen.events['go'].wait(20)\n")
    module = seen()
    module.events.update(started=threading.Event(), go=threading.Event())
    first = threading.Thread(target=served, args=(site / "wait.py", "first=1"))
    first.start()
    try:
        assert module.events["started"].wait(20)
        served(site / "wait.py")  # while the first runs: a lane of its own
    finally:
        module.events["go"].set()
        first.join(20)
    served(site / "wait.py")  # then one of the two idle lanes
    one, two, three = (ref() for ref in module.classes)
    assert one is not two and one is not None and two is not None and (three is one or three is two)


@pytest.mark.clause("PERF-CLASS-1")
def test_which_class_statements_are_plain() -> None:
    source = '''
from __future__ import annotations
class Plain(Base):
    """doc"""
    K = (1, -2.5, "s", b"b", None, True)
    def method(self, a: int = 1, *, b: str = "x") -> int:
        return a
    @staticmethod
    def tool(): pass
    @classmethod
    def make(cls): pass
    pass
class Mutable:
    K = []
class Called:
    K = len("x")
class Keyword(metaclass=type):
    pass
class Dotted(module.Base):
    pass
class Property:
    @property
    def p(self): pass
class Defaults:
    def f(self, a=[]): pass
class Hook:
    def __init_subclass__(cls): pass
class Nested:
    class Inner:
        pass
if True:
    class Inside:
        pass
'''
    tree = compile(source, "t.py", "exec", _ast.PyCF_ONLY_AST)
    code = compile(tree, "t.py", "exec", dont_inherit=True)
    assert {body.co_name: decorated for body, decorated in plain_class_bodies(tree, code).items()} == {"Plain": True}
    annotated = "class Annotated:\n    def f(self) -> int:\n        return 1\n"
    tree = compile(annotated, "a.py", "exec", _ast.PyCF_ONLY_AST)
    assert plain_class_bodies(tree, compile(tree, "a.py", "exec", dont_inherit=True)) == {}  # int would be read as the class is made
