"""Run a case through real PHP and observe it (the ``--php`` adapter, and the recorder's).

``php -n`` runs a "cli" case; ``php-cgi -n`` a "cgi" one, whose stdout is the whole CGI
response and whose ``server`` table is the environment, as a web server's CGI call; for
"cli-server" and "fpm" a private ``php -S`` or php-fpm and a client (servers.py), whose
stdout is what the client read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import servers
from .cases import BASE_INI, Case
from .normalise import observation
from .render import render_php

#: Where PHP runs a case: a path as long as run_phprt.PYTHON_PATH (tempfile adds 8 characters),
#: so that byte counts of text naming the script (a buffered notice) agree.
PHP_DIRECTORY = ("/tmp", "rec-")

#: The PHP 8.2 binary that records each SAPI profile's cases.
PHP_BINARIES = {"cli": "php", "cgi": "php-cgi", "cli-server": "php", "fpm": servers.PHP_FPM}


@dataclass(frozen=True)
class PhpBinaries:
    """The binaries of one PHP installation, by the SAPI profile they run."""

    cli: str = "php"
    cgi: str = "php-cgi"
    fpm: str = servers.PHP_FPM

    @classmethod
    def beside(cls, php: str) -> PhpBinaries:
        """The binaries installed next to the CLI PHP (``/usr/bin/php8.2`` -> ``php-cgi8.2``;
        php-fpm named by the CLI's version, looked up on PATH and in /usr/sbin)."""
        directory, name = os.path.split(php)
        suffix = name[3:] if name.startswith("php") else ""
        cgi = os.path.join(directory, "php-cgi" + suffix)
        version = ".".join(php_version(php).split(".")[:2])
        fpm = shutil.which(f"php-fpm{version}") or shutil.which(f"php-fpm{version}", path="/usr/sbin") or "php-fpm"
        return cls(php, cgi, fpm)

    def for_sapi(self, sapi: str) -> str:
        return {"cgi": self.cgi, "fpm": self.fpm}.get(sapi, self.cli)


def run_php(case: Case, php: str | None = None, binaries: PhpBinaries | None = None) -> dict[str, Any]:
    """Run the case through real PHP and observe it: BINARIES (default: php, php-cgi,
    php-fpm8.2 on PATH); PHP, if given, runs every cli and cgi case (the recorder's ``--php``)."""
    binaries = binaries or PhpBinaries()
    binary = php or binaries.for_sapi(case.sapi)
    if shutil.which(binary) is None:  # a build without php-cgi or php-fpm (a static CLI)
        from .run_command import Skipped

        raise Skipped(f"{binary} is not installed: this PHP cannot run a {case.sapi!r} case")
    with tempfile.TemporaryDirectory(prefix=PHP_DIRECTORY[1], dir=PHP_DIRECTORY[0]) as tmp:
        script, log = os.path.join(tmp, "case.php"), os.path.join(tmp, "record.jsonl")
        Path(script).write_text(render_php(case))
        Path(log).touch()
        ini = {**BASE_INI, **case.ini}
        if case.sapi in ("cli-server", "fpm"):
            if case.ini_file:
                raise ValueError(f"{case.id}: ini_file is for the cli and cgi cases")
            environment = {**case.server, "PHPRT_RECORD": log}
            if case.sapi == "cli-server":
                seen = servers.run_cli_server(script, ini, environment, case.disconnect_after, php=binaries.cli)
            else:
                seen = servers.run_fpm(script, ini, environment, case.disconnect_after, fpm=binaries.fpm)
            stdout, stderr, status = seen["stdout"], seen["stderr"], seen["exit"]
        else:
            stdout, stderr, status = _run_binary(case, binary, script, log, ini)
        results = [json.loads(line) for line in Path(log).read_text().splitlines()]
    return observation(case.sapi, stdout, stderr, results, status, script, ini_path(script) if case.ini_file else None)


def ini_path(script: str) -> str:
    """Where a case's php.ini is written: beside its script."""
    return os.path.join(os.path.dirname(script), "php.ini")


def _run_binary(case: Case, php: str, script: str, log: str, ini: dict[str, str]) -> tuple[bytes, bytes, int]:
    options = [f"-d{name}={value}" for name, value in ini.items()]
    environment = {**os.environ, **case.server, "PHPRT_RECORD": log}
    no_ini = ["-n"]
    if case.ini_file:  # php -c FILE, without the distribution's conf.d
        Path(ini_path(script)).write_text(case.ini_file)
        no_ini, environment["PHP_INI_SCAN_DIR"] = ["-c", ini_path(script)], ""
    arguments = [script]
    if "REQUEST_METHOD" in case.server:  # php-cgi then runs as a web server's CGI program
        environment.update(REDIRECT_STATUS="200", SCRIPT_FILENAME=script)
        arguments = []
    stdout: Any = subprocess.PIPE
    if case.disconnect_after == 0:  # a reader that is already gone: every write fails (EPIPE)
        reader, stdout = os.pipe()
        os.close(reader)
    try:
        completed = subprocess.run(
            [php, *no_ini, *options, *arguments], stdout=stdout, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, env=environment, timeout=60,
        )
    finally:
        if stdout is not subprocess.PIPE:
            os.close(stdout)
    return completed.stdout or b"", completed.stderr, completed.returncode


def php_version(php: str = "php") -> str:
    """The version of the PHP binary ``php`` (the CLI or php-cgi)."""
    banner = subprocess.run([php, "-n", "-v"], capture_output=True, text=True, check=True).stdout
    return banner.split()[1]
