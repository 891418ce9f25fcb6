"""``python -m phprt run SCRIPT.py``: run a ported script the way ``php SCRIPT.php``
(or, with ``--sapi cgi``, ``php-cgi SCRIPT.php``) would (RT-RUN-1)."""

from __future__ import annotations

import argparse
import os
import runpy
import sys

from ._ini import SAPI_PROFILES
from ._runtime import Runtime
from .transports import CgiTransport, CliTransport


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m phprt", description="PHP's runtime semantics in Python.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a ported script inside a Runtime, as `php SCRIPT.php` does")
    run.add_argument("script", help="the Python script (it uses phprt.php's functions)")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script (sys.argv[1:])")
    run.add_argument("--sapi", default="cli", choices=list(SAPI_PROFILES), help="the PHP SAPI to behave as (default: cli)")
    run.add_argument("-d", dest="ini", action="append", default=[], metavar="NAME=VALUE", help="set an ini directive, as php -d")
    options = parser.parse_args(argv)

    ini = {}
    for setting in options.ini:
        name, _, value = setting.partition("=")
        ini[name] = value if _ else "1"
    try:
        transport = CgiTransport() if options.sapi == "cgi" else CliTransport()
        runtime = Runtime(transport=transport, sapi=options.sapi, ini=ini, capture_print=True)
    except ValueError as error:
        parser.error(str(error))
    script = os.path.abspath(options.script)  # PHP reports scripts by their full path
    sys.argv = [options.script, *options.args]
    try:
        with runtime:
            runpy.run_path(script, run_name="__main__")
    except Exception:  # the Runtime reported it as PHP's "Uncaught ..." fatal error
        pass
    return runtime.exit_status


if __name__ == "__main__":
    sys.exit(main())
