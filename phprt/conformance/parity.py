"""The php-src parity tables, generated (CONF-PARITY-1).

Each family of php-src tests (``tests/output/``, the header and cookie tests, the printf
family, ...) has a data file, ``spec/parity/<family>.toml``, that lists every test of the
family with its title and what cannot be derived: for a test no case covers, its status and
reason (``not applicable: ...``, ``deviation DEV-...: ...``, ``later: ...``); for a covered one,
an optional note, pytest tests that check it too, and remarks on how a case covers it. Which
cases cover a test is derived, never typed: a case names the php-src tests it ports in its
``phpt = [...]`` list (paths from php-src's root). From both, this module writes
``spec/parity-tests-<family>.md``, byte for byte as checked in::

    python -m phprt.conformance parity            # report the tables that are out of date
    python -m phprt.conformance parity --write    # write them

``problems()`` lists what makes the data inconsistent; tests/conformance/test_parity.py fails on
each, and on a checked-in table that differs from what ``render()`` writes.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cases import Case, SpecNotFound, clause_files, find_spec, load_cases

#: The kinds of status, in the order the counts line gives them.
KINDS = ("covered", "not applicable", "deviation", "later")
#: A reason for a test no case covers.
REASON = re.compile(r"^(not applicable|deviation (DEV-[A-Z0-9-]+-\d+)|later): \S")
#: A pytest test a family's data names: a file under tests/, optionally ``::`` a function.
PYTEST = re.compile(r"^tests/[\w/]+\.py(?:::(\w+))?$")
#: A case cited anywhere in a table's prose.
CITED = re.compile(r"`case:([a-z0-9-]+)`")


@dataclass
class Entry:
    """One php-src test of a family: NAME is its path under the family's root."""

    name: str
    title: str
    status: str = ""  # the reason, when no case and no pytest test covers it
    note: str = ""  # what follows the covering list
    tests: list[str] = field(default_factory=list)  # pytest tests that check it too
    remarks: dict[str, str] = field(default_factory=dict)  # case id or pytest test -> how it covers


@dataclass
class Family:
    stem: str  # output, headers, ...: spec/parity/<stem>.toml, spec/parity-tests-<stem>.md
    heading: str
    root: str  # the folder the names are under in php-src ("tests/output/"), or ""
    columns: list[str]
    intro: str
    footer: str
    entries: list[Entry]

    def path(self, entry: Entry) -> str:
        """ENTRY's path from php-src's root: what a case's ``phpt`` list names."""
        return self.root + entry.name


def load_families(spec: Path) -> list[Family]:
    """Every family of SPEC/parity/*.toml, by file name."""
    families = []
    for path in sorted((spec / "parity").glob("*.toml")):
        data: dict[str, Any] = tomllib.loads(path.read_text())
        entries = [Entry(**test) for test in data.get("test", [])]
        families.append(Family(path.stem, data["heading"], data.get("root", ""), data["columns"],
                               data["intro"].strip(), data.get("footer", "").strip(), entries))
    return families


def coverage(cases: list[Case]) -> dict[str, list[str]]:
    """php-src test path -> the ids of the cases that port it, in the corpus's order."""
    covering: dict[str, list[str]] = {}
    for case in cases:
        for phpt in case.phpt:
            covering.setdefault(phpt, [])
            if case.id not in covering[phpt]:
                covering[phpt].append(case.id)
    return covering


def _with_remark(reference: str, remark: str) -> str:
    return f"`{reference}` ({remark})" if remark else f"`{reference}`"


def status(entry: Entry, cases: list[str]) -> tuple[str, str]:
    """ENTRY's kind (one of KINDS) and its status cell, given the cases that cover it."""
    if cases or entry.tests:
        covering = [_with_remark(f"case:{case}", entry.remarks.get(case, "")) for case in cases]
        covering += [_with_remark(test, entry.remarks.get(test, "")) for test in entry.tests]
        cell = "covered: " + ", ".join(covering)
        return "covered", cell + (f"; {entry.note}" if entry.note else "")
    match = REASON.match(entry.status)
    kind = match.group(1).split(" DEV-")[0] if match else "later"
    return kind, entry.status


