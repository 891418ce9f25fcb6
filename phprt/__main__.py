"""The command line (RT-RUN-1, NET-CLI-1):

- ``python -m phprt run SCRIPT.py``: run a ported script the way ``php SCRIPT.php``
  (or, with ``--sapi cgi``, ``php-cgi SCRIPT.php``) would;
- ``python -m phprt serve DOCROOT``: an HTTP server, as ``php -S`` is;
- ``python -m phprt fastcgi DOCROOT --listen ADDRESS``: a FastCGI responder for a
  web server such as nginx, as PHP-FPM is;
- ``python -m phprt trace SCRIPT.py``: run a ported script and show its lifecycle (phprt/trace/cli.py).

Each reads php.ini as PHP does (CONF-LOAD-1): ``-c FILE|DIR|production|development``, ``-n``,
``PHPRC`` and ``PHP_INI_SCAN_DIR``; ``--ini`` prints what it read, as ``php --ini``.
"""

from __future__ import annotations

import gc
import os
import sys
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from .engine.ini import SAPI_PROFILES, Configuration, IniSource, configure
from .engine.ini_files import find_ini, ini_report, write_errors
from .engine.ini_scanner import CLI_HARDCODED_INI, INI_E_ALL, define_line, parse_ini_string
from .engine.records import replace
from .engine.runtime import Runtime
from .engine.script import execute
from .engine.versions import PROFILES
from .transports import CgiTransport, CliTransport

if TYPE_CHECKING:
    import argparse


def byte_size(text: str) -> int:
    """A size option's value (phprt/net/listener.py's ``byte_size``), imported only when
    one is given: ``run`` needs none of the servers' modules (issue 13)."""
    from .net.listener import byte_size as parse

    return parse(text)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["trace"]:  # the lifecycle timeline (TRACE-CLI-1)
        from .trace.cli import main as trace

        return trace(arguments[1:])
    options = _plain_run(arguments)
    if options is None:
        options = _parser().parse_args(arguments)

    try:
        INI_E_ALL.set(PROFILES[options.php_version].e_all)  # E_ALL in php.ini and -d is the version's (VER-E-ALL-1)
        source = find_ini(options.sapi, options.php_ini, no_ini=options.no_ini)  # CONF-LOAD-1
        if source is not None and source.errors:  # printed first, as PHP reads php.ini first (CONF-SYNTAX-1)
            write_errors(source.errors)
            source = replace(source, errors=())
        if options.show_ini:
            sys.stdout.write(ini_report(source))  # php --ini (CONF-REPORT-1)
            return 0
        if options.command == "run" and options.script is None:
            _parser().error("the following arguments are required: script")
        ini = _defines(options.ini, options.sapi, cli=options.command == "run", source=source)
        if options.command == "serve":
            from .server import serve as serve_http

            return serve_http(options.docroot, options.listen, sapi=options.sapi, ini=ini, workers=options.workers,
                              php_version=options.php_version, **_chosen(options))
        if options.command == "fastcgi":
            from .fastcgi import serve as serve_fastcgi

            return serve_fastcgi(options.docroot, options.listen, sapi=options.sapi, ini=ini, workers=options.workers,
                                 socket_mode=options.socket_mode, backlog=options.listen_backlog,
                                 php_version=options.php_version, **_chosen(options))
        transport = CgiTransport() if options.sapi == "cgi" else CliTransport()
        runtime = Runtime(transport=transport, sapi=options.sapi, ini=ini, capture_print=True,
                          php_version=options.php_version)  # VER-PROFILE-1
    except (ValueError, OSError) as error:
        _parser().error(str(error))
    return _run(runtime, options.script, options.args)


def _plain_run(arguments: list[str]) -> Any:
    """The options of a plain ``run`` command line -- ``run``, then only ``--sapi S``,
    ``--php-version V``, ``-d X``, ``-c X``, ``-n`` and ``--ini`` each as two words (one for
    the flags), then the script, then its arguments -- read without building argparse's
    parser (PERF-IMPORT-1): the same values ``_parser().parse_args()`` gives it. None for
    any other command line, which argparse reads."""
    if arguments[:1] != ["run"]:
        return None
    options = SimpleNamespace(command="run", script=None, args=[], sapi="cli", ini=[], php_ini=None, no_ini=False,
                              show_ini=False, php_version="8.2")
    words = iter(arguments[1:])
    for word in words:
        if word in ("-n", "--ini"):
            setattr(options, "no_ini" if word == "-n" else "show_ini", True)
            continue
        if not word.startswith("-"):
            options.script, options.args = word, list(words)
            return options
        value = next(words, "-")
        if value.startswith("-"):
            return None
        if word == "--sapi" and value in SAPI_PROFILES:
            options.sapi = value
        elif word == "--php-version" and value in PROFILES:
            options.php_version = value
        elif word == "-d":
            options.ini.append(value)
        elif word == "-c":
            options.php_ini = value
        else:
            return None
    return None  # no script: argparse says what is missing


