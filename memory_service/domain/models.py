"""The model's entities as frozen dataclasses. Times are timezone-aware UTC."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from memory_service.domain.errors import InvalidInput
from memory_service.domain.search import Route

if TYPE_CHECKING:
    from memory_service.domain.filters import MetadataFilter

MemoryStatus = Literal["active", "superseded", "deleted"]
HistoryOp = Literal["ADD", "UPDATE", "DELETE"]
JobState = Literal["queued", "running", "done", "failed"]
HitKind = Literal["episode", "memory", "fact"]
"""``fact``: extracted at query time by deliberation; not stored."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Who a record belongs to inside a tenant; any part may be absent."""

    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None

    def is_empty(self) -> bool:
        return self.user_id is None and self.agent_id is None and self.session_id is None

    def require(self) -> Scope:
        """This scope, when it names an owner; InvalidInput when every part is absent.
        Writes and searches need an owner; listings and exports may span the tenant."""
        if self.is_empty():
            raise InvalidInput({"scope": "give at least one of user_id, agent_id, session_id"})
        return self


@dataclass(frozen=True, slots=True)
class NewEpisode:
    role: str
    text: str
    speaker: str | None = None
    occurred_at: datetime | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def embedding_text(self) -> str:
        """What is embedded: the speaker's name belongs to what was said."""
        return f"{self.speaker}: {self.text}" if self.speaker else self.text


@dataclass(frozen=True, slots=True)
class Episode:
    id: UUID
    scope: Scope
    role: str
    speaker: str | None
    text: str
    occurred_at: datetime
    created_at: datetime
    metadata: Mapping[str, Any]
    utility: float

    def embedding_text(self) -> str:
        """What is encoded: the speaker's name belongs to what was said."""
        return f"{self.speaker}: {self.text}" if self.speaker else self.text


@dataclass(frozen=True, slots=True)
class EpisodePage:
    items: Sequence[Episode]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class NewMemory:
    text: str
    scope: Scope
    metadata: Mapping[str, Any] = field(default_factory=dict)
    source_episode_ids: Sequence[UUID] = ()
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    def __post_init__(self) -> None:
        self.scope.require()


@dataclass(frozen=True, slots=True)
class Memory:
    id: UUID
    scope: Scope
    text: str
    metadata: Mapping[str, Any]
    source_episode_ids: Sequence[UUID]
    valid_from: datetime | None
    valid_to: datetime | None
    status: MemoryStatus
    utility: float
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class MemoryChange:
    """One row of a memory's history."""

    id: UUID
    memory_id: UUID
    op: HistoryOp
    old_text: str | None
    new_text: str | None
    cause: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Job:
    id: UUID
    tenant_id: UUID
    scope: Scope
    kind: str
    payload: Mapping[str, Any]
    state: JobState
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ScopeSummary:
    """One exact ``(user_id, agent_id, session_id)`` triple of a tenant and what it holds:
    its episodes, its active memories, its live (unmerged) entities, and when it last
    changed (the newest episode stored or memory written; None when it holds neither)."""

    scope: Scope
    episodes: int
    facts: int
    entities: int
    last_activity: datetime | None


@dataclass(frozen=True, slots=True)
class Entity:
    id: UUID
    scope: Scope
    name: str
    type: str
    aliases: Sequence[str]


@dataclass(frozen=True, slots=True)
class Membership:
    """One entity's place in one hyperedge (a memory or an episode)."""

    entity_id: UUID
    edge_kind: HitKind
    edge_id: UUID
    role: str


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: UUID
    tenant_id: UUID
    tenant_name: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What to look for, and in whose memory. Checked when built (InvalidInput): ``until``
    (exclusive) after ``since``, the text not blank, the scope naming an owner.
    ``filters``: only items whose metadata passes it, in every candidate list."""

    text: str
    scope: Scope
    limit: int = 10
    since: datetime | None = None
    until: datetime | None = None
    kinds: tuple[HitKind, ...] = ("episode", "memory")
    filters: MetadataFilter | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise InvalidInput({"until": "until must be after since"})
        if not self.text.strip():
            raise InvalidInput({"query": "query must not be empty"})
        self.scope.require()


@dataclass(frozen=True, slots=True)
class Candidate:
    """One item a retriever proposes, with its rank-giving score.

    ``score`` is the retriever's own score (cosine similarity in [-1, 1] for
    vector retrieval, ts_rank_cd for full text); higher is better.
    """

    kind: HitKind
    id: UUID
    text: str
    occurred_at: datetime | None
    score: float
    source_episode_ids: Sequence[UUID] = ()
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """One utterance as Full Deliberation reads it: who said what, and when."""

    id: UUID
    speaker: str | None
    text: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class ContextTurn:
    """A neighbouring episode shown with a hit (what was said just before or after)."""

    id: UUID
    speaker: str | None
    text: str
    occurred_at: datetime
    position: int
    """Negative: before the hit; positive: after it."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    kind: HitKind
    id: UUID
    text: str
    occurred_at: datetime | None
    score: float
    scores: Mapping[str, float]
    source_episode_ids: Sequence[UUID] = ()
    speaker: str | None = None
    context: Sequence[ContextTurn] = ()
    merged: Sequence[UUID] = ()
    """Hits merged into this one because their passages overlapped (in merge order)."""

    def passage(self) -> list[ContextTurn]:
        """An episode hit's turns in time order: its context with its own turn (position
        0) among them; nothing for other kinds."""
        if self.kind != "episode" or self.occurred_at is None:
            return []
        own = ContextTurn(self.id, self.speaker, self.text, self.occurred_at, 0)
        return sorted([*self.context, own], key=lambda t: t.position)


@dataclass(frozen=True, slots=True)
class SearchResult:
    retrieval_id: UUID
    hits: Sequence[SearchHit]
    timings_ms: Mapping[str, float]
    route: Route = "fast"
    gate: Mapping[str, Any] | None = None
    """The gate's scores (each in [0, 1]), overall score and reasons, when it ran."""
    cost: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class Completion:
    """One LLM answer and what it cost, in tokens as the provider counted them."""

    text: str
    input_tokens: int
    output_tokens: int
    model: str

    def __post_init__(self) -> None:
        # PostgreSQL text and jsonb refuse NUL; a model's stray NUL is dropped here.
        if "\x00" in self.text:
            object.__setattr__(self, "text", self.text.replace("\x00", ""))


@dataclass(frozen=True, slots=True)
class ChunkReply:
    """One prompt of a batch: its completion, or why there is none (``timed_out``: not
    back within the time given, or never started; ``error``: it failed)."""

    completion: Completion | None = None
    error: str | None = None
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class RetrievalRecord:
    """What one logged search returned, in rank order, as (kind, id) pairs."""

    id: UUID
    query: str
    route: str
    items: tuple[tuple[str, UUID], ...]
