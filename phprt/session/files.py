"""PHP's files save handler (ext/session/mod_files.c), sharing its files with PHP (SESS-FILES-*).

``sess_<id>`` files in session.save_path -- or, for ``N;MODE;/path``, N levels of
one-character directories below /path, created with MODE -- each held with
``flock(LOCK_EX)`` from the read until the session is written and closed, so a
second request on the session, in this process or in PHP's, waits (SESS-LOCK-1).
"""

from __future__ import annotations

import errno
import fcntl
import os
import time

from .handlers import SaveModule, valid_id

__all__ = ["FilesModule", "parse_save_path"]

_ILLEGAL = ('Session ID is too long or contains illegal characters. Only the A-Z, a-z, 0-9, "-", '
            'and "," characters are allowed')


def parse_save_path(save_path: str) -> tuple[int, int, str] | str:
    """PS_OPEN_FUNC(files)'s reading of session.save_path: (dirdepth, filemode, directory),
    or the warning PHP gives (SESS-FILES-2). "" is the temporary directory."""
    if save_path == "":
        import tempfile  # imported by the session that needs it, not at every start (issue 13)

        save_path = tempfile.gettempdir()
    parts = save_path.split(";", 2)
    depth, mode = 0, 0o600
    if len(parts) > 1:
        depth_value = _strtol(parts[0], 10)
        if depth_value is None:
            return "The first parameter in session.save_path is invalid"
        depth = depth_value
    if len(parts) > 2:
        mode_value = _strtol(parts[1], 8)
        if mode_value is None or not 0 <= mode_value <= 0o7777:
            return "The second parameter in session.save_path is invalid"
        mode = mode_value
    return max(depth, 0), mode, parts[-1]


def _strtol(text: str, base: int) -> int | None:
    # strtol(): leading digits, 0 without; None for ERANGE
    text = text.lstrip(" \t\n\v\f\r")
    sign = -1 if text[:1] == "-" else 1
    text = text[1:] if text[:1] in "+-" else text
    digits = ""
    for char in text:
        if char in "0123456789"[:base]:
            digits += char
        else:
            break
    value = sign * int(digits, base) if digits else 0
    return value if -(2**63) <= value < 2**63 else None


class FilesModule(SaveModule):
    """ps_module "files"."""

    name = "files"
    has_update_timestamp = True
    has_validate_sid = True

    def __init__(self) -> None:
        super().__init__()
        self.fd = -1
        self.last_key: str | None = None
        self.basedir = ""
        self.depth = 0
        self.mode = 0o600
        self.size = 0

    def path(self, sid: str) -> str | None:
        """ps_files_path_create(): None when the id is shorter than the depth."""
        if len(sid) <= self.depth:
            return None
        levels = [sid[i] for i in range(self.depth)]
        return os.path.join(self.basedir, *levels, "sess_" + sid)

    def open(self, save_path: str, session_name: str) -> bool:
        parsed = parse_save_path(save_path)
        if isinstance(parsed, str):
            self.error(parsed)
            return False
        self._close_file()
        self.depth, self.mode, self.basedir = parsed
        self.last_key = None
        return True

    def _close_file(self) -> None:
        # ps_files_close(): closing the descriptor releases the flock
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _open_file(self, sid: str) -> None:
        # ps_files_open(): the file of ``sid``, created if need be, locked exclusively
        if self.fd >= 0 and self.last_key == sid:
            return
        self.last_key = None
        self._close_file()
        if not valid_id(sid):
            self.warn(_ILLEGAL)
            return
        path = self.path(sid)
        if path is None:
            self.warn("Failed to create session data file path. Too short session ID, invalid save_path or path "
                      "length exceeds 4096 characters")
            return
        self.last_key = sid
        try:
            fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC, self.mode)
        except OSError as error:
            self.warn(f"open({path}, O_RDWR) failed: {os.strerror(error.errno or 0)} ({error.errno})")
            return
        try:
            info = os.fstat(fd)
            if info.st_uid not in (0, os.getuid(), os.geteuid()) and os.getuid() != 0:
                os.close(fd)
                self.warn("Session data file is not created by your uid")
                return
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    break
                except InterruptedError:
                    continue
                except OSError:
                    break  # PHP ignores flock()'s failure (ENOLCK on some network filesystems)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def close(self) -> bool:
        self._close_file()
        self.last_key = None
        return True

    def read(self, sid: str, maxlifetime: int) -> bytes | None:
        self._open_file(sid)
        if self.fd < 0:
            return None
        try:
            self.size = os.fstat(self.fd).st_size
            if self.size == 0:
                return b""
            data = os.pread(self.fd, self.size, 0)
        except OSError as error:
            self.warn(f"Read failed: {os.strerror(error.errno or 0)} ({error.errno})")
            return None
        if len(data) != self.size:
            self.warn("Read returned less bytes than requested")
            return None
        return data

    def write(self, sid: str, data: bytes, maxlifetime: int) -> bool:
        self._open_file(sid)
        if self.fd < 0:
            return False
        try:
            written = os.pwrite(self.fd, data, 0)
        except OSError as error:
            self.warn(f"Write failed: {os.strerror(error.errno or 0)} ({error.errno})")
            return False
        if written != len(data):
            self.warn("Write wrote less bytes than requested")
            return False
        if len(data) < self.size:
            try:
                os.ftruncate(self.fd, len(data))
            except OSError:
                pass  # php_ignore_value(ftruncate(...))
        self.size = len(data)
        return True

    def update_timestamp(self, sid: str, data: bytes, maxlifetime: int) -> bool:
        path = self.path(sid)
        if path is None:
            return False
        try:
            os.utime(path)
        except OSError:
            return self.write(sid, data, maxlifetime)  # a new id: create its file
        return True

    def destroy(self, sid: str) -> bool:
        path = self.path(sid)
        if path is None:
            return False
        if self.fd >= 0:
            self._close_file()
            try:
                os.unlink(path)
            except OSError:
                if os.access(path, os.F_OK):
                    return False
        return True

    def gc(self, maxlifetime: int) -> int | None:
        """ps_files_cleanup_dir(): delete the sess_ files not modified for
        ``maxlifetime`` seconds; none below a depth > 0 (-1) (SESS-GC-1)."""
        if self.depth:
            return -1
        try:
            names = os.listdir(self.basedir)
        except OSError as error:
            self.notice(f"ps_files_cleanup_dir: opendir({self.basedir}) failed: "
                      f"{os.strerror(error.errno or errno.ENOENT)} ({error.errno})")
            return -1
        now, deleted = time.time(), 0
        for name in names:
            if not name.startswith("sess_"):
                continue
            path = os.path.join(self.basedir, name)
            try:
                if int(now) - int(os.stat(path).st_mtime) > maxlifetime:
                    os.unlink(path)
                    deleted += 1
            except OSError:
                continue
        return deleted

    def create_sid(self) -> str | None:
        for _ in range(4):
            sid = super().create_sid()
            if sid is not None and not self.validate_sid(sid):
                return sid
        return None

    def validate_sid(self, sid: str) -> bool:
        path = self.path(sid)
        return path is not None and os.path.exists(path)
