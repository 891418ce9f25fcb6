"""Record what ``php -S`` answers to a few raw requests (NET-SERVER-1, NET-ERROR-1, NET-STATIC-1).

    python -m tests.conformance.record_network

starts ``php -n -S`` on a document root holding ``info.php`` (which prints $_SERVER), a
stylesheet, a JSON file and a file without an extension, sends each request of REQUESTS on
its own connection and writes the raw responses to spec/recorded/network-cli-server.json.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from phprt.conformance.cases import find_spec
from phprt.conformance.run_php import php_version
from phprt.conformance.servers import _free_port as free_port

RECORDED_DIR = find_spec() / "recorded"

INFO = "<?php foreach ($_SERVER as $k => $v) echo $k, '=', json_encode($v, JSON_UNESCAPED_SLASHES), \"\\n\";\n"
FILES = {"info.php": INFO, "style.css": "body{}\n", "d.json": '{"a":1}\n', "noext": "x", "sub/index.php": INFO}
REQUESTS = {
    "post-with-path-info": b"POST /info.php/extra/x?q=1&b=2 HTTP/1.1\r\nHost: example.test:8080\r\nUser-Agent: t\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\nCookie: a=1\r\nX-Custom: v\r\n\r\nk=v",
    "http10-no-query": b"GET /info.php HTTP/1.0\r\n\r\n",
    "path-info-trailing-slash": b"GET /info.php/ HTTP/1.1\r\nHost: h\r\n\r\n",
    "auth-basic": b"GET /info.php HTTP/1.1\r\nHost: h\r\nAuthorization: basic dXNlcjpwYXNz\r\nX-After: 1\r\n\r\n",
    "auth-digest": b"GET /info.php HTTP/1.1\r\nHost: h\r\nAuthorization: Digest username=\"u\", realm=\"r\"\r\n\r\n",
    "auth-basic-without-a-colon": b"GET /info.php HTTP/1.1\r\nHost: h\r\nAuthorization: Basic dXNlcg==\r\n\r\n",
    "proxy-header": b"GET /info.php HTTP/1.1\r\nHost: h\r\nProxy: http://evil:8080\r\nX-After: 1\r\n\r\n",
    "path-info-ending-in-a-dot": b"GET /info.php/x/. HTTP/1.1\r\nHost: h\r\n\r\n",
    "trailing-blanks": b"POST /info.php HTTP/1.1\r\nHost: h  \r\nX-A: v  \r\nX-B:   w \t\r\nCookie: c=1 ; d=2  \r\n"
    b"X-C: \r\nContent-Type: application/x-www-form-urlencoded \t\r\nContent-Length: 3  \r\n\r\nk=v",
    "missing": b"GET /missing?x=<b> HTTP/1.1\r\nHost: h\r\n\r\n",
    "missing-with-entities": b"GET /a'b&amp;c<d>\"e&#039;f&copy;&foo;&#1114112;&#X41;&apos;& HTTP/1.1\r\nHost: h\r\n\r\n",
    "repeated-fields": b"GET /info.php HTTP/1.1\r\nX-Custom: yes\r\nHost: h\r\nx-custom: again\r\n"
    b"Set-Cookie: a\r\nSet-Cookie: b\r\nX-Custom: third\r\n\r\n",
    "static-put": b"PUT /style.css HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
    "static-options": b"OPTIONS /style.css HTTP/1.1\r\nHost: h\r\n\r\n",
    "head-missing": b"HEAD /missing.css HTTP/1.1\r\nHost: h\r\n\r\n",
    "put-missing": b"PUT /missing.css HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
    "delete-no-index": b"DELETE /nowhere/ HTTP/1.1\r\nHost: h\r\n\r\n",
    "index-fallback": b"GET /sub/nothing/more?q+r+s HTTP/1.1\r\nHost: h\r\n\r\n",
    "no-fallback-with-a-dot": b"GET /sub/nothing.css HTTP/1.1\r\nHost: h\r\n\r\n",
    "static-css": b"GET /style.css HTTP/1.1\r\nHost: h\r\n\r\n",
    "static-json": b"GET /d.json HTTP/1.1\r\nHost: h\r\n\r\n",
    "static-unknown-type": b"GET /noext HTTP/1.1\r\nHost: h\r\n\r\n",
}


def _exchange(port: int, request: bytes) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data.decode("latin-1")


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        for name, text in FILES.items():
            Path(root, name).parent.mkdir(exist_ok=True)
            Path(root, name).write_text(text)
        port = free_port()
        server = subprocess.Popen(["php", "-n", "-S", f"127.0.0.1:{port}", "-t", root],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1)
            responses = {name: _exchange(port, request) for name, request in REQUESTS.items()}
        finally:
            server.terminate()
            server.wait()
    record = {"php": php_version(), "root": "%root%", "requests": {k: v.decode("latin-1") for k, v in REQUESTS.items()},
              "responses": {k: v.replace(os.path.realpath(root), "%root%") for k, v in responses.items()}}
    (RECORDED_DIR / "network-cli-server.json").write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
