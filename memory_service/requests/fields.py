"""Field types and base models shared by the request models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from memory_service.domain.models import Scope
from memory_service.domain.text import refuse_json_problem, refuse_nul

ScopeId = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@\-]+$")
]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=False)]
JsonObject = Annotated[dict[str, Any], AfterValidator(refuse_json_problem)]
"""A free-form JSON object the store can hold (``jsonb``): no NaN or infinite number, no
NUL or lone surrogate in a key or a string, at most ``MAX_JSON_DEPTH`` (32) levels deep."""
Metadata = Annotated[JsonObject, Field(default_factory=dict)]
NulFree = AfterValidator(refuse_nul)
"""For strings outside request bodies (headers, MCP arguments): PostgreSQL cannot store
NUL or a lone surrogate, so one is a 422 naming the field. Bodies get the same check from
``Strict``."""

StoredKind = Literal["episode", "memory"]
FIRST = datetime.min.replace(tzinfo=UTC)
LAST = datetime.max.replace(tzinfo=UTC)


def utc(value: datetime) -> datetime:
    """Naive times are taken as UTC; aware ones are converted to it. A time outside years
    1 to 9999 once in UTC (``9999-12-31T23:59:59-14:00``), or on the very first or last
    microsecond of that range (which asyncpg stores as PostgreSQL's -infinity and
    infinity, and reads back without a time zone), is a ValueError: a validator's 422,
    not a 500."""
    try:
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None or moment in (FIRST, LAST):
        raise ValueError(
            "must fall after 0001-01-01T00:00:00Z and before 9999-12-31T23:59:59.999999Z "
            "once converted to UTC"
        )
    return moment


def as_utc(value: datetime | None) -> datetime | None:
    """``utc``, letting None through (a validator of optional times)."""
    return None if value is None else utc(value)


UtcTime = Annotated[datetime, AfterValidator(utc)]
"""A time in UTC (naive: taken as UTC), for query parameters; body fields use ``as_utc``."""


def non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def all_kinds() -> list[StoredKind]:
    return ["episode", "memory"]


class Strict(BaseModel):
    """Base of every request body: unknown fields are refused, and so is a NUL character
    (U+0000) or a lone surrogate in any string of any field, metadata keys and values
    included: PostgreSQL ``text`` and ``jsonb`` cannot hold one, so it is a 422 naming the
    field, not a 500."""

    model_config = ConfigDict(extra="forbid")

    _nul_free = field_validator("*")(refuse_nul)


class ScopeFields(Strict):
    user_id: ScopeId | None = None
    agent_id: ScopeId | None = None
    session_id: ScopeId | None = None

    def scope(self) -> Scope:
        return Scope(self.user_id, self.agent_id, self.session_id)
