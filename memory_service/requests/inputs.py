"""Request models: what a caller sends, over REST or MCP, checked field by field."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StringConstraints, field_validator

from memory_service.domain.models import NewEpisode
from memory_service.requests.fields import (
    JsonObject,
    Metadata,
    ScopeFields,
    StoredKind,
    Strict,
    Text,
    all_kinds,
    as_utc,
    non_blank,
)
from memory_service.requests.filters import FILTERS_DESCRIPTION

MAX_INSTRUCTIONS_CHARS = 2000
Instructions = Annotated[str, StringConstraints(min_length=1, max_length=MAX_INSTRUCTIONS_CHARS)]


class MessageIn(Strict):
    role: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")] = "user"
    content: Text
    speaker: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    occurred_at: datetime | None = None
    metadata: Metadata

    _blank = field_validator("content")(non_blank)
    _utc = field_validator("occurred_at")(as_utc)

    def to_domain(self) -> NewEpisode:
        return NewEpisode(
            role=self.role,
            text=self.content,
            speaker=self.speaker,
            occurred_at=self.occurred_at,
            metadata=self.metadata,
        )


class MessagesIn(ScopeFields):
    messages: list[MessageIn] = Field(min_length=1)
    infer: bool = Field(
        default=True,
        description="false: store the turns as episodes (searchable at once) and queue no "
        "consolidation, so no memories are extracted from them; the answer's job_id is null",
    )
    instructions: Instructions | None = Field(
        default=None,
        description="what to remember and what to ignore in this batch, in words (e.g. "
        "'Remember food preferences; ignore small talk'); kept with the consolidation job "
        "and shown to the LLM extractor. Followed only when the service runs with an LLM "
        "(MEMORY_LLM_MODEL): the local extractor cannot read free text and ignores them",
    )

    @field_validator("instructions")
    @classmethod
    def _instructions(cls, value: str | None) -> str | None:
        return None if value is None else non_blank(value)


class MemoryIn(ScopeFields):
    text: Text
    metadata: Metadata
    source_episode_ids: list[UUID] = Field(default_factory=list, max_length=1000)
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    _blank = field_validator("text")(non_blank)
    _utc = field_validator("valid_from", "valid_to")(as_utc)


class MemoryPatch(Strict):
    text: Text | None = None
    metadata: JsonObject | None = None
    valid_to: datetime | None = None

    _utc = field_validator("valid_to")(as_utc)

    @field_validator("text")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return None if value is None else non_blank(value)


class SearchIn(ScopeFields):
    query: Text
    limit: int = Field(default=10, ge=1)
    since: datetime | None = None
    until: datetime | None = None
    kinds: list[StoredKind] = Field(default_factory=all_kinds, min_length=1)
    preset: str | None = None
    mode: Literal["auto", "fast", "deliberate"] = Field(
        default="auto", description="force the fast route or Full Deliberation"
    )
    now: datetime | None = Field(default=None, description="resolve 'last week' against this")
    budget_tokens: int | None = Field(default=None, ge=1000, le=10_000_000)
    budget_seconds: float | None = Field(default=None, gt=0, le=600)
    filters: JsonObject | None = Field(default=None, description=FILTERS_DESCRIPTION)

    _blank = field_validator("query")(non_blank)
    _utc = field_validator("since", "until", "now")(as_utc)


class AnswerIn(ScopeFields):
    question: Text
    limit: int = Field(default=10, ge=1, le=100)
    now: datetime | None = None
    preset: str | None = None
    filters: JsonObject | None = Field(default=None, description=FILTERS_DESCRIPTION)

    _blank = field_validator("question")(non_blank)
    _utc = field_validator("now")(as_utc)


class ContextIn(ScopeFields):
    query: str | None = None
    token_budget: int = Field(default=1000, ge=50, le=100_000)
    now: datetime | None = None
    filters: JsonObject | None = Field(default=None, description=FILTERS_DESCRIPTION)

    _utc = field_validator("now")(as_utc)


class FeedbackIn(Strict):
    retrieval_id: UUID
    reward: float = Field(ge=-1.0, le=1.0, description="-1 (harmful) .. 1 (useful)")
    memory_ids: list[UUID] | None = Field(
        default=None, max_length=1000, description="credit only these returned items"
    )
    feedback_id: str | None = Field(
        default=None, min_length=1, max_length=255, description="idempotency key"
    )
