"""Record what PHP 8.2 does when the client hangs up, for tests/frontends/test_faults.py.

    python3 tests/scripts/faults/record.py [gates] [mid-request]   # writes tests/scripts/faults/recorded.json

Each script of the fault suite -- the examples (examples/*.py) and probe.py /
probe_ignored.py here -- has its PHP original below (the examples' docstrings
quote them), with each ``sleep(N)`` replaced by ``phprt_gate()``: the script
stops there until the recorder opens the gate. ``auto_prepend_file`` registers
a first shutdown function that stops at one more gate, logs ``probe`` and
connection_status(), and registers a last one that logs ``late`` and
connection_status() again (it runs after the script's own shutdown functions,
unless an abort in one of them ends the pass). Everything is logged, one line
at a time, to the file the scripts append to (PHPRT_EXAMPLE_LOG).

Each script runs behind

- ``php -n -S`` (the built-in server; TCP), and
- ``php-fpm8.2 -n`` (one static worker on a unix socket, spoken to in FastCGI
  as nginx does),

each with ``-d output_buffering=`` 4096 for the examples that expect php.ini's
default buffer (examples/README.md) and 0 for the others. A run with no
hang-up (``"none"``) counts the gates; then, for each gate, a client reads all
that arrived (no more comes while the script waits) and hangs up while the
script waits there: over TCP with a normal close (``"fin"``: nothing is left
unread, so the kernel sends FIN) or with SO_LINGER {1, 0} (``"rst"``); on the
unix socket by closing it (``"close"``). 0.3 s later every gate opens, and the
run is over when the server answers its next request (both serve one request
at a time). The record of a run is the log's lines, then ``file.ini removed``
when shutdown_abort_cleanup's file.ini (in the script's directory, its working
directory under both SAPIs) is gone. A client that reads the end of the stream closes
its side too, as a web server does (PHP-FPM's fastcgi_finish_request() waits for it).

``mid-request``: a form POST to ran.php (which logs that it ran and what body it got),
cut after each of its bytes but the last, the client hanging up as above; which cuts
ran the script.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
OUT = HERE / "recorded.json"
TIMEOUT = 30.0
QUIET = 0.15  # seconds without data after which the recorder takes a gate's output as whole
SETTLE = 0.3  # seconds the server is given to see the hang-up before the script goes on

PREPEND = r"""<?php
if (basename($_SERVER['SCRIPT_FILENAME']) === 'ping.php') return;
// Read at the start: after fastcgi_finish_request() PHP-FPM's getenv() finds nothing.
define('PHPRT_FAULT_DIR', getenv('PHPRT_FAULT_DIR'));
define('PHPRT_EXAMPLE_LOG', getenv('PHPRT_EXAMPLE_LOG'));
function phprt_gate() {
    static $n = 0;
    $n++;
    $dir = PHPRT_FAULT_DIR;
    touch("$dir/arrived-$n");
    for ($i = 0; $i < 60000; $i++) {
        clearstatcache();
        if (file_exists("$dir/go-$n") || file_exists("$dir/go-all")) break;
        usleep(500);
    }
    return 0;
}
register_shutdown_function(function () {
    phprt_gate();
    $log = PHPRT_EXAMPLE_LOG;
    file_put_contents($log, "probe " . connection_status() . "\n", FILE_APPEND);
    register_shutdown_function(function () use ($log) {
        file_put_contents($log, "late " . connection_status() . "\n", FILE_APPEND);
    });
});
"""

LOGLINE = "function logline($line) { file_put_contents(PHPRT_EXAMPLE_LOG, \"$line\\n\", FILE_APPEND); }\n"

#: The PHP of each script, line for line as the port has it (sleep() as phprt_gate()).
SCRIPTS: dict[str, str] = {
    "hello": r"""<?php
function callback($buffer, $phase) {
    return str_replace("apples", "oranges", $buffer);
}
ob_start("callback");
echo "<p>It's like comparing apples to oranges.</p>\n";
printf("<p>%d handler(s): %s</p>\n", ob_get_level(), implode(", ", ob_list_handlers()));
ob_end_flush();
echo [1, 2];
""",
    "connection_constants": r"""<?php
