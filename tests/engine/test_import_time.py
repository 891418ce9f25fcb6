"""Importing phprt does no work a request may not need (PERF-IMPORT-1): the value classes
are records that behave as the dataclasses they were, a function's arity is the one
inspect.signature() gives, a plain ``run`` command line is read as argparse reads it, and a
plain request imports none of the modules only some requests use."""

from __future__ import annotations

import inspect
import zlib
from dataclasses import FrozenInstanceError, dataclass, field
from pathlib import Path
from typing import Any

import pytest

import phprt.php  # noqa: F401 (registers every PHP function)
from phprt.__main__ import _parser, _plain_run
from phprt.engine.diagnostics import Diagnostic
from phprt.engine.functions import _CLAUSE, FUNCTIONS, _arity
from phprt.engine.ini import IniSource, SapiProfile
from phprt.engine.ini_scanner import IniEntry, IniResult
from phprt.engine.records import field as record_field
from phprt.engine.records import record, replace
from phprt.engine.trace import Event
from phprt.http.headers import ResponseHead
from tests.support import python


@record(frozen=True)
class Frozen:
    level: int
    name: str = "x"
    note: str = record_field(default="", compare=False, repr=False)
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class FrozenDataclass:
    level: int
    name: str = "x"
    note: str = field(default="", compare=False, repr=False)
    tags: tuple[str, ...] = ()


@record
class Plain:
    entries: list[int] = record_field(default_factory=list)
    error: str | None = None


@dataclass
class PlainDataclass:
    entries: list[int] = field(default_factory=list)
    error: str | None = None


@pytest.mark.clause("PERF-IMPORT-1")
def test_a_record_behaves_as_the_dataclass_it_was() -> None:
    one, two = Frozen(1, "a", "left out"), FrozenDataclass(1, "a", "left out")
    assert repr(one).replace("Frozen", "FrozenDataclass", 1) == repr(two)
    assert one == Frozen(1, "a") and one != Frozen(2, "a") and hash(one) == hash(Frozen(1, "a"))
    assert one != two and (one == 1) is False  # type: ignore[comparison-overlap] # another class is never equal
    assert replace(one, name="b") == Frozen(1, "b") and Frozen.name == FrozenDataclass.name == "x"
    with pytest.raises(AttributeError):
        one.level = 2  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        two.level = 2  # type: ignore[misc]
    plain, other = Plain(), Plain()
    plain.entries.append(1)
    assert other.entries == [] and repr(plain) == repr(PlainDataclass([1])).replace("PlainDataclass", "Plain")
    assert plain == Plain([1]) and Plain.__hash__ is None is PlainDataclass.__hash__
    with pytest.raises(TypeError):
        Plain([], None, 3)


@record
class Child(Plain):
    extra: int = 0
    error: str | None = "again"  # named again: its place kept, its default the new one


@dataclass
class ChildDataclass(PlainDataclass):
    extra: int = 0
    error: str | None = "again"


@pytest.mark.clause("PERF-IMPORT-1")
def test_a_record_s_subclass_takes_its_fields_first_as_a_dataclass_s_does() -> None:
    child = Child([1], extra=2)
    assert repr(child) == repr(ChildDataclass([1], extra=2)).replace("ChildDataclass", "Child")
    assert repr(child) == "Child(entries=[1], error='again', extra=2)"
    assert child == Child([1], "again", 2) and child != Plain([1], "again") and replace(child, extra=3).extra == 3
    assert Child().entries == [] and Child().entries is not Child().entries
    with pytest.raises(TypeError):
        Child([], None, 3, 4)


@pytest.mark.clause("PERF-IMPORT-1")
def test_phprt_records_keep_their_fields() -> None:
    diagnostic = Diagnostic(2, "boom", "f.py", 3, backtrace="trace")
    assert diagnostic == Diagnostic(2, "boom", "f.py", 3) and repr(diagnostic) == \
        "Diagnostic(level=2, message='boom', file='f.py', line=3)"
    head = ResponseHead(200, "OK", ("A: b",))
    assert replace(head, charset="latin-1") == ResponseHead(200, "OK", ("A: b",), "latin-1")
    assert IniSource().values == {} and IniSource().values is not IniSource().values
    assert SapiProfile("cgi") == SapiProfile("cgi", {}) and IniEntry("a", "1") != IniEntry("a", "2")
    assert IniResult().entries == [] and not hasattr(Event(1, 0.0, "k", None, None, None, (), "p", 0, (), False, 0, 0),
                                                     "__dict__")


