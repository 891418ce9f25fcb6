"""The adapter interface another runtime implements: ``--command CMD`` (CONF-SUITE-ADAPTER-1).

For each case the suite writes the case's PHP rendering to a fresh directory, then runs
CMD (split as a shell would, run without one) with the case as one JSON object on stdin
and reads one JSON object from its stdout. See spec/conformance.md for the fields.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .cases import BASE_INI, Case
from .normalise import observation
from .render import render_php
from .run_php import PHP_DIRECTORY, ini_path

#: The version of the interface: the ``protocol`` field of every request.
PROTOCOL = 1


class AdapterError(Exception):
    """The command failed, or did not answer with an observation."""


class Skipped(Exception):
    """The command cannot run this case (``{"skip": REASON}``)."""


def request(case: Case, script: str, record: str, ini_file: str | None) -> dict[str, Any]:
    """The JSON object CMD receives for CASE."""
    return {
        "protocol": PROTOCOL, "id": case.id, "sapi": case.sapi, "source": render_php(case),
        "script": script, "record": record, "ini": {**BASE_INI, **case.ini}, "ini_file": ini_file,
        "server": case.server, "disconnect_after": case.disconnect_after,
    }


def _bytes(value: Any, what: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and isinstance(value.get("bytes"), str):
        return bytes.fromhex(value["bytes"])
    raise AdapterError(f"{what} must be a string or {{\"bytes\": HEX}}, not {value!r}")


def run_command(case: Case, command: str, timeout: float = 120) -> dict[str, Any]:
    """Run CASE through the adapter COMMAND and observe it as run_php observes PHP."""
    with tempfile.TemporaryDirectory(prefix=PHP_DIRECTORY[1], dir=PHP_DIRECTORY[0]) as tmp:
        script, record = os.path.join(tmp, "case.php"), os.path.join(tmp, "record.jsonl")
        Path(script).write_text(render_php(case))
        Path(record).touch()
        ini_file = None
        if case.ini_file:
            ini_file = ini_path(script)
            Path(ini_file).write_text(case.ini_file)
        document = json.dumps(request(case, script, record, ini_file))
        try:
            completed = subprocess.run(shlex.split(command), input=document.encode(), capture_output=True,
                                       timeout=timeout, env={**os.environ, "PHPRT_RECORD": record})
        except subprocess.TimeoutExpired:
            raise AdapterError(f"{command!r} did not answer within {timeout} s") from None
        if completed.returncode != 0:
            raise AdapterError(f"{command!r} exited with {completed.returncode}: "
                               f"{completed.stderr.decode('utf-8', 'replace').strip()[-500:]}")
        try:
            answer = json.loads(completed.stdout)
        except ValueError:
            raise AdapterError(f"{command!r} printed no JSON object: {completed.stdout[:200]!r}") from None
        if not isinstance(answer, dict):
            raise AdapterError(f"{command!r} printed {type(answer).__name__}, not a JSON object")
        if "skip" in answer:
            raise Skipped(str(answer["skip"]))
        results = answer.get("results")
        if results is None:
            results = [json.loads(line) for line in Path(record).read_text().splitlines()]
        status = answer.get("exit")
        if status is not None and not isinstance(status, int):
            raise AdapterError(f"exit must be an integer or null, not {status!r}")
        return observation(case.sapi, _bytes(answer.get("stdout"), "stdout"), _bytes(answer.get("stderr"), "stderr"),
                           results, status, script, ini_file)