function report() {
    $status = connection_status();
    echo "connection_status() = $status\n";
    if (($status & CONNECTION_ABORTED) && ($status & CONNECTION_TIMEOUT))
        echo 'Connection both aborted and timed out';
}
register_shutdown_function('report');
echo CONNECTION_NORMAL, " = CONNECTION_NORMAL\n";
echo CONNECTION_ABORTED, " = CONNECTION_ABORTED\n";
echo CONNECTION_TIMEOUT, " = CONNECTION_TIMEOUT\n";
echo CONNECTION_ABORTED | CONNECTION_TIMEOUT, " = CONNECTION_ABORTED & CONNECTION_TIMEOUT\n";
if (CONNECTION_ABORTED & CONNECTION_TIMEOUT)
    echo 'Connection both aborted and timed out';
echo "CONNECTION_ABORTED & CONNECTION_TIMEOUT = ", CONNECTION_ABORTED & CONNECTION_TIMEOUT, "\n";
""",
    "close_connection_original": r"""<?php
function error_log_($message) { file_put_contents(PHPRT_EXAMPLE_LOG, "$message\n", FILE_APPEND); }
header("Connection: close");
ob_start();
echo str_repeat("<tr><td class=\"e\">directive </td><td class=\"v\">value </td></tr>\n", 100);
$size=ob_get_length();
header("Content-Length: $size");
ob_end_flush();
flush();
phprt_gate();
error_log_("do something in the background");
""",
    "close_connection_early": r"""<?php
ob_end_clean();
header("Connection: close");
ignore_user_abort(); // optional
ob_start();
echo ('Text the user will see');
$size = ob_get_length();
header("Content-Length: $size");
ob_end_flush(); // Strange behaviour, will not work
flush();            // Unless both are called !
// Do processing here
phprt_gate();
echo('Text user will never see');
""",
    "close_connection_content_encoding_none": r"""<?php
ob_end_clean();
header("Connection: close\r\n");
header("Content-Encoding: none\r\n");
ignore_user_abort(true); // optional
ob_start();
echo ('Text user will see');
$size = ob_get_length();
header("Content-Length: $size");
ob_end_flush();     // Strange behaviour, will not work
flush();            // Unless both are called !
ob_end_clean();

//do processing here
phprt_gate();

echo('Text user will never see');
//do some processing
""",
    "close_connection_gzhandler": r"""<?php
function outputStringAndCloseConnection2($stringToOutput)
{
    set_time_limit(0);
    ignore_user_abort(true);
    // buffer all upcoming output - make sure we care about compression:
    if(!ob_start("ob_gzhandler"))
        ob_start();
    echo $stringToOutput;
    // get the size of the output
    $size = ob_get_length();
    // send headers to tell the browser to close the connection
    header("Content-Length: $size");
    header('Connection: close');
    // flush all output
    ob_end_flush();
    ob_flush();
    flush();
}
outputStringAndCloseConnection2("Your report is being prepared.");
phprt_gate();
file_put_contents(PHPRT_EXAMPLE_LOG, "report prepared\n", FILE_APPEND);
""",
    "redirect_then_continue": r"""<?php
ignore_user_abort(true);
set_time_limit(0);

$strURL = "PUT YOUR REDIRCT HERE";
header("Location: $strURL", true);
header("Connection: close", true);
header("Content-Encoding: none\r\n");
header("Content-Length: 0", true);

flush();
ob_flush();

// Continue processing...

phprt_gate();
exit;
""",
    "redirect_fastcgi_finish_request": r"""<?php
$redirectUrl = "/thank-you.html";
// redirecting...
ignore_user_abort(true);
header("Location: ".$redirectUrl, true);
header("Connection: close", true);
header("Content-Length: 0", true);
ob_end_flush();
flush();
fastcgi_finish_request(); // important when using php-fpm!

phprt_gate(); // User won't feel this sleep because he'll already be away

// do some work after user has been redirected
file_put_contents(PHPRT_EXAMPLE_LOG, "work done after the redirect\n", FILE_APPEND);
""",
    "shutdown_abort_cleanup": r"""<?php
