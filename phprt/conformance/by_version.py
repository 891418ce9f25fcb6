"""The corpus per PHP version (CONF-SUITE-VERSION-1): PHP 8.2's recordings are the base
(spec/recorded/*.json); spec/recorded/per-version/X.Y.json holds what a real build of
PHP X.Y recorded for the cases it could run, only where that differs from 8.2.

A per-version file (written by ``python -m tests.conformance.record_version``)::

    {"profile": "8.4", "php": "8.4.5", "how": "...", "recorder": "...",
     "same": {ID: DIGEST, ...},        # recorded: what 8.2 recorded, exactly
     "cases": {ID: OBSERVATION, ...},  # recorded: differs from 8.2 (digest, stdout, stderr, results, exit)
     "excluded": {ID: REASON, ...}}    # not recorded from this build, and why

A case's expectation under profile X.Y is its X.Y observation, or its 8.2 one where X.Y
recorded the same; a case X.Y did not record has no expectation there (it is skipped,
saying why), and so does a case whose ``php`` range leaves X.Y out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cases import Case, find_spec, recorded

#: The profile the base recordings (spec/recorded/*.json) come from.
BASE = "8.2"
#: Where the per-version files lie, under spec/.
DIRECTORY = Path("recorded") / "per-version"
_BOUND = re.compile(r"^\s*(>=|<=|==|>|<|=)?\s*(\d+\.\d+)\s*$")


def minor(version: str) -> str:
    """``8.4.5`` -> ``8.4``."""
    return ".".join(version.split(".")[:2])


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def in_range(version: str, php: str) -> bool:
    """Whether PHP ``version`` (X.Y) lies in a case's range ``php``: bounds such as ``>=8.3``,
    ``<8.5`` or ``8.4``, joined by commas (all must hold); an empty range holds for every version."""
    for bound in filter(None, (part.strip() for part in php.split(","))):
        match = _BOUND.match(bound)
        if match is None:
            raise ValueError(f"bad php range {php!r}: use bounds like '>=8.3' or '<8.5', joined by ','")
        operator, other = match.group(1) or "==", _key(match.group(2))
        here = _key(version)
        held = {">=": here >= other, "<=": here <= other, ">": here > other, "<": here < other,
                "==": here == other, "=": here == other}[operator]
        if not held:
            return False
    return True


@dataclass
class VersionRecording:
    """One per-version file: what a build of ``profile`` recorded where it differs from 8.2."""

    profile: str
    php: str = ""
    how: str = ""
    recorder: str = ""
    same: dict[str, str] = field(default_factory=dict)
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        return {"profile": self.profile, "php": self.php, "how": self.how, "recorder": self.recorder,
                "same": dict(sorted(self.same.items())), "cases": dict(sorted(self.cases.items())),
                "excluded": dict(sorted(self.excluded.items()))}


def path(profile: str, spec: str | Path | None = None) -> Path:
    return find_spec(spec) / DIRECTORY / f"{profile}.json"


def load(profile: str, spec: str | Path | None = None) -> VersionRecording | None:
    """The per-version file of PROFILE, or None when there is none."""
    file = path(profile, spec)
    if not file.exists():
        return None
    document = json.loads(file.read_text())
    return VersionRecording(profile, document.get("php", ""), document.get("how", ""), document.get("recorder", ""),
                            document.get("same", {}), document.get("cases", {}), document.get("excluded", {}))


def recorded_profiles(spec: str | Path | None = None) -> list[str]:
    """The profiles with recordings: 8.2 and every per-version file's."""
    directory = find_spec(spec) / DIRECTORY
    found = sorted(p.stem for p in directory.glob("*.json")) if directory.is_dir() else []
    return [BASE, *(p for p in found if p != BASE)]


def save(recording: VersionRecording, spec: str | Path | None = None) -> Path:
    file = path(recording.profile, spec)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(recording.document(), indent=1, ensure_ascii=False) + "\n")
    return file