@pytest.mark.clause("PERF-IMPORT-1", "RT-REGISTRY-1")
def test_the_arity_is_what_inspect_reads() -> None:
    for entry in FUNCTIONS:
        parameters = list(inspect.signature(entry.function).parameters.values())[1:]
        required = sum(1 for p in parameters if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD)
        variadic = any(p.kind is p.VAR_POSITIONAL for p in parameters)
        assert (entry.min_args, entry.max_args) == (required, None if variadic else len(parameters)), entry.name
        assert entry.clauses == tuple(dict.fromkeys(_CLAUSE.findall(inspect.unwrap(entry.function).__doc__ or "")))

    def method(self: Any, a: Any, /, b: Any, c: Any = 1, *, d: Any, **e: Any) -> None: ...
    assert _arity(method) == (1, 5)


@pytest.mark.clause("PERF-IMPORT-1", "RT-RUN-1")
@pytest.mark.parametrize("argv", [
    ["run", "s.py"], ["run", "s.py", "-d", "x", "--sapi", "cgi"], ["run", "--sapi", "cgi", "-d", "a=1", "-d", "b=2", "s.py"],
    ["run", "-n", "-c", "production", "--php-version", "8.4", "s.py", "a", "--b"], ["run", "--ini", "s.py"],
    ["run", "", "x"], ["run", "-d", "a b=c", "s.py"],
])
def test_a_plain_run_line_is_read_as_argparse_reads_it(argv: list[str]) -> None:
    plain = _plain_run(argv)
    assert plain is not None and vars(plain) == vars(_parser().parse_args(argv))


@pytest.mark.clause("PERF-IMPORT-1")
@pytest.mark.parametrize("argv", [
    ["run"], ["run", "-"], ["run", "--sapi=cgi", "s.py"], ["run", "--sapi", "nope", "s.py"], ["run", "-d", "-1", "s.py"],
    ["run", "-ds", "s.py"], ["run", "--sa", "cgi", "s.py"], ["run", "-h"], ["serve", "."], ["run", "--", "s.py"],
])
def test_any_other_line_is_left_to_argparse(argv: list[str]) -> None:
    assert _plain_run(argv) is None


@pytest.mark.clause("PERF-IMPORT-1")
def test_a_plain_run_imports_only_what_it_uses(tmp_path: Path) -> None:
    script = tmp_path / "modules.py"
    script.write_text("import sys\nfrom phprt.php import *\n"
                      "echo(' '.join(m for m in ('dataclasses', 'subprocess', 'decimal', 'argparse', 'tempfile', 'random',"
                      " 'ast', 'mmap', 'phprt.engine.trace', 'phprt.output.urlrewriter', 'phprt.output.zlib')"
                      " if m in sys.modules))\n")
    done = python("-S", "-m", "phprt", "run", "-d", "display_errors=1", str(script))
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


@pytest.mark.clause("PERF-IMPORT-1")
def test_the_command_freezes_what_its_imports_made_and_import_does_not(tmp_path: Path) -> None:
    script = tmp_path / "frozen.py"
    script.write_text("import gc\nfrom phprt.php import *\necho(gc.get_freeze_count() > 10000)\n")
    done = python("-m", "phprt", "run", str(script))
    assert (done.returncode, done.stdout, done.stderr) == (0, b"1", b"")
    # importing freezes nothing: as many frozen as the bare interpreter has (none before Python 3.12)
    bare = python("-c", "import gc; print(gc.get_freeze_count())").stdout
    assert python("-c", "import gc, phprt.php; print(gc.get_freeze_count())").stdout == bare


@pytest.mark.clause("PERF-IMPORT-1", "OUT-REWRITE-1", "FILE-READFILE-1", "OUT-GZIP-1", "OUT-GZIP-4")
def test_what_is_loaded_when_used_works_in_a_fresh_command(tmp_path: Path) -> None:
    # Recorded: php -n a.php, and php-cgi -n with HTTP_ACCEPT_ENCODING=gzip for b.php (PHP 8.2.36).
    (tmp_path / "data.txt").write_text("from the file\n")
    (tmp_path / "a.py").write_text("import os\nfrom phprt.php import *\noutput_add_rewrite_var('s', '1')\n"
                                   "echo('<form action=\"page.php\"></form>', '\\n')\n"
                                   "readfile(os.path.join(os.path.dirname(__file__), 'data.txt'))\n")
    (tmp_path / "b.py").write_text("from phprt.php import *\nob_start('ob_gzhandler')\necho('a' * 10, '\\n')\n")
    cli = python("-m", "phprt", "run", str(tmp_path / "a.py"))
    assert (cli.returncode, cli.stdout, cli.stderr) == (
        0, b'<form action="page.php"><input type="hidden" name="s" value="1" /></form>\nfrom the file\n', b"")
    cgi = python("-m", "phprt", "run", "--sapi", "cgi", str(tmp_path / "b.py"), HTTP_ACCEPT_ENCODING="gzip")
    head, _, body = cgi.stdout.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[1:] == [b"Content-Encoding: gzip", b"Vary: Accept-Encoding",
                                       b"Content-type: text/html; charset=UTF-8"]
    assert zlib.decompress(body, 31) == b"aaaaaaaaaa\n" and cgi.stderr == b""