def render(family: Family, covering: dict[str, list[str]]) -> str:
    """The Markdown table of FAMILY, its counts first."""
    counts = dict.fromkeys(KINDS, 0)
    rows = []
    for entry in family.entries:
        kind, cell = status(entry, covering.get(family.path(entry), []))
        counts[kind] += 1
        rows.append(f"| `{entry.name}` | {entry.title} | {cell} |")
    tally = ", ".join(f"{number} {kind}" for kind, number in counts.items())
    lines = [f"# {family.heading}", "", family.intro, "",
             f"Counts: {len(rows)} rows -- {tally}.", "",
             f"Generated by `python -m phprt.conformance parity --write` from `parity/{family.stem}.toml` and the",
             "cases' `phpt` lists (CONF-PARITY-1): edit those, not this file.", "",
             "| " + " | ".join(family.columns) + " |", "|" + "---|" * len(family.columns), *rows]
    if family.footer:
        lines += ["", family.footer]
    return "\n".join(lines) + "\n"


def table_path(spec: Path, family: Family) -> Path:
    return spec / f"parity-tests-{family.stem}.md"


def _pytest_exists(reference: str, root: Path) -> bool:
    match = PYTEST.match(reference)
    if not match:
        return False
    module = root / reference.split("::")[0]
    if not module.is_file():
        return False
    function = match.group(1)
    return function is None or re.search(rf"^\s*(?:async\s+)?def {function}\(", module.read_text(), re.M) is not None


def problems(spec: Path, families: list[Family], cases: list[Case]) -> list[str]:
    """Everything that makes the families and the cases' metadata disagree."""
    found: list[str] = []
    covering = coverage(cases)
    ids = {case.id for case in cases}
    deviations = {clause for clause in clause_files(spec) if clause.startswith("DEV-")}
    listed: dict[str, str] = {}
    for family in families:
        for entry in family.entries:
            path, where = family.path(entry), f"{family.stem}: {entry.name}"
            if path in listed:
                found.append(f"{where}: listed twice (also in {listed[path]})")
            listed[path] = family.stem
            cases_here = covering.get(path, [])
            covered = bool(cases_here or entry.tests)
            if covered and entry.status:
                found.append(f"{where}: covered by {cases_here or entry.tests}, yet given the status {entry.status!r}")
            if not covered and not REASON.match(entry.status):
                found.append(f"{where}: no case covers it and it has no status "
                             "('not applicable: ...', 'deviation DEV-...: ...' or 'later: ...')")
            if not covered and entry.note:
                found.append(f"{where}: a note on a test nothing covers (say it in the status)")
            match = REASON.match(entry.status)
            if match and match.group(2) and match.group(2) not in deviations:
                found.append(f"{where}: {match.group(2)} is no DEV clause in spec/")
            for test in entry.tests:
                if not _pytest_exists(test, spec.parent):
                    found.append(f"{where}: no pytest test {test}")
            for subject in entry.remarks:
                if subject not in cases_here and subject not in entry.tests:
                    found.append(f"{where}: a remark on {subject}, which does not cover it")
            for cited in CITED.findall(" ".join([entry.status, entry.note, *entry.remarks.values()])):
                if cited not in ids:
                    found.append(f"{where}: cites the case {cited}, which does not exist")
    for phpt, case_ids in covering.items():
        if phpt not in listed:
            found.append(f"case {', '.join(case_ids)} names {phpt}, which no family in spec/parity/ lists")
    return found


def out_of_date(spec: Path, families: list[Family], cases: list[Case]) -> list[Path]:
    """The tables whose checked-in text differs from what render() writes."""
    covering = coverage(cases)
    stale = []
    for family in families:
        path = table_path(spec, family)
        if not path.is_file() or path.read_text() != render(family, covering):
            stale.append(path)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m phprt.conformance parity",
                                     description="Check or write spec/parity-tests-*.md from spec/parity/ "
                                                 "and the cases' phpt lists.")
    parser.add_argument("--write", action="store_true", help="write the tables that are out of date")
    parser.add_argument("--spec", metavar="DIR", help="the spec/ directory (default: the repository's)")
    args = parser.parse_args(argv)
    try:
        spec = find_spec(args.spec)
    except SpecNotFound as error:
        parser.error(str(error))
    families, cases = load_families(spec), load_cases(spec)
    found = problems(spec, families, cases)
    for problem in found:
        print(f"problem: {problem}", file=sys.stderr)
    stale = out_of_date(spec, families, cases)
    if args.write:
        covering = coverage(cases)
        for family in families:
            if table_path(spec, family) in stale:
                table_path(spec, family).write_text(render(family, covering))
                print(f"wrote {table_path(spec, family)}")
        return 1 if found else 0
    for path in stale:
        print(f"out of date: {path} (python -m phprt.conformance parity --write)")
    return 1 if stale or found else 0


if __name__ == "__main__":
    sys.exit(main())
