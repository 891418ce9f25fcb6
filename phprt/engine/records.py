"""``@record``: the part of ``@dataclasses.dataclass`` phprt's value classes use, made for
a quick start (PERF-IMPORT-1).

A script run as ``python -m phprt run`` starts a process per request, and importing
``dataclasses`` (which imports ``inspect``) and building its classes took a fifth of
phprt's import. ``record`` gives a class what ``dataclass`` gave it -- an ``__init__``
taking the annotated fields in order (with their defaults, ``field(default_factory=...)``
called per instance), ``__repr__``, ``__eq__`` (same class, fields equal), and for
``frozen=True`` an ``__hash__`` of the fields and no assignment -- from one generated
source per class. ``replace()`` is ``dataclasses.replace()``.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, Callable, TypeVar, dataclass_transform, overload

__all__ = ["field", "record", "replace"]

_T = TypeVar("_T")
_FIELDS = "__record_fields__"
_SPECS = "__record_specs__"  # each field's _Field, the inherited ones first


class _Field:
    __slots__ = ("default", "factory", "compare", "repr")

    def __init__(self, default: Any, factory: Callable[[], Any] | None, compare: bool, repr: bool) -> None:
        self.default, self.factory, self.compare, self.repr = default, factory, compare, repr


_MISSING: Any = object()


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] | None = None, compare: bool = True,
          repr: bool = True) -> Any:
    """dataclasses.field(): a default, or a factory called for each instance; ``compare``
    and ``repr`` leave the field out of ``__eq__``/``__hash__`` and ``__repr__``."""
    return _Field(default, default_factory, compare, repr)


class FrozenRecordError(AttributeError):
    """An assignment to a field of a frozen record (dataclasses.FrozenInstanceError)."""


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise FrozenRecordError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: object, name: str) -> None:
    raise FrozenRecordError(f"cannot delete field {name!r}")


@overload
def record(cls: type[_T], /) -> type[_T]: ...


@overload
def record(*, frozen: bool = False, slots: bool = False) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(field_specifiers=(field,))
def record(cls: type[_T] | None = None, /, *, frozen: bool = False, slots: bool = False) -> Any:
    """The class with dataclass's generated methods (see the module's docstring);
    ``slots=True`` makes it anew with ``__slots__`` for its fields, as dataclass does."""
    def build(cls: type[_T]) -> type[_T]:
        return _build(cls, frozen, slots)

    return build if cls is None else build(cls)


def _build(cls: type[_T], frozen: bool, slots: bool) -> type[_T]:
    own = [name for name, kind in cls.__dict__.get("__annotations__", {}).items()
           if not str(kind).startswith(("ClassVar", "typing.ClassVar"))]
    given = {name: cls.__dict__.get(name, _MISSING) for name in own}
    if slots:
        namespace_of_class = {key: value for key, value in cls.__dict__.items()
                              if key not in ("__dict__", "__weakref__") and key not in own}
        namespace_of_class["__slots__"] = tuple(own)
        cls = type(cls.__name__, cls.__bases__, namespace_of_class)
    # A record's base records' fields come first, in their order; one it names again keeps its
    # place and takes the new default, as a dataclass's does.
    specs: dict[str, _Field] = {}
    for base in reversed(cls.__mro__[1:]):
        specs.update(base.__dict__.get(_SPECS, {}))
    for name in own:
        value = given[name]
        specs[name] = value if isinstance(value, _Field) else _Field(value, None, True, True)
        if isinstance(value, _Field) and not slots:  # a field() is no class attribute, as in a dataclass
            if value.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, value.default)
    names = list(specs)
    namespace: dict[str, Any] = {"_MISSING": _MISSING}
    parameters, body, compared, shown = [], [], [], []
    for name, spec in specs.items():
        if spec.factory is not None:
            namespace[f"_factory_{name}"] = spec.factory
            parameters.append(f"{name}=_MISSING")
            value = f"_factory_{name}() if {name} is _MISSING else {name}"
        elif spec.default is not _MISSING:
            namespace[f"_default_{name}"] = spec.default
            parameters.append(f"{name}=_default_{name}")
            value = name
        else:
            parameters.append(name)
            value = name
        if not frozen:
            body.append(f"    self.{name} = {value}")
        elif slots:
            body.append(f"    _set(self, {name!r}, {value})")
        else:  # into the instance's dict: no call per field (PERF-IMPORT-1)
            body.append(f"    _record_dict[{name!r}] = {value}")
        if spec.compare:
            compared.append(name)
        if spec.repr:
            shown.append(name)
    namespace["_set"] = object.__setattr__
    # Only __init__ is compiled (what a dataclass compiles six times over); the others
    # read the fields with one attrgetter.
    if frozen and not slots and body:
        body.insert(0, "    _record_dict = self.__dict__")
    source = f"def __init__(self, {', '.join(parameters)}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(compile(source, f"<record {cls.__qualname__}>", "exec"), namespace)
    values: Callable[[Any], Any] = attrgetter(*compared) if compared else (lambda self: ())

    def __repr__(self: Any) -> str:
        return f"{type(self).__qualname__}({', '.join(f'{name}={getattr(self, name)!r}' for name in shown)})"

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return bool(values(self) == values(other))

    def __hash__(self: Any) -> int:
        return hash(values(self))

    methods: dict[str, Any] = {"__init__": namespace["__init__"], "__repr__": __repr__, "__eq__": __eq__}
    for name, method in methods.items():
        if name not in cls.__dict__:
            method.__qualname__ = f"{cls.__qualname__}.{name}"
            setattr(cls, name, method)
    if frozen:
        setattr(cls, "__hash__", __hash__)
        setattr(cls, "__setattr__", _frozen_setattr)
        setattr(cls, "__delattr__", _frozen_delattr)
    elif "__hash__" not in cls.__dict__:
        setattr(cls, "__hash__", None)  # eq without frozen: unhashable, as a dataclass
    setattr(cls, _FIELDS, tuple(names))
    setattr(cls, _SPECS, specs)
    return cls


def replace(obj: _T, /, **changes: Any) -> _T:
    """dataclasses.replace(): a new record with ``changes`` over ``obj``'s fields (a
    dataclass's own replace() for a dataclass)."""
    if not hasattr(type(obj), _FIELDS):
        import dataclasses

        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    values = {name: getattr(obj, name) for name in getattr(obj, _FIELDS)}
    values.update(changes)
    return type(obj)(**values)
