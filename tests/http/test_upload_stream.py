"""A multipart/form-data body read from a stream as it is parsed, its files spooled to
temporary files without a name, and the 5 KiB chunks passed at once where they would be
whole (PERF-UPLOAD-1): the same $_POST, $_FILES, uploads, diagnostics and php://input as
the body in memory gives (which the recorded cases of tests/http/test_request.py hold to
PHP's), wherever the reads cut the body."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from phprt.http import request
from phprt.http.request import StreamedBody, UploadedFile, request_variables
from phprt.net.body import Spool
from tests.conformance.record_request import load_request_cases
from tests.http.test_request import observe
from tests.support import ROOT

MULTIPART = [case for case in load_request_cases() if b"multipart" in (case.content_type or b"").lower()]


class Pieces(io.RawIOBase):
    """A stream that gives at most the next of ``sizes`` bytes per read (a pipe's reads)."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self.data, self.at, self.sizes, self.turn = data, 0, sizes, 0

    def readable(self) -> bool:
        return True

    def read(self, count: int = -1) -> bytes:
        size = self.sizes[self.turn % len(self.sizes)]
        self.turn += 1
        piece = self.data[self.at:self.at + min(size, count if count >= 0 else size)]
        self.at += len(piece)
        return piece


def seen(server: dict[str, str], body: bytes, ini: dict[str, str], stream: io.RawIOBase | None = None) -> Any:
    given = body if stream is None else StreamedBody(stream, len(body))  # type: ignore[arg-type]
    result = request_variables(server, given, ini.get)
    uploads = {name: (file.field, file.name, file.type, file.size, file.content) for name, file in result.uploads.items()}
    return (result.post, result.files, uploads, result.input, result.diagnostics, result.early_diagnostics)


def multipart(boundary: bytes, *parts: bytes, end: bytes = b"--\r\n") -> tuple[dict[str, str], bytes]:
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts) + b"--" + boundary + end
    return {"REQUEST_METHOD": "POST", "CONTENT_TYPE": "multipart/form-data; boundary=" + boundary.decode(),
            "CONTENT_LENGTH": str(len(body))}, body


def tricky(rng: random.Random, boundary: bytes) -> bytes:
    """File data with starts of the boundary, CRs and LFs where rfc1867.c's 5 KiB buffers end."""
    data = bytearray(b"x" * rng.randrange(5000, 30000))
    pieces = [b"\n", b"\n-", b"\n--", b"\n--" + boundary[:2], b"\r\n--" + boundary + b"X", b"\r", b"\r\n-", b"\r\n"]
    for _ in range(rng.randrange(1, 6)):
        at = 5120 + 5119 * rng.randrange(0, 6) + rng.randrange(-len(boundary) - 8, 4) + 100  # 100: the part's head
        piece = rng.choice(pieces)
        if 0 <= at < len(data) - len(piece):
            data[at:at + len(piece)] = piece
    return bytes(data)


