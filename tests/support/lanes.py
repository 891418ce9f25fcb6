"""A served script whose classes a lane keeps (PERF-CLASS-1), and the module through which the
tests see each request's classes: ``seen``, importable from the script's directory, which
outlives the requests as a server's modules do. The script records its classes by weak
references: a reference to a kept class that outlived its request would end the lane."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

COUNTER = """from phprt.php import *
import seen
import weakref

class Counter:
    count = 0
    def bump(self):
        Counter.count += 1
        return Counter.count

class Named(Counter):
    label = "n"
    def name(self):
        return self.label + secret

    def secret(self):
        return secret

secret = _GET.get("s", "-")
seen.classes.append(weakref.ref(Named))
item = Named()
item.bump()
echo(Counter.count, " ", item.name(), " ", Counter.__dict__.get("added", "-"))
Counter.added = "yes"
Counter.instance = Counter()  # a singleton in a static property: it goes with the request
if _GET.get("keep"):
    seen.kept.append(item)
if _GET.get("keep_method"):
    seen.kept.append(Named.secret)
if _GET.get("keep_dict"):
    seen.kept.append(vars(Named))
"""


def seen_module(directory: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A fresh ``seen`` module in ``directory``, which goes first on sys.path (until the test ends):
    ``classes`` and ``kept`` lists, an ``events`` dict."""
    (directory / "seen.py").write_text("classes = []\nkept = []\nevents = {}\n")
    monkeypatch.syspath_prepend(str(directory))
    monkeypatch.delitem(sys.modules, "seen", raising=False)
    import seen

    return seen
