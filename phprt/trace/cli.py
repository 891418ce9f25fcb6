"""``python -m phprt trace SCRIPT.py``: run a ported script with its lifecycle traced and
show the timeline (TRACE-CLI-1).

The script runs as ``python -m phprt run`` runs it, under ``--sapi`` (default cli), but
on a MemoryTransport that plays the client: ``--disconnect-after N`` hangs up after N
body bytes, as a browser's STOP would. ``--time-limit S`` is ``-d max_execution_time=S``.
The timeline goes to stdout (in colour on a terminal), then what the client received;
``--json FILE`` writes the trace's JSON document (TRACE-JSON-1), ``--html FILE`` its
timeline page (TRACE-HTML-1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from ..engine.ini import SAPI_PROFILES
from ..engine.runtime import Runtime
from ..engine.script import execute
from ..engine.trace import Trace
from ..engine.versions import PROFILES
from ..transports.memory import MemoryTransport
from . import text

__all__ = ["main", "trace_script"]


def trace_script(script: str, *, sapi: str = "cli", defines: list[str] | None = None, args: list[str] | None = None,
                 disconnect_after: int | None = None, time_limit: int | None = None,
                 skip_sleep: bool = False, php_version: str = "8.2") -> tuple[Trace, MemoryTransport]:
    """Run ``script`` under ``sapi`` with its trace recorded; the trace and the client's transport."""
    from ..__main__ import _defines  # PHP's -d syntax, read as `run` reads it (INI-PARSE-6)

    arguments = list(defines or [])
    if time_limit is not None:
        arguments.append(f"max_execution_time={time_limit}")
    ini = _defines(arguments, sapi, cli=True)
    path = os.path.abspath(script)
    server: dict[str, Any] = {}
    if sapi != "cli":
        name = "/" + os.path.basename(path)
        server = {"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_URI": name, "SCRIPT_NAME": name,
                  "SCRIPT_FILENAME": path, "GATEWAY_INTERFACE": "CGI/1.1"}
        server.update((key, value) for key, value in os.environ.items() if key.startswith("HTTP_"))
    transport = MemoryTransport(disconnect_after, server)
    meta = {"script": path, "sapi": sapi, "defines": arguments, "disconnect_after": disconnect_after}
    trace = Trace(meta, skip_sleep=skip_sleep)
    runtime = Runtime(transport=transport, sapi=sapi, ini=ini, capture_print=True, trace=trace,
                      php_version=php_version)  # VER-PROFILE-1
    sys.path.insert(0, os.path.dirname(path))
    try:
        execute(runtime, path, [script, *(args or [])])
    finally:
        sys.path.remove(os.path.dirname(path))
    return trace, transport


def received(transport: MemoryTransport) -> str:
    """What the client received: the head and the body, as text."""
    lines = []
    if transport.head is not None:
        if transport.status is not None:
            lines.append(f"status {transport.status}")
        lines.extend(str(line) for line in transport.head.lines)
        lines.append("")
    lines.append(transport.body.decode("utf-8", "replace"))
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m phprt trace",
                                     description="run a ported script and show its request lifecycle, step by step")
    parser.add_argument("script", help="the Python script (it uses phprt.php's functions)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script (sys.argv[1:])")
    parser.add_argument("--sapi", default="cli", choices=list(SAPI_PROFILES), help="the PHP SAPI to behave as (default: cli)")
    parser.add_argument("--php-version", default="8.2", choices=list(PROFILES),
                        help="the PHP version to behave as (default: 8.2; spec/versions.md)")
    parser.add_argument("-d", dest="ini", action="append", default=[], metavar="NAME=VALUE", help="set an ini directive, as php -d")
    parser.add_argument("--disconnect-after", type=int, metavar="N", help="the client hangs up after N body bytes")
    parser.add_argument("--time-limit", type=int, metavar="S", help="max_execution_time, in seconds")
    parser.add_argument("--no-sleep", action="store_true", help="record sleep() and usleep() without waiting")
    parser.add_argument("--json", metavar="FILE", help="write the trace as JSON (spec/trace.md)")
    parser.add_argument("--html", metavar="FILE", help="write the timeline as one self-contained HTML page")
    parser.add_argument("--colour", "--color", choices=("auto", "always", "never"), default="auto",
                        help="colour the timeline (default: on a terminal only)")
    parser.add_argument("--quiet", action="store_true", help="print no timeline")
    return parser


def run(argv: list[str]) -> tuple[Trace, MemoryTransport, argparse.Namespace]:
    """Parse ``python -m phprt trace``'s arguments and run the script: its trace, its
    transport and the options (examples/tour/make_traces.py runs the tour so)."""
    parser = _parser()
    options = parser.parse_args(argv)
    if not os.path.isfile(options.script):
        parser.error(f"no such script: {options.script}")
    try:
        trace, transport = trace_script(options.script, sapi=options.sapi, defines=options.ini, args=options.args,
                                        disconnect_after=options.disconnect_after, time_limit=options.time_limit,
                                        skip_sleep=options.no_sleep, php_version=options.php_version)
    except ValueError as error:
        parser.error(str(error))
    return trace, transport, options


def main(argv: list[str] | None = None) -> int:
    trace, transport, options = run(sys.argv[1:] if argv is None else argv)
    if not options.quiet:
        colour = options.colour == "always" or (options.colour == "auto" and sys.stdout.isatty())
        sys.stdout.write(text.render(trace, colour=colour))
        sys.stdout.write("\n--- what the client received ---\n" + received(transport) + "\n")
    if options.json:
        with open(options.json, "w", encoding="utf-8") as file:
            json.dump(trace.to_dict(), file, indent=1)
            file.write("\n")
    if options.html:
        from .html import page

        with open(options.html, "w", encoding="utf-8") as file:
            file.write(page(trace))
    return 0
