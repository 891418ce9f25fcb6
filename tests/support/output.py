"""The output layer's fast paths' scripts, with what PHP made of them (PERF-OB-4, PERF-OB-5, PERF-OB-6,
PERF-OB-7, PERF-OB-9, PERF-DUMP-1).

CHUNKED is PHP's, recorded with ``php -n`` and ``php-cgi -n`` (8.2.36), the same bytes from both::

    ob_start(function ($b, $p) { return "[" . strlen($b) . ":" . $p . "]"; }, 10);
    echo "aaaa"; echo "bbbb"; echo "c"; echo "dd"; echo "eeeeeeeeeee"; echo "é"; echo "12345678";
    echo "x", "y", 7, "zzzzzzz"; echo "q"; $s = ob_get_status(); ob_end_flush();
    echo "\\n", $s["buffer_used"], " ", $s["buffer_size"], "\\n";

FLUSHED is PHP's likewise (``php -n``, ``php-cgi -n``), for the default handler flushed, cleaned
and ended (PERF-OB-6)::

    ob_start(function ($b, $p) { return "<" . $b . ">"; }); ob_start(); echo "ab", "é"; ob_flush();
    echo "gone"; ob_clean(); ob_start(null, 4); ob_start(); echo "xyz"; ob_flush(); echo "w";
    ob_flush(); echo "tail"; $t = ob_get_flush(); ob_end_flush(); echo "[", $t, "]";
    ob_end_flush(); ob_end_flush();

DUMPED is PHP's likewise, for var_dump, print_r and var_export into a plain buffer (PERF-DUMP-1)::

    ob_start(); var_dump(["a" => "", "b" => [1, "é"]]); print_r(["k" => "v", "5" => 5]);
    var_export(["k" => "v'", "5" => 5]); ob_end_flush();

NAMED is PHP's likewise, for a handler named by a string, started again and again (PERF-OB-7)::

    function up($b, $p) { return strtoupper($b); }
    for ($i = 0; $i < 3; $i++) { ob_start("up"); echo "a", $i; ob_end_flush(); }
    ob_start("up"); ob_start("up"); echo "b"; $l = ob_list_handlers(); ob_end_flush(); ob_end_flush();
    echo count($l), $l[1];

METHODS is PHP's likewise, for a method's handler started again and again, as an array and as
itself (a bound method, the array's port), a static method named by a string, and a closure made
for each of 100 buffers (PERF-OB-9)::

    class O { public $n = 0; function h($b, $p) { $this->n++; return strtoupper($b); }
              static function s($b, $p) { return "(" . $b . ")"; } }
    $o = new O;
    for ($i = 0; $i < 3; $i++) { ob_start([$o, "h"]); echo "a", $i; ob_end_flush(); }
    for ($i = 0; $i < 3; $i++) { ob_start([$o, "h"]); echo "c", $i; ob_end_flush(); }
    for ($i = 0; $i < 2; $i++) { ob_start("O::s"); echo "s", $i; ob_end_flush(); }
    for ($i = 0; $i < 100; $i++) { ob_start(fn($b) => "<" . $b . ">"); echo $i % 10; ob_end_flush(); }
    ob_start([$o, "h"]); ob_start([$o, "h"]); echo "b"; $l = ob_list_handlers(); ob_end_flush(); ob_end_flush();
    echo count($l), $l[0], $l[1], $o->n;

MIXED_PY is the script whose records php-fpm8.2 cut, the same script in PHP (its records:
tests/frontends/test_fastcgi.py); its body, 29,467 bytes, is what php-fpm8.2 sent, whichever
transport is behind PHP-FPM's record buffer.
"""

from __future__ import annotations

CHUNKED_PY = """from phprt.php import *
ob_start(lambda buffer, phase: "[" + str(len(buffer.encode())) + ":" + str(phase) + "]", 10)
echo("aaaa"); echo("bbbb"); echo("c"); echo("dd")
echo("eeeeeeeeeee")
echo("é"); echo("12345678")
echo("x", "y", 7, "zzzzzzz")
echo("q")
s = ob_get_status()
ob_end_flush()
echo("\\n", s["buffer_used"], " ", s["buffer_size"], "\\n")
"""
CHUNKED = b"[11:1][11:0][10:0][10:0][1:8]\n1 4096\n"

FLUSHED_PY = """from phprt.php import *
ob_start(lambda buffer, phase: "<" + buffer + ">")
ob_start()
echo("ab", "é")
ob_flush()
echo("gone")
ob_clean()
ob_start(None, 4)
ob_start()
echo("xyz")
ob_flush()
echo("w")
ob_flush()
echo("tail")
t = ob_get_flush()
ob_end_flush()
echo("[", t, "]")
ob_end_flush()
ob_end_flush()
"""
FLUSHED = "<abéxyzwtail[tail]>".encode()

NAMED_PY = """from phprt.php import *
def up(b, p):
    return b.upper()
for i in range(3):
    ob_start("up"); echo("a", i); ob_end_flush()
ob_start("up"); ob_start("up"); echo("b"); l = ob_list_handlers(); ob_end_flush(); ob_end_flush()
echo(len(l), l[1])
"""
NAMED = b"A0A1A2B2up"

METHODS_PY = """from phprt.php import *
class O:
    def __init__(self):
        self.n = 0
    def h(self, b, p):
        self.n += 1
        return b.upper()
    @staticmethod
    def s(b, p):
        return "(" + b + ")"
o = O()
for i in range(3):
    ob_start(o.h); echo("a", i); ob_end_flush()
for i in range(3):
    ob_start([o, "h"]); echo("c", i); ob_end_flush()
for i in range(2):
    ob_start("O::s"); echo("s", i); ob_end_flush()
for i in range(100):
    ob_start(lambda b: "<" + b + ">"); echo(i % 10); ob_end_flush()
ob_start([o, "h"]); ob_start(o.h); echo("b"); l = ob_list_handlers(); ob_end_flush(); ob_end_flush()
echo(len(l), l[0], l[1], o.n)
"""
METHODS = b"A0A1A2C0C1C2(s0)(s1)" + b"".join(b"<%d>" % (i % 10) for i in range(100)) + b"B2O::hO::h8"

DUMPED_PY = """from phprt.php import *
ob_start()
var_dump({"a": "", "b": [1, "é"]})
print_r({"k": "v", "5": 5})
var_export({"k": "v'", "5": 5})
ob_end_flush()
"""
DUMPED = ('array(2) {\n  ["a"]=>\n  string(0) ""\n  ["b"]=>\n  array(2) {\n    [0]=>\n    int(1)\n    [1]=>\n'
          '    string(2) "é"\n  }\n}\nArray\n(\n    [k] => v\n    [5] => 5\n)\n'
          "array (\n  'k' => 'v\\'',\n  5 => 5,\n)").encode()

MIXED_PY = ("from phprt.php import *\nfor i in range(4000):\n    echo('abcd', i % 10)\n    if i % 500 == 0:\n"
            "        echo('é')\n    if i == 700:\n        ob_start()\n        echo('inner', i)\n        ob_end_flush()\n"
            "    if i == 1200:\n        flush()\n    if i == 1600:\n        error_log('late')\n"
            "ob_start(None, 100)\nfor i in range(50):\n    echo('chunked', i)\nob_end_flush()\n"
            "echo('z' * 9000)\necho('end')\n")


def mixed_is_php_fpms(body: bytes) -> None:
    assert len(body) == 29467 and body.count("é".encode()) == 8 and b"inner700" in body
    assert body.endswith(b"z" * 9000 + b"end") and body.count(b"abcd") == 4000
