"""print_r, var_dump and var_export (phprt/output/dump.py) beyond what the conformance cases
(spec/cases/dump.toml) can express: structures that contain themselves, objects with
properties and their var_dump handles, and the Python side of the mapping (DUMP-MAP-1).

Every PHP expectation below was printed by PHP 8.2.36 (``php -n``) running the PHP in the
comment beside it; the Python values are the mapping's counterparts.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from phprt import MemoryTransport, Runtime
from phprt.output.dump import php_key, print_r_text, var_dump_pieces, var_export_text

CIRCULAR = "Warning: var_export does not handle circular references"


def run(calls: Any, **ini: str) -> tuple[bytes, list[Any]]:
    transport = MemoryTransport()
    with Runtime(transport=transport, ini=ini) as rt:
        results = calls(rt)
    return transport.body, results


def self_containing_list() -> list[Any]:
    items: list[Any] = [1]
    items.append(items)  # PHP: $x = [1]; $x[] = &$x;
    return items


def self_containing_object() -> SimpleNamespace:
    obj = SimpleNamespace(a=1)  # PHP: $o = new stdClass; $o->a = 1; $o->self = $o; $o->list = [$o];
    obj.self = obj
    obj.list = [obj]
    return obj


@pytest.mark.clause("DUMP-RECURSION-1")
def test_a_list_that_contains_itself_is_printed_as_php_prints_a_recursive_array() -> None:
    # echo json_encode([print_r($x, true), var_export($x, true)]);
    body, results = run(lambda rt: [rt.print_r(self_containing_list(), True),
                                    rt.var_export(self_containing_list(), True)])
    assert results == ["Array\n(\n    [0] => 1\n    [1] => Array\n *RECURSION*\n)\n", "array (\n  0 => 1,\n  1 => NULL,\n)"]
    assert body.count(CIRCULAR.encode()) == 1  # once, for var_export
    # ob_start(); var_dump($x); echo json_encode(ob_get_clean());
    assert "".join(var_dump_pieces(self_containing_list())) == "array(2) {\n  [0]=>\n  int(1)\n  [1]=>\n  *RECURSION*\n}\n"


@pytest.mark.clause("DUMP-RECURSION-1")
def test_an_object_that_refers_to_itself_is_printed_as_php_prints_one() -> None:
    body, results = run(lambda rt: [rt.print_r(self_containing_object(), True),
                                    rt.var_export(self_containing_object(), True)])
    assert results == [
        "stdClass Object\n(\n    [a] => 1\n    [self] => stdClass Object\n *RECURSION*\n    [list] => Array\n"
        "        (\n            [0] => stdClass Object\n *RECURSION*\n        )\n\n)\n",
        "(object) array(\n   'a' => 1,\n   'self' => NULL,\n   'list' => \n  array (\n    0 => NULL,\n  ),\n)",
    ]
    assert body.count(CIRCULAR.encode()) == 2  # PHP warns at each place
    assert "".join(var_dump_pieces(self_containing_object())) == (
        'object(stdClass)#1 (3) {\n  ["a"]=>\n  int(1)\n  ["self"]=>\n  *RECURSION*\n  ["list"]=>\n'
        "  array(1) {\n    [0]=>\n    *RECURSION*\n  }\n}\n"
    )


@pytest.mark.clause("DUMP-RECURSION-1")
def test_the_same_array_twice_side_by_side_is_no_recursion() -> None:
    # $z = [1]; print_r([$z, $z]);
    same = [1]
    assert print_r_text([same, same]) == (
        "Array\n(\n    [0] => Array\n        (\n            [0] => 1\n        )\n\n"
        "    [1] => Array\n        (\n            [0] => 1\n        )\n\n)\n"
    )


@pytest.mark.clause("DUMP-VAR-DUMP-1", "DEV-DUMP-HANDLE-1")
def test_var_dump_numbers_objects_in_the_order_it_meets_them() -> None:
    # $o = ... (#1); $p = new stdClass; $p->a = 1; $p->b = new stdClass; $p->b->c = [new stdClass];
    # var_dump($o); var_dump($p); var_dump($p->b);
    inner = SimpleNamespace(c=[SimpleNamespace()])
    outer = SimpleNamespace(a=1, b=inner)
    body, _ = run(lambda rt: [rt.var_dump(self_containing_object()), rt.var_dump(outer), rt.var_dump(inner)])
    assert body.decode().split("}\n}\n", 1)[1] == (
        'object(stdClass)#2 (2) {\n  ["a"]=>\n  int(1)\n  ["b"]=>\n  object(stdClass)#3 (1) {\n    ["c"]=>\n'
        "    array(1) {\n      [0]=>\n      object(stdClass)#4 (0) {\n      }\n    }\n  }\n}\n"
        'object(stdClass)#3 (1) {\n  ["c"]=>\n  array(1) {\n    [0]=>\n    object(stdClass)#4 (0) {\n    }\n  }\n}\n'
    )


@pytest.mark.clause("DUMP-VAR-DUMP-2")
def test_var_dump_writes_an_object_in_php_s_pieces() -> None:
    # function h($b, $p) { global $s; $s[] = $b; return ""; }
    # ob_start('h', 1); var_dump($o); var_dump($p); ob_end_clean(); echo json_encode($s);  (#2 pieces shown)
    seen: list[str] = []

    def handler(buffer: str, phase: int) -> str:
        seen.append(buffer)
        return ""

    outer = SimpleNamespace(a=1, b=SimpleNamespace(c=[SimpleNamespace()]))
    run(lambda rt: [rt.var_dump(self_containing_object()), rt.ob_start(handler, 1), rt.var_dump(outer), rt.ob_end_clean()])
    assert seen == [
        "object(stdClass)#2 (2) {\n", "  [", '"', "a", '"', "]=>\n", "  ", "int(1)\n", "  [", '"', "b", '"', "]=>\n",
        "  ", "object(stdClass)#3 (1) {\n", "    [", '"', "c", '"', "]=>\n", "    ", "array(1) {\n", "      [0]=>\n",
        "      ", "object(stdClass)#4 (0) {\n", "      ", "}\n", "    ", "}\n", "  ", "}\n", "}\n", "",
    ]


class Point:
    """A class of the port: PHP's ``class Point { public $x = 1; public $y = [2]; }``."""

    def __init__(self) -> None:
        self.x = 1
        self.y = [2]


