"""Metadata filters (``domain.filters``) as SQL over a ``jsonb`` column.

Equality and ``in`` are containment (``metadata @> '{"k": v}'``), which the GIN
``jsonb_path_ops`` index of migration 0007 serves. Ranges and substrings first check the
value's JSON type (``jsonb_typeof``) and compare ``jsonb`` with ``jsonb`` or text with
text (``COLLATE "C"``: code point order, as Python compares): no cast, so a stored value
of another type is false, never a SQL error. Every clause is true or false, never NULL
(a missing key is false), so ``NOT`` is the exact complement of what it wraps.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, literal, not_, or_, true
from sqlalchemy.dialects.postgresql import JSONB

from memory_service.domain.filters import AllOf, AnyOf, Condition, MetadataFilter, NoneOf

_COMPARE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def metadata_clause(column: Any, where: MetadataFilter) -> ColumnElement[bool]:
    """The SQL test of ``where`` on ``column`` (a ``jsonb`` column that is never NULL)."""
    if isinstance(where, AllOf):
        return and_(true(), *(metadata_clause(column, p) for p in where.parts))
    if isinstance(where, AnyOf):
        return or_(false(), *(metadata_clause(column, p) for p in where.parts))
    if isinstance(where, NoneOf):
        return not_(or_(false(), *(metadata_clause(column, p) for p in where.parts)))
    return _condition(column, where)


def metadata_filters(column: Any, where: MetadataFilter | None) -> list[ColumnElement[bool]]:
    """``[metadata_clause(...)]``, or nothing when there is no filter (to splat into
    a ``where``)."""
    return [] if where is None else [metadata_clause(column, where)]


def _condition(column: Any, cond: Condition) -> ColumnElement[bool]:
    if cond.op == "eq":
        return _contains(column, cond.key, cond.value)
    if cond.op == "in":
        values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
        return or_(false(), *(_contains(column, cond.key, v) for v in values))
    value = column[cond.key]
    kind = func.jsonb_typeof(value)
    if cond.op == "exists":
        test: ColumnElement[bool] = kind != "null"
    elif cond.op in _COMPARE:
        op = _COMPARE[cond.op]
        if isinstance(cond.value, str):
            ordered = value.astext.collate("C")
            test = and_(kind == "string", ordered.op(op)(literal(cond.value)))
        else:
            test = and_(kind == "number", value.op(op)(literal(cond.value, JSONB)))
    else:
        text: ColumnElement[Any] = value.astext
        wanted: ColumnElement[Any] = literal(cond.value)
        if cond.op == "icontains":
            text, wanted = func.lower(text), func.lower(wanted)
        test = and_(kind == "string", func.strpos(text, wanted) > 0)
    return func.coalesce(test, false())


def _contains(column: Any, key: str, value: Any) -> ColumnElement[bool]:
    """``column @> {key: value}``: served by the GIN index; exact for a scalar (a stored
    array or object never contains a scalar at a key)."""
    return column.op("@>")(literal({key: value}, JSONB))  # type: ignore[no-any-return]
