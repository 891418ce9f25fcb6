"""Differential fuzzing: random but meaningful programs, run through PHP 8.2 and phprt.

    python -m tests.conformance.fuzz [--seed S] [--programs N] [--sapi cli,cgi,cli-server,fpm] [--save]

Each program is a conformance case (phprt/conformance/): a short script of
calls over the output layer (buffers with handlers, chunk sizes and flags, echo, every
ob_* call, flushes), headers, cookies and the response code, diagnostics, shutdown
functions, ignore_user_abort, exit, fastcgi_finish_request under FPM, and a client that
is gone from the start, with an ini drawn from the directives that shape them. Programs
are a pure function of the seed, so a run is repeatable. A program on which phprt and
PHP disagree is shrunk, by removing calls while the disagreement stays, to a minimal
case; ``--save`` writes it into spec/cases/fuzz.toml and PHP's observation into
spec/recorded/fuzz.json, where the conformance suite then replays it (CONF-FUZZ-1).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from phprt.conformance.cases import Case, find_spec
from phprt.conformance.run_php import php_version, run_php
from phprt.conformance.run_phprt import run_phprt
from phprt.engine.functions import FUNCTIONS

CASES_DIR, RECORDED_DIR = find_spec() / "cases", find_spec() / "recorded"

SAPIS = ("cli", "cgi", "cli-server", "fpm")
_KEYS = ("stdout", "stderr", "results", "exit")

_HANDLERS = ("h_upper", "h_log", "h_len", "h_phase", "h_empty", "h_false", "h_true", "h_null", "h_void",
             "h_int", "h_array", "h_stringable", "h_false_start", "h_echo", "h_warn",
             "h_inspect", "h_status", "h_call_ob_start", "h_call_ob_flush", "h_call_ob_clean",
             "h_call_ob_end_flush", "h_call_ob_end_clean", "h_call_flush", "h_one", "c_upper", "c_arrow",
             "h_exit", "h_echo_exit", "h_call_ob_get_clean", "h_call_ob_get_flush", "h_call_rewrite", "h_fatal",
             "h_echo_false")
_FLAGS = ("PHP_OUTPUT_HANDLER_STDFLAGS", "PHP_OUTPUT_HANDLER_CLEANABLE", "PHP_OUTPUT_HANDLER_FLUSHABLE",
          "PHP_OUTPUT_HANDLER_REMOVABLE", "PHP_OUTPUT_HANDLER_CLEANABLE | PHP_OUTPUT_HANDLER_REMOVABLE", "0")
_TEXT = ("a", "Hello", "<b>", "x\n", "", "äé", "0", "line one\nline two", '<a href="x.php">l</a>',
         '<form action="y.php"><input></form>')
_HEADERS = ("X-A: 1", "X-A: 2", "x-a: 3", "X-B: b", "Content-Type: text/plain", "Location: /elsewhere",
            "HTTP/1.1 404 Not Found", "Status: 201 Created", "X-Empty:", "Bad Header")
_QUERIES = ("ob_get_level()", "ob_get_length()", "ob_get_contents()", "ob_get_status()", "ob_get_status(True)",
            "ob_list_handlers()", "headers_list()", "headers_sent()", "http_response_code()",
            "connection_status()", "connection_aborted()", "error_get_last()")


def _echo(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return f'echo("{rng.choice("xyz")}" * {rng.choice((100, 4095, 4096, 5000, 20000))})'
    return "echo(" + ", ".join(repr(rng.choice(_TEXT)) for _ in range(rng.randint(1, 3))) + ")"


def _ob_start(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.2:
        return "ob_start()"
    arguments = [rng.choice(_HANDLERS)]
    if roll > 0.5:
        arguments.append(str(rng.choice((0, 1, 2, 3, 10, 4096))))
        if roll > 0.8:
            arguments.append(rng.choice(_FLAGS))
    return f"ob_start({', '.join(arguments)})"


_OUTPUT: list[Callable[[random.Random], str]] = [
    _echo, _echo, _echo, _ob_start, _ob_start,
    lambda rng: f"print({rng.choice(_TEXT)!r})",
    lambda rng: rng.choice(("ob_flush()", "ob_clean()", "ob_end_flush()", "ob_end_clean()", "ob_get_clean()",
                            "ob_get_flush()", "flush()", "ob_implicit_flush()", "ob_implicit_flush(False)")),
    lambda rng: rng.choice(_QUERIES),
    lambda rng: rng.choice(('output_add_rewrite_var("t", "1")', "output_reset_rewrite_vars()")),
]
_HTTP: list[Callable[[random.Random], str]] = [
    lambda rng: f"header({rng.choice(_HEADERS)!r})",
    lambda rng: f"header({rng.choice(_HEADERS)!r}, False)",
    lambda rng: f"header({rng.choice(_HEADERS)!r}, True, {rng.choice((301, 404, 500))})",
    lambda rng: rng.choice(('header_remove("X-A")', "header_remove()", 'header_remove("Content-Type")')),
    lambda rng: f"http_response_code({rng.choice((200, 201, 404, 500, 999))})",
    lambda rng: rng.choice(('setcookie("a", "b")', 'setcookie("a", "b c", 0, "/")', 'setcookie("a")',
                            'setrawcookie("r", "v;w")', 'setcookie("", "x")',
                            'setcookie("o", "v", {"path": "/p", "secure": True, "samesite": "Lax"})',
                            'header("Set-Cookie: raw=1", False)')),
    # (not hc_echo or hc_exit: their output overwrites the body in flight in PHP, DEV-ALIAS-1)
    lambda rng: "header_register_callback(" + rng.choice(("hc_add", "hc_list", "hc_code", "hc_throw")) + ")",
]
_LIFE: list[Callable[[random.Random], str]] = [
    lambda rng: f'register_shutdown_function("sd_log", "t{rng.randint(1, 9)}")',
    lambda rng: f'register_shutdown_function("sd_echo", "[S{rng.randint(1, 9)}]")',
    lambda rng: 'register_shutdown_function("sd_ob_end_flush")',
    lambda rng: rng.choice(('register_shutdown_function("sd_exit", "[X]")', 'register_shutdown_function("sd_throw")',
                            'register_shutdown_function("sd_register", "late")',
                            'register_shutdown_function("sd_error")')),
    lambda rng: rng.choice(("set_error_handler(eh_log)", "set_error_handler(eh_false)", "restore_error_handler()")),
    lambda rng: f"ignore_user_abort({rng.choice(('True', 'False'))})",
    lambda rng: rng.choice(('trigger_error("n", E_USER_NOTICE)', 'trigger_error("w", E_USER_WARNING)',
                            'trigger_error("d", E_USER_DEPRECATED)')),
    lambda rng: rng.choice(("error_reporting(E_ALL & ~E_USER_NOTICE)", 'ini_set("display_errors", "0")',
                            'ini_set("output_buffering", "0")', 'ini_set("implicit_flush", "1")')),
]


def _ini(rng: random.Random) -> dict[str, str]:
    ini: dict[str, str] = {}
    if rng.random() < 0.4:
        ini["output_buffering"] = rng.choice(("0", "1", "16", "4096", "On"))
    if rng.random() < 0.2:
        ini["implicit_flush"] = rng.choice(("0", "1"))
    if rng.random() < 0.2:
        ini["display_errors"] = rng.choice(("0", "1", "stderr"))
    if rng.random() < 0.1:
        ini["output_handler"] = "h_upper"
    return ini


def program(rng: random.Random, sapi: str, number: int) -> Case:
    """One random program for ``sapi``: 1-14 calls, perhaps ending in exit()."""
    kinds = _OUTPUT * 3 + _HTTP + _LIFE
    if sapi == "fpm":
        kinds.append(lambda _: "fastcgi_finish_request()")
    calls = [rng.choice(kinds)(rng) for _ in range(rng.randint(1, 14))]
    gone = sapi == "cli" and rng.random() < 0.1  # a reader gone before the first write
    if any("sd_ob_end_flush" in call for call in calls):
        # The library's Python sd_ob_end_flush records what ob_end_flush() throws, where PHP's
        # lets it propagate: no callback that throws beside it.
        calls = [call.replace("hc_throw", "hc_add") for call in calls]
    if rng.random() < 0.15:
        calls.append(rng.choice(('exit("bye")', "exit(3)", "exit()", 'uncaught("boom")')))
    ini, server = _ini(rng), {}
    if sapi in ("cgi", "cli-server") and "output_handler" not in ini and rng.random() < 0.15:  # a client taking gzip
        ini["zlib.output_compression"] = rng.choice(("1", "On", "64"))
        ini["display_errors"] = "0"  # a displayed notice names the script, whose path differs inside gzip
        server["HTTP_ACCEPT_ENCODING"] = "gzip"
    return Case(id=f"fuzz-{sapi}-{number}", clauses=[], script="\n".join(calls) + "\n", source="fuzz",
                ini=ini, sapi=sapi, server=server, disconnect_after=0 if gone else None)


def programs(seed: int, count: int, sapis: tuple[str, ...] = SAPIS) -> Iterator[Case]:
    rng = random.Random(seed)
    for number in range(count):
        yield program(rng, sapis[number % len(sapis)], number)


def differs(case: Case, expected: dict[str, Any] | None = None) -> list[str]:
    """The observations (stdout, stderr, results, exit) on which phprt is not PHP."""
    expected = expected or run_php(case)
    actual = run_phprt(case)
    return [key for key in _KEYS if actual[key] != expected[key]]


def shrink(case: Case, diverges: Callable[[Case], object] = differs) -> Case:
    """The smallest program found, by removing calls and ini entries, that still diverges (ddmin-like)."""
    calls = case.calls
    chunk = max(1, len(calls) // 2)
    while chunk >= 1:
        start = 0
        while start < len(calls):
            trial = calls[:start] + calls[start + chunk:]
            candidate = replace(case, script="\n".join(trial) + "\n")
            if trial and diverges(candidate):
                calls, case = trial, candidate
            else:
                start += chunk
        chunk //= 2
    for name in list(case.ini):
        candidate = replace(case, ini={k: v for k, v in case.ini.items() if k != name})
        if diverges(candidate):
            case = candidate
    return case


def clauses_of(case: Case) -> list[str]:
    """The clauses the functions a program calls cite (from the registry, RT-REGISTRY-1)."""
    cited = {entry.name: entry.clauses for entry in FUNCTIONS}
    found: list[str] = []
    for line in case.calls:
        for clause in cited.get(line.split("(", 1)[0].strip(), ()):
            if not clause.endswith("*") and clause not in found:  # a family (OUT-START-*) is no one clause
                found.append(clause)
    return found or ["CONF-FUZZ-1"]


def save(case: Case, name: str, cases: Path = CASES_DIR, recordings: Path = RECORDED_DIR) -> Case:
    """Append ``case`` to spec/cases/fuzz.toml as ``name`` and record PHP's observation."""
    case = replace(case, id=name, clauses=["CONF-FUZZ-1", *clauses_of(case)])
    path = cases / "fuzz.toml"
    text = path.read_text() if path.exists() else (
        "# Programs the differential fuzzer (tests/conformance/fuzz.py) found phprt and PHP 8.2\n"
        "# to disagree on, shrunk. Expected results: spec/recorded/fuzz.json.\n")
    entry = [f'\n[[case]]\nid = "{case.id}"', f"clauses = {json.dumps(case.clauses)}"]
    if case.sapi != "cli":
        entry.append(f'sapi = "{case.sapi}"')
    for key in ("ini", "server"):
        if getattr(case, key):
            pairs = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in getattr(case, key).items())
            entry.append(f"{key} = {{ {pairs} }}")
    if case.disconnect_after is not None:
        entry.append(f"disconnect_after = {case.disconnect_after}")
    entry.append("script = '''\n" + case.script.strip("\n") + "\n'''")
    path.write_text(text + "\n".join(entry) + "\n")
    recorded_path = recordings / "fuzz.json"
    document = json.loads(recorded_path.read_text()) if recorded_path.exists() else {
        "php": "", "recorder": "python -m tests.conformance.fuzz --save", "cases": {}}
    document["php"] = php_version()
    document["cases"][case.id] = {"digest": case.digest(), **run_php(case)}
    recorded_path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    return case


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--programs", type=int, default=200)
    parser.add_argument("--sapi", default=",".join(SAPIS), help="comma-separated SAPI profiles to draw from")
    parser.add_argument("--save", action="store_true", help="save each shrunk divergence into spec/cases/fuzz.toml")
    args = parser.parse_args(argv)
    sapis = tuple(args.sapi.split(","))
    found = 0
    for case in programs(args.seed, args.programs, sapis):
        keys = differs(case)
        if not keys:
            continue
        found += 1
        small = shrink(case)
        print(f"# {case.id} (seed {args.seed}): differs in {', '.join(keys)}; shrunk to "
              f"{len(small.calls)} call(s), sapi {small.sapi}, ini {small.ini}, disconnect_after {small.disconnect_after}")
        print(small.script)
        if args.save:
            save(small, f"fuzz-{args.seed}-{case.id.rsplit('-', 1)[1]}")
    print(f"{args.programs} programs, seed {args.seed}, SAPIs {', '.join(sapis)}: {found} divergence(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
