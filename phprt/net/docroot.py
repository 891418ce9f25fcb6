"""The document root: which file a URL path names, and never one outside it (DOCROOT-*).

No I/O beyond looking at the file system. A server hands ``DocumentRoot.resolve``
the path of a request-target, still percent-encoded, and gets the file to run or
serve, or ``Refused`` with the 4xx status to answer: 400 for a path no client
should send, 404 for one that names nothing inside the root, as ``php -S``.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes

__all__ = ["DocumentRoot", "Refused", "Resolved"]

#: Percent-escapes that would smuggle a separator or a NUL into one segment.
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|00)", re.IGNORECASE)
_BAD_ESCAPE = re.compile(r"%(?![0-9a-fA-F]{2})")


class Refused(Exception):
    """The path names nothing the server may hand out; ``status`` is the answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Resolved:
    """A file inside the document root. ``script_name`` is its URL path
    ($_SERVER['SCRIPT_NAME']) and ``path_info`` what followed it in the URL."""

    path: Path
    script_name: str
    path_info: str = ""

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
        self._realpaths: dict[Path, tuple[float, Path]] = {}
        self._realpaths_lock = threading.Lock()

    def realpath(self, path: Path) -> Path:
        """``os.path.realpath(path)``, remembered for ``realpath_ttl`` seconds, as PHP's
        realpath cache remembers a resolved path for ``realpath_cache_ttl`` (DOCROOT-REFUSE-1):
        a symbolic link changed meanwhile is seen once the entry has expired."""
        now = time.monotonic()
        cached = self._realpaths.get(path)
        if cached is not None and cached[0] > now:
            return cached[1]
        real = Path(os.path.realpath(path))
        if self.realpath_ttl > 0:
            with self._realpaths_lock:
                if len(self._realpaths) >= self.REALPATH_ENTRIES:
                    self._realpaths.clear()  # PHP drops entries when its cache is full, too
                self._realpaths[path] = (now + self.realpath_ttl, real)
        return real

    def resolve(self, url_path: str) -> Resolved:
        """The file for the path of a request-target (percent-encoded, no query)."""
        if not url_path.startswith("/"):
            raise Refused(400, "the path must start with /")
        if _ENCODED_SEPARATOR.search(url_path) or _BAD_ESCAPE.search(url_path):
            raise Refused(400, "an encoded separator, NUL or malformed escape in the path")
        decoded = unquote_to_bytes(url_path)
        if b"\\" in decoded or b"\0" in decoded:
            raise Refused(400, "a backslash or NUL in the path")
        segments = [os.fsdecode(s) for s in decoded.split(b"/") if s not in (b"", b".")]
        if any(segment in ("..", "__pycache__") for segment in segments):
            raise Refused(404, "the path leaves the document root")
        static = any("." in segment for segment in segments)
        for depth in range(len(segments), -1, -1):  # php -S walks back to what exists
            candidate = self.root.joinpath(*segments[:depth])
            named = "/" + "/".join(segments[:depth])
            rest = segments[depth:]
            path_info = "/" + "/".join(rest) + ("/" if url_path.endswith("/") else "") if rest else ""
            if candidate.is_dir():
                if rest and static:
                    break  # a missing file, not a route for the index
                for index in self.INDEX:
                    if (candidate / index).is_file():
                        return self._inside(Resolved(candidate / index, named.rstrip("/") + "/" + index, path_info))
                break
            if candidate.is_file():
                return self._inside(Resolved(candidate, named, path_info))
            script = candidate.with_name(candidate.name + ".py") if depth else None
            if script is not None and script.is_file():
                return self._inside(Resolved(script, named + ".py", path_info))
        raise Refused(404, "no such file")

    def script(self, filename: str) -> Path:
        """The script a FastCGI request's SCRIPT_FILENAME names: a ``.py`` file
        inside the root, or ``Refused`` (DOCROOT-REFUSE-1)."""
        path = Path(filename)
        if not path.is_absolute() or "\0" in filename:
            raise Refused(404, "SCRIPT_FILENAME must be an absolute path")
        resolved = self._inside(Resolved(path, filename))
        if not resolved.is_script or not path.is_file():
            raise Refused(404, "no such script")
        return resolved.path

    def _inside(self, resolved: Resolved) -> Resolved:
        # Symbolic links are followed, and then the file must still be in the root.
        real = self.realpath(resolved.path)
        if not real.is_relative_to(self.root) or real == self.root:
            raise Refused(404, "the file is outside the document root")
        return Resolved(real, resolved.script_name, resolved.path_info)
