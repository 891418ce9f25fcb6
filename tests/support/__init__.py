"""What the tests share: the repository's paths, php -S's recordings, and the clients and servers
the test modules talk through (one module per protocol). Test modules import helpers from here
only, never from one another; pytest fixtures are in tests/conftest.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

#: ``php -S``'s answers (PHP 8.2.36), written by ``python -m tests.conformance.record_network``.
NETWORK = json.loads((ROOT / "spec" / "recorded" / "network-cli-server.json").read_text())

#: What php -S's $_SERVER holds that depends on the machine, the moment or the server program
#: (NET-SERVER-1 names phprt).
VOLATILE = {"REMOTE_PORT", "SERVER_PORT", "REQUEST_TIME_FLOAT", "REQUEST_TIME", "SERVER_SOFTWARE"}


def python(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[bytes]:
    """A fresh interpreter run with ``args`` from ``cwd`` (the project's root), phprt importable
    even without ``site`` (``-S``), ``env`` added to the environment."""
    return subprocess.run([sys.executable, *args], capture_output=True, cwd=cwd, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env})


#: Modules no request needs, which a server command must not import to serve one (PERF-IMPORT-1).
UNUSED_MODULES = ("dataclasses", "inspect", "ast", "html", "mimetypes", "traceback")


def unused_modules_probe(root: Path) -> str:
    """Write ``root/modules.py``, a script that echoes which UNUSED_MODULES are loaded; what it
    must echo: those the interpreter alone loads (a site hook), in that order."""
    bare = python("-c", "import sys; print(*sys.modules)").stdout.decode().split()
    (root / "modules.py").write_text(f"import sys\nfrom phprt.php import *\n"
                                     f"echo(' '.join(m for m in {UNUSED_MODULES!r} if m in sys.modules))\n")
    return " ".join(m for m in UNUSED_MODULES if m in bare)


def add_escapes(root: Path, secret: str) -> None:
    """Files beside ROOT holding SECRET, and symlinks inside ROOT that lead to them: what a document
    root must never serve (DOCROOT-REFUSE-1)."""
    outside = root.parent
    (outside / "secret.txt").write_text(secret)
    (outside / "secret.py").write_text(f"from phprt.php import *\necho({secret!r})\n")
    (outside / "outside").mkdir()
    (outside / "outside" / "leak.txt").write_text(secret)
    os.symlink(outside / "secret.txt", root / "link.txt")
    os.symlink(outside / "secret.py", root / "link.py")
    os.symlink(outside / "outside", root / "linkdir")
