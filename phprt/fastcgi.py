"""``python -m phprt fastcgi DOCROOT --listen ADDRESS``: a FastCGI responder, as PHP-FPM is (FCGI-*).

A web server such as nginx passes each request over FastCGI; phprt/_fastcgi.py
speaks the protocol, this module does the I/O: a thread per connection reads
records, each request runs in a Runtime of its own in a thread of its own, on a
``FastCgiTransport`` that frames what the Runtime delivers as STDOUT and STDERR
records. The script is the ``.py`` file SCRIPT_FILENAME names inside the document
root, and ``$_SERVER`` is the PARAMS as PHP-FPM turns them into its variables.

    with FastCgiServer("docroot/", "127.0.0.1:0") as server:   # from a background thread
        host, port = server.address

``serve(docroot, "127.0.0.1:9000", workers=4)`` serves in the foreground until
SIGINT or SIGTERM, with N worker processes sharing the socket as a static
PHP-FPM pool (FCGI-WORKERS-1).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import select
import selectors
import signal
import socket
import stat
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any, Union

from ._docroot import Refused
from ._fastcgi import Abort, Closed, Connection, ProtocolError, Request
from ._gateway import ScriptCall, Site
from ._runtime import ACTIVE, Runtime
from ._script import Script
from ._transport import ResponseHead, Transport

__all__ = ["FastCgiServer", "FastCgiTransport", "fpm_server_variables", "parse_address", "serve"]

Target = Union[Site, str, "os.PathLike[str]", Callable[[], object]]
Address = Union[str, tuple[str, int]]

_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
#: How long a connection being closed waits for the web server to close its side.
_LINGER = 2.0


# -- $_SERVER as PHP-FPM fills it ---------------------------------------------------------


class _Environment:
    """main/fastcgi.c's request hash: a name sent twice keeps its first place and
    its last value; a name deleted and set again goes last. PHP-FPM lists it into
    $_SERVER newest first (FCGI-SERVER-1)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.values: dict[str, str] = {}
        for name, value in pairs:
            self.values[name] = value

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def put(self, name: str, value: str | None) -> str | None:
        if value is None:
            self.values.pop(name, None)
        else:
            self.values[name] = value
        return value


def _is_valid_path(path: str | None) -> bool:
    # fpm_main.c is_valid_path(): no ".." segment
    if path is None:
        return False
    return not any(segment == ".." for segment in re.split(r"[/\\]", path))


def _fix_pathinfo(env: _Environment) -> tuple[str | None, str | None]:
    """fpm_main.c init_request_info() with cgi.fix_pathinfo=1 (FCGI-PATHINFO-1): the
    script's path (None: "Primary script unknown") and the request URI PHP_SELF
    starts with, updating SCRIPT_FILENAME, SCRIPT_NAME, PATH_INFO and
    PATH_TRANSLATED (keeping changed values in ORIG_*) as PHP-FPM does."""
    script_filename = env.get("SCRIPT_FILENAME")
    orig_path_translated = env.get("PATH_TRANSLATED")
    translated = script_filename if script_filename is not None else orig_path_translated
    if translated is None:
        return None, None
    path_info = env.get("PATH_INFO")
    script_name = env.get("SCRIPT_NAME")
    document_root = env.get("DOCUMENT_ROOT")
    request_uri: str | None = None
    if translated and (translated.endswith("/") or not os.path.exists(translated)):
        # /docroot/info.py/test: walk back through the '/' to the script, the rest is PATH_INFO
        found = False
        trimmed = translated
        while (cut := max(trimmed.rfind("/"), trimmed.rfind("\\"))) >= 0:
            trimmed = trimmed[:cut]
            try:
                regular = stat.S_ISREG(os.stat(trimmed).st_mode)
            except (OSError, ValueError):
                regular = False
            if not regular:
                continue
            found = True
            stripped = len(translated) - len(trimmed)
            given = len(path_info) if path_info is not None else 0
            if path_info is not None and given > stripped:
                new_info = path_info[given - stripped:]
                env.put("ORIG_PATH_INFO", path_info)
                prefix = path_info[:given - stripped]
                if script_name is None or script_name != prefix:
                    if script_name is not None:
                        env.put("ORIG_SCRIPT_NAME", script_name)
                    request_uri = env.put("SCRIPT_NAME", prefix)
                else:
                    request_uri = script_name
                path_info = env.put("PATH_INFO", new_info)
            if script_filename is None or script_filename != trimmed:
                if script_filename is not None:
                    env.put("ORIG_SCRIPT_FILENAME", script_filename)
                translated = env.put("SCRIPT_FILENAME", trimmed)
            if document_root is not None:
                root = document_root.removesuffix("/")
                if orig_path_translated is not None:
                    env.put("ORIG_PATH_TRANSLATED", orig_path_translated)
                env.put("PATH_TRANSLATED", root + (path_info or ""))
            elif script_name is not None and script_name in trimmed:
                if orig_path_translated is not None:
                    env.put("ORIG_PATH_TRANSLATED", orig_path_translated)
                env.put("PATH_TRANSLATED", trimmed[:len(trimmed) - len(script_name)] + (path_info or ""))
            break
        if not found:
            if script_filename is not None:
                env.put("ORIG_SCRIPT_FILENAME", script_filename)
            translated = env.put("SCRIPT_FILENAME", None)
        if request_uri is None:
            request_uri = script_name
    else:
        if script_filename is None:  # PATH_TRANSLATED stood in for it
            env.put("SCRIPT_FILENAME", translated)
        request_uri = script_name
    return (translated if _is_valid_path(translated) else None), request_uri


