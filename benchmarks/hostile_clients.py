"""Hostile clients against ``python -m phprt serve`` and ``python -m phprt fastcgi``: figures, not tests.

    python3 benchmarks/hostile_clients.py trickle [--tricklers 300]   # a normal request's latency meanwhile
    python3 benchmarks/hostile_clients.py uploads [--count 8 --mib 64] # the server's peak RSS
    python3 benchmarks/hostile_clients.py fcgi-idle [--count 3000]     # idle FastCGI connections: threads, closing

Each starts the server as a subprocess on a free loopback port (arguments after
``--`` go to it; ``--phprt DIR`` runs another checkout's, to compare) and prints
what it measured. spec/security.md records the figures.
"""

from __future__ import annotations

import argparse
import re
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start(kind: str, docroot: str, extra: list[str], checkout: Path = ROOT) -> tuple[subprocess.Popen[bytes], tuple[str, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = [sys.executable, "-m", "phprt", kind, docroot, "--listen", f"127.0.0.1:{port}", *extra]
    process = subprocess.Popen(args, cwd=checkout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, ("127.0.0.1", port)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the server did not start")


def status(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+)", text, re.M)
    return int(match[1]) if match else 0


def normal_request(address: tuple[str, int], timeout: float = 120.0) -> float:
    started = time.monotonic()
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(b"GET /hello.py HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 "), data[:80]
    return time.monotonic() - started


def trickle(options: argparse.Namespace, docroot: str) -> None:
    process, address = start("serve", docroot, options.server_args, options.phprt)
    stop = threading.Event()
    counts = {"connected": 0, "cut": 0}

    def tricklers() -> None:
        selector = selectors.DefaultSelector()
        head = b"GET /hello.py HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100000
        socks: dict[socket.socket, int] = {}

        def open_one() -> None:
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(address)
            socks[sock] = 0
            selector.register(sock, selectors.EVENT_READ, sock)
            counts["connected"] += 1

        for _ in range(options.tricklers):
            open_one()
        next_tick = time.monotonic()
        while not stop.is_set():
            for key, _ in selector.select(timeout=0.1):
                sock = key.data
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:  # cut off: come back at once, as an attacker would
                    selector.unregister(sock)
                    sock.close()
                    socks.pop(sock, None)
                    counts["cut"] += 1
                    open_one()
            if time.monotonic() >= next_tick:
                next_tick += options.interval
                for sock, sent in list(socks.items()):
                    try:
                        sock.send(head[sent:sent + 1])
                        socks[sock] = sent + 1
                    except OSError:
                        pass
        for sock in socks:
            sock.close()

    thread = threading.Thread(target=tricklers, daemon=True)
    try:
        thread.start()
        time.sleep(options.settle)
        latencies = []
        for _ in range(options.samples):
            latencies.append(normal_request(address))
            time.sleep(options.pause)
        print(f"{options.tricklers} tricklers (a byte every {options.interval} s, reconnecting when cut): "
              f"normal request latency min {min(latencies):.3f} s, max {max(latencies):.3f} s over {len(latencies)}; "
              f"tricklers cut off meanwhile: {counts['cut']}; server threads: {status(process.pid, 'Threads')}")
    finally:
        stop.set()
        thread.join(5)
        process.terminate()
        process.wait(10)


def uploads(options: argparse.Namespace, docroot: str) -> None:
    process, address = start("serve", docroot, options.server_args, options.phprt)
    size = options.mib << 20
    chunk = b"a=" + b"x" * ((1 << 20) - 2)
    results: list[bytes] = []

    def upload() -> None:
        with socket.create_connection(address, timeout=600) as sock:
            sock.sendall(b"POST /length.py HTTP/1.0\r\nHost: x\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\n"
                         b"Content-Length: %d\r\n\r\n" % size)
            for offset in range(0, size, len(chunk)):
                sock.sendall(chunk[: size - offset])
            data = b""
            while part := sock.recv(65536):
                data += part
            results.append(data.rpartition(b"\r\n\r\n")[2])

    try:
        baseline = status(process.pid, "VmRSS")
        started = time.monotonic()
        threads = [threading.Thread(target=upload) for _ in range(options.count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(f"{options.count} concurrent POSTs of {options.mib} MiB in {time.monotonic() - started:.1f} s: "
              f"server RSS {baseline >> 10} MiB at rest, peak {status(process.pid, 'VmHWM') >> 10} MiB; "
              f"answers: {sorted(set(results))}")
    finally:
        process.terminate()
        process.wait(10)


def fcgi_idle(options: argparse.Namespace, docroot: str) -> None:
    process, address = start("fastcgi", docroot, options.server_args, options.phprt)
    socks = []
    try:
        for _ in range(options.count):
            socks.append(socket.create_connection(address, timeout=10))
        time.sleep(1.0)
        threads = status(process.pid, "Threads")
        print(f"{options.count} idle FastCGI connections: server threads {threads}, RSS "
              f"{status(process.pid, 'VmRSS') >> 10} MiB")
        record = bytes([1, 1, 0, 1, 0, 8, 0, 0])  # a BEGIN_REQUEST header, its body never sent
        half = socket.create_connection(address, timeout=options.wait)
        half.sendall(record)
        started = time.monotonic()
        closed = half.recv(1) == b""
        print(f"a half-sent record: {'closed' if closed else 'answered'} after {time.monotonic() - started:.1f} s")
        opened = time.monotonic()
        for sock in socks:
            sock.setblocking(False)
        gone = 0
        deadline = time.monotonic() + options.wait
        while time.monotonic() < deadline and gone < len(socks):
            gone = 0
            for sock in socks:
                try:
                    gone += sock.recv(1) == b""
                except BlockingIOError:
                    pass
                except OSError:
                    gone += 1
            time.sleep(0.5)
        print(f"idle connections closed by the server within {time.monotonic() - opened:.1f} s: {gone}/{len(socks)}")
    except TimeoutError:
        print(f"a half-sent record: no answer and no close within {options.wait} s")
    finally:
        for sock in socks:
            sock.close()
        process.terminate()
        process.wait(10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("case", choices=["trickle", "uploads", "fcgi-idle"])
    parser.add_argument("--tricklers", type=int, default=300)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--pause", type=float, default=1.0)
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--wait", type=float, default=90.0)
    parser.add_argument("--phprt", type=Path, default=ROOT, metavar="DIR", help="the checkout whose phprt runs")
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    options = parser.parse_args(argv[:split])
    options.server_args = argv[split + 1:]
    with tempfile.TemporaryDirectory() as docroot:
        Path(docroot, "hello.py").write_text("from phprt.php import *\necho('hello')\n")
        Path(docroot, "length.py").write_text(
            "from phprt.php import *\necho(len(runtime().input), ' ', len(_POST))\n")
        if options.case == "trickle":
            trickle(options, docroot)
        elif options.case == "uploads":
            options.count = options.count or 8
            uploads(options, docroot)
        else:
            options.count = options.count or 3000
            fcgi_idle(options, docroot)


if __name__ == "__main__":
    main()
