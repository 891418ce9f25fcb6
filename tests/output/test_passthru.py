"""readfile() and fpassthru() (phprt/output/passthru.py) of real files: what reaches the
output layer and in which writes.

Every expectation was printed by PHP 8.2.36 (``php -n``) running the PHP in the comment
beside it, with ``function h($b, $p) { global $s; $s[] = strlen($b); return ""; }`` as the
handler of ``ob_start('h', 1)`` to see each write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from phprt import MemoryTransport, Runtime
from phprt.output.passthru import passthru_chunks


def writes(calls: Any) -> tuple[list[int], list[Any], bytes]:
    """The length of each write into an ob_start(h, 1) buffer, the calls' results, and the body."""
    sizes: list[int] = []

    def handler(buffer: str, phase: int) -> str:
        sizes.append(len(buffer.encode("utf-8", "surrogateescape")))
        return ""

    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:
        rt.ob_start(handler, 1)
        results = calls(rt)
        rt.ob_end_flush()
    return sizes, results, transport.body


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "small.txt").write_bytes(b"hello\nworld")
    (tmp_path / "big.txt").write_bytes(b"x" * 20000)
    return tmp_path


@pytest.mark.clause("FILE-READFILE-1", "FILE-PASSTHRU-2")
def test_readfile_writes_a_file_in_one_write_and_returns_its_length(files: Path) -> None:
    # ob_start('h', 1); $r = readfile('big.txt'); ob_end_flush();  -> writes 20000 (then the final 0), $r 20000
    sizes, results, _ = writes(lambda rt: rt.readfile(str(files / "big.txt")))
    assert (sizes, results) == ([20000, 0], 20000)
    # var_dump(readfile('small.txt'));  -> "hello\nworld" int(11)
    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:
        assert rt.readfile(str(files / "small.txt")) == 11
        assert rt.readfile(f"file://{files / 'small.txt'}") == 11
    assert transport.body == b"hello\nworld" * 2


@pytest.mark.clause("FILE-PASSTHRU-2")
def test_more_than_4_mib_or_an_unaligned_position_goes_8192_bytes_at_a_time() -> None:
    # readfile() of 4194304 bytes: one write; of 4194305: 513 writes of 8192 and one of 1 (514 calls with the final)
    assert passthru_chunks(0, 4 * 1024 * 1024) == [4 * 1024 * 1024]
    chunks = passthru_chunks(0, 4 * 1024 * 1024 + 1)
    assert (len(chunks), set(chunks[:-1]), chunks[-1]) == (513, {8192}, 1)
    # fseek($f, 4096); fpassthru($f); of a 20000-byte file: 15904; fseek($f, 100): 8192, 8192, 3516
    assert passthru_chunks(4096, 15904) == [15904]
    assert passthru_chunks(100, 19900) == [8192, 8192, 3516]
    assert passthru_chunks(0, 0) == []


@pytest.mark.clause("FILE-FPASSTHRU-1", "FILE-PASSTHRU-2")
def test_fpassthru_writes_what_is_left_of_an_open_file(files: Path) -> None:
    # $f = fopen('small.txt', 'r'); fread($f, 3); var_dump(fpassthru($f)); var_dump(fpassthru($f));
    # -> "lo\nworld" int(8) int(0)
    transport = MemoryTransport()
    with Runtime(transport=transport) as rt, open(files / "small.txt", "rb") as stream:
        stream.read(3)
        assert [rt.fpassthru(stream), rt.fpassthru(stream)] == [8, 0]
    assert transport.body == b"lo\nworld"

    def seek_and_pass(rt: Any) -> list[int]:
        results = []
        for offset in (4096, 100):
            with open(files / "big.txt", "rb") as stream:
                stream.seek(offset)
                results.append(rt.fpassthru(stream))
        return results

    sizes, results, _ = writes(seek_and_pass)
    assert (sizes, results) == ([15904, 8192, 8192, 3516, 0], [15904, 19900])


@pytest.mark.clause("FILE-FPASSTHRU-1")
def test_fpassthru_of_a_text_stream_writes_its_bytes(files: Path) -> None:
    transport = MemoryTransport()
    with Runtime(transport=transport) as rt, open(files / "small.txt", encoding="utf-8") as stream:
        assert rt.fpassthru(stream) == 11
    assert transport.body == b"hello\nworld"


@pytest.mark.clause("DEV-FILE-PASSTHRU-1")
def test_after_a_partial_read_the_rest_goes_8192_bytes_at_a_time(files: Path) -> None:
    # PHP: $f = fopen('big.txt', 'r'); fread($f, 1); fpassthru($f);  -> writes 8191, 8192, 3616 (its stream
    # buffer first); phprt reads from the file's position: 8192, 8192, 3615 -- the same 19999 bytes.
    def partial(rt: Any) -> int:
        with open(files / "big.txt", "rb") as stream:
            stream.read(1)
            return int(rt.fpassthru(stream))

    sizes, result, _ = writes(partial)
    assert (sizes, result) == ([8192, 8192, 3615, 0], 19999)


@pytest.mark.clause("DEV-FILE-WRAPPERS-1", "FILE-READFILE-2")
def test_readfile_opens_local_paths_only(files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(files)
    transport = MemoryTransport()
    with Runtime(transport=transport) as rt:
        assert rt.readfile("small.txt", True) == 11  # relative to the working directory; include_path unused
        assert rt.readfile("php://memory") is False
    assert transport.body.startswith(b"hello\nworld\nWarning: readfile(php://memory): Failed to open stream: "
                                     b"No such file or directory")
