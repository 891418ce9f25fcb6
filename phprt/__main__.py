"""The command line (RT-RUN-1, NET-CLI-1):

- ``python -m phprt run SCRIPT.py``: run a ported script the way ``php SCRIPT.php``
  (or, with ``--sapi cgi``, ``php-cgi SCRIPT.php``) would;
- ``python -m phprt serve DOCROOT``: an HTTP server, as ``php -S`` is;
- ``python -m phprt fastcgi DOCROOT --listen ADDRESS``: a FastCGI responder for a
  web server such as nginx, as PHP-FPM is.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ._ini import SAPI_PROFILES
from ._runtime import Runtime
from ._script import execute
from .transports import CgiTransport, CliTransport


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m phprt", description="PHP's runtime semantics in Python.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a ported script inside a Runtime, as `php SCRIPT.php` does")
    run.add_argument("script", help="the Python script (it uses phprt.php's functions)")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script (sys.argv[1:])")
    _common(run, "cli")
    serve = commands.add_parser("serve", help="serve a document root over HTTP, as `php -S` does")
    serve.add_argument("docroot", help="the directory (or one script) to serve")
    serve.add_argument("--listen", default="127.0.0.1:8000", metavar="HOST:PORT", help="where to listen (default: 127.0.0.1:8000)")
    _common(serve, "cli-server")
    fastcgi = commands.add_parser("fastcgi", help="answer FastCGI requests from a web server, as PHP-FPM does")
    fastcgi.add_argument("docroot", help="the directory whose scripts SCRIPT_FILENAME may name")
    fastcgi.add_argument("--listen", required=True, metavar="HOST:PORT|PATH", help="a TCP address or a unix socket path")
    fastcgi.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes sharing the socket (default: 1)")
    fastcgi.add_argument("--socket-mode", type=lambda mode: int(mode, 8), default=0o660, metavar="MODE",
                         help="the permissions of a unix socket (default: 0660)")
    _common(fastcgi, "fpm")
    options = parser.parse_args(argv)

    ini: dict[str, Any] = {}
    for setting in options.ini:
        name, _, value = setting.partition("=")
        ini[name] = value if _ else "1"
    try:
        if options.command == "serve":
            from .server import serve as serve_http

            return serve_http(options.docroot, options.listen, sapi=options.sapi, ini=ini)
        if options.command == "fastcgi":
            from .fastcgi import serve as serve_fastcgi

            return serve_fastcgi(options.docroot, options.listen, sapi=options.sapi, ini=ini, workers=options.workers,
                                 socket_mode=options.socket_mode)
        transport = CgiTransport() if options.sapi == "cgi" else CliTransport()
        runtime = Runtime(transport=transport, sapi=options.sapi, ini=ini, capture_print=True)
    except (ValueError, OSError) as error:
        parser.error(str(error))
    script = os.path.abspath(options.script)  # PHP reports scripts by their full path
    sys.argv = [options.script, *options.args]
    return execute(runtime, script).exit_status


def _common(command: argparse.ArgumentParser, sapi: str) -> None:
    command.add_argument("--sapi", default=sapi, choices=list(SAPI_PROFILES), help=f"the PHP SAPI to behave as (default: {sapi})")
    command.add_argument("-d", dest="ini", action="append", default=[], metavar="NAME=VALUE", help="set an ini directive, as php -d")


if __name__ == "__main__":
    sys.exit(main())
