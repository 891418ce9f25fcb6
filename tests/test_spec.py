"""spec/ and the tests agree: every clause is checked, every reference is known."""

from __future__ import annotations

import re

from phprt.conformance.cases import load_cases
from tests.support import ROOT
from tests.support.spec import defined_clauses


def references(text: str) -> list[str]:
    """The clause IDs a text cites: words shaped like an ID whose prefix some clause has
    (so "UTF-8" is no reference), whole (CONF-FPM-1 is not read as FPM-1)."""
    prefixes = "|".join(sorted({clause.split("-")[0] for clause in defined_clauses()}))
    return re.findall(rf"(?<![\w-])((?:{prefixes})(?:-[A-Z0-9]+)*-\d+)\b", text)


def clauses_tested() -> set[str]:
    tested = {clause for case in load_cases() for clause in case.clauses}
    for path in (ROOT / "tests").rglob("test_*.py"):
        for marker in re.findall(r'clause\(([^)]*)\)', path.read_text()):
            tested.update(re.findall(r'"([A-Z0-9-]+)"', marker))
    return tested


def test_clauses_exist() -> None:
    assert len(defined_clauses()) > 50


def test_every_clause_is_tested() -> None:
    untested = sorted(set(defined_clauses()) - clauses_tested())
    assert not untested, f"clauses without a case or test: {untested}"


def test_tests_name_only_known_clauses() -> None:
    unknown = sorted(clauses_tested() - set(defined_clauses()))
    assert not unknown, f"tests name unknown clauses: {unknown}"


def test_code_cites_only_known_clauses() -> None:
    known = set(defined_clauses())
    for path in (ROOT / "phprt").rglob("*.py"):
        for reference in references(path.read_text()):
            assert reference in known, f"{path.name} cites unknown clause {reference}"