function abort()
{
     global $dsd;
     if(connection_aborted())
           unlink($dsd.'/file.ini');
}
register_shutdown_function('abort');
$dsd=getcwd();

echo "Working...\n";
flush();
phprt_gate();
echo "Done.\n";
""",
    "order_processing": "<?php\n" + LOGLINE + r"""
$order_id = 1001;
$products = ["book", "lamp", "chair"];

function check_order($order_id) {
    if (connection_aborted())
        logline("order $order_id: visitor left, set as not confirmed");
    else
        logline("order $order_id: confirmed");
}

ignore_user_abort(true);
register_shutdown_function('check_order', $order_id);
echo "<p>Processing your order...</p>\n";
flush();
foreach ($products as $product) {
    phprt_gate();  // charge the card, insert the row
    logline("order $order_id: registered $product");
    echo "<p>$product registered</p>\n";
    flush();
}
logline("order $order_id: committed");
echo "<p>Thank you!</p>\n";
""",
    "stop_button_loop": "<?php\n" + LOGLINE + r"""
function stopped() {
    global $step;
    logline("shutdown: connection_status()=" . connection_status() . " at step $step");
}
register_shutdown_function('stopped');
foreach (range(1, 5) as $step) {  // the port's range(1, 6): $step ends at 5, as Python's loop variable
    echo "Step $step done<br>\n";
    flush();
    logline("step $step");
    phprt_gate();
}
logline("finished");
""",
    "probe": "<?php\n" + LOGLINE + r"""
function recorded() { logline("shutdown: connection_status()=" . connection_status()); }
register_shutdown_function('recorded');
phprt_gate();
echo "one\n"; flush(); logline("one sent"); phprt_gate();
echo "two\n"; flush(); logline("two sent"); phprt_gate();
echo "three\n"; logline("three sent"); phprt_gate();
echo "four\n"; logline("four sent");
logline("end of script");
""",
    "probe_ignored": "<?php\n" + LOGLINE + r"""
