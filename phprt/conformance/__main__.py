"""``python -m phprt.conformance``: run the case corpus against an implementation under test
(CONF-SUITE-1).

    python -m phprt.conformance [--php PATH | --command CMD] [--spec DIR]
                                [--cases ID|GLOB|FILE ...] [--php-version X.Y] [--json FILE] [-q] [-j N]
    python -m phprt.conformance fuzz [--seed N] [--programs K] [--sapi ...] [--save]   (fuzz.py)
    python -m phprt.conformance parity [--write] [--spec DIR]   (parity.py)

Adapters: phprt in this process (the default), ``--php PATH`` a PHP installation (PATH is
its CLI; php-cgi and php-fpm are taken from beside it), ``--command CMD`` any program that
speaks the adapter interface (CONF-SUITE-ADAPTER-1). Exit status: 0 when every case that ran
passed, 1 when one failed or erred, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import shutil
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .by_version import expectations, minor
from .cases import Case, SpecNotFound, clause_files, find_spec, load_cases
from .report import Outcome, compare, render, summary
from .run_command import AdapterError, Skipped, run_command

Adapter = Callable[[Case], dict[str, Any]]


def select(cases: list[Case], patterns: list[str]) -> list[Case]:
    """The cases whose id, or whose cases file's name (``output``), matches a pattern (a glob)."""
    if not patterns:
        return cases
    return [case for case in cases if any(fnmatch.fnmatchcase(case.id, p) or case.source == p for p in patterns)]


def run_case(case: Case, adapter: Adapter, expected: dict[str, Any] | None, files: dict[str, str],
             skip: str = "") -> Outcome:
    """Run one case through ADAPTER and judge it against its recording (SKIP: why the case has
    no expectation under the version chosen, CONF-SUITE-VERSION-1)."""
    sections = sorted({files.get(clause, "(unknown clause)") for clause in case.clauses}) or ["(no clause)"]
    outcome = Outcome(case, "error", php=expected.get("php", "") if expected else "", sections=sections)
    if skip:
        outcome.status, outcome.reason = "skip", skip
        return outcome
    if expected is None:
        outcome.reason = "not recorded (python -m tests.conformance.record ID records it from PHP 8.2)"
        return outcome
    if expected.get("digest") != case.digest():
        outcome.reason = "the case changed since it was recorded: record it again"
        return outcome
    try:
        got = adapter(case)
    except Skipped as skipped:
        outcome.status, outcome.reason = "skip", str(skipped)
        return outcome
    except (AdapterError, OSError, RuntimeError, TimeoutError, ValueError) as error:
        outcome.reason = f"{type(error).__name__}: {error}"
        return outcome
    outcome.differs, outcome.diff = compare(case, expected, got)
    outcome.status = "fail" if outcome.differs else "pass"
    return outcome


def _adapter(args: argparse.Namespace) -> tuple[str, Adapter, str]:
    """The implementation's name, its adapter and the PHP version (X.Y) whose recordings judge it:
    ``--php-version``, else the PHP binary's own, else 8.2 (CONF-SUITE-VERSION-1)."""
    if args.php:
        from .run_php import PhpBinaries, php_version, run_php

        php = shutil.which(args.php) or args.php
        binaries, version = PhpBinaries.beside(php), php_version(php)
        return f"PHP {version} ({php})", lambda case: run_php(case, binaries=binaries), args.php_version or minor(version)
    if args.command:
        command: str = args.command
        return f"command {command!r}", lambda case: run_command(case, command), args.php_version or "8.2"
    from .by_version import phprt_adapter

    profile = args.php_version or "8.2"
    return "phprt" + (f" --php-version {profile}" if args.php_version else ""), phprt_adapter(profile), profile


def main(argv: list[str] | None = None) -> int:
    if (sys.argv[1:] if argv is None else argv)[:1] == ["fuzz"]:  # differential fuzzing (CONF-FUZZ-1)
        from .fuzz import main as fuzz

        return fuzz((sys.argv[1:] if argv is None else argv)[1:])
    if (sys.argv[1:] if argv is None else argv)[:1] == ["parity"]:  # the php-src parity tables (CONF-PARITY-1)
        from .parity import main as parity

        return parity((sys.argv[1:] if argv is None else argv)[1:])
    parser = argparse.ArgumentParser(prog="python -m phprt.conformance",
                                     description="Run phprt's conformance cases against an implementation.")
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--php", metavar="PATH", help="a PHP CLI binary (php-cgi, php-fpm from beside it)")
    chosen.add_argument("--command", metavar="CMD", help="an adapter command (see spec/conformance.md)")
    parser.add_argument("--spec", metavar="DIR", help="the spec/ directory (default: the repository's)")
    parser.add_argument("--cases", nargs="+", default=[], metavar="ID", help="case ids, globs or cases file names")
    parser.add_argument("--json", metavar="FILE", help="also write the report as JSON to FILE")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only failures and the total")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="cases run at once (--php and --command only)")
    parser.add_argument("--php-version", metavar="X.Y", help="judge against PHP X.Y's recordings (and run phprt's "
                        "X.Y profile); default: --php's version, else 8.2")
    args = parser.parse_args(argv)
    try:
        spec = find_spec(args.spec)
    except SpecNotFound as error:
        parser.error(str(error))
    cases = select(load_cases(spec), args.cases)
    if not cases:
        parser.error(f"no case matches {' '.join(args.cases)}")
    if args.php_version is not None and not args.php:
        from phprt.engine.versions import PROFILES

        if args.php_version not in PROFILES:
            parser.error(f"--php-version {args.php_version}: phprt reproduces PHP {', '.join(PROFILES)}")
    implementation, adapter, profile = _adapter(args)
    (expected, skips), files = expectations(cases, profile, spec), clause_files(spec)
    def run(case: Case) -> Outcome:
        return run_case(case, adapter, expected.get(case.id), files, skips.get(case.id, ""))

    if args.jobs > 1 and (args.php or args.command):
        with ThreadPoolExecutor(args.jobs) as pool:
            outcomes = list(pool.map(run, cases))
    else:  # phprt runs in this process, in its main thread: its time limits need it (TIME-*)
        outcomes = [run(case) for case in cases]
    report = summary(outcomes, implementation, str(spec))
    if args.json:
        with open(args.json, "w") as file:
            json.dump(report, file, indent=1, ensure_ascii=False)
            file.write("\n")
    print(render(report, args.quiet))
    return 0 if report["failed"] == 0 and report["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