@pytest.mark.clause("DUMP-MAP-1", "DUMP-PRINT-R-1", "DUMP-VAR-EXPORT-1")
def test_a_python_object_is_a_php_object_of_its_class_with_its_attributes() -> None:
    # print_r(new Point); var_export(new Point); var_dump(new Point);
    assert print_r_text(Point()) == "Point Object\n(\n    [x] => 1\n    [y] => Array\n        (\n            [0] => 2\n        )\n\n)\n"
    assert var_export_text(Point()) == "\\Point::__set_state(array(\n   'x' => 1,\n   'y' => \n  array (\n    0 => 2,\n  ),\n))"
    assert "".join(var_dump_pieces(Point(), handle=lambda obj: 1)) == (
        'object(Point)#1 (2) {\n  ["x"]=>\n  int(1)\n  ["y"]=>\n  array(1) {\n    [0]=>\n    int(2)\n  }\n}\n'
    )


@pytest.mark.clause("DUMP-MAP-1")
def test_an_underscore_property_is_a_property() -> None:
    # $o = new stdClass; $o->_a = 1; print_r($o);  -- and serialize() writes it too
    assert print_r_text(SimpleNamespace(_a=1)) == "stdClass Object\n(\n    [_a] => 1\n)\n"


@pytest.mark.clause("DUMP-VAR-EXPORT-1")
def test_var_export_escapes_property_names() -> None:
    # var_export_basic9.phpt: $x = new stdClass(); $x->{"'\\"} = 7; echo var_export($x);
    assert var_export_text(SimpleNamespace(**{"'\\": 7})) == "(object) array(\n   '\\'\\\\' => 7,\n)"