def expectations(cases: list[Case], profile: str, spec: str | Path | None = None
                 ) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """What each case must do under PROFILE (by id, with the recording's ``php``), and why
    each case without an expectation there has none."""
    base = recorded(spec)
    skips: dict[str, str] = {}
    expected: dict[str, dict[str, Any]] = {}
    version = None if profile == BASE else load(profile, spec)
    for case in cases:
        if case.php and not in_range(profile, case.php):
            skips[case.id] = f"the case holds for PHP {case.php}, not {profile}"
        elif profile == BASE:
            if case.id in base:
                expected[case.id] = base[case.id]
        elif version is None:
            skips[case.id] = f"no recording from PHP {profile} (spec/{DIRECTORY}/{profile}.json)"
        elif version.cases.get(case.id, {}).get("digest", version.same.get(case.id)) not in (None, case.digest()):
            skips[case.id] = (f"the case changed since PHP {version.php} recorded it: python -m "
                              f"tests.conformance.record_version --php PHP{profile} {case.id}")
        elif case.id in version.cases:
            expected[case.id] = {**version.cases[case.id], "php": version.php}
        elif case.id in version.same and case.id in base:
            expected[case.id] = {**base[case.id], "php": version.php}
        else:
            reason = version.excluded.get(case.id, f"not recorded from PHP {version.php or profile}")
            skips[case.id] = f"PHP {profile}: {reason}"
    return expected, skips


def holds_for(case: Case, spec: str | Path | None = None) -> list[str]:
    """The profiles whose recording of CASE is PHP 8.2's (8.2 itself included, if recorded)."""
    base = recorded(spec).get(case.id)
    if base is None:
        return []
    profiles = [BASE] if in_range(BASE, case.php) else []
    for profile in recorded_profiles(spec)[1:]:
        version = load(profile, spec)
        if version is not None and version.same.get(case.id) == base.get("digest") and in_range(profile, case.php):
            profiles.append(profile)
    return profiles


#: Cases whose recording under a version phprt's profile of it does not reproduce, each with
#: why (a documented gap, spec/versions.md): the phprt adapter skips them, saying so.
NOT_REPRODUCED: dict[str, dict[str, str]] = {
    "8.4": {
        "printf-string-precision-ini": "PHP 8.4 compiles a sprintf() whose format has only %s and %d into "
        "string interpolation, folded at compile time when its arguments are constants, so the float is "
        "converted with the precision of compile time, before the script's ini_set() ran (8.4.5: "
        "sprintf(\"%s\", 0.1 + 0.2) is \"0.3\" under -d precision=5 after ini_set(\"precision\", \"-1\"), "
        "sprintf(\"%s\", $x) is \"0.30000000000000004\"); phprt has no compile time",
        "handler-fatal-end-flush-cli-server": "php -S 8.4.5 writes the fatal error displayed at request "
        "shutdown, after its output layer is gone, to its console as HTML; 8.2.36 writes nothing there. "
        "Whether 8.4 changed this or the static build differs is not established: no other 8.4 CLI server here",
    },
    "8.5": {
        "printf-string-precision-ini": "as under 8.4: a sprintf() of constants folded at compile time",
        "printf-floats": "8.5 reads \"%.f\" (a point without digits) as precision 0 (\"%.f\" of 2.5 is \"2\", "
        "\"%.e\" \"2e+0\", while \"%.s\" still cuts nothing); phprt's format parser, shared by every "
        "version and cached, does not tell \"%.f\" from \"%f\"",
        "dump-print-r-floats": "8.5 warns \"unexpected NAN value was coerced to string\" wherever a NAN float "
        "becomes a string (here print_r's); phprt's string conversion of floats is the same in every version",
        "dump-print-r-arrays": "8.5 deprecates null as an array offset in the PHP array literal of the case's "
        "PHP rendering (\"Using null as an array offset is deprecated\"): the language, not the runtime",
        "dump-var-dump-arrays": "the same language deprecation of a null array offset",
        "dump-var-export-arrays": "the same language deprecation of a null array offset",
        "handler-fatal-end-flush": "8.5 prints \"Stack trace:\\n#0 {main}\" after the fatal error raised at "
        "request shutdown \"in Unknown on line 0\"; phprt adds no trace to an error with a location of its own",
        "handler-fatal-then-ob-call-in-shutdown": "the Python rendering's __r(lambda: ...) in a shutdown "
        "function puts two frames ({closure}, record) into the 8.5 fatal error's trace that PHP's __r(f()) has not",
        "callback-returns-array": "8.5 counts the \"Array to string conversion\" warning displayed while a "
        "handler's array result is converted as output of that handler (\"Producing output from user output "
        "handler h_array is deprecated\"); phprt does not",
    },
}


def phprt_adapter(profile: str) -> Callable[[Case], dict[str, Any]]:
    """phprt's adapter under the version profile PROFILE (VER-PROFILE-1)."""
    from .run_command import Skipped
    from .run_phprt import run_phprt

    gaps = NOT_REPRODUCED.get(profile, {})

    def run(case: Case) -> dict[str, Any]:
        if case.id in gaps:
            raise Skipped(f"phprt's {profile} profile does not reproduce this: {gaps[case.id]}")
        return run_phprt(case, profile)

    return run