def _auth(value: str | None) -> dict[str, str]:
    """php_handle_auth_data(): PHP_AUTH_USER and PHP_AUTH_PW from Basic, PHP_AUTH_DIGEST from Digest."""
    if not value:
        return {}
    if value[:6].lower() == "basic ":
        letters = _BASE64.sub(b"", value[6:].encode("utf-8", "surrogateescape"))
        letters = letters[: len(letters) - (len(letters) % 4 == 1)]
        try:
            decoded = base64.b64decode(letters + b"=" * (-len(letters) % 4))
        except binascii.Error:  # pragma: no cover - the letters are valid base64 by now
            decoded = b""
        text = decoded.split(b"\0", 1)[0]
        if b":" in text:
            user, _, password = text.partition(b":")
            found = {"PHP_AUTH_USER": user.decode("utf-8", "surrogateescape")}
            if password:
                found["PHP_AUTH_PW"] = password.decode("utf-8", "surrogateescape")
            return found
    if value[:7].lower() == "digest ":
        return {"PHP_AUTH_DIGEST": value[7:]}
    return {}


def fpm_server_variables(params: list[tuple[str, str]], now: float | None = None) -> tuple[dict[str, Any], str | None]:
    """$_SERVER as PHP-FPM fills it from a request's PARAMS, and the path of the
    script to run (None when PHP-FPM would answer "Primary script unknown")
    (FCGI-SERVER-1, FCGI-PATHINFO-1): FCGI_ROLE and the PARAMS, newest first, as
    cgi.fix_pathinfo left them; PHP_SELF; PHP_AUTH_*; REQUEST_TIME_FLOAT and
    REQUEST_TIME; argv and argc from QUERY_STRING."""
    env = _Environment([("FCGI_ROLE", "RESPONDER"), *params])
    script, request_uri = _fix_pathinfo(env)
    server: dict[str, Any] = dict(reversed(env.values.items()))
    server["PHP_SELF"] = (request_uri or "") + (env.get("PATH_INFO") or "")
    server.update(_auth(env.get("HTTP_AUTHORIZATION")))
    now = time.time() if now is None else now
    server["REQUEST_TIME_FLOAT"] = now
    server["REQUEST_TIME"] = int(now)
    query = env.get("QUERY_STRING")
    server["argv"] = query.split("+") if query else []  # php_build_argv()
    server["argc"] = len(server["argv"])
    return server, script


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _refusal(status: int, body: str) -> Callable[[], object]:
    # PHP-FPM's own answer, a request without a script: the status and one line (FCGI-SCRIPT-1)
    def answer() -> None:
        runtime = ACTIVE.get()
        assert runtime is not None
        runtime.http_response_code(status)
        runtime.echo(body)

    return answer


