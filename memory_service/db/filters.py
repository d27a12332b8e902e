"""Shared SQL pieces: scope filters, keyset cursors, full-text queries."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Text, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import TSQUERY

from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import Scope

T = TypeVar("T")


def scope_filters(table: Any, tenant: Any, scope: Scope) -> list[ColumnElement[bool]]:
    """``tenant_id = :tenant`` plus one equality per scope part that is given."""
    clauses: list[ColumnElement[bool]] = [table.tenant_id == tenant]
    for name in ("user_id", "agent_id", "session_id"):
        value = getattr(scope, name)
        if value is not None:
            clauses.append(getattr(table, name) == value)
    return clauses


def any_terms_tsquery(text: str) -> ColumnElement[Any]:
    """A tsquery matching any of the query's terms (plainto_tsquery ANDs them).

    Wrapped in a scalar subquery so PostgreSQL computes it once per statement (an
    InitPlan) rather than once per row under a generic prepared plan.
    """
    english: ColumnElement[Any] = literal_column("'english'::regconfig")
    plain = cast(func.plainto_tsquery(english, cast(text, Text)), Text)
    return select(cast(func.replace(plain, " & ", " | "), TSQUERY)).scalar_subquery()


def encode_cursor(moment: datetime, tiebreak: int | str) -> str:
    raw = json.dumps([moment.isoformat(), tiebreak]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, tiebreak: Callable[[Any], T]) -> tuple[datetime, T]:
    """The position ``encode_cursor`` wrote; ``tiebreak`` reads its second part (raising
    ValueError or TypeError when it is not one). Anything else than a cursor this service
    wrote is a 422, never a value the database would choke on."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, last = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(moment), tiebreak(last)
    except (ValueError, TypeError) as exc:
        raise InvalidInput({"cursor": "malformed cursor"}) from exc


def sequence_number(value: Any) -> int:
    """A cursor's tiebreak that is a BIGINT sequence number."""
    if type(value) is not int or not -(2**63) <= value < 2**63:
        raise ValueError(f"not a sequence number: {value!r}")
    return value