function recorded() { logline("shutdown: connection_status()=" . connection_status()); }
ignore_user_abort(true);
register_shutdown_function('recorded');
phprt_gate();
echo "one\n"; flush(); logline("one sent"); phprt_gate();
echo "two\n"; flush(); logline("two sent"); phprt_gate();
echo "three\n"; logline("three sent"); phprt_gate();
echo "four\n"; logline("four sent");
logline("work done: connection_aborted()=" . connection_aborted());
""",
}

#: For the requests cut short: a script that logs that it ran, and with what body.
RAN = "<?php\n" + LOGLINE + """logline("ran: " . strlen(file_get_contents("php://input")) . " bytes, " . json_encode($_POST));\n"""
BODY = b"order=1001&item=book"

#: output_buffering for each script: php.ini's 4096 where the example expects that buffer.
OUTPUT_BUFFERING = {name: "4096" if name.startswith(("close_connection_", "redirect_")) else "0" for name in SCRIPTS}


# -- the servers -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait(ready: Callable[[], object], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.002)


class Server:
    """A PHP server for a document root holding the scripts, with the gates in ``gates``."""

    def __init__(self, kind: str, ob: str, tmp: Path) -> None:
        self.kind, self.tmp = kind, tmp
        self.root, self.gates, self.log = tmp / "root", tmp / "gates", tmp / "example.log"
        self.root.mkdir()
        self.gates.mkdir()
        for name, source in SCRIPTS.items():
            (self.root / f"{name}.php").write_text(source)
        (self.root / "ran.php").write_text(RAN)
        (self.root / "ping.php").write_text("<?php echo 'pong';")
        (tmp / "prepend.php").write_text(PREPEND)
        env = {**os.environ, "PHPRT_FAULT_DIR": str(self.gates), "PHPRT_EXAMPLE_LOG": str(self.log)}
        options = ["-n", f"-doutput_buffering={ob}", f"-dauto_prepend_file={tmp / 'prepend.php'}"]
        out = open(tmp / "server.out", "wb")
        if kind == "cli-server":
            self.port = _free_port()
            command = ["php", *options, "-S", f"127.0.0.1:{self.port}", "-t", str(self.root)]
        else:
            self.socket = str(tmp / "fpm.sock")
            conf = tmp / "fpm.conf"
            conf.write_text(f"[global]\npid = {tmp}/fpm.pid\nerror_log = {tmp}/fpm.log\ndaemonize = no\n\n"
                            f"[faults]\nlisten = {self.socket}\npm = static\npm.max_children = 1\n"
                            "clear_env = no\nping.path = /phprt-ping\n")
            command = ["php-fpm8.2", *options, "-F", "-R", "-y", str(conf)]
        self.process = subprocess.Popen(command, cwd=self.root, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        if kind == "cli-server":
            _wait(lambda: b" started" in (tmp / "server.out").read_bytes(), "php -S start")
        else:
            _wait(self._listening, "php-fpm start")

    def _listening(self) -> bool:
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(self.socket)
            except OSError:
                return False
        return True

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(TIMEOUT)

    def connect(self) -> socket.socket:
        if self.kind == "cli-server":
            return socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(TIMEOUT)
        sock.connect(self.socket)
        return sock

    def request(self, name: str, body: bytes = b"") -> bytes:
        """A GET for NAME, or with BODY a form POST."""
        method, form = ("POST", "application/x-www-form-urlencoded") if body else ("GET", "")
        if self.kind == "cli-server":
            fields = f"Content-Type: {form}\r\nContent-Length: {len(body)}\r\n" if body else ""
            return f"{method} /{name} HTTP/1.1\r\nHost: localhost\r\n{fields}\r\n".encode() + body
        return _fastcgi_request({
            "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": method,
            "SCRIPT_FILENAME": str(self.root / name), "SCRIPT_NAME": f"/{name}", "REQUEST_URI": f"/{name}",
            "DOCUMENT_ROOT": str(self.root), "QUERY_STRING": "", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
            "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": form, "CONTENT_LENGTH": str(len(body)) if body else "",
            "HTTP_HOST": "localhost",
        }, body)

    def idle(self) -> None:
        """Return once the server has answered another request: the last one is over."""
        with self.connect() as sock:
            if self.kind == "cli-server":
                sock.sendall(b"GET /ping.php HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            else:
                sock.sendall(_fastcgi_request({"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/phprt-ping",
                                               "REQUEST_URI": "/phprt-ping", "SCRIPT_FILENAME": "/phprt-ping"}))
            data = b""
            for _ in range(10_000):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            assert b"pong" in data, data


def _record(kind: int, content: bytes = b"") -> bytes:
    padding = -len(content) % 8
    return struct.pack(">BBHHBx", 1, kind, 1, len(content), padding) + content + b"\0" * padding


def _fastcgi_request(params: dict[str, str], body: bytes = b"") -> bytes:
    pairs = b""
    for name, value in params.items():
        key, val = name.encode(), value.encode()
        pairs += bytes([len(key)]) + (bytes([len(val)]) if len(val) < 128 else struct.pack(">I", len(val) | 1 << 31))
        pairs += key + val
    stdin = _record(5, body) if body else b""
    return _record(1, struct.pack(">HB5x", 1, 0)) + _record(4, pairs) + _record(4) + stdin + _record(5)


# -- one run ---------------------------------------------------------------------------------------


def _read_quiet(sock: socket.socket) -> bytes:
    """What arrives until QUIET seconds pass without data. At the end of the stream the
    client closes its side too, as a web server does: PHP-FPM's fastcgi_finish_request()
    waits for that before the script goes on."""
    data = b""
    if sock.fileno() < 0:
        return data
    sock.settimeout(QUIET)
    try:
        while chunk := sock.recv(65536):
            data += chunk
        sock.close()
    except TimeoutError:
        sock.settimeout(TIMEOUT)
    except OSError:
        sock.close()
    return data


def run(server: Server, name: str, hang_up: int | None, how: str) -> tuple[list[str], int]:
    """One request for NAME; the client hangs up at gate HANG_UP (None: never). Returns the
    log's lines (and ``file.ini removed``) and how many gates the script passed."""
    for entry in server.gates.iterdir():
        entry.unlink()
    if server.log.exists():
        server.log.unlink()
    (server.root / "file.ini").write_text("[x]\n")
    sock = server.connect()
    try:
        sock.sendall(server.request(f"{name}.php"))
        gate = 1
        while True:
            arrived = server.gates / f"arrived-{gate}"
            deadline = time.monotonic() + TIMEOUT
            while not arrived.exists():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name}: gate {gate}")
                _read_quiet(sock)
            _read_quiet(sock)
            if gate == hang_up:
                if how == "rst" and sock.fileno() >= 0:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
                time.sleep(SETTLE)
                (server.gates / "go-all").touch()
                break
            (server.gates / f"go-{gate}").touch()
            if hang_up is None and _finished(server, name, gate):
                break
            gate += 1
    finally:
        sock.close()
    (server.gates / "go-all").touch()
    server.idle()
    lines = server.log.read_text().splitlines() if server.log.exists() else []
    if not (server.root / "file.ini").exists():
        lines.append("file.ini removed")
    passed = sum(1 for entry in server.gates.iterdir() if entry.name.startswith("arrived-"))
    return lines, passed


