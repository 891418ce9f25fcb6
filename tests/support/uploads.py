"""A multipart/form-data upload, the script that reports it, and the memory a server
allocated while the upload arrived and was parsed (PERF-UPLOAD-2)."""

from __future__ import annotations

import hashlib
import random
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

BOUNDARY = "phprt-upload-boundary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
#: Room for the tests' 4 MiB file (PHP's default upload_max_filesize is 2M).
INI = {"upload_max_filesize": "8M"}

#: Reports the note, the file's size and SHA-256, and the peak of the memory traced since the
#: test began tracing, taken as the script starts: after the body was received and parsed.
SCRIPT = ("import hashlib, tracemalloc\nfrom phprt.php import *\npeak = tracemalloc.get_traced_memory()[1]\n"
          "upload = runtime().uploads[_FILES['f']['tmp_name']]\n"
          "echo(_POST['note'], ' ', _FILES['f']['size'], ' ', hashlib.sha256(upload.content).hexdigest(), ' ', peak)\n")


def upload(size: int) -> tuple[bytes, bytes]:
    """(the body, the file's content): a text field ``note`` ("hi") and ``size`` random bytes in ``f``."""
    content = random.Random(size).randbytes(size)
    body = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"r.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{BOUNDARY}--\r\n".encode()
    return body, content


def expected(content: bytes) -> bytes:
    """What SCRIPT echoes before the peak: what PHP's $_POST and $_FILES hold of ``upload()``."""
    return f"hi {len(content)} {hashlib.sha256(content).hexdigest()} ".encode()


@contextmanager
def traced() -> Iterator[None]:
    """Trace this process's memory (the server's, in a thread here) for SCRIPT to report."""
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()
