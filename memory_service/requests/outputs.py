"""Response models: what every transport answers, built from domain objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from memory_service.domain.models import (
    ApiKey,
    Episode,
    HitKind,
    Job,
    Memory,
    MemoryChange,
    SearchHit,
    SearchResult,
)
from memory_service.domain.search import Route


class MessagesOut(BaseModel):
    episode_ids: list[UUID]
    job_id: UUID | None
    """None when the batch was stored with ``infer`` false (no consolidation)."""
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
        return cls.model_validate(c, from_attributes=True)


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
    route: Route = "fast"
    gate: dict[str, Any] | None = Field(
        default=None,
        description="the quality gate's report (null when the preset has no gate and no "
        "mode is forced): scores (each dimension in [0, 1]), overall, reasons, features, "
        "routing (which score routes and its marks), probability and threshold (the "
        "learned gate's probability that the fast result holds the evidence, and its "
        "pass mark; null when the learned gate is off)",
    )
    results: list[SearchHitOut]
    timings_ms: dict[str, float]
    cost: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def of(cls, r: SearchResult) -> SearchOut:
        return cls(
            retrieval_id=r.retrieval_id,
            route=r.route,
            gate=dict(r.gate) if r.gate else None,
            results=[SearchHitOut.of(h) for h in r.hits],
            timings_ms=dict(r.timings_ms),
            cost=dict(r.cost),
        )


class AnswerOut(BaseModel):
    answer: str
    route: Route
    retrieval_id: UUID
    evidence: list[SearchHitOut]
    gate: dict[str, Any] | None
    audit: dict[str, Any] | None
    attempts: list[dict[str, Any]]
    cost: dict[str, float]


class ContextOut(BaseModel):
    context: str
    tokens: int
    memory_ids: list[UUID]
    episode_ids: list[UUID]
    entities: list[str]
    retrieval_id: UUID | None


class FeedbackOut(BaseModel):
    feedback_id: UUID
    applied: bool
    utilities: dict[UUID, float]


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

    @classmethod
    def of(cls, j: Job) -> JobOut:
        return cls.model_validate(j, from_attributes=True)


class ScopedJobOut(JobOut):
    """A job of a listing: also the scope whose episodes it consolidates."""

    user_id: str | None
    agent_id: str | None
    session_id: str | None

    @classmethod
    def of(cls, j: Job) -> ScopedJobOut:
        return cls(
            **JobOut.of(j).model_dump(),
            user_id=j.scope.user_id,
            agent_id=j.scope.agent_id,
            session_id=j.scope.session_id,
        )


class JobPageOut(BaseModel):
    items: list[ScopedJobOut]
    next_cursor: str | None


class WhoAmIOut(BaseModel):
    """The tenant an API key belongs to, and the key itself (never its secret)."""

    tenant: str = Field(description="the tenant's name")
    tenant_id: UUID
    key_id: UUID
    key_name: str = Field(description="the name the key was issued under")
    key_prefix: str = Field(description="the key's first characters, as listed by the CLI")

    @classmethod
    def of(cls, key: ApiKey) -> WhoAmIOut:
        return cls(
            tenant=key.tenant_name,
            tenant_id=key.tenant_id,
            key_id=key.id,
            key_name=key.name,
            key_prefix=key.prefix,
        )


class ImportCounts(BaseModel):
    received: int
    added: int
    skipped: int


class ImportOut(BaseModel):
    imported: dict[str, ImportCounts]