def _finished(server: Server, name: str, gate: int) -> bool:
    """Whether the script (with no hang-up) has ended after the gate just opened: the
    probe's gate is its last, and it logs right after it."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if (server.gates / f"arrived-{gate + 1}").exists():
            return False
        if server.log.exists() and any(line.startswith("probe ") for line in server.log.read_text().splitlines()):
            return True
        time.sleep(0.002)
    raise TimeoutError(f"{name}: after gate {gate}")


def record() -> dict[str, Any]:
    version = subprocess.run(["php", "-n", "-r", "echo PHP_VERSION;"], capture_output=True, text=True).stdout
    result: dict[str, Any] = {"php": version, "output_buffering": OUTPUT_BUFFERING, "cli-server": {}, "fpm": {}}
    for kind, hang_ups in (("cli-server", ("fin", "rst")), ("fpm", ("close",))):
        for ob in ("0", "4096"):
            with tempfile.TemporaryDirectory(prefix="phprt-faults-") as tmp:
                server = Server(kind, ob, Path(tmp))
                try:
                    for name in (n for n in SCRIPTS if OUTPUT_BUFFERING[n] == ob):
                        lines, gates = run(server, name, None, "")
                        entry: dict[str, Any] = {"gates": gates, "none": lines}
                        for gate in range(1, gates + 1):
                            entry[str(gate)] = {how: run(server, name, gate, how)[0] for how in hang_ups}
                        result[kind][name] = entry
                        print(kind, name, json.dumps(entry), file=sys.stderr)
                finally:
                    server.stop()
    return result


def mid_request() -> dict[str, Any]:
    """A form POST to ran.php cut after each of its bytes but the last, the client hanging up
    (over TCP with FIN and with RST, on PHP-FPM's unix socket by closing): which cuts ran the
    script, and what it logged."""
    result: dict[str, Any] = {}
    for kind, hang_ups in (("cli-server", ("fin", "rst")), ("fpm", ("close",))):
        with tempfile.TemporaryDirectory(prefix="phprt-faults-") as tmp:
            server = Server(kind, "0", Path(tmp))
            try:
                request = server.request("ran.php", BODY)
                ran: dict[str, str] = {}
                for cut in range(len(request)):
                    for how in hang_ups:
                        if server.log.exists():
                            server.log.unlink()
                        (server.gates / "go-all").touch()
                        with server.connect() as sock:
                            sock.sendall(request[:cut])
                            if how == "rst":
                                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        server.idle()
                        lines = server.log.read_text().splitlines() if server.log.exists() else []
                        ran.update({f"{cut} {how}": line for line in lines if line.startswith("ran: ")})
                result[kind] = {"request": len(request), "cuts": len(request) * len(hang_ups), "ran": ran}
                print(kind, "mid-request", json.dumps(result[kind]), file=sys.stderr)
            finally:
                server.stop()
    return result


if __name__ == "__main__":
    parts = set(sys.argv[1:]) or {"gates", "mid-request"}
    recorded = json.loads(OUT.read_text()) if OUT.exists() else {}
    if "gates" in parts:
        recorded.update(record())
    if "mid-request" in parts:
        recorded["mid-request"] = mid_request()
    OUT.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)
