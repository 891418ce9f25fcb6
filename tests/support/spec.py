"""The clauses spec/*.md defines."""

from __future__ import annotations

import re

from . import ROOT

CLAUSE = re.compile(r"^- \*\*([A-Z]+(?:-[A-Z0-9]+)*-\d+)\*\*", re.MULTILINE)


def defined_clauses() -> dict[str, str]:
    clauses: dict[str, str] = {}
    for path in sorted((ROOT / "spec").glob("*.md")):
        for clause in CLAUSE.findall(path.read_text()):
            assert clause not in clauses, f"{clause} is defined twice"
            clauses[clause] = path.name
    return clauses
