"""Metadata filters in Mem0's grammar: parsed into a small tree, and evaluated in Python.

A filter is a JSON object. Each key is either a logical operator or a field:

- ``{"AND": [f, ...]}``: every ``f`` holds; ``{"OR": [f, ...]}``: at least one holds;
  ``{"NOT": [f, ...]}`` (or ``{"NOT": f}``): none of them holds. Several keys in one
  object are ANDed.
- ``{"k": value}``: metadata key ``k`` equals ``value`` (a string, number, boolean or
  null); ``{"k": "*"}``: ``k`` is present and not null.
- ``{"k": {"op": value, ...}}``: each operator holds (ANDed): ``eq``, ``ne``, ``in``,
  ``nin`` (a list of scalars), ``gt``, ``gte``, ``lt``, ``lte`` (a number, compared with
  numbers only, or a string, compared with strings only by code point: ISO 8601 times
  written alike order as times), ``contains``, ``icontains`` (a substring of a string
  value; ``icontains`` ignoring case).
- ``user_id``, ``agent_id``, ``run_id`` (an alias of ``session_id``) and ``session_id``
  select the scope, as the request's own fields do; they may appear only where every
  enclosing operator is ``AND`` (never under ``OR`` or ``NOT``), with a string value or
  ``{"eq": string}``.

A value of another JSON type than the one compared never matches (no error): a range
over ``"abc"`` is false for that item. ``NOT`` is the exact complement of what it wraps,
so ``ne`` and ``nin`` also match items without the key. Keys are top-level metadata
keys (no dotted paths).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import Scope

Scalar = str | int | float | bool | None
Op = Literal["eq", "in", "gt", "gte", "lt", "lte", "contains", "icontains", "exists"]

MAX_DEPTH = 8
"""The most levels of ``AND``/``OR``/``NOT`` nesting."""
MAX_CONDITIONS = 50
"""The most conditions (field operators) in one filter."""
MAX_LIST = 100
"""The most values of one ``in`` or ``nin`` list."""
MAX_KEY_CHARS = 256
MAX_VALUE_CHARS = 1000

RANGES = ("gt", "gte", "lt", "lte")
OPERATORS = ("eq", "ne", "in", "nin", *RANGES, "contains", "icontains")
LOGICAL = ("AND", "OR", "NOT")
SCOPE_KEYS = {"user_id": "user_id", "agent_id": "agent_id", "run_id": "session_id"}
SCOPE_KEYS["session_id"] = "session_id"
_SCOPE_ID = re.compile(r"^[A-Za-z0-9_.:@\-]{1,128}$")


@dataclass(frozen=True, slots=True)
class Condition:
    """One test of one metadata key; ``value`` is a tuple for ``in``, None for ``exists``."""

    key: str
    op: Op
    value: Scalar | tuple[Scalar, ...] = None


@dataclass(frozen=True, slots=True)
class AllOf:
    parts: tuple[MetadataFilter, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[MetadataFilter, ...]


@dataclass(frozen=True, slots=True)
class NoneOf:
    """True when none of ``parts`` holds (``NOT``; ``ne`` and ``nin`` are built on it)."""

    parts: tuple[MetadataFilter, ...]


MetadataFilter = Condition | AllOf | AnyOf | NoneOf


@dataclass(frozen=True, slots=True)
class Filters:
    """A parsed filter: the scope its ``user_id``/``agent_id``/``run_id`` keys select
    (parts absent when not given), and the test on metadata (None: every item passes)."""

    scope: Scope = field(default_factory=Scope)
    where: MetadataFilter | None = None

    def scope_within(self, scope: Scope) -> Scope:
        """``scope`` with the filter's scope parts added; InvalidInput when a part is
        given twice with different values."""
        parts: dict[str, str | None] = {}
        for name in ("user_id", "agent_id", "session_id"):
            mine, theirs = getattr(self.scope, name), getattr(scope, name)
            if mine is not None and theirs is not None and mine != theirs:
                raise InvalidInput({"filters": f"{name} {mine!r} contradicts {name} {theirs!r}"})
            parts[name] = theirs if theirs is not None else mine
        return Scope(**parts)


NO_FILTERS = Filters()


class _Parser:
    def __init__(self) -> None:
        self.conditions = 0
        self.scope: dict[str, str] = {}

    def fail(self, path: str, problem: str) -> InvalidInput:
        return InvalidInput({path: problem})

    def object(self, raw: Any, path: str, depth: int, scoped: bool) -> MetadataFilter | None:
        """The filter an object states (None: it only selects a scope)."""
        if not isinstance(raw, Mapping):
            raise self.fail(path, "must be an object")
        if depth > MAX_DEPTH:
            raise self.fail(path, f"nested more than {MAX_DEPTH} levels deep")
        parts: list[MetadataFilter] = []
        for key, value in raw.items():
            here = f"{path}.{key}"
            if key in LOGICAL:
                parts.append(self.logical(key, value, here, depth, scoped))
            elif key in SCOPE_KEYS:
                self.scope_key(key, value, here, scoped)
            else:
                parts.extend(self.field(key, value, here))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def logical(self, op: str, raw: Any, path: str, depth: int, scoped: bool) -> MetadataFilter:
        items = [raw] if op == "NOT" and isinstance(raw, Mapping) else raw
        if not isinstance(items, list) or not items:
            raise self.fail(path, "must be a non-empty list of filter objects")
        inner = scoped and op == "AND"
        found = [self.object(x, f"{path}[{i}]", depth + 1, inner) for i, x in enumerate(items)]
        parts = tuple(p for p in found if p is not None)
        if op == "AND":
            return AllOf(parts)
        if len(parts) < len(found):  # an empty object under OR or NOT
            raise self.fail(path, "an empty filter object has no meaning here")
        return AnyOf(parts) if op == "OR" else NoneOf(parts)

    def scope_key(self, key: str, raw: Any, path: str, scoped: bool) -> None:
        if not scoped:
            raise self.fail(path, f"{key} selects the scope: only under AND, never OR or NOT")
        value = raw["eq"] if isinstance(raw, Mapping) and set(raw) == {"eq"} else raw
        if not isinstance(value, str) or not _SCOPE_ID.match(value):
            raise self.fail(path, f"{key} must be a scope id (1-128 of A-Z a-z 0-9 _.:@-)")
        name = SCOPE_KEYS[key]
        if self.scope.setdefault(name, value) != value:
            raise self.fail(path, f"{key} given twice with different values")

    def field(self, key: str, raw: Any, path: str) -> list[MetadataFilter]:
        if not key or len(key) > MAX_KEY_CHARS:
            raise self.fail(path, f"a metadata key must have 1 to {MAX_KEY_CHARS} characters")
        if raw == "*":
            self.count(path)
            return [Condition(key, "exists")]
        if not isinstance(raw, Mapping):
            return [self.condition(key, "eq", raw, path)]
        if not raw:
            raise self.fail(path, f"an empty operator object; use one of {', '.join(OPERATORS)}")
        return [self.condition(key, op, value, f"{path}.{op}") for op, value in raw.items()]

    def count(self, path: str) -> None:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise self.fail(path, f"more than {MAX_CONDITIONS} conditions in one filter")

    def condition(self, key: str, op: str, value: Any, path: str) -> MetadataFilter:
        self.count(path)
        if op in ("eq", "ne"):
            found: MetadataFilter = Condition(key, "eq", self.scalar(value, path))
        elif op in ("in", "nin"):
            found = Condition(key, "in", self.values(value, path))
        elif op in RANGES:
            found = Condition(key, op, self.bound(value, path))  # type: ignore[arg-type]
        elif op in ("contains", "icontains"):
            if not isinstance(value, str):
                raise self.fail(path, f"{op} takes a string")
            found = Condition(key, op, self.text(value, path))  # type: ignore[arg-type]
        else:
            raise self.fail(path, f"unknown operator {op!r}; use one of {', '.join(OPERATORS)}")
        return NoneOf((found,)) if op in ("ne", "nin") else found

    def scalar(self, value: Any, path: str) -> Scalar:
        if isinstance(value, str):
            return self.text(value, path)
        if value is None or isinstance(value, bool | int | float):
            return value
        raise self.fail(path, "must be a string, number, boolean or null (lists: use 'in')")

    def values(self, value: Any, path: str) -> tuple[Scalar, ...]:
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST:
            raise self.fail(path, f"must be a list of 1 to {MAX_LIST} values")
        return tuple(self.scalar(v, f"{path}[{i}]") for i, v in enumerate(value))

    def bound(self, value: Any, path: str) -> Scalar:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(path, "a range bound must be a number or a string")
        return self.text(value, path) if isinstance(value, str) else value

    def text(self, value: str, path: str) -> str:
        if len(value) > MAX_VALUE_CHARS:
            raise self.fail(path, f"longer than {MAX_VALUE_CHARS} characters")
        return value


def parse_filters(raw: Mapping[str, Any] | None, name: str = "filters") -> Filters:
    """``raw`` (Mem0's filter object) as a ``Filters``; InvalidInput naming the path of the
    first problem (``filters.AND[1].category.between``: an unknown operator, a value of
    the wrong type, more than ``MAX_DEPTH`` levels, more than ``MAX_CONDITIONS``
    conditions, a scope key under ``OR`` or ``NOT``)."""
    if raw is None:
        return NO_FILTERS
    parser = _Parser()
    where = parser.object(raw, name, 1, True)
    scope = Scope(**parser.scope)
    return Filters(scope=scope, where=where)


def matches(where: MetadataFilter | None, metadata: Mapping[str, Any]) -> bool:
    """Whether an item with ``metadata`` passes ``where`` (the rules the SQL follows)."""
    if where is None:
        return True
    if isinstance(where, AllOf):
        return all(matches(p, metadata) for p in where.parts)
    if isinstance(where, AnyOf):
        return any(matches(p, metadata) for p in where.parts)
    if isinstance(where, NoneOf):
        return not any(matches(p, metadata) for p in where.parts)
    return _holds(where, metadata)


def _holds(cond: Condition, metadata: Mapping[str, Any]) -> bool:
    if cond.key not in metadata:
        return False
    value, wanted = metadata[cond.key], cond.value
    if cond.op == "exists":
        return value is not None
    if cond.op == "eq":
        return _same(value, wanted)
    if cond.op == "in":
        return isinstance(wanted, tuple) and any(_same(value, w) for w in wanted)
    if cond.op in ("contains", "icontains"):
        if not isinstance(value, str) or not isinstance(wanted, str):
            return False
        return wanted in value if cond.op == "contains" else wanted.lower() in value.lower()
    return _in_range(cond.op, value, wanted)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "array" if isinstance(value, Sequence) else "object"


def _same(value: Any, wanted: Any) -> bool:
    """JSON equality of a stored value and a scalar: of one JSON type, then equal."""
    return _kind(value) == _kind(wanted) and bool(value == wanted)


def _in_range(op: str, value: Any, bound: Any) -> bool:
    if _kind(value) != _kind(bound):
        return False
    if op == "gt":
        return bool(value > bound)
    if op == "gte":
        return bool(value >= bound)
    if op == "lt":
        return bool(value < bound)
    return bool(value <= bound)
