"""Conformance cases and their recordings: load them, identify them, find the spec.

A case (spec/cases/*.toml, ``[[case]]``) is a short script of calls, one per line, written
in a small language both PHP and Python can express (see spec/README.md). A recording
(spec/recorded/*.json) holds what PHP 8.2 did for each case, with the PHP version that did it
and the case's digest at the time; spec/recorded/per-version/ what later versions did
differently (by_version.py).
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .library import EXCEPTION_HANDLERS, LIBRARY

#: ini every case runs with unless it says otherwise: diagnostics are logged to stderr.
BASE_INI = {"log_errors": "1"}

#: A clause definition in spec/*.md: ``- **ID**`` at the start of a list item.
CLAUSE = re.compile(r"^- \*\*([A-Z]+(?:-[A-Z0-9]+)*-\d+)\*\*", re.MULTILINE)


class SpecNotFound(Exception):
    """No spec/ directory was given and none lies next to the package."""


def find_spec(spec: str | Path | None = None) -> Path:
    """SPEC if given, else the repository's spec/ next to the package (a source checkout)."""
    if spec is not None:
        path = Path(spec)
        if not (path / "cases").is_dir():
            raise SpecNotFound(f"{path} holds no cases/ directory: not a phprt spec/")
        return path
    path = Path(__file__).resolve().parents[2] / "spec"
    if not (path / "cases").is_dir():
        raise SpecNotFound("no spec/ next to the phprt package: pass --spec DIR (the repository's spec/)")
    return path


@dataclass
class Case:
    id: str
    clauses: list[str]
    script: str
    source: str  # the .toml file's stem
    phpt: list[str] = field(default_factory=list)
    ini: dict[str, str] = field(default_factory=dict)
    sapi: str = "cli"
    server: dict[str, str] = field(default_factory=dict)
    disconnect_after: int | None = None
    note: str = ""
    ini_file: str = ""  # a php.ini's text: php -c FILE / Runtime(ini_file=FILE), cli and cgi; its path reads "%i"
    php: str = ""  # the PHP versions the case applies to (">=8.3", "<8.5", joined by ","); all when empty (CONF-SUITE-VERSION-1)

    @property
    def calls(self) -> list[str]:
        return self.script.strip("\n").split("\n")

    def digest(self) -> str:
        """Identifies what was recorded: a changed case needs a new recording."""
        parts: list[Any] = [self.script.strip(), sorted(self.ini.items()), self.sapi, LIBRARY]
        if self.server:
            parts.append(sorted(self.server.items()))
        if self.disconnect_after is not None:
            parts.append(["disconnect_after", self.disconnect_after])
        if self.ini_file:
            parts.append(["ini_file", self.ini_file])
        if "ex_" in self.script:  # the exception handlers it names
            parts.append(EXCEPTION_HANDLERS)
        text = json.dumps(parts)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_cases(spec: str | Path | None = None) -> list[Case]:
    """Every ``[[case]]`` of SPEC/cases/*.toml, file by file, in order."""
    cases = []
    for path in sorted((find_spec(spec) / "cases").glob("*.toml")):
        for entry in tomllib.loads(path.read_text()).get("case", []):
            cases.append(Case(source=path.stem, **entry))
    return cases


def recorded(spec: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Every recorded observation, by case id, each with the recording's ``php`` version."""
    observations: dict[str, dict[str, Any]] = {}
    for path in sorted((find_spec(spec) / "recorded").glob("*.json")):
        document = json.loads(path.read_text())
        for case_id, observation in document.get("cases", {}).items():
            observations[case_id] = {**observation, "php": document.get("php", "")}
    return observations


def clause_files(spec: str | Path | None = None) -> dict[str, str]:
    """The spec file (``output.md``) that defines each clause."""
    found: dict[str, str] = {}
    for path in sorted(find_spec(spec).glob("*.md")):
        for clause in CLAUSE.findall(path.read_text()):
            found.setdefault(clause, path.name)
    return found