def _parser() -> argparse.ArgumentParser:
    """The command line's parser (argparse is imported only where it reads one, PERF-IMPORT-1)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m phprt", description="PHP's runtime semantics in Python.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a ported script inside a Runtime, as `php SCRIPT.php` does")
    run.add_argument("script", nargs="?", help="the Python script (it uses phprt.php's functions)")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script (sys.argv[1:])")
    _common(run, "cli")
    serve = commands.add_parser("serve", help="serve a document root over HTTP, as `php -S` does")
    serve.add_argument("docroot", help="the directory (or one script) to serve")
    serve.add_argument("--listen", default="127.0.0.1:8000", metavar="HOST:PORT", help="where to listen (default: 127.0.0.1:8000)")
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="processes sharing the socket, as PHP_CLI_SERVER_WORKERS (default: 1)")
    _limits(serve, requests=("--max-requests", 256, "requests answered at once, each in a thread"),
            idle=5.0, read=30.0, header=True)
    _common(serve, "cli-server")
    serve.add_argument("--trace", nargs="?", type=int, const=20, default=0, metavar="N", help=_TRACE)
    fastcgi = commands.add_parser("fastcgi", help="answer FastCGI requests from a web server, as PHP-FPM does")
    fastcgi.add_argument("docroot", help="the directory whose scripts SCRIPT_FILENAME may name")
    fastcgi.add_argument("--listen", required=True, metavar="HOST:PORT|PATH", help="a TCP address or a unix socket path")
    fastcgi.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes sharing the socket (default: 1)")
    fastcgi.add_argument("--socket-mode", type=lambda mode: int(mode, 8), default=0o660, metavar="MODE",
                         help="the permissions of a unix socket (default: 0660)")
    fastcgi.add_argument("--listen-backlog", type=int, default=511, metavar="N",
                         help="the listen queue, PHP-FPM's listen.backlog (default: 511)")
    _limits(fastcgi, requests=("--max-children", 128, "scripts running at once in each worker, as PHP-FPM's "
                                                      "pm.max_children"), idle=60.0, read=60.0, header=False)
    _common(fastcgi, "fpm")
    fastcgi.add_argument("--trace", nargs="?", type=int, const=20, default=0, metavar="N", help=_TRACE)
    return parser


def _defines(arguments: list[str], sapi: str, *, cli: bool, source: IniSource | None = None) -> Configuration:
    """The ``-d`` arguments as PHP reads them (INI-PARSE-6): one php.ini text, after the six
    lines php_cli.c puts first for ``php`` (not for php-cgi, ``php -S`` or PHP-FPM, whose
    first ``-d`` is line 1); a syntax error is printed as PHP prints it, ``PHP:  syntax
    error, ... in Unknown on line N`` on stderr, and the values before it are kept. Any name is
    accepted (INI-UNKNOWN-1)."""
    prefix = CLI_HARDCODED_INI if cli and sapi == "cli" else ""
    result = parse_ini_string(prefix + "".join(define_line(argument) for argument in arguments),
                              config=source.values if source is not None else None)
    if result.error is not None:
        print(f"PHP:  {result.error.message}", file=sys.stderr, flush=True)
    skip = prefix.count("\n")
    values = {entry.name: entry.value for entry in result.entries[skip:]
              if entry.value is not None and entry.offset is None and entry.section is None}
    return configure(sapi, values, parsed=True, source=source)


def _run(runtime: Runtime, given: str, args: list[str]) -> int:
    """``php SCRIPT`` (RT-RUN-1): a script that cannot be opened is PHP's first error --
    ``php`` prints ``Could not open input file: SCRIPT`` and exits 1; php-cgi answers 404 with
    ``No input file specified.`` and exits 255 (RT-RUN-2); a directory is an empty script to
    ``php``."""
    script = os.path.abspath(given)  # PHP reports scripts by their full path
    if runtime.sapi.name == "cli" and os.path.isdir(script):
        return execute(runtime, lambda: None, [given, *args]).exit_status
    if not os.path.isfile(script) or not os.access(script, os.R_OK):
        if runtime.sapi.name == "cli":
            try:
                os.write(sys.stdout.fileno(), f"Could not open input file: {given}\n".encode())
            except OSError:  # no reader: PHP's write fails silently too
                pass
            return 1
        with runtime:
            runtime.http_response_code(404)
            runtime.echo("No input file specified.\n")
        return 255
    sys.path.insert(0, os.path.dirname(script))  # as `python SCRIPT.py`: the script's neighbours import
    return execute(runtime, script, [given, *args]).exit_status


def _limits(command: argparse.ArgumentParser, *, requests: tuple[str, int, str], idle: float, read: float,
            header: bool) -> None:
    """The servers' limits and timeouts (SERVE-CLI-2, FCGI-LIMIT-1)."""
    flag, default, text = requests
    command.add_argument(flag, dest="max_requests", type=int, default=default, metavar="N", help=f"{text} (default: {default})")
    command.add_argument("--max-connections", type=int, default=1024, metavar="N",
                         help="connections held at once; a new one closes the one that has waited longest for "
                              "its request (default: 1024)")
    command.add_argument("--idle-timeout", type=float, default=idle, metavar="SECONDS",
                         help=f"how long a connection waits for a request to begin (default: {idle:g})")
    if header:
        command.add_argument("--header-timeout", type=float, default=10.0, metavar="SECONDS",
                             help="how long a request's head may take, from the connection's start or the last "
                                  "response; then 408 (default: 10)")
    command.add_argument("--read-timeout", type=float, default=read, metavar="SECONDS",
                         help=f"how long a request may take to arrive from its first byte (default: {read:g})")
    command.add_argument("--write-timeout", type=float, default=60.0, metavar="SECONDS",
                         help="how long a send may wait for a peer that does not read (default: 60)")
    command.add_argument("--max-body", type=byte_size, default=64 << 20, metavar="BYTES",
                         help="the largest request body, with K, M or G (default: 64M)")
    command.add_argument("--body-buffer", type=byte_size, default=64 << 10, metavar="BYTES",
                         help="a body beyond this waits in a temporary file (default: 64K)")
    command.add_argument("--body-memory", type=byte_size, default=128 << 20, metavar="BYTES",
                         help="memory for the bodies of running requests read back from their files (default: 128M)")


