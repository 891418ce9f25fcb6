"""phprt.output.zlib against recordings of PHP 8.2.36 (linked with zlib 1.2.13, as is Python's zlib here).

Every expected value below was printed by real PHP; the command is in the comment beside it.
The recordings call ``ob_gzhandler($data, $flags)`` as a function, which runs the same
``php_zlib_output_handler_ex()`` as ``ob_start("ob_gzhandler")``, or capture the stdout of
``ob_start("ob_gzhandler", N)`` scripts, whose handler operations were logged by running the same
script with a logging callback in place of "ob_gzhandler".
"""

from __future__ import annotations

import hashlib

import pytest

from phprt.engine import constants as C
from phprt.output.zlib import DEFLATE, GZIP, DeflateContext, output_encoding

START = C.PHP_OUTPUT_HANDLER_START
WRITE = C.PHP_OUTPUT_HANDLER_WRITE
FLUSH = C.PHP_OUTPUT_HANDLER_FLUSH
CLEAN = C.PHP_OUTPUT_HANDLER_CLEAN
FINAL = C.PHP_OUTPUT_HANDLER_FINAL

Call = tuple[int, bytes]


def gzhandler_calls(encoding: int, level: int, calls: list[Call]) -> list[bytes | None]:
    """Feed *calls* to a context the way PHP's ob_gzhandler() function does.

    After a failure ob_gzhandler() frees its context; the next call gets a new one, which
    has no zlib stream until a START call.
    """
    ctx = DeflateContext(encoding, level)
    results: list[bytes | None] = []
    for op, data in calls:
        result = ctx.process(op, data)
        if result is None:
            ctx = DeflateContext(encoding, level)
        results.append(result)
    return results


