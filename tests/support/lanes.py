"""A served script whose classes a lane keeps (PERF-CLASS-1), and the module through which the
tests see each request's classes: ``seen``, importable from the script's directory, which
outlives the requests as a server's modules do. The script records its classes by weak
references: a reference to a kept class that outlived its request would end the lane."""

from __future__ import annotations

import random
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


#: What PHP does, recorded with ``php -n -S`` (8.2.36), three requests: "1 2.5 nf H2\\n" at each.
#:
#:     abstract class Shape { abstract public function area(): float; public static array $made = []; }
#:     class Rect extends Shape { public function __construct(public float $w = 1.0) {}
#:                                public function area(): float { return $this->w; } }
#:     class Square extends Rect {}
#:     class Tiny extends Square {}
#:     class NotFound extends Exception {}
#:     enum Suit: string { case H = 'h'; case S = 's';
#:                         public function label(): string { return strtoupper($this->value); } }
#:     Shape::$made[] = "x";
#:     echo count(Shape::$made), " ", (new Tiny(2.5))->area(), " ";
#:     try { throw new NotFound("nf"); } catch (NotFound $e) { echo $e->getMessage(); }
#:     echo " ", Suit::from('h')->label(), count(Suit::cases());
#:     echo "\\n";
#:
#: Ported with what a port of typed PHP writes: annotations, an abstract base, a hierarchy three
#: deep, a static array, an exception class, an Enum and a dataclass -- all kept (PERF-CLASS-3). Needs
#: nothing but phprt.
SHAPES = """from phprt.php import *
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum


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


class Suit(Enum):
    H = "h"
    S = "s"

    def label(self) -> str:
        return self.value.upper()


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
echo(" ", Suit("h").label(), len(Suit))
echo("\\n")
"""

#: The same, recording its class Tiny in ``seen`` at the end.
HIERARCHY = SHAPES + "import seen\nimport weakref\n\nseen.classes.append(weakref.ref(Tiny))\n"


#: The class statements ``generated()`` draws from: what ports write, kept or made each request.
_SHAPES = {
    "plain": "class {n}:\n    count = 0\n\n    def bump(self):\n        {n}.count += 1\n        return {n}.count\n",
    "typed": "class {n}:\n    total: int = 0\n    tags: list = []\n\n    def add(self, tag: str) -> int:\n"
             "        {n}.tags.append(tag)\n        return len({n}.tags)\n",
    "property": "class {n}:\n    _v = 1\n\n    @property\n    def v(self):\n        return self._v + len(secret)\n\n"
                "    @v.setter\n    def v(self, value):\n        type(self)._v = value\n",
    "static": "class {n}:\n    MAP = {{'a': [1, 2], 'b': {{'c': 3}}}}\n\n    @staticmethod\n    def get(key):\n"
              "        return {n}.MAP.get(key)\n\n    @classmethod\n    def put(cls, key, value):\n        cls.MAP[key] = value\n",
    "abc": "class {n}(ABC):\n    @abstractmethod\n    def area(self) -> float: ...\n\n    def twice(self) -> float:\n"
           "        return self.area() * 2\n",
    "exception": "class {n}(Exception):\n    code = 7\n",
    "enum": "class {n}(Enum):\n    A = 1\n    B = 2\n\n    def doubled(self):\n        return self.value * 2\n",
    "dataclass": "@dataclass\nclass {n}:\n    x: int = 0\n\n    def moved(self):\n        return {n}(self.x + len(secret))\n",
    "subclass": "class {n}({base}):\n    def area(self) -> float:\n        return 1.5\n",
    "chain": "class {n}({base}):\n    pass\n",
}
#: What a request may do to one of the classes (``act``, ``t``): change it, or keep something of it.
ACTIONS = {
    "set": "target.extra = secret",
    "append": "for value in [value for value in vars(target).values() if type(value) is list]:\n    value.append(secret)",
    "keep_class": "seen.kept.append(target)",
    "keep_instance": "try:\n    seen.kept.append(target())\nexcept TypeError:\n    pass",
    "keep_dict": "seen.kept.append(vars(target))",
    "keep_method": "seen.kept.extend(value for value in vars(target).values()\n"
                   "                 if callable(value) or isinstance(value, (staticmethod, classmethod, property)))",
    "keep_list": "seen.kept.extend(value for value in vars(target).values() if type(value) in (list, dict))",
    "rename": "target.__name__ = 'Renamed'",
    "register": "if hasattr(target, 'register'):\n    target.register(int)",
    "delete": "if 'count' in vars(target):\n    del target.count",
    "put": "if hasattr(target, 'put'):\n    target.put('z', [secret])",
}


def generated(draw: random.Random) -> tuple[str, list[str]]:
    """A script of 3 to 7 classes drawn from ``_SHAPES`` (subclasses and chains of those before),
    which does what its request's ``act`` says to the class ``t`` names, then echoes each class's
    name, attributes and what ``issubclass(int, cls)`` says; and the classes' names."""
    names: list[str] = []
    shapes: dict[str, str] = {}
    body = []
    for index in range(draw.randint(3, 7)):
        shape, name = draw.choice(list(_SHAPES)), f"K{index}"
        bases = [base for base in names if shapes[base] in (("abc",) if shape == "subclass" else
                                                             ("plain", "typed", "chain", "subclass", "exception"))]
        if shape in ("subclass", "chain") and not bases:
            shape = "plain"  # nothing of the kind to derive from yet
        body.append(_SHAPES[shape].format(n=name, base=draw.choice(bases) if bases else None))
        names.append(name)
        shapes[name] = shape
    acts = [f"if act == {act!r}:\n" + "".join(f"    {line}\n" for line in code.splitlines()) for act, code in ACTIONS.items()]
    shown = [f"echo({name!r}, {name}.__name__, ' ', sorted(key for key in vars({name}) if not key.startswith('__')), ' ', "
             f"repr({{key: value for key, value in vars({name}).items() if type(value) in (int, str, list, dict)}}), ' ', "
             f"issubclass(int, {name}), '\\n')\n" for name in names]
    return ("from phprt.php import *\nimport seen\nfrom abc import ABC, abstractmethod\nfrom dataclasses import dataclass\n"
            "from enum import Enum\n\n\n"
            + "\n\n".join(body) + "\n\nsecret = _GET.get('s', '-')\nact = _GET.get('act', '')\n"
            "target = globals()[_GET.get('t', 'K0')]\n" + "".join(acts) + "".join(shown)), names