@pytest.mark.clause("DUMP-MAP-1", "DEV-DUMP-KEYS-1")
def test_dict_keys_become_the_keys_php_stores() -> None:
    # var_dump(["1" => 1, "-1" => 2, "-0" => 3, "9223372036854775807" => 4, "9223372036854775808" => 5,
    #           " 1" => 6, "1.5" => 7, true => 8, null => 9]);  -- true lands on key 1
    assert [php_key(k) for k in ["1", "-1", "-0", "9223372036854775807", "9223372036854775808", " 1", "1.5", True,
                                 None, "05", b"7", 2.9]] == [
        1, -1, "-0", 9223372036854775807, "9223372036854775808", " 1", "1.5", 1, "", "05", 7, 2]
    assert print_r_text({1: "int", "1": "str"}) == "Array\n(\n    [1] => int\n    [1] => str\n)\n"  # DEV-DUMP-KEYS-1
    assert print_r_text({b"\xff": (1,), 3: ()}) == "Array\n(\n    [\udcff] => Array\n        (\n            [0] => 1\n        )\n\n    [3] => Array\n        (\n        )\n\n)\n"


@pytest.mark.clause("DUMP-MAP-1", "DUMP-FLOAT-1")
def test_an_int_beyond_64_bits_is_the_float_php_makes_of_it() -> None:
    # var_dump(18446744073709551616, 1e400); print_r(18446744073709551616); var_export(18446744073709551616);
    assert var_dump_pieces(2**64) == ["float(1.8446744073709552E+19)\n"]
    assert var_dump_pieces(10**400) == ["float(INF)\n"]
    assert print_r_text(2**64) == "1.844674407371E+19"
    assert var_export_text(2**64) == "1.8446744073709552E+19"


@pytest.mark.clause("DUMP-PRINT-R-2", "DUMP-VAR-EXPORT-2")
def test_return_mode_writes_nothing() -> None:
    body, results = run(lambda rt: [rt.print_r([1], True), rt.var_export([1], True)])
    # $r = print_r([1], true); var_dump($r); $r = var_export([1], true); var_dump($r);
    assert results == ["Array\n(\n    [0] => 1\n)\n", "array (\n  0 => 1,\n)"]
    assert body == b""


@pytest.mark.clause("PERF-DUMP-1", "DUMP-VAR-DUMP-2")
@pytest.mark.parametrize("traced", [False, True])
def test_var_dump_into_a_plain_buffer_appends_the_pieces_it_writes_elsewhere(traced: bool,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # php -n: ob_start(); var_dump(["a" => "", "" => 1]); gives
    #   array(2) {\n  ["a"]=>\n  string(0) ""\n  [""]=>\n  int(1)\n}\n
    # and into ob_start(function ($b, $p) { return "[" . $b . "]"; }, 1) each piece is a write of its own:
    #   [array(2) {\n][  ["][a]["]=>\n][  ][string(0) "]["\n][  ["]["]=>\n][  ][int(1)\n][}\n][]
    from phprt.output.stack import OutputStack

    writes: list[object] = []
    write = OutputStack.write

    def counted(stack: OutputStack, data: bytes | str) -> None:
        writes.append(data)
        write(stack, data)

    monkeypatch.setattr(OutputStack, "write", counted)
    value = {"a": "", "": 1}
    transport = MemoryTransport()
    with Runtime(transport=transport, trace=traced) as rt:
        rt.ob_start()
        rt.var_dump(value)
        assert rt.ob_get_clean() == 'array(2) {\n  ["a"]=>\n  string(0) ""\n  [""]=>\n  int(1)\n}\n'
        assert len(writes) == (12 if traced else 0)  # a trace sees each write; else the pieces are appended
        rt.ob_start(lambda buffer, phase: "[" + buffer + "]", 1)
        rt.var_dump(value)
        rt.ob_end_flush()
    assert transport.body == (b'[array(2) {\n][  ["][a]["]=>\n][  ][string(0) "]["\n][  ["]["]=>\n][  ][int(1)\n]'
                              b'[}\n][]')