_TRACE = "keep the traces of the last N requests (--trace=N, default 20) and show them under /_phprt/trace/"


def _chosen(options: Any) -> dict[str, Any]:
    names = ("trace", "max_requests", "max_connections", "idle_timeout", "header_timeout", "read_timeout", "write_timeout",
             "max_body", "body_buffer", "body_memory")
    return {name: getattr(options, name) for name in names if hasattr(options, name)}


def _common(command: argparse.ArgumentParser, sapi: str) -> None:
    command.add_argument("--sapi", default=sapi, choices=list(SAPI_PROFILES), help=f"the PHP SAPI to behave as (default: {sapi})")
    command.add_argument("-d", dest="ini", action="append", default=[], metavar="NAME=VALUE", help="set an ini directive, as php -d")
    command.add_argument("-c", dest="php_ini", metavar="FILE|DIR|production|development",
                         help="read this php.ini (or php-SAPI.ini / php.ini in this directory), as php -c; "
                              "'production' and 'development' are PHP's php.ini-production and -development")
    command.add_argument("-n", dest="no_ini", action="store_true", help="no php.ini, as php -n")
    command.add_argument("--ini", dest="show_ini", action="store_true",
                         help="print the php.ini files this command reads, as php --ini, and exit")
    command.add_argument("--php-version", default="8.2", choices=list(PROFILES),
                         help="the PHP version to behave as (default: 8.2; spec/versions.md)")


if __name__ == "__main__":
    # What phprt's import made lives as long as the process: the collector need not walk
    # it again, during the script or at the interpreter's exit (PERF-IMPORT-1).
    gc.freeze()
    sys.exit(main())
