"""``serve`` against ``php -n -S`` under wrk (issue 13).

(1) hello world, the same process count (1 and 2: ``serve --workers N`` beside
``PHP_CLI_SERVER_WORKERS=N``), wrk -t2 at -c16 and -c64: requests/s, p99 latency and
server CPU per request, php -S measured in the same run; (4) a 700-line script of 140
functions, and one of 50 classes, against a 5-line one, all served by ``serve`` (php -S's
own ratios beside them, without opcache, and for the classes with opcache too, where
``php -n`` can load it); the 50 classes imported from a module by a 5-line script, which a
process makes once (RT-SCRIPT-1); and a page of 52 echos against the same page on php -S.
"not measured" (baseline None) where wrk or php is absent.

    python3 -m benchmarks --only serve_http [--quick]
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.common import Result, benchmark, php_available

ROOT = Path(__file__).resolve().parents[1]
HELLO_PY = 'from phprt.php import *\necho("Hello, world!\\n")\n'
HELLO_PHP = '<?php\necho "Hello, world!\\n";\n'
#: A page of 52 echos, 210 values: the output layer's cost per echo, beside PHP's.
PAGE_PY = ('from phprt.php import *\nheader("X-Frame-Options: DENY")\nname = _GET.get("name", "world")\n'
           'echo(f"<!doctype html><title>Hello</title><h1>Hello, {name}!</h1>\\n<ul>\\n")\n'
           'for i in range(50):\n    echo("<li>Item ", i, ": ", str(i * i), "</li>\\n")\necho("</ul>\\n")\n')
PAGE_PHP = ('<?php\nheader("X-Frame-Options: DENY");\n$name = $_GET["name"] ?? "world";\n'
            'echo "<!doctype html><title>Hello</title><h1>Hello, $name!</h1>\\n<ul>\\n";\n'
            'for ($i = 0; $i < 50; $i++) {\n    echo "<li>Item ", $i, ": ", (string)($i * $i), "</li>\\n";\n}\n'
            'echo "</ul>\\n";\n')


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) of every live process of the process group ``pgid``."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the name: state ppid pgrp ...
            total += int(fields[11]) + int(fields[12])
    return total / ticks


@contextmanager
def server(command: list[str], port: int, env: dict[str, str] | None = None, *,
           cwd: Path = ROOT) -> Iterator[int]:
    """Run ``command`` (listening on ``port``) in a process group of its own; yields its pgid."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd,
                               env={**os.environ, **(env or {})}, start_new_session=True)
    try:
        wait_listening(port)
        yield process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _seconds(text: str) -> float:
    """wrk's latency figure (``850.12us``, ``3.2ms``, ``1.10s``, ``2.00m``) in seconds; NaN if unreadable."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        return float("nan")
    return float(match[1]) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[match[2]]


def wrk(url: str, connections: int, seconds: float, pgid: int | None = None) -> tuple[float, float, float]:
    """(requests/s, p99 seconds, server CPU seconds per request) under wrk -t2."""
    cpu = group_cpu(pgid) if pgid else 0.0
    done = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", url],
                          capture_output=True, text=True, check=True)
    used = (group_cpu(pgid) - cpu) if pgid else 0.0
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)[1])  # type: ignore[index]
    total = int(re.search(r"(\d+) requests in", done.stdout)[1])  # type: ignore[index]
    p99 = _seconds(re.search(r"^\s*99%\s+(\S+)", done.stdout, re.M)[1])  # type: ignore[index]
    return rate, p99, used / max(total, 1)


def warm(url: str, connections: int) -> None:
    """A second's run before the measured one, on either side: the script compiled, the server's
    lazy imports made and its threads started, as after any first requests."""
    wrk(url, connections, 1.0)


def serve_command(docroot: Path, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "phprt", "serve", "--listen", f"127.0.0.1:{port}", "--workers", str(workers),
            str(docroot)]


def php_command(docroot: Path, port: int) -> list[str]:
    return ["php", "-n", "-S", f"127.0.0.1:{port}", "-t", str(docroot)]


def _generated(php: bool, parts: int, part: Callable[[int], tuple[str, str]], tail: tuple[str, str],
               head: tuple[str, str] = ("", "")) -> str:
    """A script of ``parts`` generated parts between a head and a tail, in PHP or as its port:
    ``part(index)``, ``tail`` and ``head`` give each as (PHP, port)."""
    body = "".join(part(index)[0 if php else 1] for index in range(parts))
    return "<?php\n" + head[0] + body + tail[0] if php else "from phprt.php import *\n" + head[1] + body + tail[1]


def long_script(lines: int, php: bool) -> str:
    """A script of about ``lines`` lines: functions defined, one called, hello world echoed."""
    return _generated(php, lines // 5, lambda index: (
        f"function f{index}($a, $b) {{\n    $c = $a + $b * {index};\n    return $c > 10 ? $c : -$c;\n}}\n",
        f"def f{index}(a, b):\n    c = a + b * {index}\n    return c if c > 10 else -c\n\n",
    ), ('f1(1, 2);\necho "Hello, world!\\n";\n', 'f1(1, 2)\necho("Hello, world!\\n")\n'))


def table_script(lines: int, php: bool) -> str:
    """A script of about ``lines`` lines: one constant array (a lookup table, PERF-SCRIPT-2), one
    entry of it echoed."""
    return _generated(php, lines - 3, lambda index: (f"    'key{index}' => 'value {index}',\n", f"    'key{index}': 'value {index}',\n"),
                      ("];\necho $table['key5'], \"\\n\";\n", "}\necho(table['key5'], '\\n')\n"),
                      head=("$table = [\n", "table = {\n"))


def classes_script(lines: int, php: bool) -> str:
    """A script of about ``lines`` lines: classes of a constructor and three methods defined,
    one used, its result echoed."""
    return _generated(php, lines // 14, lambda index: (
        f"class C{index} {{\n    public $a;\n    public function __construct($a) {{\n"
        f"        $this->a = $a;\n    }}\n    public function get() {{\n"
        f"        return $this->a + {index};\n    }}\n    public function twice() {{\n"
        f"        return $this->get() * 2;\n    }}\n    public function name() {{\n"
        f"        return 'C{index}';\n    }}\n}}\n",
        f"class C{index}:\n    def __init__(self, a):\n        self.a = a\n\n"
        f"    def get(self):\n        return self.a + {index}\n\n    def twice(self):\n"
        f"        return self.get() * 2\n\n    def name(self):\n        return 'C{index}'\n\n\n",
    ), ('echo (new C1(1))->twice(), "\\n";\n', 'echo(C1(1).twice(), "\\n")\n'))


def typed_script(lines: int, php: bool) -> str:
    """A script of about ``lines`` lines of typed PHP classes and their port (PERF-CLASS-3): groups of
    an abstract base with a typed property and a static array, three classes deep under it (a
    constructor with a typed parameter, a method calling its parent's, an array constant), and an
    exception class; one used, its result echoed."""
    return _generated(php, lines // 34, lambda index: (
        f"abstract class Base{index} {{\n    public static array $registry = [];\n"
        f"    protected int $id = 0;\n    abstract public function name(): string;\n"
        f"    public function id(): int {{\n        return $this->id;\n    }}\n}}\n"
        f"class A{index} extends Base{index} {{\n    public function __construct(int $id = 0) {{\n"
        f"        $this->id = $id;\n    }}\n    public function name(): string {{\n"
        f"        return 'A{index}';\n    }}\n}}\n"
        f"class B{index} extends A{index} {{\n    public function name(): string {{\n"
        f"        return 'B' . parent::name();\n    }}\n}}\n"
        f"class C{index} extends B{index} {{\n    const LIMITS = [1, 2, 3];\n"
        f"    public function limit(int $k): int {{\n        return self::LIMITS[$k] ?? 0;\n    }}\n}}\n"
        f"class Error{index} extends Exception {{\n}}\n",
        f"class Base{index}(ABC):\n    registry: list = []\n    id: int = 0\n\n"
        f"    @abstractmethod\n    def name(self) -> str: ...\n\n"
        f"    def get_id(self) -> int:\n        return self.id\n\n\n"
        f"class A{index}(Base{index}):\n    def __init__(self, id: int = 0) -> None:\n"
        f"        self.id = id\n\n    def name(self) -> str:\n        return 'A{index}'\n\n\n"
        f"class B{index}(A{index}):\n    def name(self) -> str:\n        return 'B' + super().name()\n\n\n"
        f"class C{index}(B{index}):\n    LIMITS = (1, 2, 3)\n\n    def limit(self, k: int) -> int:\n"
        f"        return self.LIMITS[k] if k < len(self.LIMITS) else 0\n\n\n"
        f"class Error{index}(Exception):\n    pass\n\n\n",
    ), ('$c = new C1(3);\necho $c->name(), " ", $c->limit(1), "\\n";\n', 'c = C1(3)\necho(c.name(), " ", c.limit(1), "\\n")\n'),
        head=("", "from abc import ABC, abstractmethod\n\n"))


def _site(directory: Path) -> tuple[Path, Path]:
    py, php = directory / "py", directory / "php"
    py.mkdir()
    php.mkdir()
    (py / "index.py").write_text(HELLO_PY)
    (php / "index.php").write_text(HELLO_PHP)
    (py / "long.py").write_text(long_script(700, php=False))
    (php / "long.php").write_text(long_script(700, php=True))
    (py / "classes.py").write_text(classes_script(700, php=False))
    (php / "classes.php").write_text(classes_script(700, php=True))
    (py / "typed.py").write_text(typed_script(700, php=False))
    (php / "typed.php").write_text(typed_script(700, php=True))
    (py / "table.py").write_text(table_script(700, php=False))
    (php / "table.php").write_text(table_script(700, php=True))
    # the same classes in a module the script imports: made once per process (RT-SCRIPT-1)
    (py / "classes_module.py").write_text(classes_script(700, php=False).partition("\n")[2].rpartition("echo(")[0])
    (py / "imports_classes.py").write_text('from phprt.php import *\nfrom classes_module import C1\n'
                                           'echo(C1(1).twice(), "\\n")\n')
    (py / "page.py").write_text(PAGE_PY)
    (php / "page.php").write_text(PAGE_PHP)
    return py, php


@benchmark("serve_http")
def serve_vs_php_s(quick: bool) -> list[Result]:
    seconds = 1.0 if quick else 4.0
    cases = [(1, 16)] if quick else [(1, 16), (1, 64), (2, 16), (2, 64)]
    results: list[Result] = []
    measured = wrk_available()
    with tempfile.TemporaryDirectory() as directory:
        py, php = _site(Path(directory))
        for workers, connections in cases:
            label = f"serve hello {workers}p -c{connections}"
            if not measured:
                results.append(Result.of(f"{label} req/s", 0.0, None, "req/s", "php -n -S (wrk absent)"))
                continue
            port = free_port()
            with server(serve_command(py, port, workers), port) as pgid:
                warm(f"http://127.0.0.1:{port}/", connections)
                ours = wrk(f"http://127.0.0.1:{port}/", connections, seconds, pgid)
            theirs: tuple[float, float, float] | None = None
            if php_available():
                port = free_port()
                with server(php_command(php, port), port, {"PHP_CLI_SERVER_WORKERS": str(workers)}) as pgid:
                    warm(f"http://127.0.0.1:{port}/", connections)
                    theirs = wrk(f"http://127.0.0.1:{port}/", connections, seconds, pgid)
            name = "php -n -S"
            results.append(Result.of(f"{label} req/s", ours[0], theirs and theirs[0], "req/s", name))
            results.append(Result.of(f"{label} p99", ours[1] * 1e3, theirs and theirs[1] * 1e3, "ms", name))
            results.append(Result.of(f"{label} CPU/req", ours[2] * 1e6, theirs and theirs[2] * 1e6, "us", name))
        results += _long_vs_short(py, php, seconds, measured)
    return results


def _opcache() -> bool:
    """Whether ``php -n`` can load opcache (Debian's php8.2-opcache, which php8.2-cli brings)."""
    done = subprocess.run(["php", "-n", "-d", "zend_extension=opcache", "-d", "opcache.enable_cli=1", "-r",
                           "echo (int) (function_exists('opcache_get_status') && opcache_get_status() !== false);"],
                          capture_output=True, text=True)
    return done.stdout == "1"


def _long_vs_short(py: Path, php: Path, seconds: float, measured: bool) -> list[Result]:
    """(4): req/s of a 700-line script against a 5-line one, each server against itself; and
    a page of 52 echos (``PAGE_PY``) against the same page on ``php -S``."""
    if not measured:
        return [Result.of("serve 700-line/5-line script req/s", 0.0, None, "req/s", "5-line (wrk absent)")]
    results = []
    port = free_port()
    with server(serve_command(py, port, 1), port, {"PYTHONPATH": str(py)}):  # classes_module imports
        short = wrk(f"http://127.0.0.1:{port}/index.py", 16, seconds)[0]
        long = wrk(f"http://127.0.0.1:{port}/long.py", 16, seconds)[0]
        classes = wrk(f"http://127.0.0.1:{port}/classes.py", 16, seconds)[0]
        typed = wrk(f"http://127.0.0.1:{port}/typed.py", 16, seconds)[0]
        table = wrk(f"http://127.0.0.1:{port}/table.py", 16, seconds)[0]
        imported = wrk(f"http://127.0.0.1:{port}/imports_classes.py", 16, seconds)[0]
        page = wrk(f"http://127.0.0.1:{port}/page.py?name=x", 16, seconds)[0]
    results.append(Result.of("serve 700-line script req/s", long, short, "req/s", "serve 5-line script"))
    results.append(Result.of("serve 700 lines of 50 classes req/s", classes, short, "req/s", "serve 5-line script"))
    results.append(Result.of("serve 700 lines of a typed class hierarchy req/s", typed, short, "req/s",
                             "serve 5-line script"))
    results.append(Result.of("serve 700 lines of a constant array req/s", table, short, "req/s", "serve 5-line script"))
    results.append(Result.of("serve, the 50 classes imported from a module req/s", imported, short, "req/s",
                             "serve 5-line script"))
    theirs = None
    if php_available():
        port = free_port()
        with server(php_command(php, port), port):
            short = wrk(f"http://127.0.0.1:{port}/index.php", 16, seconds)[0]
            long = wrk(f"http://127.0.0.1:{port}/long.php", 16, seconds)[0]
            classes = wrk(f"http://127.0.0.1:{port}/classes.php", 16, seconds)[0]
            typed = wrk(f"http://127.0.0.1:{port}/typed.php", 16, seconds)[0]
            table = wrk(f"http://127.0.0.1:{port}/table.php", 16, seconds)[0]
            theirs = wrk(f"http://127.0.0.1:{port}/page.php?name=x", 16, seconds)[0]
        results.append(Result.of("php -S 700-line script req/s", long, short, "req/s", "php -S 5-line script"))
        results.append(Result.of("php -S 700 lines of 50 classes req/s", classes, short, "req/s", "php -S 5-line script"))
        results.append(Result.of("php -S 700 lines of a typed class hierarchy req/s", typed, short, "req/s",
                                 "php -S 5-line script"))
        results.append(Result.of("php -S 700 lines of a constant array req/s", table, short, "req/s",
                                 "php -S 5-line script"))
    if php_available() and _opcache():
        port = free_port()  # production's PHP: opcache binds the compiled classes from shared memory
        with server(["php", "-n", "-d", "zend_extension=opcache", "-d", "opcache.enable_cli=1", "-S",
                     f"127.0.0.1:{port}", "-t", str(php)], port):
            short = wrk(f"http://127.0.0.1:{port}/index.php", 16, seconds)[0]
            classes = wrk(f"http://127.0.0.1:{port}/classes.php", 16, seconds)[0]
            typed = wrk(f"http://127.0.0.1:{port}/typed.php", 16, seconds)[0]
            table = wrk(f"http://127.0.0.1:{port}/table.php", 16, seconds)[0]
        results.append(Result.of("php -S + opcache 700 lines of 50 classes req/s", classes, short, "req/s",
                                 "php -S + opcache 5-line script"))
        results.append(Result.of("php -S + opcache 700 lines of a typed class hierarchy req/s", typed, short,
                                 "req/s", "php -S + opcache 5-line script"))
        results.append(Result.of("php -S + opcache 700 lines of a constant array req/s", table, short,
                                 "req/s", "php -S + opcache 5-line script"))
    results.append(Result.of("serve a 52-echo page 1p req/s", page, theirs, "req/s", "php -n -S"))
    return results
