"""A response on a FastCGI connection, as PHP-FPM sends it (FCGI-STDOUT-1, FCGI-STDERR-1)."""

from __future__ import annotations

import os
import socket
import threading
from typing import Any, Callable, Mapping

from ..net.fastcgi import Connection
from ..net.listener import Link
from .base import ResponseHead, Transport
from .heads import cgi_form

__all__ = ["FastCgiTransport", "FcgiConnection"]


class FcgiConnection(Link):
    """A connection from a web server: its socket, the protocol state, the
    transport of the request that runs on it, and a lock that keeps the records of
    the request's thread and the server's loop, which reads the connection while the
    request runs, whole."""

    def __init__(self, sock: socket.socket, write_timeout: float, protocol: Connection) -> None:
        super().__init__(sock, write_timeout)  # a web server that stops reading is gone after it
        self.protocol = protocol
        #: Held while the connection's state changes; taken again by the thread holding it when a
        #: response that ends after the server stopped closes the connection (FCGI-THREAD-1).
        self.lock = threading.RLock()
        self.transports: dict[int, FastCgiTransport] = {}
        #: Called once, with the lock held, when no response runs on it any more: its
        #: thread gives it back to the loop then, even while the script goes on (FCGI-FINISH-1).
        self.on_end: Callable[[], None] | None = None

    @property
    def closed(self) -> bool:
        """This side is shut or the web server went away: nothing more goes out."""
        return self.gone or self.write_closed

    def send_nothing(self) -> bool:
        """PHP-FPM's ``fcgi_flush()`` with nothing buffered: ``write(fd, buf, 0)``, which
        fails (EPIPE) once the peer of a unix socket has gone -- a TCP socket fails it
        only after a reset. False, and the peer marked gone, then (SAPI-FPM-3). Call
        with the lock held, from the request's thread."""
        if self.closed:
            return False
        try:
            os.write(self.sock.fileno(), b"")
        except BlockingIOError:
            pass
        except OSError:
            self.gone = True
        return not self.gone

    def settle(self) -> None:
        """After the protocol finished a response: shut the connection if it is not
        kept, and call ``on_end`` once no response runs. Call with the lock held."""
        if self.protocol.should_close:
            self.shut_write()
        if self.on_end is not None and not self.transports:
            on_end, self.on_end = self.on_end, None
            on_end()

    def close(self) -> None:
        with self.lock:
            self.gone = True
            self.protocol.discard()
            transports = list(self.transports.values())
        for transport in transports:
            transport.abort()  # the web server is gone: the next write fails (FCGI-ABORT-1)
        super().close()


class FastCgiTransport(Transport):
    """One request's response on a FastCGI connection (FCGI-STDOUT-1, FCGI-STDERR-1).

    ``send_headers`` keeps the head block (the CGI head, ``cgi_form``) to go out
    with the first STDOUT bytes; ``write`` sends STDOUT records at once (the "fpm"
    profile already buffers in PHP-FPM's 8 KiB record buffer); ``write_stderr``
    sends STDERR records; ``finish`` ends the streams and sends END_REQUEST with
    appStatus 0, which may come early for fastcgi_finish_request()
    (FCGI-FINISH-1). ``write`` and ``flush`` return False once the request was
    aborted (ABORT_REQUEST) or the web server closed the connection
    (FCGI-ABORT-1); a ``flush`` with nothing to send is a zero-length write,
    which fails where PHP-FPM's does (SAPI-FPM-3)."""

    can_end_early = True

    def __init__(self, channel: FcgiConnection, request_id: int, server: Mapping[str, Any], body: bytes) -> None:
        self.server = server  # the request's variables, which the ScriptCall hands the Runtime as they are
        self.input = body
        self.request_id = request_id
        self.aborted = False
        self.finished = False
        self._channel = channel
        self._head = b""
        self._held: bytearray | None = None  # records held for END_REQUEST's write (FPM-END-1)
        self._sent = False  # records went out since the last flush

    def _send(self, records: bytes) -> bool:
        # Call with the lock held: the records go now, or with END_REQUEST once the
        # response is ending; False once the web server is gone. No records is still
        # a write, of nothing (SAPI-FPM-3) -- unless it is the flush that follows a
        # write of records (FpmRecords delivers a socket write as both), which was the write.
        if self._held is not None:
            self._held += records
            return True
        if not records:
            if self._sent:
                self._sent = False
                return True
            return self._channel.send_nothing()
        self._sent = True
        return self._channel.send(records)

    def _stdout(self, data: bytes) -> bool:
        # The pending head goes out with the first bytes, or alone on a flush.
        channel = self._channel
        with channel.lock:
            if self.aborted or self.finished:
                return False
            data, self._head = self._head + data, b""
            if not self._send(channel.protocol.stdout(self.request_id, data)):
                self.aborted = True
            return not self.aborted

    def send_headers(self, head: ResponseHead) -> None:
        with self._channel.lock:
            self._head += cgi_form(head)

    def send_cgi_block(self, head: ResponseHead, block: bytes) -> None:
        """``send_headers`` for a head whose CGI block, ``head.block()``, was made
        already (PHP-FPM's record buffer made it): used as it is where ``cgi_form``
        would make the same bytes again (FCGI-PERF-3)."""
        if head.status_line or head.own_close is not None or head.status not in (None, 200):
            self.send_headers(head)
            return
        with self._channel.lock:
            self._head += block

    def write(self, data: bytes) -> bool:
        return self._stdout(data)

    def flush(self) -> bool:
        if self._held is not None:  # ending: the records go with END_REQUEST, in one write (FPM-END-1)
            return not self.aborted
        return self._stdout(b"")

    def write_stderr(self, data: bytes) -> None:
        channel = self._channel
        with channel.lock:
            if self.aborted or self.finished:
                return
            head, self._head = self._head, b""  # written before this message, so sent before it
            records = channel.protocol.stdout(self.request_id, head) + channel.protocol.stderr(self.request_id, data)
            if not self._send(records):
                self.aborted = True

    def ending(self) -> None:
        """The rest of the response goes with END_REQUEST, in one write (FPM-END-1)."""
        with self._channel.lock:
            if not self.finished and self._held is None:
                self._held = bytearray()

    def finish(self) -> None:
        channel = self._channel
        with channel.lock:
            if self.finished:
                return
            self.finished = True
            head, self._head = self._head, b""
            held, self._held = bytes(self._held or b""), None
            data = b"" if self.aborted else held + channel.protocol.stdout(self.request_id, head)
            channel.send(data + channel.protocol.end_request(self.request_id))
            channel.transports.pop(self.request_id, None)
            channel.settle()

    def abort(self) -> None:
        """The web server aborted the request or left: the next write or flush fails."""
        with self._channel.lock:
            self.aborted = True
