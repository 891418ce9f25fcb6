"""Run every benchmark: ``python3 -m benchmarks [--quick] [--only NAME ...] [--json PATH]``.

Imports every module of ``benchmarks/`` (each registers its functions with
``common.benchmark``), runs them, prints phprt's figure, the baseline's and their ratio, and
writes the results as JSON (``benchmarks/results.json`` by default).
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.common import REGISTRY, Result, php_available  # noqa: E402

SKIP = {"__init__", "__main__", "common"}


def load_all() -> None:
    """Import every benchmark module so that its ``@benchmark`` functions register."""
    for path in sorted(HERE.glob("*.py")):
        if path.stem not in SKIP:
            importlib.import_module(f"benchmarks.{path.stem}")


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(prog="python3 -m benchmarks", description="phprt's benchmarks against PHP")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds in all)")
    parser.add_argument("--only", nargs="*", default=None, help="run only these registered names")
    parser.add_argument("--json", type=Path, default=HERE / "results.json", help="where to write the results")
    args = parser.parse_args(argv)
    load_all()
    results: list[Result] = []
    failed: dict[str, str] = {}
    print(f"{'benchmark':<44}{'phprt':>12} {'unit':<8}{'baseline':>14}  {'ratio':>8}")
    for name, function in REGISTRY.items():
        if args.only is not None and name not in args.only:
            continue
        try:
            measured = function(args.quick)
        except Exception as error:  # one broken benchmark does not stop the others
            failed[name] = f"{type(error).__name__}: {error}"[:500]
            print(f"{name:<44}FAILED: {failed[name][:200]}", flush=True)
            continue
        for result in measured:
            print(result.line(), flush=True)
            results.append(result)
    document = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "php": php_available(),
        "quick": args.quick,
        "results": [result.as_dict() for result in results],
        "failed": failed,
    }
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {args.json}")
    if failed:
        raise SystemExit(f"{len(failed)} benchmark(s) failed: {', '.join(failed)}")
    return results


if __name__ == "__main__":
    main()