@pytest.mark.clause("PERF-UPLOAD-1", "REQ-POST-5", "REQ-INPUT-1")
@pytest.mark.parametrize("case", MULTIPART, ids=[case.id for case in MULTIPART])
def test_a_streamed_body_gives_what_php_gave(case: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every recorded multipart request, its body read through a stream in pieces of 1 to
    5,121 bytes, gives what the body in memory gives."""
    monkeypatch.setattr(request, "_READ_AHEAD", 7)
    body = case.body
    in_memory = request_variables(case.server(), body, case.ini_get)
    streamed = request_variables(case.server(), StreamedBody(Pieces(body, [1, 5121, 3]), len(body)),  # type: ignore[arg-type]
                                 case.ini_get)
    for name in ("get", "post", "cookie", "files", "request", "input", "diagnostics", "early_diagnostics"):
        assert getattr(streamed, name) == getattr(in_memory, name), name
    assert {k: v.content for k, v in streamed.uploads.items()} == {k: v.content for k, v in in_memory.uploads.items()}
    assert observe(case)  # and the body in memory still gives what PHP gave (test_request.py checks it)


@pytest.mark.clause("PERF-UPLOAD-1")
def test_a_body_cut_anywhere_gives_the_same_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    server, body = multipart(
        b"XyZ",
        b'Content-Disposition: form-data; name="note"\r\n\r\nhello',
        b'Content-Disposition: form-data; name="f"; filename="a.bin"\r\nContent-Type: x/y\r\n\r\n'
        + tricky(random.Random(7), b"XyZ")[:6500],
        b'Content-Disposition: form-data; name="g[]"; filename="b.txt"\r\n\r\n' + b"\r\n--XyZ-not\r\n" * 3,
    )
    expected = seen(server, body, {})
    monkeypatch.setattr(request, "_READ_AHEAD", 1 << 20)
    for cut in range(0, len(body) + 1, 3):  # every third byte: a second at most
        assert seen(server, body, {}, Pieces(body, [cut or 1, len(body)])) == expected, cut


@pytest.mark.clause("PERF-UPLOAD-1", "REQ-FILES-2", "REQ-POST-5")
@pytest.mark.parametrize("seed", range(40))
def test_chunks_passed_at_once_are_the_chunks_php_reads(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """With starts of the boundary at the ends of the 5 KiB buffers, and upload limits that
    stop a file in the middle, passing chunks at once changes nothing: the same as reading
    every chunk one by one, from memory and from a stream."""
    rng = random.Random(seed)
    boundary = rng.choice([b"B", b"----WebKitFormBoundary7MA4YWxkTrZu0gW"])
    data = tricky(rng, boundary)
    server, body = multipart(
        boundary,
        b'Content-Disposition: form-data; name="f"; filename="a.bin"\r\n\r\n' + data,
        b'Content-Disposition: form-data; name="v"\r\n\r\n' + data[:rng.randrange(len(data))],
        end=rng.choice([b"--\r\n", b"", b"-"]),
    )
    body = body[:rng.randrange(len(body) - 200, len(body) + 1)]
    server["CONTENT_LENGTH"] = str(len(body))
    ini = {"upload_max_filesize": rng.choice(["0", "5119", "10238", "20000", "2M"])}
    passed = seen(server, body, ini)
    streamed = seen(server, body, ini, Pieces(body, [rng.randrange(1, 9000)]))
    monkeypatch.setattr(request._MultipartBuffer, "skip", lambda self, most: 0)
    assert passed == seen(server, body, ini) == streamed


@pytest.mark.clause("PERF-UPLOAD-1", "REQ-FILES-5")
def test_a_streamed_upload_waits_in_a_file_without_a_name() -> None:
    content = bytes(range(256)) * 1200  # 300 KiB, more than one read of the stream
    server, body = multipart(b"B", b'Content-Disposition: form-data; name="f"; filename="x.bin"\r\n\r\n' + content)
    result = request_variables(server, StreamedBody(io.BytesIO(body), len(body)))
    upload = result.uploads["phprt://upload/1"]
    assert upload == UploadedFile(field="f", name="x.bin", full_path="x.bin", type="", tmp_name="phprt://upload/1",
                                  size=len(content), content=content)
    spool = upload._content
    assert isinstance(spool, request._Spool) and spool.fd is not None and not spool.pieces
    if sys.platform == "linux":  # a file, but no name in any directory
        assert os.fstat(spool.fd).st_nlink == 0
    spool.close()
    assert spool.fd is None


@pytest.mark.clause("PERF-UPLOAD-1", "TRANSPORT-CGI-2")
def test_run_as_cgi_streams_an_upload_from_stdin(tmp_path: Path) -> None:
    content = random.Random(3).randbytes(600_000)
    server, body = multipart(b"bnd", b'Content-Disposition: form-data; name="note"\r\n\r\nhi',
                             b'Content-Disposition: form-data; name="f"; filename="r.bin"\r\n\r\n' + content)
    script = tmp_path / "upload.py"
    script.write_text("import hashlib, json\nfrom phprt.php import *\n"
                      "rt = runtime()\nfile = rt.uploads[_FILES['f']['tmp_name']]\n"
                      "echo(json.dumps([_POST['note'], _FILES['f']['size'], hashlib.sha256(file.content).hexdigest(), "
                      "rt.input.decode()]))\n")
    completed = subprocess.run([sys.executable, "-m", "phprt", "run", "--sapi", "cgi", str(script)],
                               input=body + b"after the body", capture_output=True, timeout=60, cwd=ROOT,
                               env={**os.environ, **server, "GATEWAY_INTERFACE": "CGI/1.1"})
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout.partition(b"\r\n\r\n")[2]) == ["hi", len(content),
                                                                     hashlib.sha256(content).hexdigest(), ""]


@pytest.mark.clause("PERF-UPLOAD-1")
def test_a_file_system_without_o_tmpfile_gets_a_file_whose_name_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    spool = request._Spool()
    spool.write(b"abc")
    spool.write(memoryview(b"defg"))
    assert spool.fd is not None and os.fstat(spool.fd).st_nlink == 0 and spool.content() == b"abcdefg"
    spool.close()


@pytest.mark.clause("PERF-UPLOAD-1")
def test_a_file_that_cannot_be_written_stays_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    content = bytes(range(256)) * 2000
    server, body = multipart(b"B", b'Content-Disposition: form-data; name="f"; filename="x.bin"\r\n\r\n' + content)
    writes = []
    real_write = os.write

    def full_disk(fd: int, data: Any) -> int:
        writes.append(len(data))
        if len(writes) > 2:
            raise OSError(28, "No space left on device")
        return real_write(fd, data[:1000])  # a short write first

    monkeypatch.setattr(request.os, "write", full_disk)
    result = request_variables(server, StreamedBody(io.BytesIO(body), len(body)))  # type: ignore[arg-type]
    upload = result.uploads["phprt://upload/1"]
    assert upload.content == content and upload.size == len(content) and upload._content.fd is None  # type: ignore[union-attr]


@pytest.mark.clause("PERF-UPLOAD-2")
def test_a_spooled_body_is_read_from_its_file_which_closes_with_its_last_holder() -> None:
    server, body = multipart(b"bnd", b'Content-Disposition: form-data; name="f"; filename="r.bin"\r\n\r\n'
                             + random.Random(5).randbytes(300_000))
    spool = Spool(1024)
    for at in range(0, len(body), 7000):
        spool.write(body[at:at + 7000])
    held = spool.body()
    assert spool.on_disk and isinstance(held, StreamedBody) and held == b""  # on disk: nothing in memory
    descriptor = f"/proc/self/fd/{spool._file.fileno()}"  # type: ignore[union-attr]
    target = os.readlink(descriptor)
    del spool  # the body still reads the file ...
    assert seen(server, held, {}) == seen(server, body, {})
    del held  # ... which closes when the body goes
    assert not os.path.lexists(descriptor) or os.readlink(descriptor) != target
    small = Spool(1024)
    small.write(b"a=1")
    kept = small.body()
    assert kept == b"a=1" and type(kept) is bytes and not small.on_disk
