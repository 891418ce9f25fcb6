"""Record the conformance cases from real PHP 8.2: ``python -m tests.conformance.record``.

Needs PHP 8.2's CLI and, for the CGI cases, php-cgi (Debian: ``apt-get install
php8.2-cli php8.2-cgi``). Writes
spec/recorded/<cases file>.json with what PHP did for every case: output bytes,
stderr, each call's result and the exit status. ``--php PATH`` picks the binary;
case ids as arguments record only those (every other recording is left as it is).
"""

from __future__ import annotations

import argparse
import json
import sys

from phprt.conformance.cases import Case, find_spec, load_cases
from phprt.conformance.run_php import PHP_BINARIES, php_version, run_php

RECORDED_DIR = find_spec() / "recorded"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="record only these cases")
    parser.add_argument("--php", help="one PHP 8.2 binary for every case (default: php, and php-cgi for CGI cases)")
    args = parser.parse_args(argv)
    for binary in [args.php] if args.php else PHP_BINARIES.values():
        version = php_version(binary)
        if not version.startswith("8.2."):
            print(f"refusing to record: {binary} is PHP {version}, not 8.2", file=sys.stderr)
            return 2
    by_source: dict[str, list[Case]] = {}
    for case in load_cases():
        by_source.setdefault(case.source, []).append(case)
    for source, cases in by_source.items():
        path = RECORDED_DIR / f"{source}.json"
        existing = json.loads(path.read_text())["cases"] if path.exists() else {}
        recorded = {}
        changed = False
        for case in cases:
            if args.ids and case.id not in args.ids:  # with ids: only those, the others as they were
                if case.id in existing:
                    recorded[case.id] = existing[case.id]
                continue
            recorded[case.id] = {"digest": case.digest(), **run_php(case, args.php)}
            changed = True
            print(f"recorded {case.id}")
        if not changed:
            continue
        RECORDED_DIR.mkdir(parents=True, exist_ok=True)
        document = {"php": version, "recorder": "python -m tests.conformance.record", "cases": recorded}
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False, sort_keys=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