def chain(key: int, n: int) -> bytes:
    """Incompressible test data PHP computes as d($k, $n) in the commands below."""
    blocks = (hashlib.sha256(f"{key}:{i}".encode()).digest() for i in range(-(-n // 32)))
    return b"".join(blocks)[:n]


# --- OUT-GZIP-2 ---------------------------------------------------------------------------

# Recorded with: HTTP_ACCEPT_ENCODING="$V" php -n -r 'ob_gzhandler("", 1); var_dump(zlib_get_coding_type());'
# (and `env -u HTTP_ACCEPT_ENCODING php ...` for None).
@pytest.mark.clause("OUT-GZIP-2")
@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        ("gzip", GZIP),  # string(4) "gzip"
        ("x-gzip", GZIP),  # string(4) "gzip"
        ("GZIP", 0),  # bool(false)
        ("deflate", DEFLATE),  # string(7) "deflate"
        ("Deflate", 0),  # bool(false)
        ("gzip, deflate", GZIP),  # string(4) "gzip"
        ("deflate, gzip", GZIP),  # string(4) "gzip"
        ("br;q=1, deflate;q=0.5", DEFLATE),  # string(7) "deflate"
        ("identity, gzip;q=0", GZIP),  # string(4) "gzip": q-values are not parsed
        ("br", 0),  # bool(false)
        ("*", 0),  # bool(false)
        ("", 0),  # bool(false)
        (None, 0),  # bool(false)
    ],
)
def test_output_encoding(accept_encoding: str | None, expected: int) -> None:
    """PHP picks gzip if "gzip" occurs anywhere (case-sensitive), else deflate if "deflate" does."""
    assert output_encoding(accept_encoding) == expected


# --- OUT-GZIP-3 ---------------------------------------------------------------------------


FOX = b"The quick brown fox jumps over the lazy dog. " * 3


@pytest.mark.clause("OUT-GZIP-3")
@pytest.mark.parametrize(
    ("encoding", "level", "calls", "expected"),
    [
        # HTTP_ACCEPT_ENCODING=gzip php -n -r 'echo bin2hex(ob_gzhandler("hello", PHP_OUTPUT_HANDLER_START)),
        #   "\n", bin2hex(ob_gzhandler(" world", PHP_OUTPUT_HANDLER_FINAL)), "\n";'
        (
            GZIP,
            -1,
            [(START, b"hello"), (FINAL, b" world")],
            ["1f8b0800000000000003ca48cdc9c907000000ffff", "5328cf2fca49010085114a0d0b000000"],
        ),
        # the same with HTTP_ACCEPT_ENCODING=deflate
        (
            DEFLATE,
            -1,
            [(START, b"hello"), (FINAL, b" world")],
            ["789cca48cdc9c907000000ffff", "5328cf2fca4901001a0b045d"],
        ),
        # HTTP_ACCEPT_ENCODING=gzip php -n -d zlib.output_compression_level=$L -r 'echo bin2hex(ob_gzhandler(
        #   str_repeat("The quick brown fox jumps over the lazy dog. ", 3),
        #   PHP_OUTPUT_HANDLER_START|PHP_OUTPUT_HANDLER_FINAL)), "\n";'          for L = -1, 0, 1, 9
        (
            GZIP,
            -1,
            [(START | FINAL, FOX)],
            [
                "1f8b08000000000000030bc94855282ccd4cce56482aca2fcf5348cbaf50c82acd2d2856c82f4b2d5228014ae7"
                "2456552aa4e4a7eb2984d04c310058001e0087000000"
            ],
        ),
        (
            GZIP,
            0,
            [(START | FINAL, FOX)],
            ["1f8b0800000000000403018700" "78ff" + FOX.hex() + "58001e0087000000"],
        ),
        (
            GZIP,
            1,
            [(START | FINAL, FOX)],
            [
                "1f8b08000000000004030bc94855282ccd4cce56482aca2fcf5348cbaf50c82acd2d2856c82f4b2d5228014ae7"
                "2456552aa4e4a7eb2984d04c310058001e0087000000"
            ],
        ),
        (
            GZIP,
            9,
            [(START | FINAL, FOX)],
            [
                "1f8b08000000000002030bc94855282ccd4cce56482aca2fcf5348cbaf50c82acd2d2856c82f4b2d5228014ae7"
                "2456552aa4e4a7eb2984d04c310058001e0087000000"
            ],
        ),
        # HTTP_ACCEPT_ENCODING=deflate php -n -d zlib.output_compression_level=0 -r 'function r($x){echo
        #   $x===false?"false":bin2hex($x),"\n";} r(ob_gzhandler("abc", 1)); r(ob_gzhandler("de", 4));
        #   r(ob_gzhandler("", 8));'
        (
            DEFLATE,
            0,
            [(START, b"abc"), (FLUSH, b"de"), (FINAL, b"")],
            ["7801000300fcff616263000000ffff", "000200fdff6465000000ffff", "010000ffff05c801f0"],
        ),
        # HTTP_ACCEPT_ENCODING=gzip php -n -r '...r() as above...  r(ob_gzhandler("", 1)); r(ob_gzhandler("", 8));'
        (
            GZIP,
            -1,
            [(START, b""), (FINAL, b"")],
            ["1f8b0800000000000003000000ffff", "03000000000000000000"],
        ),
    ],
)
def test_recorded_streams(encoding: int, level: int, calls: list[Call], expected: list[str]) -> None:
    """Header, blocks, sync/full flush markers and trailer are PHP's, for both codings and all levels.

    The gzip header's XFL byte follows the level (4 for 0-1, 2 for 9, else 0).
    """
    assert [r.hex() if r is not None else None for r in gzhandler_calls(encoding, level, calls)] == expected


@pytest.mark.clause("OUT-GZIP-3")
@pytest.mark.parametrize(
    ("calls", "expected"),
    [
        # HTTP_ACCEPT_ENCODING=gzip php -n -r 'function r($x){echo $x===false?"false":bin2hex($x),"\n";}
        #   r(ob_gzhandler("a", 1)); r(ob_gzhandler("", 0));'
        ([(START, b"a"), (WRITE, b"")], ["1f8b08000000000000034a04000000ffff", None]),
        # ... r(ob_gzhandler("a", 1)); r(ob_gzhandler("", 4)); r(ob_gzhandler("", 4));
        (
            [(START, b"a"), (FLUSH, b""), (FLUSH, b"")],
            ["1f8b08000000000000034a04000000ffff", "000000ffff", None],
        ),
        # ... r(ob_gzhandler("abc", 8)); r(ob_gzhandler("abc", 0));
        ([(FINAL, b"abc"), (WRITE, b"abc")], [None, None]),
    ],
)
def test_failures(calls: list[Call], expected: list[str | None]) -> None:
    """The handler fails (ob_gzhandler() returns false) where zlib's deflate() errs.

    An empty write right after a flush of the same or a higher rank is Z_BUF_ERROR (a sync
    flush after a sync flush, a full flush after a full flush; a full flush after a sync flush
    is fine); without a START there is no stream.
    """
    assert [r.hex() if r is not None else None for r in gzhandler_calls(GZIP, -1, calls)] == expected


@pytest.mark.clause("OUT-GZIP-3")
def test_bad_level_fails() -> None:
    """deflateInit2() refuses a level outside -1..9, so the START call fails.

    HTTP_ACCEPT_ENCODING=gzip php -n -d zlib.output_compression_level=10 -r 'var_dump(ob_gzhandler("abc", 9));'
    -> bool(false)
    """
    assert DeflateContext(GZIP, 10).process(START | FINAL, b"abc") is None
    assert DeflateContext(GZIP, -2).process(START | FINAL, b"abc") is None


@pytest.mark.clause("OUT-GZIP-3")
@pytest.mark.parametrize(
    ("calls", "expected"),
    [
        # HTTP_ACCEPT_ENCODING=gzip php -n -r 'function r($x){echo $x===false?"false":bin2hex($x),"\n";}
        #   r(ob_gzhandler("abc", 1)); r(ob_gzhandler("xyz", 2)); r(ob_gzhandler("def", 8));'
        (
            [(START, b"abc"), (CLEAN, b"xyz"), (FINAL, b"def")],
            [
                "1f8b08000000000000034a4c4a06000000ffff",
                "",
                "1f8b08000000000000034b494d030061e1c40c03000000",
            ],
        ),
        # ... r(ob_gzhandler("dropped", 3)); r(ob_gzhandler("kept", 8));
        ([(START | CLEAN, b"dropped"), (FINAL, b"kept")], ["", "1f8b0800000000000003cb4e2d280100066a28fb04000000"]),
        # ... r(ob_gzhandler("abc", 1)); r(ob_gzhandler("xyz", 10)); r(ob_gzhandler("more", 0));
        ([(START, b"abc"), (CLEAN | FINAL, b"xyz"), (WRITE, b"more")], ["1f8b08000000000000034a4c4a06000000ffff", "", None]),
    ],
)
def test_clean(calls: list[Call], expected: list[str | None]) -> None:
    """CLEAN drops the input and restarts the stream (a new header follows); with FINAL it just ends it."""
    assert [r.hex() if r is not None else None for r in gzhandler_calls(GZIP, -1, calls)] == expected


# Recorded with (ENC, LEVEL, N as in each row):
# HTTP_ACCEPT_ENCODING=$ENC php -n -d zlib.output_compression_level=$LEVEL -r 'function d($k,$n){$s="";
#   for($i=0;strlen($s)<$n;$i++)$s.=hash("sha256","$k:$i",true);return substr($s,0,$n);}
#   foreach([[1,1,$N],[0,2,$N],[4,3,$N],[8,4,$N]] as [$op,$k,$n]){$r=ob_gzhandler(d($k,$n),$op);
#   echo $r===false?"false":strlen($r)." ".hash("sha256",$r),"\n";}'
# i.e. START d(1,N), WRITE d(2,N), FLUSH d(3,N), FINAL d(4,N); each line is strlen and sha256.
INCOMPRESSIBLE = [
    ("gzip", -1, 100, [
        "120 7f272f99453c7ec0953e16dc8ca231c3078d2bfafec1e7e139a7e7ad0456686b",
        "110 710574c4fbbb286ceda3d8dfc3e404b614018dcd0d24ac2a12edad22cac6e780",
        "110 02b854a8ea36a1ae49cc7c208df5cfc477b91a06bb084c5a5aba7ecdfab6a7c4",
        "113 dab27fd48663ad9b6b338ad9e880003a71da4c02e6c47bf4bcb031817055e06a",
    ]),
    ("gzip", -1, 10000, [
        "10020 9390fa1fec2e460b599504c9306ef67e889c409db0d23bc83d9b9cea14984d91",
        "10010 cdfe2d0baf59180ae61a120dd9022c5bb3f67dcad0afa26abc7294c7ffe2e19c",
        "10010 d643cab6c940fa370a45516c2264d09b9ce00cbd2b58006b58e8ff6f69111e2b",
        "10013 09cae04174edf71a6a1125444e8ade7e7d3c0eea712e5ce24b48c9708d93e2fd",
    ]),
    ("gzip", -1, 100000, [
        "100035 78b654aaf088ac3dea558e584ae98b4e5a501178d39ce01522f13107f2fade97",
        "100025 173a01d0820159fa14050debbd9ca5794f1bb1b8a6be5811a6c3fe28c859d71a",
        "100025 493433f3cc4e1630f188c1fc2173b11529c0ef844990d3de8b3ed456f6ec0a42",
        "100028 e062e65401f00ecf02a2f5f74499fef4596d07e6e8098c9de27de0803b2b5610",
    ]),
    ("gzip", 0, 100, [
        "120 7f1af4a4ed10a190cba653db1c6f1b8e4f8dd0913d67ba59f540e83c7842ce0a",
        "110 710574c4fbbb286ceda3d8dfc3e404b614018dcd0d24ac2a12edad22cac6e780",
        "110 02b854a8ea36a1ae49cc7c208df5cfc477b91a06bb084c5a5aba7ecdfab6a7c4",
        "113 dab27fd48663ad9b6b338ad9e880003a71da4c02e6c47bf4bcb031817055e06a",
    ]),
    ("gzip", 0, 10000, [
        "10020 6c4d21d16ac77b95d4dc5a709fb6ee059f400b2569ad7ee4b41d0ea51a8894bc",
        "10010 cdfe2d0baf59180ae61a120dd9022c5bb3f67dcad0afa26abc7294c7ffe2e19c",
        "10010 d643cab6c940fa370a45516c2264d09b9ce00cbd2b58006b58e8ff6f69111e2b",
        "10013 09cae04174edf71a6a1125444e8ade7e7d3c0eea712e5ce24b48c9708d93e2fd",
    ]),
    ("gzip", 0, 100000, [
        "100025 918f1f7b2c747a12c9e83bb588faedfdd7892011561871b3302ca3f1b3659cd2",
        "100015 b33dc0c898055f74f94ca9ac4d2451c09979c7faf255eb95a05c397f388ddebe",
        "100015 aa32a19286f3e1ff69ad47ca3fd77f13149de90eb564b976a9f2424fbd1400c4",
        "100018 2a56205fcd12fdd4366c9c6d6362e5f4cf17e353539ab8675de634286b7fbe90",
    ]),
    ("gzip", 1, 100, [
        "120 7f1af4a4ed10a190cba653db1c6f1b8e4f8dd0913d67ba59f540e83c7842ce0a",
        "110 710574c4fbbb286ceda3d8dfc3e404b614018dcd0d24ac2a12edad22cac6e780",
        "110 02b854a8ea36a1ae49cc7c208df5cfc477b91a06bb084c5a5aba7ecdfab6a7c4",
        "113 dab27fd48663ad9b6b338ad9e880003a71da4c02e6c47bf4bcb031817055e06a",
    ]),
    ("gzip", 1, 10000, [
        "10020 6c4d21d16ac77b95d4dc5a709fb6ee059f400b2569ad7ee4b41d0ea51a8894bc",
        "10010 cdfe2d0baf59180ae61a120dd9022c5bb3f67dcad0afa26abc7294c7ffe2e19c",
        "10010 d643cab6c940fa370a45516c2264d09b9ce00cbd2b58006b58e8ff6f69111e2b",
        "10013 09cae04174edf71a6a1125444e8ade7e7d3c0eea712e5ce24b48c9708d93e2fd",
    ]),
    ("gzip", 1, 100000, [
        "100035 e1d6348d4e7b9585a57537376967a36ba14943b1624e7736f6e6d861fbc3a1fc",
        "100025 aa98a4817b5e534f0ef3af3f260572f9583e4de6ed6655a348608389f0f5203d",
        "100025 e5a93e45d085415f5b3f5e72e9a63b3bd5b0f54ad2249049fb8ac222b7a13726",
        "100028 e291a621b72eac5bd04241d9912a035d85ff764023b0fb7536e8acb8230cff41",
    ]),
    ("gzip", 9, 100, [
        "120 ed3fad157382daf5adcbf0821e13ad76cc2ae2bd5052bb6b94f3b28b04f09343",
        "110 710574c4fbbb286ceda3d8dfc3e404b614018dcd0d24ac2a12edad22cac6e780",
        "110 02b854a8ea36a1ae49cc7c208df5cfc477b91a06bb084c5a5aba7ecdfab6a7c4",
        "113 dab27fd48663ad9b6b338ad9e880003a71da4c02e6c47bf4bcb031817055e06a",
    ]),
    ("gzip", 9, 10000, [
        "10020 d367606b756b4595441cb60af2dd16e59d4eeb6e89006bd90ce66fc33d4f7c00",
        "10010 cdfe2d0baf59180ae61a120dd9022c5bb3f67dcad0afa26abc7294c7ffe2e19c",
        "10010 d643cab6c940fa370a45516c2264d09b9ce00cbd2b58006b58e8ff6f69111e2b",
        "10013 09cae04174edf71a6a1125444e8ade7e7d3c0eea712e5ce24b48c9708d93e2fd",
    ]),
    ("gzip", 9, 100000, [
        "100035 e663bee7c8dc8e653b1572a056b7b09ea66ba18797850e6acc9ed8acb344f0f9",
        "100025 173a01d0820159fa14050debbd9ca5794f1bb1b8a6be5811a6c3fe28c859d71a",
        "100025 493433f3cc4e1630f188c1fc2173b11529c0ef844990d3de8b3ed456f6ec0a42",
        "100028 e062e65401f00ecf02a2f5f74499fef4596d07e6e8098c9de27de0803b2b5610",
    ]),
    ("deflate", -1, 100000, [
        "100027 a447457b70f1cbf3e729a78e65e631ec9a8228e18822e8154d7b356f3d2b3f28",
        "100025 173a01d0820159fa14050debbd9ca5794f1bb1b8a6be5811a6c3fe28c859d71a",
        "100025 493433f3cc4e1630f188c1fc2173b11529c0ef844990d3de8b3ed456f6ec0a42",
        "100024 25c6f75348d13609ecb4a5dfd77ef489a3e5eba2bbac206290f92163fab0d540",
    ]),
    ("deflate", 0, 100000, [
        "100017 723789751f470e5dd59b3d97553fc048025526d9e699952dde12d2f3bfd04baa",
        "100015 b33dc0c898055f74f94ca9ac4d2451c09979c7faf255eb95a05c397f388ddebe",
        "100015 aa32a19286f3e1ff69ad47ca3fd77f13149de90eb564b976a9f2424fbd1400c4",
        "100014 fe6549e2b79cf768c5309fc90233c93514bef16f42b9a54c91b49879dbca2173",
    ]),
]  # fmt: skip


def digests(results: list[bytes | None]) -> list[str]:
    return ["false" if r is None else f"{len(r)} {hashlib.sha256(r).hexdigest()}" for r in results]


@pytest.mark.clause("OUT-GZIP-3")
@pytest.mark.parametrize(("enc", "level", "n", "expected"), INCOMPRESSIBLE)
def test_incompressible_data(enc: str, level: int, n: int, expected: list[str]) -> None:
    """Random data at levels -1, 0, 1, 9: stored blocks sized by PHP's output buffer (level 0), etc."""
    calls = [(START, chain(1, n)), (WRITE, chain(2, n)), (FLUSH, chain(3, n)), (FINAL, chain(4, n))]
    encoding = GZIP if enc == "gzip" else DEFLATE
    assert digests(gzhandler_calls(encoding, level, calls)) == expected


@pytest.mark.clause("OUT-GZIP-3")
def test_flush_at_a_python_buffer_boundary() -> None:
    """Python's compressobj would add a second empty stored block here (its flush output ends
    exactly at its own 32 KiB buffer); PHP's single deflate() call does not.

    HTTP_ACCEPT_ENCODING=gzip php -n -d zlib.output_compression_level=-1 -r '...d() as above...
      foreach([[1,8,65536],[8,8,0]] as [$op,$k,$n]){...same loop...}'
    """
    results = gzhandler_calls(GZIP, -1, [(START, chain(8, 65536)), (FINAL, b"")])
    assert digests(results) == [
        "65561 71361278690a3bc44c940ac4a6152cf13b67ee501dc74c6f1cb7f9e92bec5af0",
        "10 097b97a31f44a2619920ff9a5b4fc6e3694b1f6c2087c8dbf206560011605fe5",
    ]


NOTICE = b"\nNotice: ob_end_flush(): Failed to send buffer of ob_gzhandler (0) in Command line code on line 1\n"


@pytest.mark.clause("OUT-GZIP-3")
@pytest.mark.parametrize(
    ("calls", "expected"),
    [
        # HTTP_ACCEPT_ENCODING=gzip php -n -r 'ob_start("ob_gzhandler"); echo "Hello, "; ob_flush();
        #   echo "World!\n";' | xxd -p          handler ops logged: 5:"Hello, " 8:"World!\n"
        (
            [(START | FLUSH, b"Hello, "), (FINAL, b"World!\n")],
            "1f8b0800000000000003f248cdc9c9d75100000000ffff0bcf2fca4951e40200849ee8b40e000000",
        ),
        # HTTP_ACCEPT_ENCODING=gzip php -n -r 'ob_start("ob_gzhandler", 4); echo "abcdef"; echo "gh";
        #   echo "ijklmn"; ob_end_flush();' | xxd -p
        # ops: 1:"abcdef" 0:"ghijklmn"; ob_end_flush() fails (the handler made itself unremovable),
        # its notice (longer than the chunk size) is a WRITE, and the request end sends FINAL.
        (
            [(START, b"abcdef"), (WRITE, b"ghijklmn"), (WRITE, NOTICE), (FINAL, b"")],
            "1f8b08000000000000034a4c4a4e494d03000000ffff4acfc8cccacec9cd03000000ffff24ca390e80300c05d19e"
            "53fc3274d0d222517285288b0d96125b6269383d4194f334dd6a97249a60d19366cfe53e77d74f588214cab80c67"
            "73c49b990e187fe3f6ec417369ed861ea298add62628a284649960fac7d8bd000000ffff0300f4d6f0f170000000",
        ),
        # HTTP_ACCEPT_ENCODING=gzip php -n -r 'ob_start("ob_gzhandler"); echo "discard"; ob_clean();
        #   echo "kept"; ob_flush(); flush(); echo "end";' | xxd -p
        # ops: 3:"discard" 4:"kept" 8:"end"
        (
            [(START | CLEAN, b"discard"), (FLUSH, b"kept"), (FINAL, b"end")],
            "1f8b0800000000000003ca4e2d2801000000ffff4bcd4b01002f64d6ae07000000",
        ),
    ],
)
def test_ob_start_streams(calls: list[Call], expected: str) -> None:
    """ob_start("ob_gzhandler", N) output is the concatenation of the handler's results."""
    ctx = DeflateContext(GZIP, -1)
    outputs = [ctx.process(op, data) for op, data in calls]
    assert b"".join(o for o in outputs if o is not None).hex() == expected
    assert None not in outputs


@pytest.mark.clause("OUT-GZIP-3")
def test_second_empty_ob_flush_fails() -> None:
    """A second empty ob_flush() is Z_BUF_ERROR: PHP disables the handler, output goes out plain.

    HTTP_ACCEPT_ENCODING=gzip php -n -r 'ob_start("ob_gzhandler", 10); echo str_repeat("x", 25);
      ob_flush(); ob_flush(); echo "y"; ob_end_clean(); echo "plain";' | xxd -p
    -> 1f8b0800000000000003aaa8c00100000000ffff000000ffff 790a4e6f74696365... ("y\\nNotice: ...plain")
    """
    ctx = DeflateContext(GZIP, -1)
    assert ctx.process(START, b"x" * 25) == bytes.fromhex("1f8b0800000000000003aaa8c00100000000ffff")
    assert ctx.process(FLUSH, b"") == bytes.fromhex("000000ffff")
    assert ctx.process(FLUSH, b"") is None


@pytest.mark.clause("OUT-GZIP-3")
@pytest.mark.parametrize(
    ("level", "expected"),
    [
        # HTTP_ACCEPT_ENCODING=gzip php -n -d zlib.output_compression_level=$L -r 'function d($k,$n){$s="";
        #   for($i=0;strlen($s)<$n;$i++)$s.=hash("sha256","$k:$i",true);return substr($s,0,$n);}
        #   ob_start("ob_gzhandler", 40000); echo d(1, 100000); echo d(2, 10); ob_flush();
        #   echo d(3, 50000);' | sha256sum            ops logged: 1:100000 4:10 0:50000 8:0
        (0, "150068 4595f91a14d18389c0c09713b4501b7c11a7e91edc464b9cd4f7999042388796"),
        (9, "150077 69cf5ed35dcec22caf5e7d63639c7844b5c4a2f16cbbe8afd4934280ecbe3ad8"),
    ],
)
def test_ob_start_large_chunks(level: int, expected: str) -> None:
    """Large writes through ob_start("ob_gzhandler", 40000) at levels 0 and 9."""
    ctx = DeflateContext(GZIP, level)
    calls = [(START, chain(1, 100000)), (FLUSH, chain(2, 10)), (WRITE, chain(3, 50000)), (FINAL, b"")]
    outputs = [ctx.process(op, data) for op, data in calls]
    assert None not in outputs
    assert digests([b"".join(o for o in outputs if o is not None)]) == [expected]