def _nothing() -> None:
    """A request without REQUEST_METHOD is not HTTP: PHP-FPM runs no script (FCGI-SCRIPT-1)."""


# -- the transport -------------------------------------------------------------------------


class _Channel:
    """An accepted connection: the protocol state, its socket, and a lock that keeps
    the records of the request thread and the reader thread whole."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.protocol = Connection()
        self.lock = threading.Lock()
        self.closed = False  # this side is shut or the web server went away: nothing more goes out
        self.transports: dict[int, FastCgiTransport] = {}
        self.close_deadline: float | None = None

    def send(self, data: bytes) -> bool:
        """Write ``data``; False once the connection is gone. Call with the lock held."""
        if self.closed:
            return False
        if data:
            try:
                self.sock.sendall(data)
            except OSError:
                self.closed = True
                return False
        return True

    def shut(self) -> None:
        """Send nothing more: the web server sees the end; the reader waits for its close."""
        if not self.closed:
            self.closed = True
            self.close_deadline = time.monotonic() + _LINGER
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def settle(self) -> None:
        """After the protocol finished a response: shut the connection if it is not kept."""
        if self.protocol.should_close:
            self.shut()


def _cgi_head(head: ResponseHead) -> ResponseHead:
    """The head as a CGI head, which a FastCGI responder sends: php-cgi's and PHP-FPM's
    as they are; under another profile without ``php -S``'s status line and with a
    ``Status:`` line unless the code is 200 (FCGI-STDOUT-1)."""
    lines = [line for line in head.lines if not line.startswith("HTTP/")]
    if head.status not in (None, 200) and not any(line[:7].lower() == "status:" for line in lines):
        lines.insert(0, f"Status: {head.status} {head.reason}".rstrip())
    return ResponseHead(head.status, head.reason, tuple(lines), head.charset)


class FastCgiTransport(Transport):
    """One request's response on a FastCGI connection (FCGI-STDOUT-1, FCGI-STDERR-1).

    ``send_headers`` keeps the head block (the CGI head the SAPI writes, ``Status:``
    line included) to go out with the first STDOUT bytes; ``write`` sends STDOUT
    records at once (the "fpm" profile already buffers in PHP-FPM's 8 KiB record
    buffer); ``write_stderr`` sends STDERR records; ``finish`` ends the streams and
    sends END_REQUEST with appStatus 0, which may come early for
    fastcgi_finish_request() (FCGI-FINISH-1). ``write`` and ``flush`` return False
    once the request was aborted (ABORT_REQUEST) or the web server closed the
    connection (FCGI-ABORT-1)."""

    can_end_early = True

    def __init__(self, channel: _Channel, request_id: int, server: Mapping[str, Any], body: bytes) -> None:
        self.server = dict(server)
        self.body = body
        self.request_id = request_id
        self.aborted = False
        self.finished = False
        self.finished_at: float | None = None
        self._channel = channel
        self._head = b""

    def _stdout(self, data: bytes) -> bool:
        # The pending head goes out with the first bytes, or alone on a flush.
        channel = self._channel
        with channel.lock:
            if self.aborted or self.finished:
                return False
            data, self._head = self._head + data, b""
            if not channel.send(channel.protocol.stdout(self.request_id, data)):
                self.aborted = True
            return not self.aborted

    def send_headers(self, head: ResponseHead) -> None:
        with self._channel.lock:
            self._head += _cgi_head(head).block()

    def write(self, data: bytes) -> bool:
        return self._stdout(data)

    def flush(self) -> bool:
        return self._stdout(b"")

    def write_stderr(self, data: bytes) -> None:
        channel = self._channel
        with channel.lock:
            if self.aborted or self.finished:
                return
            head, self._head = self._head, b""  # written before this message, so sent before it
            records = channel.protocol.stdout(self.request_id, head) + channel.protocol.stderr(self.request_id, data)
            if not channel.send(records):
                self.aborted = True

    def finish(self) -> None:
        channel = self._channel
        with channel.lock:
            if self.finished:
                return
            self.finished = True
            self.finished_at = time.monotonic()
            head, self._head = self._head, b""
            data = b"" if self.aborted else channel.protocol.stdout(self.request_id, head)
            channel.send(data + channel.protocol.end_request(self.request_id))
            channel.transports.pop(self.request_id, None)
            channel.settle()

    def abort(self) -> None:
        """The web server aborted the request or left: the next write or flush fails."""
        with self._channel.lock:
            self.aborted = True


# -- the server ----------------------------------------------------------------------------


def parse_address(listen: Address) -> tuple[int, Any]:
    """(family, address) for ``HOST:PORT``, ``[::1]:PORT``, or a unix socket path
    (anything with a ``/``, or ``unix:PATH``) (FCGI-LISTEN-1)."""
    if isinstance(listen, tuple):
        return (socket.AF_INET6 if ":" in listen[0] else socket.AF_INET), (listen[0], int(listen[1]))
    if listen.startswith("unix:"):
        return socket.AF_UNIX, listen[5:]
    if "/" in listen:
        return socket.AF_UNIX, listen
    host, colon, port = listen.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"--listen expects HOST:PORT or a socket path, not {listen!r}")
    return (socket.AF_INET6 if ":" in host else socket.AF_INET), (host, int(port))


def _bind_unix(path: str, mode: int, backlog: int) -> socket.socket:
    # A socket file left by a server that is gone is replaced; a live one or another file is not.
    if os.path.lexists(path):
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise OSError(f"{path} exists and is not a socket")
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(path)
            except OSError:
                os.unlink(path)
            else:
                raise OSError(f"{path} is in use by another server")
    listener = socket.socket(socket.AF_UNIX)
    try:
        previous = os.umask(0o777 & ~mode)
        try:
            listener.bind(path)
        finally:
            os.umask(previous)
        os.chmod(path, mode)
        listener.listen(backlog)
    except BaseException:
        listener.close()
        raise
    return listener


class FastCgiServer:
    """A FastCGI responder for a ``Site`` (or what ``Site`` takes: a document root,
    one script, a callable), as PHP-FPM is for a pool, listening on ``listen``:
    ``HOST:PORT`` (port 0: a free one), a unix socket path (created with
    ``socket_mode``, 0660 as PHP-FPM's listen.mode, and removed on shutdown), or
    a listening socket to share (FCGI-LISTEN-1).

    ``serve_forever()`` serves in the calling thread until ``shutdown()``; ``start()``
    (or ``with FastCgiServer(...) as server:``) serves from a background thread.
    Each connection is read in its own thread and each request runs in a Runtime
    of its own, in a thread of its own (FCGI-CONCURRENT-1). ``address`` is where it
    listens: (host, port) or the socket path.
    """

    def __init__(self, site_or_target: Target, listen: Address | socket.socket = "127.0.0.1:0", *,
                 sapi: str = "fpm", ini: Mapping[str, Any] | None = None, socket_mode: int = 0o660,
                 backlog: int = 511) -> None:
        self.site = site_or_target if isinstance(site_or_target, Site) else Site(site_or_target, sapi=sapi, ini=ini)
        Runtime(sapi=self.site.sapi, ini=self.site.ini)  # an unknown directive fails here, not per request
        self._unix_path: str | None = None
        self._unix_inode: tuple[int, int] | None = None
        if isinstance(listen, socket.socket):
            self._listener = listen
        else:
            family, address = parse_address(listen)
            if family == socket.AF_UNIX:
                self._listener = _bind_unix(address, socket_mode, backlog)
                self._unix_path = address
                info = os.stat(address)
                self._unix_inode = (info.st_dev, info.st_ino)
            else:
                self._listener = socket.create_server(address, family=family, backlog=backlog)
        self._listener.setblocking(False)
        bound = self._listener.getsockname()
        self.address: Any = bound if isinstance(bound, str) else (str(bound[0]), int(bound[1]))
        self.stopping = False
        self._lock = threading.Lock()
        self._channels: dict[_Channel, threading.Thread] = {}
        self._requests: set[threading.Thread] = set()
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._thread: threading.Thread | None = None

    @property
    def listener(self) -> socket.socket:
        return self._listener

    def __enter__(self) -> FastCgiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def start(self) -> FastCgiServer:
        """Serve from a background thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self.serve_forever, name="phprt-fastcgi-accept", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Accept connections until ``shutdown()`` or ``stop()``."""
        wake = socket.socketpair()  # made here, so each worker process has its own
        with self._lock:
            self._wake = wake
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self._listener, selectors.EVENT_READ)
                selector.register(wake[0], selectors.EVENT_READ)
                while not self.stopping:
                    for key, _ in selector.select(timeout=1.0):
                        if key.fileobj is self._listener and not self.stopping:
                            self._accept()
        finally:
            with self._lock:
                self._wake = None
            for end in wake:
                end.close()

    def stop(self) -> None:
        """Stop accepting; ``serve_forever()`` returns. Safe in a signal handler."""
        self.stopping = True
        wake = self._wake
        if wake is not None:
            try:
                wake[1].send(b"x")
            except OSError:
                pass

    def _accept(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return  # another worker took it, or the peer left
        except OSError:
            time.sleep(0.05)  # e.g. out of file descriptors: let it pass
            return
        sock.setblocking(True)
        if sock.family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        channel = _Channel(sock)
        thread = threading.Thread(target=self._read, args=(channel,), daemon=True, name="phprt-fastcgi-connection")
        with self._lock:
            self._channels[channel] = thread
        thread.start()

    # -- one connection ------------------------------------------------------------------

    def _read(self, channel: _Channel) -> None:
        """Read the web server's records until it closes the connection; malformed
        input closes it (FCGI-MALFORMED-1). The socket stays blocking for the
        request threads' writes; the reader waits on it with poll()."""
        sock = channel.sock
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        try:
            while True:
                if not poller.poll(1000):
                    if channel.close_deadline is not None and time.monotonic() > channel.close_deadline:
                        break
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if channel.close_deadline is not None and data:
                    continue  # closing: what still comes is read and dropped
                try:
                    with channel.lock:
                        events = channel.protocol.receive(data)
                        channel.send(channel.protocol.data_to_send())
                        channel.settle()
                except ProtocolError:
                    break
                for event in events:
                    self._event(channel, event)
                if not data:
                    break
        except Exception:  # noqa: BLE001 - a connection's failure never stops the server
            traceback.print_exc()
        finally:
            with channel.lock:
                channel.closed = True
                transports = list(channel.transports.values())
            for transport in transports:
                transport.abort()  # the web server is gone: the next write fails (FCGI-ABORT-1)
            sock.close()
            with self._lock:
                self._channels.pop(channel, None)

    def _event(self, channel: _Channel, event: Request | Abort | Closed) -> None:
        if isinstance(event, Request):
            self._begin(channel, event)
        elif isinstance(event, Abort):
            transport = channel.transports.get(event.request_id)
            if transport is not None:
                transport.abort()

    def _begin(self, channel: _Channel, request: Request) -> None:
        params = [(_text(name), _text(value)) for name, value in request.params]
        server, script_path = fpm_server_variables(params)
        transport = FastCgiTransport(channel, request.request_id, server, request.stdin)
        with channel.lock:
            channel.transports[request.request_id] = transport
        script, log = self._script(server, script_path)
        call = ScriptCall(script, server, request.stdin, self.site.sapi, self.site.ini)
        thread = threading.Thread(target=self._run, args=(call, transport, log), daemon=True, name="phprt-fastcgi-request")
        with self._lock:
            self._requests.add(thread)
        thread.start()

    def _script(self, server: Mapping[str, Any], path: str | None) -> tuple[Script, bytes]:
        """What runs for the request, and what PHP-FPM logs first (FCGI-SCRIPT-1)."""
        if "REQUEST_METHOD" not in server:
            return _nothing, b""
        root = self.site.root
        if root is None:
            assert self.site.script is not None
            return self.site.script, b""
        if path is not None:
            try:
                return root.script(path), b""
            except Refused:
                pass
        return _refusal(404, "File not found.\n"), b"Primary script unknown"

    def _run(self, call: ScriptCall, transport: FastCgiTransport, log: bytes) -> None:
        try:
            if log:
                transport.write_stderr(log)
            call.run(transport)
        except (SystemExit, KeyboardInterrupt) as stop:  # a script's sys.exit(): its request ends here
            _say(f"request {transport.request_id}: the script raised {type(stop).__name__}{stop.args!r}")
        except BaseException:  # noqa: B036 - a request's failure never stops the server
            traceback.print_exc()
        finally:
            transport.finish()
            with self._lock:
                self._requests.discard(threading.current_thread())

    # -- stopping ------------------------------------------------------------------------

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop accepting, close idle connections, give running requests ``timeout``
        seconds, then close the rest and remove the unix socket (FCGI-LISTEN-1)."""
        self.stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                requests = list(self._requests)
                channels = list(self._channels)
            for channel in channels:
                with channel.lock:
                    idle = not channel.transports
                if idle:
                    _interrupt(channel.sock)
            if not requests or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        for channel in channels:
            _interrupt(channel.sock)
        self.close()

    def forget_socket_file(self) -> None:
        """Leave the unix socket file in place on close (a worker's, whose master removes it)."""
        self._unix_path = None

    def close(self) -> None:
        """Close the listening socket; remove the unix socket file this server made."""
        self._listener.close()
        path, inode = self._unix_path, self._unix_inode
        if path is not None and inode is not None:
            self._unix_path = None
            try:
                info = os.stat(path)
                if (info.st_dev, info.st_ino) == inode:
                    os.unlink(path)
            except OSError:
                pass


def _interrupt(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


# -- the command line ----------------------------------------------------------------------


def serve(docroot: str | os.PathLike[str], listen: str, *, sapi: str = "fpm", ini: Mapping[str, Any] | None = None,
          workers: int = 1, grace: float = 5.0, socket_mode: int = 0o660) -> int:
    """Serve ``docroot`` on ``listen`` until SIGINT or SIGTERM; the exit status.
    ``workers`` > 1 forks that many processes sharing the listening socket, kept
    at that number, as a static PHP-FPM pool (pm = static) (FCGI-WORKERS-1).
    ``grace`` is how long running requests get when a signal stops the server;
    ``socket_mode`` the permissions of a unix socket (FCGI-LISTEN-1)."""
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    server = FastCgiServer(docroot, listen, sapi=sapi, ini=ini, socket_mode=socket_mode)
    where = server.address if isinstance(server.address, str) else "{}:{}".format(*server.address)
    _say(f"phprt FastCGI ({server.site.sapi}, {workers} worker{'s' if workers > 1 else ''}) listening on {where}")
    if workers == 1:
        _serve_here(server, grace)
        server.close()
        return 0
    return _pool(server, workers, grace)


def _say(line: str) -> None:
    print(f"[{time.strftime('%d-%b-%Y %H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def _serve_here(server: FastCgiServer, grace: float) -> None:
    # The process serves until SIGINT or SIGTERM, then lets running requests finish.
    def stop(signum: int, frame: FrameType | None) -> None:
        server.stop()

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.serve_forever()
        server.shutdown(grace)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _work(server: FastCgiServer, grace: float) -> None:
    """A worker process: serve until SIGINT or SIGTERM, then exit; the master owns the socket file."""
    status = 0
    try:
        server.forget_socket_file()
        for number in _STOP_SIGNALS:
            signal.signal(number, lambda signum, frame: server.stop())
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        server.serve_forever()
        server.shutdown(grace)
    except BaseException:  # noqa: B036 - whatever happens, the worker ends here
        traceback.print_exc()
        status = 1
    finally:
        sys.stderr.flush()
        os._exit(status)


def _pool(server: FastCgiServer, workers: int, grace: float) -> int:
    """The master: fork the workers, fork a new one when one dies, and on SIGINT or
    SIGTERM pass SIGTERM on, wait for them, and remove the socket (FCGI-WORKERS-1)."""
    children: dict[int, float] = {}
    stopping = False

    def spawn() -> None:
        # Signals wait until the worker has its own handlers and the master knows its pid.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:  # a worker: serve, and never return into the master's code
                _work(server, grace)
            children[pid] = time.monotonic()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        for _ in range(workers):
            spawn()
        while children:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            started = children.pop(pid, None)
            if started is None or stopping:
                continue
            _say(f"worker {pid} exited with status {os.waitstatus_to_exitcode(status)}; starting another")
            if time.monotonic() - started < 1.0:
                time.sleep(1.0)  # a worker that dies at once is not restarted in a tight loop
            if not stopping:
                spawn()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        server.close()
    return 0
