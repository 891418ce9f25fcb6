"""The porting differences (spec/porting.md) and the recipes docs/porting.md gives for them.
Each expected PHP value was printed by ``php -n`` (PHP 8.2.36) running the PHP quoted beside it."""

from __future__ import annotations

import pytest

from phprt import MemoryTransport, Runtime


@pytest.mark.clause("DEV-PORT-ECHO-1")
def test_echo_evaluates_every_argument_first() -> None:
    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:

        def f() -> str:
            rt.echo("X")
            return "f"

        rt.echo("a", f(), "b", "|")  # PHP's echo "a", f(), "b"; prints "aXfb"
        rt.echo("a")  # the port that keeps PHP's order: one echo per argument
        rt.echo(f())
        rt.echo("b")
    assert transport.body == b"Xafb|aXfb"


@pytest.mark.clause("DEV-PORT-ARRAY-1")
def test_php_arrays_as_dicts() -> None:
    # PHP: ["1" => "one", 1 => "uno", true => "yes", "x" => 2] is [1 => "yes", "x" => 2]
    array = {"1": "one", 1: "uno", True: "yes", "x": 2}  # noqa: F601 - the point: Python merges 1 and True
    assert array == {"1": "one", 1: "yes", "x": 2}
    with pytest.raises(KeyError):
        array["nope"]  # PHP: Warning: Undefined array key "nope", and null
    assert array.get("nope", "default") == "default"  # PHP: $a["nope"] ?? "default"
    assert list(array) == ["1", 1, "x"]  # insertion order, as PHP's


@pytest.mark.clause("DEV-PORT-IMPLODE-1")
def test_implode_of_a_dict() -> None:
    values = {"k": 1.0, "j": True, "n": None, "f": 0.1 + 0.2}
    assert ",".join(values) == "k,j,n,f"  # the keys
    with Runtime(transport=MemoryTransport()) as rt:
        # PHP: implode(",", ["k" => 1.0, "j" => true, "n" => null, "f" => 0.1 + 0.2]) is "1,1,,0.3"
        assert ",".join(rt.sprintf("%s", value) for value in values.values()) == "1,1,,0.3"


@pytest.mark.clause("DEV-PORT-CAST-1")
def test_casts() -> None:
    with pytest.raises(ValueError):
        int("12abc")
    with Runtime(transport=MemoryTransport()) as rt:
        # PHP: (int)"abc", (int)"12abc", (int)"1e3", (int)"1e30", (int)12.9, (int)null, (int)" 7 "
        values = ["abc", "12abc", "1e3", "1e30", 12.9, None, " 7 "]
        assert [int(rt.sprintf("%d", value)) for value in values] == [0, 12, 1000, 9223372036854775807, 12, 0, 7]
        assert float(rt.sprintf("%.17g", "1.5x")) == 1.5  # PHP: (float)"1.5x"
        assert (rt.sprintf("%s", 1.0), rt.sprintf("%s", True)) == ("1", "1")  # PHP: (string)1.0, (string)true


@pytest.mark.clause("DEV-PORT-BYTES-1")
def test_strings_are_bytes() -> None:
    assert (len("é"), len("é".encode())) == (1, 2)  # PHP: strlen("é") is 2
    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:
        binary = rt.sprintf("%c%c", 0xFF, 0xFE)  # not UTF-8
        assert binary == "\udcff\udcfe"
        rt.echo(binary)
    assert transport.body == b"\xff\xfe"
