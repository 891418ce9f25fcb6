"""Debian's chromium, headless, on a local page: its DOM once the page's script ran, and a
screenshot. ``python -m tests.trace.browser PAGE.html SHOT.png`` saves a screenshot (the
one in docs/ was made so)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def chromium() -> str | None:
    """The chromium binary, or None."""
    return shutil.which("chromium") or (shutil.which("/usr/bin/chromium"))


def run(page: Path, *extra: str, timeout: float = 120) -> str:
    """Chromium's stdout for ``page`` with ``extra`` flags, in a fresh profile."""
    binary = chromium()
    assert binary is not None
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
                              capture_output=True, text=True, timeout=timeout, check=False)
    return done.stdout


def dump_dom(page: Path) -> str:
    return run(page, "--dump-dom")


def screenshot(page: Path, shot: Path, size: str = "1400,900") -> None:
    run(page, f"--screenshot={shot.resolve()}", f"--window-size={size}")


if __name__ == "__main__":
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
