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
from memory_service.domain.text import refuse_nul

ScopeId = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@\-]+$")
]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=False)]
Metadata = Annotated[dict[str, Any], Field(default_factory=dict)]
NulFree = AfterValidator(refuse_nul)
"""For strings outside request bodies (headers, MCP arguments): PostgreSQL cannot store
NUL, so one is a 422 naming the field. Bodies get the same check from ``Strict``."""

StoredKind = Literal["episode", "memory"]


def as_utc(value: datetime | None) -> datetime | None:
    """Naive times are taken as UTC; aware ones are converted to it."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def all_kinds() -> list[StoredKind]:
    return ["episode", "memory"]


class Strict(BaseModel):
    """Base of every request body: unknown fields are refused, and so is a NUL character
    (U+0000) in any string of any field, metadata keys and values included: PostgreSQL
    ``text`` and ``jsonb`` cannot hold one, so it is a 422 naming the field, not a 500."""

    model_config = ConfigDict(extra="forbid")

    _nul_free = field_validator("*")(refuse_nul)


class ScopeFields(Strict):
    user_id: ScopeId | None = None
    agent_id: ScopeId | None = None
    session_id: ScopeId | None = None

    def scope(self) -> Scope:
        return Scope(self.user_id, self.agent_id, self.session_id)
