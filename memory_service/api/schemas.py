"""Request and response bodies (DTOs); routers translate them to and from the domain."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from memory_service.config import Settings
from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import (
    Episode,
    HitKind,
    Memory,
    MemoryChange,
    NewEpisode,
    Scope,
    SearchHit,
)
from memory_service.domain.text import refuse_nul

ScopeId = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@\-]+$")
]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=False)]
Metadata = Annotated[dict[str, Any], Field(default_factory=dict)]
NulFree = AfterValidator(refuse_nul)
"""For strings outside request bodies (headers, MCP arguments): PostgreSQL cannot store
NUL, so one is a 422 naming the field. Bodies get the same check from ``Strict``."""


def as_utc(value: datetime | None) -> datetime | None:
    """Naive times are taken as UTC; aware ones are converted to it."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


StoredKind = Literal["episode", "memory"]


def _all_kinds() -> list[StoredKind]:
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


class MessageIn(Strict):
    role: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")] = "user"
    content: Text
    speaker: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    occurred_at: datetime | None = None
    metadata: Metadata

    _blank = field_validator("content")(_non_blank)
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


class MessagesOut(BaseModel):
    episode_ids: list[UUID]
    job_id: UUID
    replayed: bool = False


class EpisodeOut(BaseModel):
    id: UUID
    user_id: str | None
    agent_id: str | None
    session_id: str | None
    role: str
    speaker: str | None
    content: str
    occurred_at: datetime
    created_at: datetime
    metadata: dict[str, Any]
    utility: float

    @classmethod
    def of(cls, e: Episode) -> EpisodeOut:
        return cls(
            id=e.id,
            user_id=e.scope.user_id,
            agent_id=e.scope.agent_id,
            session_id=e.scope.session_id,
            role=e.role,
            speaker=e.speaker,
            content=e.text,
            occurred_at=e.occurred_at,
            created_at=e.created_at,
            metadata=dict(e.metadata),
            utility=e.utility,
        )


class EpisodePageOut(BaseModel):
    items: list[EpisodeOut]
    next_cursor: str | None


class MemoryIn(ScopeFields):
    text: Text
    metadata: Metadata
    source_episode_ids: list[UUID] = Field(default_factory=list, max_length=1000)
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    _blank = field_validator("text")(_non_blank)
    _utc = field_validator("valid_from", "valid_to")(as_utc)


class MemoryPatch(Strict):
    text: Text | None = None
    metadata: dict[str, Any] | None = None
    valid_to: datetime | None = None

    _utc = field_validator("valid_to")(as_utc)

    @field_validator("text")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return None if value is None else _non_blank(value)


class MemoryOut(BaseModel):
    id: UUID
    user_id: str | None
    agent_id: str | None
    session_id: str | None
    text: str
    metadata: dict[str, Any]
    source_episode_ids: list[UUID]
    valid_from: datetime | None
    valid_to: datetime | None
    status: str
    utility: float
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, m: Memory) -> MemoryOut:
        return cls(
            id=m.id,
            user_id=m.scope.user_id,
            agent_id=m.scope.agent_id,
            session_id=m.scope.session_id,
            text=m.text,
            metadata=dict(m.metadata),
            source_episode_ids=list(m.source_episode_ids),
            valid_from=m.valid_from,
            valid_to=m.valid_to,
            status=m.status,
            utility=m.utility,
            created_at=m.created_at,
            updated_at=m.updated_at,
        )


class MemoryPageOut(BaseModel):
    items: list[MemoryOut]
    next_cursor: str | None


class MemoryChangeOut(BaseModel):
    id: UUID
    memory_id: UUID
    op: str
    old_text: str | None
    new_text: str | None
    cause: str
    created_at: datetime

    @classmethod
    def of(cls, c: MemoryChange) -> MemoryChangeOut:
        return cls(
            id=c.id,
            memory_id=c.memory_id,
            op=c.op,
            old_text=c.old_text,
            new_text=c.new_text,
            cause=c.cause,
            created_at=c.created_at,
        )


class SearchIn(ScopeFields):
    query: Text
    limit: int = Field(default=10, ge=1)
    since: datetime | None = None
    until: datetime | None = None
    kinds: list[StoredKind] = Field(default_factory=_all_kinds, min_length=1)
    preset: str | None = None
    mode: Literal["auto", "fast", "deliberate"] = Field(
        default="auto", description="force the fast route or Full Deliberation"
    )
    now: datetime | None = Field(default=None, description="resolve 'last week' against this")
    budget_tokens: int | None = Field(default=None, ge=1000, le=10_000_000)
    budget_seconds: float | None = Field(default=None, gt=0, le=600)

    _blank = field_validator("query")(_non_blank)
    _utc = field_validator("since", "until", "now")(as_utc)


class ContextTurnOut(BaseModel):
    id: UUID
    speaker: str | None
    text: str
    occurred_at: datetime
    position: int = Field(description="negative: before the hit; positive: after it")


class SearchHitOut(BaseModel):
    kind: HitKind
    id: UUID
    text: str
    occurred_at: datetime | None
    speaker: str | None
    score: float
    scores: dict[str, float]
    source_episode_ids: list[UUID]
    context: list[ContextTurnOut] = Field(
        default_factory=list, description="neighbouring turns (presets with a window)"
    )
    merged_ids: list[UUID] = Field(
        default_factory=list,
        description="hits merged into this one: their turns overlapped its context",
    )

    @classmethod
    def of(cls, h: SearchHit) -> SearchHitOut:
        return cls(
            kind=h.kind,
            id=h.id,
            text=h.text,
            occurred_at=h.occurred_at,
            speaker=h.speaker,
            score=h.score,
            scores=dict(h.scores),
            source_episode_ids=list(h.source_episode_ids),
            context=[
                ContextTurnOut(
                    id=t.id,
                    speaker=t.speaker,
                    text=t.text,
                    occurred_at=t.occurred_at,
                    position=t.position,
                )
                for t in h.context
            ],
            merged_ids=list(h.merged),
        )


class SearchOut(BaseModel):
    retrieval_id: UUID
    route: Literal["fast", "deliberate"] = "fast"
    gate: dict[str, Any] | None = Field(
        default=None, description="the quality gate's scores in [0, 1], overall and reasons"
    )
    results: list[SearchHitOut]
    timings_ms: dict[str, float]
    cost: dict[str, float] = Field(default_factory=dict)


class ForgetOut(BaseModel):
    user_id: str
    deleted: dict[str, int]


class JobOut(BaseModel):
    id: UUID
    kind: str
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class FeedbackOut(BaseModel):
    feedback_id: UUID
    applied: bool
    utilities: dict[UUID, float]


class ContextOut(BaseModel):
    context: str
    tokens: int
    memory_ids: list[UUID]
    episode_ids: list[UUID]
    entities: list[str]
    retrieval_id: UUID | None


def check_limits(body: MessagesIn, settings: Settings) -> None:
    if len(body.messages) > settings.max_batch_messages:
        raise InvalidInput(
            {"messages": f"at most {settings.max_batch_messages} messages per request"}
        )
    for i, message in enumerate(body.messages):
        if len(message.content) > settings.max_text_chars:
            raise InvalidInput(
                {f"messages[{i}].content": f"longer than {settings.max_text_chars} characters"}
            )
