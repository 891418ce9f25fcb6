"""A 10 MiB multipart POST: ``python -m phprt run --sapi cgi`` against ``php-cgi -n`` (issue 13).

(8) the same request (one 10 MiB file field and a text field, CGI environment, body on
stdin), each in a fresh process: wall time and peak resident memory (``wait4``'s
ru_maxrss), php-cgi measured in the same run. The script reports the upload's size,
so both really parse it. "not measured" where php-cgi is absent. phprt runs with a bytecode
cache (in a temporary ``PYTHONPYCACHEPREFIX``, whatever PYTHONDONTWRITEBYTECODE says), as an
installed package has its ``.pyc`` files; without one every request would compile all of
phprt's modules first. The best of 3 runs is kept (the first fills the cache). Beside them,
``python -c pass`` in the same environment: Python's own start-up, the floor under phprt's time.

    python3 -m benchmarks --only serve_multipart [--quick]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.common import Result, benchmark, spawned, with_bytecode_cache

ROOT = Path(__file__).resolve().parents[1]
BOUNDARY = "----phprtbenchboundary"
PY = 'from phprt.php import *\necho(str(_FILES["upload"]["size"]) + " " + _POST["note"])\n'
LIMITS = ["-d", "upload_max_filesize=64M", "-d", "post_max_size=64M"]
PHP = '<?php echo $_FILES["upload"]["size"], " ", $_POST["note"];\n'


def body(size: int) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"big.bin\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + b"x" * size + f"\r\n--{BOUNDARY}--\r\n".encode()


def run(command: list[str], data: Path, script: Path, pycache: Path | None = None) -> tuple[float, float, bytes]:
    """(seconds, peak MiB, stdout) of one CGI request; ``pycache``: Python's bytecode cache there."""
    environment = {**os.environ, "REQUEST_METHOD": "POST", "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
                   "CONTENT_LENGTH": str(data.stat().st_size), "SCRIPT_FILENAME": str(script),
                   "GATEWAY_INTERFACE": "CGI/1.1", "REDIRECT_STATUS": "200", "SERVER_PROTOCOL": "HTTP/1.1"}
    if pycache is not None:
        environment = with_bytecode_cache(environment, pycache)
    with open(data, "rb") as stdin:
        return spawned(command, stdin, environment, ROOT)


@benchmark("serve_multipart")
def multipart_vs_php_cgi(quick: bool) -> list[Result]:
    size = (1 if quick else 10) << 20
    php_cgi = shutil.which("php-cgi")
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory)
        data = base / "body"
        data.write_bytes(body(size))
        (base / "upload.py").write_text(PY)
        (base / "upload.php").write_text(PHP)
        expected = f"{size} hello".encode()
        ours = min((run([sys.executable, "-m", "phprt", "run", "--sapi", "cgi", *LIMITS, str(base / "upload.py")], data,
                        base / "upload.py", base / "pycache") for _ in range(3)), key=lambda r: r[0])
        assert ours[2].endswith(expected), ours[2][-200:]
        theirs = None
        if php_cgi:
            theirs = min((run([php_cgi, "-n", *LIMITS], data,
                              base / "upload.php") for _ in range(3)), key=lambda r: r[0])
            assert theirs[2].endswith(expected), theirs[2][-200:]
        # Python's own floor on this machine: the same interpreter, site and environment, no phprt
        floor = min((run([sys.executable, "-c", "pass"], data, base / "upload.py", base / "pycache")
                     for _ in range(3)), key=lambda r: r[0])
    label = f"multipart {size >> 20} MiB POST (cgi)"
    return [Result.of(f"{label} time", ours[0] * 1e3, theirs and theirs[0] * 1e3, "ms", "php-cgi -n"),
            Result.of(f"{label} peak RSS", ours[1], theirs and theirs[1], "MiB", "php-cgi -n"),
            Result.of("python -c pass, same environment (the floor)", floor[0] * 1e3,
                      theirs and theirs[0] * 1e3, "ms", "php-cgi -n")]
