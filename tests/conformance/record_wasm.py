"""Record the "cli" cases from the WebAssembly builds of PHP 8.3 and 8.5 where they are comparable:
``python -m tests.conformance.record_wasm --node-modules DIR`` (CONF-SUITE-VERSION-2).

DIR holds ``@php-wasm/node`` and ``@php-wasm/node-8-2`` ... ``-8-5`` (npm). Every "cli" case that
the wasm SAPI can run at all -- no php.ini file, no reader gone, no time limit or CPU spin (wasm
has no timers) -- runs through the builds of 8.2, 8.4 and the versions recorded
(tests/conformance/wasm_batch.mjs: a fresh PHP per case, the CLI's output settings). A case is
comparable when the wasm 8.2 build reproduces the native 8.2.36 recording and the wasm 8.4 build
the native 8.4.5 one (spec/recorded/per-version/8.4.json), all four observations exactly; only
those are recorded for 8.3 and 8.5, the others are excluded saying which build disagreed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from phprt.conformance import by_version
from phprt.conformance.cases import BASE_INI, Case, load_cases, recorded
from phprt.conformance.normalise import observation
from phprt.conformance.render import render_php

BATCH = Path(__file__).with_name("wasm_batch.mjs")
KEYS = ("stdout", "stderr", "results", "exit")


def runnable(case: Case) -> str:
    """Why the wasm SAPI cannot run CASE as the CLI does, or ""."""
    if case.sapi != "cli":
        return f"a {case.sapi!r} case: the WebAssembly build has only its own SAPI"
    if case.ini_file or case.disconnect_after is not None:
        return "needs a php.ini file or a stdout reader gone, which the WebAssembly build has not"
    if "spin" in case.script or "time_limit" in case.script or "max_execution_time" in case.ini:
        return "a time limit: the WebAssembly build has no timers"
    return ""


def run(version: str, cases: list[Case], node_modules: Path) -> tuple[str, dict[str, dict[str, Any]]]:
    """The release of the wasm build of VERSION and its observation of each case."""
    batch = []
    for index, case in enumerate(cases):
        directory = f"/tmp/rec-{index:08d}"  # as long as the native recorder's paths
        batch.append({"id": case.id, "dir": directory, "script": f"{directory}/case.php",
                      "record": f"{directory}/record.jsonl", "source": render_php(case), "ini": {**BASE_INI, **case.ini}})
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "node_modules").symlink_to(node_modules.resolve())
        Path(tmp, "batch.mjs").write_text(BATCH.read_text())
        answer = Path(tmp, "out.json")
        subprocess.run(["node", "batch.mjs", version, str(answer)], input=json.dumps(batch).encode(), cwd=tmp,
                       check=True, capture_output=True, timeout=3600)
        document = json.loads(answer.read_text())
    seen = {}
    for request, result in zip(batch, document["cases"]):
        results = [json.loads(line) for line in result["record"].splitlines()]
        seen[request["id"]] = observation("cli", bytes.fromhex(result["stdout"]), (result["errors"] or "").encode(),
                                          results, result["exit"], request["script"])
    return document["php"], seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node-modules", type=Path, required=True, help="where @php-wasm/node-8-x are installed")
    parser.add_argument("--versions", default="8.3,8.5", help="the versions to record (default 8.3,8.5)")
    args = parser.parse_args(argv)
    all_cases = load_cases()
    base, v84 = recorded(), by_version.load("8.4")
    expected84, _ = by_version.expectations(all_cases, "8.4")
    if v84 is None:
        print("record 8.4 first (python -m tests.conformance.record_version)", file=sys.stderr)
        return 2
    excluded = {case.id: reason for case in all_cases if (reason := runnable(case))}
    cases = [case for case in all_cases if case.id not in excluded and case.id in base]
    _, wasm82 = run("8.2", cases, args.node_modules)
    _, wasm84 = run("8.4", cases, args.node_modules)
    comparable = []
    for case in cases:
        if any(wasm82[case.id][key] != base[case.id][key] for key in KEYS):
            excluded[case.id] = "not comparable: the WebAssembly 8.2.33 build does not do what native 8.2.36 did"
        elif case.id not in expected84:
            excluded[case.id] = "not comparable: native 8.4.5 did not record it"
        elif any(wasm84[case.id][key] != expected84[case.id][key] for key in KEYS):
            excluded[case.id] = "not comparable: the WebAssembly 8.4.25 build does not do what native 8.4.5 did"
        else:
            comparable.append(case)
    for version in args.versions.split(","):
        release, seen = run(version, comparable, args.node_modules)
        recording = by_version.VersionRecording(
            version, release, f"@php-wasm/node {release} (SAPI \"wasm\", WebAssembly), the CLI's output ini, "
            "for the \"cli\" cases on which the wasm 8.2.33 and 8.4.25 builds reproduce native 8.2.36 and 8.4.5",
            f"python -m tests.conformance.record_wasm --versions {version}", excluded=dict(excluded))
        for case in comparable:
            if all(seen[case.id][key] == base[case.id][key] for key in KEYS):
                recording.same[case.id] = case.digest()
            else:
                recording.cases[case.id] = {"digest": case.digest(), **seen[case.id]}
        path = by_version.save(recording)
        print(f"{path}: {len(recording.same)} as 8.2, {len(recording.cases)} differ, {len(recording.excluded)} not recorded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
