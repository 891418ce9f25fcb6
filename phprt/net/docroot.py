"""The document root: which file a URL path names, and never one outside it (DOCROOT-*).

No I/O beyond looking at the file system. A server hands ``DocumentRoot.resolve``
the path of a request-target, still percent-encoded, and gets the file to run or
serve, or ``Refused`` with the 4xx status to answer: 400 for a path no client
should send, 404 for one that names nothing inside the root, as ``php -S``.
"""

from __future__ import annotations

import errno
import os
import re
import threading
import time
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from urllib.parse import unquote_to_bytes

from ..engine.memo import Memo
from ..engine.records import field, record

__all__ = ["DocumentRoot", "Refused", "Resolved"]

#: Percent-escapes that would smuggle a separator or a NUL into one segment.
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|00)", re.IGNORECASE)
_BAD_ESCAPE = re.compile(r"%(?![0-9a-fA-F]{2})")
#: The errors for which pathlib's is_dir() and is_file() answer False rather than raise.
_IGNORED = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


class Refused(Exception):
    """The path names nothing the server may hand out; ``status`` is the answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@record(frozen=True)
class Resolved:
    """A file inside the document root. ``script_name`` is its URL path
    ($_SERVER['SCRIPT_NAME']) and ``path_info`` what followed it in the URL."""

    path: Path
    script_name: str
    path_info: str = ""
    #: What ``stat()`` said of the file when the path was resolved: the script's compiled
    #: code is validated with it and a static file's size read from it, the file system
    #: asked once per request (NET-PERF-7).
    status: os.stat_result | None = field(default=None, compare=False, repr=False)

    @property
    def is_script(self) -> bool:
        """A ported script (``.py``) runs; any other file is served as it is."""
        return self.path.suffix == ".py"


class DocumentRoot:
    """Maps URL paths to files as ``php -S`` does, with ``.py`` for ``.php``
    (DOCROOT-MAP-1): the longest leading part of the path that names a file runs
    (``.py``) or is served, the rest is PATH_INFO; a part may name a script without
    its ``.py``; a directory runs its ``index.py`` (or serves its ``index.html``),
    and a path that names nothing falls back to the nearest directory's index
    unless it has a dot (a missing static file). Nothing outside the root is ever
    named (DOCROOT-REFUSE-1)."""

    INDEX = ("index.py", "index.html")

    #: PHP's ``realpath_cache_ttl`` default, seconds; and ``realpath_cache_size`` in entries.
    REALPATH_TTL = 120.0
    REALPATH_ENTRIES = 4096

    def __init__(self, root: str | os.PathLike[str], *, realpath_ttl: float | None = None) -> None:
        self.root = Path(os.path.realpath(root))
        if not self.root.is_dir():
            raise NotADirectoryError(f"document root {str(root)!r} is not a directory")
        self.realpath_ttl = self.REALPATH_TTL if realpath_ttl is None else realpath_ttl
        self._root = str(self.root)
        self._prefix = self._root if self._root.endswith("/") else self._root + "/"
        self._realpaths: Memo[str, tuple[float, Path, str]] = Memo(self.REALPATH_ENTRIES)
        self._realpaths_lock = threading.Lock()
        self._plans: Memo[str, _Plan | tuple[int, str]] = Memo(self.REALPATH_ENTRIES)

    def realpath(self, path: str | os.PathLike[str]) -> Path:
        """``os.path.realpath(path)``, remembered for ``realpath_ttl`` seconds, as PHP's
        realpath cache remembers a resolved path for ``realpath_cache_ttl``, at most
        ``REALPATH_ENTRIES`` of them (DOCROOT-REALPATH-1): a symbolic link changed
        meanwhile is seen once the entry has expired."""
        return self._realpath(os.fspath(path))[0]

    def _realpath(self, key: str) -> tuple[Path, str]:
        # realpath(), and its text (DOCROOT-REALPATH-1).
        now = time.monotonic()
        cached = self._realpaths.get(key)
        if cached is not None and cached[0] > now:
            return cached[1], cached[2]
        text = os.path.realpath(key)
        real = Path(text)
        if self.realpath_ttl > 0:
            with self._realpaths_lock:
                self._realpaths.keep(key, (now + self.realpath_ttl, real, text))  # full: PHP drops entries too
        return real, text

    def resolve(self, url_path: str) -> Resolved:
        """The file for the path of a request-target (percent-encoded, no query): the
        candidates the path names, from the longest, each looked up with one ``stat()``
        (DOCROOT-MAP-1). What the path's text alone decides -- its candidates, or the
        refusal -- is remembered for the next request with the same path (NET-PERF-3),
        at most ``REALPATH_ENTRIES`` paths; the file system is asked every time."""
        plan = self._plans.get(url_path)
        if plan is None:
            try:
                plan = self._plan(url_path)
            except Refused as refused:
                plan = (refused.status, str(refused))
            self._plans.keep(url_path, plan)
        if isinstance(plan, tuple):
            raise Refused(*plan)
        static = plan.static
        for candidate, named, path_info, rest, indexes in plan.candidates:
            status = _status(candidate)  # one stat() where pathlib asked is_dir() and is_file()
            mode = status.st_mode if status is not None else 0
            if S_ISDIR(mode):
                if rest and static:
                    break  # a missing file, not a route for the index
                for index, index_name in indexes:
                    status = _status(index)
                    if status is not None and S_ISREG(status.st_mode):
                        return self._inside(index, index_name, path_info, status)
                break
            if S_ISREG(mode):  # /x.py/ runs x.py with PATH_INFO "/", as php -S walks back from x.py/
                return self._inside(candidate, named, path_info or plan.slash, status)
            if named != "/":
                status = _status(candidate + ".py")
                if status is not None and S_ISREG(status.st_mode):
                    return self._inside(candidate + ".py", named + ".py", path_info or plan.slash, status)
        raise Refused(404, "no such file")

    def _plan(self, url_path: str) -> _Plan:
        """What ``resolve`` looks up for ``url_path``, or ``Refused`` (DOCROOT-REFUSE-1)."""
        if not url_path.startswith("/"):
            raise Refused(400, "the path must start with /")
        if "%" in url_path and (_ENCODED_SEPARATOR.search(url_path) or _BAD_ESCAPE.search(url_path)):
            raise Refused(400, "an encoded separator, NUL or malformed escape in the path")
        decoded = unquote_to_bytes(url_path) if "%" in url_path else url_path.encode("utf-8")
        if b"\\" in decoded or b"\0" in decoded:
            raise Refused(400, "a backslash or NUL in the path")
        segments = [os.fsdecode(s) for s in decoded.split(b"/") if s not in (b"", b".")]
        if any(segment in ("..", "__pycache__") for segment in segments):
            raise Refused(404, "the path leaves the document root")
        static = any("." in segment for segment in segments)
        # a path ending in "/" (or "/.", which php -S normalises to it) keeps a slash at its end
        trailing = "/" if segments and decoded.rpartition(b"/")[2] in (b"", b".") else ""
        root = self._root
        candidates = []
        for depth in range(len(segments), -1, -1):  # php -S walks back to what exists
            candidate = os.path.join(root, *segments[:depth]) if depth else root
            named = "/" + "/".join(segments[:depth])
            rest = segments[depth:]
            path_info = "/" + "/".join(rest) + trailing if rest else ""
            indexes = tuple((os.path.join(candidate, index), named.rstrip("/") + "/" + index) for index in self.INDEX)
            candidates.append((candidate, named, path_info, bool(rest), indexes))
        return _Plan(static, tuple(candidates), trailing)

    def script(self, filename: str, status: os.stat_result | None = None) -> Path:
        """The script a FastCGI request's SCRIPT_FILENAME names: a ``.py`` file
        inside the root, or ``Refused`` (DOCROOT-REFUSE-1). ``status`` is what
        ``stat(filename)`` said a moment ago for this request, if it was asked
        (FCGI-PERF-3); else the file system is asked here."""
        if not filename.startswith("/") or "\0" in filename:
            raise Refused(404, "SCRIPT_FILENAME must be an absolute path")
        real, text = self._realpath(filename)
        if not text.startswith(self._prefix) or text == self._root:
            raise Refused(404, "the file is outside the document root")
        name = text.rpartition("/")[2]  # a .py file: Resolved.is_script, without making one
        if not (name.endswith(".py") and len(name) > 3) \
                or not S_ISREG(_mode(filename) if status is None else status.st_mode):
            raise Refused(404, "no such script")
        return real

    def _inside(self, path: str | os.PathLike[str], script_name: str, path_info: str = "",
                status: os.stat_result | None = None) -> Resolved:
        # Symbolic links are followed, and then the file must still be in the root.
        real, text = self._realpath(os.fspath(path))
        if not text.startswith(self._prefix) or text == self._root:
            raise Refused(404, "the file is outside the document root")
        return Resolved(real, script_name, path_info, status)


@record(frozen=True)
class _Plan:
    """What a URL path names, before the file system is asked: whether it names a
    static file (a dot in a segment), its candidates from the longest: (file,
    SCRIPT_NAME, PATH_INFO, whether PATH_INFO is left, the directory's index files),
    and the PATH_INFO of a file the whole path names: "/" after a trailing slash."""

    static: bool
    candidates: tuple[tuple[str, str, str, bool, tuple[tuple[str, str], ...]], ...]
    slash: str = ""


def _mode(path: str) -> int:
    """The file's st_mode, 0 where pathlib's is_dir() and is_file() answer False
    (ENOENT, ENOTDIR, EBADF, ELOOP); any other error is raised, as there."""
    status = _status(path)
    return status.st_mode if status is not None else 0


def _status(path: str) -> os.stat_result | None:
    """The file's ``stat()``, None where pathlib's is_dir() and is_file() answer False
    (ENOENT, ENOTDIR, EBADF, ELOOP); any other error is raised, as there."""
    try:
        return os.stat(path)
    except OSError as error:
        if error.errno in _IGNORED:
            return None
        raise
    except ValueError:
        return None
