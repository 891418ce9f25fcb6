"""Observations made comparable: what differs between two faithful runs is written as a
placeholder. The script's path becomes ``%s`` (``%S`` upper-cased by a handler), a
case's php.ini path ``%i``, PHP's exact version in X-Powered-By ``%s``
(DEV-POWERED-BY-1), a network response's Date ``%s``. Text that is not UTF-8 is
``{"bytes": hex}``.
"""

from __future__ import annotations

import re
from typing import Any

#: PHP's X-Powered-By names its exact version, phprt's does not (DEV-POWERED-BY-1).
_POWERED_BY = re.compile(r"X-Powered-By: PHP/(8\.[0-9]+\.[0-9]+|8\.[0-9]+ \(phprt\))")
_DATE = re.compile(rb"^Date: [^\r]*\r$", re.MULTILINE)
#: The built-in server's own access-log lines, which are not PHP's diagnostics.
_SERVER_LOG = re.compile(r"^127\.0\.0\.1:%d .*\n", re.MULTILINE)


def undated(head: bytes) -> bytes:
    """An HTTP or CGI head with its Date header's value as ``%s``."""
    return _DATE.sub(b"Date: %s\r", head)


def text(data: bytes, path: str) -> Any:
    """Output bytes as recorded: UTF-8 text, else ``{"bytes": hex}``, without PATH."""
    data = data.replace(path.encode(), b"%s").replace(path.upper().encode(), b"%S")  # upper: a handler's strtoupper
    data = _POWERED_BY.sub("X-Powered-By: PHP/%s", data.decode("latin-1")).encode("latin-1")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"bytes": data.hex()}


def without_path(value: Any, path: str) -> Any:
    """Results that mention the script (a buffer holding a displayed notice) name it "%s"."""
    if isinstance(value, str):
        return _POWERED_BY.sub("X-Powered-By: PHP/%s", value.replace(path, "%s").replace(path.upper(), "%S"))
    if isinstance(value, list):
        return [without_path(item, path) for item in value]
    if isinstance(value, dict):
        return {key: without_path(item, path) for key, item in value.items()}
    return value


def observation(sapi: str, stdout: bytes, stderr: bytes, results: list[Any], status: int | None,
                script: str, ini_path: str | None = None) -> dict[str, Any]:
    """The four observations of a run of a case under SAPI whose script lay at SCRIPT."""
    if sapi in ("cli-server", "fpm"):
        stdout = undated(stdout)
    if ini_path:
        stdout, stderr = stdout.replace(ini_path.encode(), b"%i"), stderr.replace(ini_path.encode(), b"%i")
    error_text = text(stderr, script)
    if sapi == "cli-server" and isinstance(error_text, str):  # the server's own access log is not PHP's
        error_text = _SERVER_LOG.sub("", error_text)
    return {"stdout": text(stdout, script), "stderr": error_text,
            "results": without_path(results, script), "exit": status}
