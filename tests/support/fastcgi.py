"""A raw FastCGI client, written from the FastCGI 1.0 specification (not from phprt's code),
the parameters nginx sends, and the phprt-only scripts the FastCGI tests serve."""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TIMEOUT = 20.0  # generous: a loaded 2-core machine


BEGIN, ABORT, END, PARAMS, STDIN, STDOUT, STDERR, DATA, GET_VALUES, VALUES_RESULT, UNKNOWN = range(1, 12)


def record(kind: int, content: bytes = b"", request_id: int = 1, *, version: int = 1) -> bytes:
    padding = -len(content) % 8
    return struct.pack(">BBHHBx", version, kind, request_id, len(content), padding) + content + b"\0" * padding


def _length(n: int) -> bytes:
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def pairs(items: list[tuple[str, str]] | dict[str, str]) -> bytes:
    listed = list(items.items()) if isinstance(items, dict) else items
    out = b""
    for name, value in listed:
        key, val = name.encode(), value.encode("utf-8", "surrogateescape")
        out += _length(len(key)) + _length(len(val)) + key + val
    return out


def begin(role: int = 1, flags: int = 0, request_id: int = 1) -> bytes:
    return record(BEGIN, struct.pack(">HB5x", role, flags), request_id)


def fcgi_request(params: list[tuple[str, str]] | dict[str, str], stdin: bytes = b"", request_id: int = 1,
                 flags: int = 0) -> bytes:
    out = begin(1, flags, request_id) + record(PARAMS, pairs(params), request_id) + record(PARAMS, b"", request_id)
    if stdin:
        out += record(STDIN, stdin, request_id)
    return out + record(STDIN, b"", request_id)


@dataclass
class Reply:
    records: list[tuple[int, int, bytes]]
    eof: bool  # the server closed the connection

    def stream(self, kind: int, request_id: int = 1) -> bytes:
        return b"".join(content for k, rid, content in self.records if k == kind and rid == request_id)

    @property
    def stdout(self) -> bytes:
        return self.stream(STDOUT)

    @property
    def stderr(self) -> bytes:
        return self.stream(STDERR)

    def end(self, request_id: int = 1) -> tuple[int, int] | None:
        for kind, rid, content in self.records:
            if kind == END and rid == request_id:
                app, protocol = struct.unpack(">iB3x", content)
                return app, protocol
        return None


class Client:
    """One connection to a FastCGI server; reads records with a deadline."""

    def __init__(self, address: Any) -> None:
        family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
        self.sock = socket.socket(family)
        self.sock.settimeout(TIMEOUT)
        try:
            self.sock.connect(address)
        except OSError:
            self.sock.close()
            raise
        self.buffer = b""
        self.records: list[tuple[int, int, bytes]] = []
        self.eof = False
        self.times: list[float] = []  # when each record arrived

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _parse(self) -> None:
        while len(self.buffer) >= 8:
            version, kind, rid, length, padding = struct.unpack(">BBHHBx", self.buffer[:8])
            assert version == 1
            if len(self.buffer) < 8 + length + padding:
                return
            self.records.append((kind, rid, self.buffer[8:8 + length]))
            self.times.append(time.time())
            self.buffer = self.buffer[8 + length + padding:]

    def read_until(self, done: Any, timeout: float = TIMEOUT) -> Reply:
        """Read until ``done(reply)``, the server closes, or ``timeout`` (then TimeoutError)."""
        deadline = time.monotonic() + timeout
        while not done(self.reply()) and not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from the FastCGI server")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.eof = True
            self.buffer += chunk
            self._parse()
        return self.reply()

    def read_end(self, request_id: int = 1) -> Reply:
        return self.read_until(lambda reply: reply.end(request_id) is not None)

    def read_eof(self, timeout: float = TIMEOUT) -> Reply:
        return self.read_until(lambda reply: False, timeout)

    def quiet_for(self, seconds: float) -> Reply:
        """Read for ``seconds``; the connection must stay open."""
        try:
            self.read_until(lambda reply: False, seconds)
        except TimeoutError:
            return self.reply()
        raise AssertionError("the server closed the connection")

    def reply(self) -> Reply:
        return Reply(list(self.records), self.eof)

    def close(self) -> None:
        self.sock.close()


def exchange(address: Any, payload: bytes, request_id: int = 1) -> Reply:
    client = Client(address)
    try:
        client.send(payload)
        return client.read_end(request_id)
    finally:
        client.close()


def nginx_params(root: Path, script_name: str, *, method: str = "GET", query: str = "", path_info: str | None = "",
                 **extra: str) -> list[tuple[str, str]]:
    """What nginx sends with its standard fastcgi_params and SCRIPT_FILENAME (README's server block)."""
    uri = script_name + (path_info or "")
    params = [
        ("QUERY_STRING", query), ("REQUEST_METHOD", method), ("CONTENT_TYPE", ""), ("CONTENT_LENGTH", ""),
        ("SCRIPT_NAME", script_name), ("REQUEST_URI", uri + (f"?{query}" if query else "")), ("DOCUMENT_URI", uri),
        ("DOCUMENT_ROOT", str(root)), ("SERVER_PROTOCOL", "HTTP/1.1"), ("REQUEST_SCHEME", "http"),
        ("GATEWAY_INTERFACE", "CGI/1.1"), ("SERVER_SOFTWARE", "nginx/1.22.1"), ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_PORT", "50000"), ("REMOTE_USER", ""), ("SERVER_ADDR", "127.0.0.1"), ("SERVER_PORT", "80"),
        ("SERVER_NAME", "localhost"), ("REDIRECT_STATUS", "200"), ("HTTP_HOST", "localhost"),
        ("SCRIPT_FILENAME", f"{root}{script_name}"),
    ]
    if path_info is not None:
        params.append(("PATH_INFO", path_info))
    updated = dict(params)
    updated.update(extra)
    return list(updated.items())


# phprt-only scripts for the server's own behaviour.
SCRIPTS = {
    # Ticks until the client is gone; the shutdown function records what the script saw.
    "ticks.py": """import time
from phprt.php import *
out = _GET["out"]
ticks = 0
def done():
    with open(out, "w") as f:
        f.write(f"{connection_status()} {ticks} {time.time()!r}")
register_shutdown_function(done)
echo("tick\\n"); flush()
while ticks < 400:
    usleep(25000)
    ticks += 1
    echo("tick\\n"); flush()
""",
    # Completes the response, then keeps working and notes when it ends.
    "late.py": """import time
from phprt.php import *
echo("early answer")
fastcgi_finish_request()
usleep(int(_GET.get("sleep", "800000")))
with open(_GET["out"], "w") as f:
    f.write(repr(time.time()))
""",
    "echo_n.py": """import os
from phprt.php import *
usleep(50000)
header("X-N: " + _GET["n"])
echo(f"n={_GET['n']} pid={os.getpid()} level={ob_get_level()}")
ob_start()
echo(" buffered")
""",
    "raise.py": """from phprt.php import *
echo("before ")
raise RuntimeError("boom")
""",
    "system_exit.py": "import sys\nsys.exit(7)\n",
    "pid.py": "import os\nfrom phprt.php import *\nusleep(int(_GET.get('sleep', '0')))\necho(str(os.getpid()))\n",
}
