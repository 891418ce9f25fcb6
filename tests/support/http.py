"""A raw HTTP/1.1 client for phprt's HTTP server (RFC 9112): requests as bytes, replies read
off the socket as delimited by the spec, and bounded waits."""

from __future__ import annotations

import http.client
import socket
import time
from pathlib import Path
from typing import Any, Callable

from phprt.server import HttpServer

TIMEOUT = 20.0  # generous: nothing should take more than a fraction of it


def log_of(server: HttpServer) -> str:
    return server.test_log.getvalue()  # type: ignore[attr-defined,no-any-return]


def connect(server: HttpServer) -> socket.socket:
    return socket.create_connection(server.address, timeout=TIMEOUT)


def read_to_eof(sock: socket.socket) -> bytes:
    data = b""
    for _ in range(100_000):
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    raise AssertionError("no end of stream")


def exchange(server: HttpServer, data: bytes) -> bytes:
    """Send DATA on a new connection, half-close, and read until the server closes."""
    with connect(server) as sock:
        sock.sendall(data)
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        try:
            return read_to_eof(sock)
        except ConnectionResetError:
            return b"<reset>"


class Reply:
    """One response read off a connection: status line, header lines, body as delivered."""

    def __init__(self, status_line: str, lines: list[str], body: bytes, chunks: list[bytes] | None = None) -> None:
        self.status_line, self.lines, self.body, self.chunks = status_line, lines, body, chunks

    @property
    def status(self) -> int:
        return int(self.status_line.split(" ")[1])

    def values(self, name: str) -> list[str]:
        return [line.partition(":")[2].strip() for line in self.lines if line.partition(":")[0].lower() == name.lower()]


def read_reply(fp: Any, *, head_request: bool = False) -> Reply:
    """A response from the buffered reader FP, delimited as RFC 9112 6.3 says."""
    status_line = fp.readline()
    if not status_line:
        raise EOFError("no response")
    lines = []
    for _ in range(1000):
        line = fp.readline()
        if line in (b"\r\n", b""):
            break
        lines.append(line.decode("utf-8").rstrip("\r\n"))
    reply = Reply(status_line.decode().rstrip("\r\n"), lines, b"")
    if head_request or reply.status in (204, 304) or reply.status < 200:
        return reply
    if reply.values("transfer-encoding") == ["chunked"]:
        reply.chunks = []
        for _ in range(100_000):
            size = int(fp.readline().split(b";")[0], 16)
            data = fp.read(size)
            assert fp.read(2) == b"\r\n"
            if not size:
                break
            reply.chunks.append(data)
        reply.body = b"".join(reply.chunks)
    elif reply.values("content-length"):
        reply.body = fp.read(int(reply.values("content-length")[0]))
    else:
        reply.body = fp.read()
    return reply


def ask(server: HttpServer, data: bytes, **options: Any) -> Reply:
    with connect(server) as sock, sock.makefile("rb") as fp:
        sock.sendall(data)
        return read_reply(fp, **options)


def get(path: str, version: str = "HTTP/1.1", *headers: str, method: str = "GET") -> bytes:
    lines = [f"{method} {path} {version}", *(["Host: test"] if version == "HTTP/1.1" else []), *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def wait_for(condition: Callable[[], object], what: str, interval: float = 0.01) -> None:
    """Poll ``condition`` every ``interval`` seconds until it holds; fail after TIMEOUT (a safety net)."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def text_of(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def assert_still_serving(server: HttpServer, path: str = "/hello.py", body: bytes = b"hello") -> None:
    conn = http.client.HTTPConnection(*server.address, timeout=TIMEOUT)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, body)
    finally:
        conn.close()
