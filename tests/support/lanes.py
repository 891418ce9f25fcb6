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


#: What PHP does, recorded with ``php -n -S`` (8.2.36), three requests: "1 2.5 nf\\n" at each.
#:
#:     abstract class Shape { abstract public function area(): float; public static array $made = []; }
#:     class Rect extends Shape { public function __construct(public float $w = 1.0) {}
#:                                public function area(): float { return $this->w; } }
#:     class Square extends Rect {}
#:     class Tiny extends Square {}
#:     class NotFound extends Exception {}
#:     Shape::$made[] = "x";
#:     echo count(Shape::$made), " ", (new Tiny(2.5))->area(), " ";
#:     try { throw new NotFound("nf"); } catch (NotFound $e) { echo $e->getMessage(); }
#:     echo "\\n";
#:
#: Ported with what a port of typed PHP writes: annotations, an abstract base, a hierarchy three
#: deep, a static array, an exception class -- all kept (PERF-CLASS-3) -- and a dataclass, which
#: each request makes as Python makes it without ending the lane. Needs nothing but phprt.
SHAPES = """from phprt.php import *
from abc import ABC, abstractmethod
from dataclasses import dataclass


class Shape(ABC):
    made: list = []

    @abstractmethod
    def area(self) -> float: ...


class Rect(Shape):
    def __init__(self, w: float = 1.0) -> None:
        self.w = w

    def area(self) -> float:
        return self.w


class Square(Rect):
    pass


class Tiny(Square):
    pass


class NotFound(Exception):
    pass


@dataclass
class Point:
    x: int = 0

    def moved(self) -> "Point":
        return Point(self.x + 1)


Shape.made.append("x")
echo(len(Shape.made), " ", Tiny(2.5).area(), " ")
try:
    raise NotFound("nf")
except NotFound as error:
    echo(str(error))
if Point().moved().x != 1:
    echo("?")
echo("\\n")
"""

#: The same, recording its class Tiny in ``seen`` at the end.
HIERARCHY = SHAPES + "import seen\nimport weakref\n\nseen.classes.append(weakref.ref(Tiny))\n"
