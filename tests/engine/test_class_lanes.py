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
import abc
import gc
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from phprt import MemoryTransport
from phprt.engine import classes
from phprt.engine.classes import Lane, plain_class_bodies
from phprt.net.site import ScriptCall
from tests.support.lanes import ACTIONS, COUNTER, HIERARCHY, generated, seen_module


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
        "class Items:\n    items = list()\n\n"  # a class attribute a call makes
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


def _reads(source: str) -> dict[str, tuple[tuple[str, object], ...]]:
    # The plain class statements of ``source`` and the names each reads.
    tree = compile(source, "t.py", "exec", _ast.PyCF_ONLY_AST)
    code = compile(tree, "t.py", "exec", dont_inherit=True)
    return {body.co_name: reads for body, reads in plain_class_bodies(tree, code).items()}


@pytest.mark.clause("PERF-CLASS-1", "PERF-CLASS-3")
def test_which_class_statements_are_plain() -> None:
    source = '''
from __future__ import annotations
class Plain(Base):
    """doc"""
    K = (1, -2.5, "s", b"b", None, True)
    L = [1, {"a": (2,)}, {3}]
    count: int = 0
    def method(self, a: int = 1, *, b: str = "x") -> Undefined:
        return a
    @staticmethod
    def tool(): pass
    @classmethod
    def make(cls): pass
    @property
    def p(self): pass
    @p.setter
    def p(self, value): pass
    @abstractmethod
    def must(self): pass
    pass
class Called:
    K = len("x")
class Made:
    K = [len("x")]
class Keyword(metaclass=type):
    pass
class Dotted(module.Base):
    pass
class Other:
    @functools.cache
    def p(self): pass
class Setter:
    @elsewhere.setter
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
    assert _reads(source) == {"Plain": (("Base", None), ("staticmethod", staticmethod), ("classmethod", classmethod),
                                        ("property", property), ("abstractmethod", abc.abstractmethod))}
    # without ``from __future__ import annotations``, what an annotation reads is read as the class is made
    annotated = ("class Annotated:\n    count: int = 0\n    def f(self, a: list[Item] | None) -> typing.Any:\n"
                 "        return 1\n"
                 "class Called:\n    def f(self) -> make():\n        return 1\n"
                 "class Local:\n    Item = int\n    def f(self) -> Item:\n        return 1\n")
    assert _reads(annotated) == {"Annotated": (("int", None), ("list", None), ("Item", None), ("typing", None))}


#: Two kept classes in one run, a subclass among them, and nothing of them changed by a request.
QUIET = """from phprt.php import *
import seen
import weakref

class Base:
    def name(self):
        return "base " + secret

class Child(Base):
    def name(self):
        return "child " + secret

secret = _GET.get("s", "-")
seen.classes.append(weakref.ref(Child))
item = Child()
if _GET.get("keep"):
    seen.kept.append(item)
echo(item.name(), Base.__dict__.get("flag", ""))
if _GET.get("flag"):
    Base.flag = " flagged"  # a static property set: the next request has the class as made
"""


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    # The class statements that reached the lane's build(): made, or bound one by one.

    made: list[str] = []
    build = classes.Lane.build

    def counted(self: Any, body: Any, name: str, bases: Any) -> type:
        made.append(name)
        return build(self, body, name, bases)

    monkeypatch.setattr(classes.Lane, "build", counted)
    return made


@pytest.mark.clause("PERF-CLASS-2")
def test_a_run_of_kept_classes_is_bound_at_once(site: Path, builds: list[str]) -> None:
    (site / "quiet.py").write_text(QUIET)
    assert [served(site / "quiet.py", f"s={n}") for n in range(4)] == [b"child 0", b"child 1", b"child 2", b"child 3"]
    assert builds == ["Base", "Child"]  # made by the first request, then bound at once (not one by one)
    first, *later = (ref() for ref in seen().classes)
    assert all(cls is first for cls in later)


@pytest.fixture(params=["c", "python"])
def lane_loops(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The loops over every kept class at a request's end: C's (PERF-CLASS-4), or Python's."""
    if request.param == "python":
        for name in ("_refcounts", "_same_counts", "_same_dicts", "_same_names", "_all_as_made"):
            monkeypatch.setattr(classes, name, getattr(classes, "_python_" + name.removeprefix("_all").lstrip("_")))
    elif classes._refcounts is classes._python_refcounts:
        pytest.skip("phprt/engine/_speedups.c is not compiled here")
    return str(request.param)


@pytest.mark.clause("PERF-CLASS-4")
def test_the_lanes_loops_in_c_are_the_python_ones() -> None:
    _names = classes._names
    if classes._refcounts is classes._python_refcounts:
        pytest.skip("phprt/engine/_speedups.c is not compiled here")

    class Base:
        pass

    class Other:
        pass

    class Child(Base):
        def name(self) -> str:
            return "child"

    objects: list[Any] = [Base, Child, Child.name, vars(Child), (), 7, object()]
    assert classes._refcounts(objects) == classes._python_refcounts(objects)
    held = [Child, Child.name]  # two more references
    assert classes._refcounts(objects) == classes._python_refcounts(objects)
    del held
    watched = objects[:5]  # what a lane watches: no int, which a list of counts would refer to itself
    counts = classes._refcounts(watched)
    assert classes._same_counts(watched, counts) is classes._python_same_counts(watched, counts) is True
    held = [Child]
    assert classes._same_counts(watched, counts) is classes._python_same_counts(watched, counts) is False
    del held
    for other, expected in ((counts[:-1], False), ([*counts, 1], False), ([*counts[:-1], 2**70], False),
                            ([*counts[:-1], float(counts[-1])], True)):  # == of an int and a float
        assert classes._same_counts(watched, other) is classes._python_same_counts(watched, other) is expected
    made = [dict(vars(Child)), {"a": 1.0, "b": [2]}]
    dicts = [classes._type_dict(Child), {"a": 1, "b": [2]}]  # the second: equal, not the same objects
    assert classes._same_dicts(dicts, made) is classes._python_same_dicts(dicts, made) is True
    for changed in ([dicts[0], {"b": [2], "a": 1}], [dicts[0], {"a": 1, "b": [3]}], [dicts[0]], [*dicts, {}]):
        expected = changed == made  # reordered: equal; another value, or lists of two lengths: not
        assert classes._same_dicts(changed, made) is classes._python_same_dicts(changed, made) is expected
    Child.extra = 1  # the class's own dict changed
    assert classes._same_dicts(dicts, made) is classes._python_same_dicts(dicts, made) is False
    del Child.extra
    names = [(cls.__name__, cls.__qualname__, cls.__bases__) for cls in (Base, Child, int)]
    everyone: list[Any] = [Base, Child, int, object()]  # more classes than names: the first ones
    for changed in (None, "__name__", "__qualname__", "__bases__", "equal"):
        if changed == "__bases__":
            Child.__bases__ = (Other,)
        elif changed == "equal":  # another str object of the same text: == compares equal
            Child.__bases__ = (Base,)
            Child.__name__ = "".join(["Chi", "ld"])
        elif changed is not None:
            setattr(Child, changed, "Renamed")
        expected = changed in (None, "equal")
        assert classes._same_names(everyone, names) is expected
        assert classes._python_same_names(everyone, names) is expected
        Child.__name__, Child.__qualname__ = names[1][0], names[1][1]
    assert classes._same_names(everyone[:1], names) is classes._python_same_names(everyone[:1], names) is False
    static = [int, str]  # not what a class statement makes: read as attributes
    assert classes._same_names(static, [_names(int), _names(str)]) is True
    assert classes._same_names(static, [_names(int), _names(int)]) is False


@pytest.mark.clause("PERF-CLASS-4")
def test_the_c_check_of_kept_lists_dicts_and_sets_is_the_python_one() -> None:
    if classes._all_as_made is classes._python_as_made:
        pytest.skip("phprt/engine/_speedups.c is not compiled here")

    class Kept:
        items = [1, 2.0]
        names = {"a": 1, "b": 2}
        empty: set[int] = set()
        annotated: dict[str, type] = {"items": list}

    class Holder:  # what a lane's copies name for the class: a _Kept, with its class's own dict
        type_dict = classes._type_dict(Kept)

    def answers(copies: list[Any]) -> bool:
        c, python = classes._all_as_made(copies), classes._python_as_made(copies)
        assert c is python
        return c

    lists = [(Holder, name, made, dump := classes._dumped(made), list(made) if dump is None else None, False)
             for name, made in [("items", [1, 2.0]), ("names", {"a": 1, "b": 2}), ("empty", set()),
                                ("annotated", {"items": list})]]
    assert answers(lists) is True
    held = Kept.items  # another reference: not the class's alone
    assert answers(lists) is False
    del held
    for change, undo in [
            (lambda: Kept.items.append(3), lambda: Kept.items.pop()),
            (lambda: Kept.items.__setitem__(0, True), lambda: Kept.items.__setitem__(0, 1)),  # == but not as made
            (lambda: Kept.names.update(a=Kept.names.pop("a")), lambda: Kept.names.update(b=Kept.names.pop("b"))),
            (lambda: Kept.empty.add(1), lambda: Kept.empty.clear()),
            (lambda: setattr(Kept, "empty", []), lambda: setattr(Kept, "empty", set())),
            (lambda: Kept.annotated.update(more=int), lambda: Kept.annotated.pop("more")),
            (lambda: setattr(Kept, "items", [object()]), lambda: setattr(Kept, "items", [1, 2.0])),  # marshal cannot
            (lambda: delattr(Kept, "names"), lambda: setattr(Kept, "names", {"a": 1, "b": 2}))]:
        change()
        assert answers(lists) is False
        undo()
        assert answers(lists) is True
    nested = [(Holder, "items", [[1]], classes._dumped([[1]]), None, True)]
    assert answers(nested) is False  # lists inside: always a new copy
    assert answers([]) is True


@pytest.mark.clause("PERF-CLASS-2", "PERF-CLASS-1", "PERF-CLASS-4")
def test_an_instance_kept_once_ends_are_compared_at_once_still_ends_the_lane(site: Path, lane_loops: str) -> None:
    (site / "quiet.py").write_text(QUIET)
    assert [served(site / "quiet.py", f"s={n}") for n in range(4)] == [b"child 0", b"child 1", b"child 2", b"child 3"]
    assert served(site / "quiet.py", "s=4&keep=1") == b"child 4"
    assert served(site / "quiet.py", "s=5") == b"child 5"
    kept = seen().kept[0]
    with pytest.raises(NameError):  # its request's globals are gone, and were not the next one's
        kept.name()
    classes = [ref() for ref in seen().classes]
    assert classes[4] is classes[0] and classes[5] is not classes[4]  # the lane ended with the request that kept it
    del classes, kept
    seen().kept.clear()
    gc.collect()
    assert seen().classes[4]() is None  # the ended lane, its code and its classes are freed


@pytest.mark.clause("PERF-CLASS-2", "PERF-CLASS-4")
def test_a_class_renamed_once_ends_are_compared_at_once_is_not_the_next_requests(site: Path, lane_loops: str) -> None:
    (site / "renamed.py").write_text(QUIET.replace(
        "echo(item.name()", "if _GET.get('rename'):\n    Child.__name__ = 'Renamed'\necho(Child.__name__, ' ', item.name()"))
    queries = ["s=0", "s=1", "s=2", "s=3&rename=1", "s=4", "s=5"]
    assert [served(site / "renamed.py", query) for query in queries] == [
        b"Child child 0", b"Child child 1", b"Child child 2", b"Renamed child 3", b"Child child 4", b"Child child 5"]


@pytest.mark.clause("PERF-CLASS-2", "PERF-CLASS-1", "PERF-CLASS-4")
def test_a_class_changed_once_ends_are_compared_at_once_is_set_back(site: Path, lane_loops: str) -> None:
    (site / "quiet.py").write_text(QUIET)
    queries = ["s=0", "s=1", "s=2", "s=3&flag=1", "s=4", "s=5"]
    assert [served(site / "quiet.py", query) for query in queries] == [
        b"child 0", b"child 1", b"child 2", b"child 3", b"child 4", b"child 5"]
    classes = [ref() for ref in seen().classes]
    assert all(cls is classes[0] for cls in classes)  # set back, not ended


@pytest.mark.clause("PERF-CLASS-2")
def test_a_base_named_outside_the_run_that_changed_makes_the_class_anew(site: Path) -> None:
    (site / "swap.py").write_text(
        "from phprt.php import *\nimport seen\n\nclass A:\n    pass\n\nclass Other:\n    pass\n\n"
        "if _GET.get('swap'):\n    A = Other\n\nclass B(A):\n    pass\n\necho(B.__bases__[0].__name__)\n")
    assert [served(site / "swap.py", query) for query in ("", "", "", "swap=1", "")] == [
        b"A", b"A", b"A", b"Other", b"A"]


@pytest.mark.clause("PERF-CLASS-2")
def test_a_lane_s_code_reports_what_the_script_s_own_reports(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A class statement that fails in a run: the same report, file and line, as where no lane runs.
    from phprt.engine import script as scripts

    path = site / "missing.py"
    path.write_text("from phprt.php import *\n\nclass A:\n    pass\n\nclass B(Missing):\n    pass\n")
    with_lanes = [served(path) for _ in range(3)]
    monkeypatch.setattr(classes, "lane_code", lambda tree, code, path, copied=None: None)
    monkeypatch.setattr(scripts, "_CODE", {})
    without = served(path)
    assert with_lanes == [without] * 3
    assert b"NameError" in without and f"{path}:6".encode() in without


@pytest.mark.clause("PERF-CLASS-2")
def test_a_script_holding_the_lane_s_own_string_gets_no_lanes() -> None:

    source = f"class A:\n    pass\n\nmark = {classes._LANE!r}\n"
    tree = compile(source, "t.py", "exec", _ast.PyCF_ONLY_AST)
    assert classes.lane_code(tree, compile(tree, "t.py", "exec", dont_inherit=True), "t.py", {}) is None
    plain = "class A:\n    pass\n"
    tree = compile(plain, "p.py", "exec", _ast.PyCF_ONLY_AST)
    made = classes.lane_code(tree, compile(tree, "p.py", "exec", dont_inherit=True), "p.py", {})
    assert made is not None and [name for (name, _, _), in made.runs] == ["A"]


@pytest.mark.clause("PERF-CLASS-3", "PERF-CLASS-1")
def test_a_ported_hierarchy_is_kept_and_each_request_has_php_s_answer(site: Path, builds: list[str]) -> None:
    # PHP (php -n -S, three requests): "1 2.5 nf H2\n" at each -- the static array starts empty every time
    (site / "shapes.py").write_text(HIERARCHY)
    assert [served(site / "shapes.py") for _ in range(4)] == [b"1 2.5 nf H2\n"] * 4
    assert builds == ["Shape", "Rect", "Square", "Tiny", "NotFound", "Suit", "Point"]  # made once: an ABC, three
    # deep, an exception, an Enum, a dataclass
    first, *later = (ref() for ref in seen().classes)
    assert all(cls is first for cls in later)


def _kept(site: Path, name: str, source: str, queries: list[str]) -> tuple[list[bytes], list[Any]]:
    # The bodies of ``queries`` served in turn from ``source``, and what each request recorded in ``seen``.
    (site / name).write_text(source)
    bodies = [served(site / name, query) for query in queries]
    return bodies, [ref() for ref in seen().classes]


@pytest.mark.clause("PERF-CLASS-3", "PERF-CLASS-4")
def test_a_kept_class_s_lists_and_dicts_are_as_made_at_every_request(site: Path, lane_loops: str) -> None:
    source = ("from phprt.php import *\nimport seen\nimport weakref\n\n"
              "class Registry:\n    items = [1, 2.0, -0.0]\n    names: dict = {'a': 1, 'b': 2}\n    tags = {'x'}\n"
              "    empty = []\n\n"
              "seen.classes.append(weakref.ref(Registry))\n"
              "echo(repr(Registry.items), repr(Registry.names), repr(Registry.tags), repr(Registry.__annotations__),"
              " repr(Registry.empty))\n"
              "change = _GET.get('change')\n"
              "if change == 'append':\n    Registry.items.append(3)\n"
              "if change == 'types':\n    Registry.items[0] = True\n    Registry.items[1] = 2\n    Registry.items[2] = 0.0\n"
              "if change == 'order':\n    del Registry.names['a']\n    Registry.names['a'] = 1\n"
              "if change == 'replace':\n    Registry.tags = 'other'\n    Registry.__annotations__['tags'] = set\n"
              "if change == 'delete':\n    del Registry.items\n"
              "if change == 'fill':\n    Registry.empty.append(1)\n"
              "if change == 'empty-set':\n    Registry.empty = set()\n")
    made = b"[1, 2.0, -0.0]{'a': 1, 'b': 2}{'x'}{'names': <class 'dict'>}[]"
    queries = ["", "change=append", "", "change=types", "", "change=order", "", "change=replace", "", "change=delete", "",
               "change=fill", "", "change=empty-set", ""]
    bodies, classes = _kept(site, "registry.py", source, queries)
    assert bodies == [made] * len(queries)  # each change, equal by == or not, gone by the next request
    assert all(cls is classes[0] for cls in classes)  # set back: the lane goes on


@pytest.mark.clause("PERF-CLASS-3")
def test_a_class_whose_annotation_names_another_object_is_made_anew(site: Path) -> None:
    source = ("from phprt.php import *\n\nNumber = float if _GET.get('float') else int\n\n"
              "class Price:\n    amount: Number = 0\n    def value(self) -> Number:\n        return self.amount\n\n"
              "echo(Price.__annotations__['amount'].__name__, Price.value.__annotations__['return'].__name__)\n")
    assert _kept(site, "price.py", source, ["", "", "float=1", ""])[0] == [b"intint", b"intint", b"floatfloat", b"intint"]


@pytest.mark.clause("PERF-CLASS-3")
def test_a_decorator_name_the_script_binds_itself_makes_the_class_as_python_does(site: Path) -> None:
    source = ("from phprt.php import *\n\nif _GET.get('own'):\n    def property(function):\n        return 'own'\n\n"
              "class Box:\n    @property\n    def size(self):\n        return 1\n\necho(Box().size)\n")
    assert _kept(site, "box.py", source, ["", "", "own=1", ""])[0] == [b"1", b"1", b"own", b"1"]


#: A plain class beside one each request makes as Python makes it (a dataclass), whose methods
#: read the namespace; ``keep`` keeps an instance of the latter, ``vars`` its class's dict.
MIXED = """from phprt.php import *
import seen
import weakref
from dataclasses import dataclass


class Plain:
    def name(self):
        return "plain " + secret


@dataclass
class Point:
    x: int = 0

    def label(self):
        return secret


secret = _GET.get("s", "-")
seen.classes.append(weakref.ref(Plain))
if _GET.get("keep"):
    seen.kept.append(Point())
if _GET.get("vars"):
    seen.kept.append(vars(Point))
echo(Plain().name(), " ", Point().label())
"""


@pytest.mark.clause("PERF-CLASS-3")
def test_a_class_each_request_makes_does_not_end_the_lane(site: Path) -> None:
    bodies, classes = _kept(site, "mixed.py", MIXED, [f"s={n}" for n in range(6)])
    assert bodies == [f"plain {n} {n}".encode() for n in range(6)]
    assert all(cls is classes[0] for cls in classes)


@pytest.mark.clause("PERF-CLASS-3", "PERF-CLASS-1")
@pytest.mark.parametrize("keep", ["keep", "vars"])
def test_a_class_each_request_makes_that_outlives_it_ends_the_lane(site: Path, keep: str) -> None:
    bodies, classes = _kept(site, "mixed.py", MIXED, ["s=1", f"s=2&{keep}=1", "s=3", "s=4"])
    assert bodies == [b"plain 1 1", b"plain 2 2", b"plain 3 3", b"plain 4 4"]
    kept = seen().kept[0]
    label = kept.label if keep == "keep" else (lambda: kept["label"](None))
    with pytest.raises(NameError):  # its request's globals are gone, and were not a later request's
        label()
    assert classes[1] is classes[0] and classes[2] is not classes[1] and classes[3] is classes[2]


@pytest.mark.clause("PERF-CLASS-3")
def test_a_class_whose_annotation_is_made_anew_at_every_request_leaves_the_others_kept(site: Path) -> None:
    # ``int | None`` is a new object at every request: Price is made anew each time, Plain stays kept
    source = ("from phprt.php import *\nimport seen\nimport weakref\n\nMaybe = int | None\n\n"
              "class Plain:\n    def name(self):\n        return 'plain'\n\n"
              "class Price:\n    amount: Maybe = None\n    def value(self) -> Maybe:\n        return self.amount\n\n"
              "seen.classes.append((weakref.ref(Plain), weakref.ref(Price)))\n"
              "echo(Plain().name(), ' ', Price.__annotations__['amount'] is Maybe)\n")
    (site / "maybe.py").write_text(source)
    assert [served(site / "maybe.py") for _ in range(4)] == [b"plain 1"] * 4
    plains = [plain() for plain, _ in seen().classes]
    assert all(plain is plains[0] for plain in plains)


@pytest.mark.clause("PERF-CLASS-3", "PERF-CLASS-4")
def test_a_kept_class_s_list_kept_past_its_request_is_not_the_next_request_s(site: Path, lane_loops: str) -> None:
    # as where each request makes its class: the list a request kept (as made: empty) is its own
    source = ("from phprt.php import *\nimport seen\n\nclass Registry:\n    items = []\n\n"
              "if _GET.get('keep'):\n    seen.kept.append(Registry.items)\nelse:\n    Registry.items.append(_GET['s'])\n"
              "echo(len(Registry.items))\n")
    assert _kept(site, "kept_list.py", source, ["s=1", "keep=1", "s=3", "s=4"])[0] == [b"1", b"0", b"1", b"1"]
    assert seen().kept == [[]]


#: A kept class whose property, static method, method's ``__class__`` cell or MRO a request may
#: keep (``keep``): each leads to a function that reads the request's globals.
LEADS = """from phprt.php import *
import seen
import weakref


class Base:
    def name(self):
        return secret


class Item(Base):
    @property
    def label(self):
        return secret

    @staticmethod
    def tool():
        return secret

    def upper(self):
        return super().name().upper()


secret = _GET.get("s", "-")
keep = _GET.get("keep")
if keep == "property":
    seen.kept.append(vars(Item)["label"])
elif keep == "static":
    seen.kept.append(vars(Item)["tool"])
elif keep == "cell":
    seen.kept.append(Item.upper.__closure__[0])
elif keep == "mro":
    seen.kept.append(Item.__mro__)
seen.classes.append(weakref.ref(Item))
echo(Item().label, Item.tool(), Item().upper())
"""

#: How a test calls what the request kept.
CALLS = {"property": lambda kept: kept.fget(None), "static": lambda kept: kept.__func__(),
         "cell": lambda kept: kept.cell_contents.tool(), "mro": lambda kept: kept[1]().name()}


@pytest.mark.clause("PERF-CLASS-3", "PERF-CLASS-1")
@pytest.mark.parametrize("keep", CALLS)
def test_what_leads_to_a_kept_class_kept_past_its_request_ends_the_lane(site: Path, keep: str) -> None:
    (site / "leads.py").write_text(LEADS)
    assert [served(site / "leads.py", query) for query in ("s=a", f"s=b&keep={keep}", "s=c")] == [
        b"aaA", b"bbB", b"ccC"]
    first, second, third = (ref() for ref in seen().classes)
    assert second is first and third is not second  # the lane ended with the request that kept it
    with pytest.raises(NameError):  # its request's globals are gone, and were not the next one's
        CALLS[keep](seen().kept[0])


@pytest.mark.clause("PERF-CLASS-3")
def test_a_kept_abc_a_request_registered_a_class_with_is_not_the_next_request_s(site: Path) -> None:
    source = ("from phprt.php import *\nfrom abc import ABC\n\nclass Shape(ABC):\n    pass\n\n"
              "echo(isinstance(1, Shape))\nif _GET.get('register'):\n    Shape.register(int)\n")
    assert _kept(site, "registered.py", source, ["", "register=1", "", ""])[0] == [b""] * 4


@pytest.mark.clause("PERF-CLASS-3")
def test_a_subclass_of_a_module_s_class_with_its_own_init_subclass_is_made_by_each_request(
        site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (site / "plugins.py").write_text("made = []\n\nclass Plugin:\n    def __init_subclass__(cls):\n"
                                     "        made.append(cls.__name__)\n")
    monkeypatch.delitem(__import__("sys").modules, "plugins", raising=False)
    source = "from phprt.php import *\nfrom plugins import Plugin, made\n\nclass Mine(Plugin):\n    pass\n\necho(len(made))\n"
    (site / "mine.py").write_text(source)
    assert [served(site / "mine.py") for _ in range(3)] == [b"1", b"2", b"3"]  # the hook runs as Python runs it


#: Scripts and the queries their requests are made of: each a value for ``s`` or something kept.
REPLAYED = {
    "counter.py": (COUNTER, ["keep=1", "keep_method=1", "keep_dict=1"]),
    "quiet.py": (QUIET, ["keep=1", "flag=1"]),
    "mixed.py": (MIXED, ["keep=1", "vars=1"]),
    "leads.py": (LEADS, [f"keep={keep}" for keep in CALLS]),
    "shapes.py": (HIERARCHY, []),
}


@pytest.mark.clause("PERF-CLASS-1", "PERF-CLASS-2", "PERF-CLASS-3")
@pytest.mark.parametrize("script", REPLAYED)
def test_lanes_change_no_answer(site: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same 40 requests, in an order drawn at random, served with lanes and then as Python
    # makes each class at every request: the same bodies.
    import random

    from phprt.engine import script as scripts

    source, extras = REPLAYED[script]
    (site / script).write_text(source)
    draw = random.Random(f"{script} 20261205")
    queries = [f"s={n}" + (f"&{draw.choice(extras)}" if extras and draw.random() < 0.15 else "") for n in range(40)]
    with_lanes = [served(site / script, query) for query in queries]
    monkeypatch.setattr(classes, "lane_code", lambda tree, code, path, copied=None: None)
    monkeypatch.setattr(scripts, "_CODE", {})
    assert [served(site / script, query) for query in queries] == with_lanes


@pytest.mark.clause("PERF-CLASS-1", "PERF-CLASS-2", "PERF-CLASS-3")
def test_generated_scripts_answer_alike_with_lanes_and_without(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 40 scripts of the class shapes ports write (tests/support/lanes.py), 12 requests each, half of
    # them changing a class or keeping something of it: served with lanes and then as Python
    # makes each class at every request, the same bodies -- and lanes did serve again.
    import random

    from phprt.engine import script as scripts

    made: list[None] = []
    init = Lane.__init__
    monkeypatch.setattr(Lane, "__init__", lambda self, *args: made.append(None) or init(self, *args))
    cases = []
    for number in range(40):
        draw = random.Random(f"lanes {number}")
        source, names = generated(draw)
        path = site / f"generated{number}.py"
        path.write_text(source)
        queries = [f"s={index}" + (f"&act={draw.choice(list(ACTIONS))}&t={draw.choice(names)}" if draw.random() < 0.5 else "")
                   for index in range(12)]
        cases.append((path, queries, [served(path, query) for query in queries]))
    assert len(made) < 40 * 12 // 2  # most requests took a lane an earlier one left
    monkeypatch.setattr(classes, "lane_code", lambda tree, code, path, copied=None: None)
    monkeypatch.setattr(scripts, "_CODE", {})
    for path, queries, with_lanes in cases:
        assert [served(path, query) for query in queries] == with_lanes, path.read_text()


#: An Enum (PHP 8.1's enum) whose member a request may change or keep.
SUITS = """from phprt.php import *
import seen
from enum import Enum


class Suit(Enum):
    H = "h"
    S = "s"

    def label(self):
        return self.value.upper() + secret


secret = _GET.get("s", "-")
if _GET.get("change"):
    Suit.H.extra = "changed"
if _GET.get("keep"):
    seen.kept.append(Suit.S)
echo(Suit("h").label(), " ", getattr(Suit.H, "extra", "-"), " ", ",".join(suit.name for suit in Suit))
"""


@pytest.mark.clause("PERF-CLASS-3")
def test_an_enum_is_kept_and_its_members_are_as_made_at_every_request(site: Path, builds: list[str]) -> None:
    bodies, _ = _kept(site, "suits.py", SUITS, ["s=1", "s=2&change=1", "s=3", "s=4&keep=1", "s=5"])
    assert bodies == [b"H1 - H,S", b"H2 changed H,S", b"H3 - H,S", b"H4 - H,S", b"H5 - H,S"]
    assert builds == ["Suit", "Suit"]  # made once, and again after the request that kept a member ended the lane
    with pytest.raises(NameError):  # the member kept reads its own request's globals, gone: not the next one's
        seen().kept[0].label()


@pytest.mark.clause("PERF-CLASS-1", "PERF-CLASS-3")
@pytest.mark.skipif(sys.version_info < (3, 12), reason="a class's type parameters are Python 3.12's syntax")
def test_a_generic_class_is_made_by_each_request_beside_kept_ones(site: Path) -> None:
    # ``class Box[T]:`` runs its body inside a function of its own: no class statement at the
    # script's top to keep, and none to look for (it stopped the lanes' code from being made)
    source = ("from phprt.php import *\nimport seen\nimport weakref\n\nclass Plain:\n    pass\n\n"
              "class Box[T]:\n    def get[U](self, value: U) -> U:\n        return value\n\n"
              "seen.classes.append(weakref.ref(Plain))\necho(Box().get('boxed'))\n")
    bodies, classes = _kept(site, "generic.py", source, ["", "", ""])
    assert bodies == [b"boxed"] * 3 and classes[0] is classes[1] is classes[2]


#: Dataclasses (``@dataclass``, with options) beside the classes their fields name.
DATACLASSES = """from phprt.php import *
import seen
import weakref
from dataclasses import dataclass


class Point:
    def __init__(self, x=0):
        self.x = x


@dataclass(frozen=True, order=True)
class Money:
    amount: int = 0
    currency: str = "EUR"


@dataclass
class Line:
    start: Point = None
    label: str = "l"

    def name(self):
        return self.label + secret


secret = _GET.get("s", "-")
seen.classes += [weakref.ref(Money), weakref.ref(Line)]
line = Line(Point(1))
if _GET.get("set"):
    Line.label = "changed"
echo(Money(5) < Money(7), " ", repr(Money(2)), " ", line.name(), " ", line.start.x, " ", Line.label, Line().label)
"""


@pytest.mark.clause("PERF-CLASS-3")
def test_a_dataclass_is_kept_as_its_decorator_made_it(site: Path, builds: list[str]) -> None:
    bodies, classes = _kept(site, "money.py", DATACLASSES, ["s=1", "s=2&set=1", "s=3", "s=4"])
    made = "1 Money(amount=2, currency='EUR') l{} 1 {}l"  # the default __init__ takes is the one made
    assert bodies == [made.format(1, "l").encode(), made.format(2, "changed").encode(), made.format(3, "l").encode(),
                      made.format(4, "l").encode()]
    assert builds == ["Point", "Money", "Line"]  # made once, decorated once
    assert all(cls is classes[0] for cls in classes[0::2]) and all(cls is classes[1] for cls in classes[1::2])


@pytest.mark.clause("PERF-CLASS-3")
def test_a_dataclass_the_lane_cannot_keep_is_made_by_each_request(site: Path) -> None:
    # ``slots=True`` makes another class; a ``dataclass`` of the script's own is not dataclasses'
    source = ("from phprt.php import *\nimport seen\nimport weakref\nfrom dataclasses import dataclass\n\n"
              "@dataclass(slots=True)\nclass Slotted:\n    x: int = 1\n\n"
              "if _GET.get('own'):\n    def dataclass(cls):\n        cls.own = True\n        return cls\n\n"
              "@dataclass\nclass Mine:\n    y: int = 2\n\n"
              "seen.classes.append(weakref.ref(Mine))\necho(Slotted().x, Mine().y if not _GET.get('own') else Mine.own)\n")
    bodies, classes = _kept(site, "slotted.py", source, ["", "", "own=1", ""])
    assert bodies == [b"12", b"12", b"11", b"12"]
    assert classes[0] is classes[1] and classes[2] is not classes[1]


@pytest.mark.clause("PERF-CLASS-3")
def test_a_class_annotated_with_another_kept_class_leaves_both_kept(site: Path) -> None:
    # Line's annotations (kept as made, to be set back) name Point: counted as Point's own references
    source = ("from phprt.php import *\nimport seen\nimport weakref\n\nclass Point:\n    pass\n\n"
              "class Line:\n    start: Point = None\n\n    def begin(self) -> Point:\n        return Point()\n\n"
              "seen.classes.append(weakref.ref(Point))\necho(Line.__annotations__['start'].__name__)\n")
    bodies, classes = _kept(site, "line.py", source, ["", "", ""])
    assert bodies == [b"Point"] * 3 and classes[0] is classes[1] is classes[2]


@pytest.mark.clause("PERF-CLASS-3")
def test_a_kept_dataclass_whose_run_is_not_bound_is_not_decorated_twice(
        site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Mine is never kept (its base has a hook of its own), so the run's statements run at each request:
    # the kept frozen dataclass is not given to @dataclass again, which would refuse it
    (site / "plug.py").write_text("class Plugin:\n    def __init_subclass__(cls):\n        pass\n")
    monkeypatch.delitem(sys.modules, "plug", raising=False)
    source = ("from phprt.php import *\nfrom dataclasses import dataclass\nfrom plug import Plugin\n\n"
              "@dataclass(frozen=True)\nclass Money:\n    amount: int = 0\n\nclass Mine(Plugin):\n    pass\n\n"
              "echo(Money(3).amount)\n")
    assert _kept(site, "frozen.py", source, ["", "", ""])[0] == [b"3"] * 3
