"""Protocols the core depends on; ``db`` and ``adapters`` implement them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from memory_service.domain.consolidation import (
    Decision,
    EpisodeText,
    ExistingMemory,
    ExtractedFact,
    Extraction,
)
from memory_service.domain.models import (
    ApiKey,
    Candidate,
    ChatMessage,
    ChunkReply,
    Completion,
    ContextTurn,
    Entity,
    Episode,
    EpisodePage,
    Job,
    Membership,
    Memory,
    MemoryChange,
    NewEpisode,
    NewMemory,
    RetrievalRecord,
    Scope,
    SearchQuery,
    Turn,
)


class Embedder(Protocol):
    """Turns texts into unit-length vectors of width ``dim``."""

    dim: int
    name: str

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class LLM(Protocol):
    """A chat model. Deterministic settings by default (temperature 0)."""

    model: str

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> Completion: ...


class ChunkRunner(Protocol):
    """Completes many independent prompts (Full Deliberation's chunks), in parallel where
    it can, as one user message each.

    Returns one reply per prompt, in order, within ``timeout_s`` seconds: a prompt that
    did not come back in time has ``timed_out``, one that failed an ``error``. Raises
    ``UpstreamUnavailable`` when it could not start at all (its broker is down), so the
    caller may read the chunks another way.
    """

    name: str

    async def complete_many(
        self, prompts: Sequence[str], *, max_tokens: int, timeout_s: float
    ) -> list[ChunkReply]: ...


class Dispatcher(Protocol):
    """Sends committed jobs to whatever runs them; losing one is allowed (the sweeper
    finds it in the jobs table), raising is not."""

    async def dispatch(self, job_ids: Sequence[UUID]) -> None: ...


class Extractor(Protocol):
    """Facts and entities from a batch of episodes of one scope."""

    name: str

    async def extract(self, episodes: Sequence[EpisodeText]) -> Extraction: ...


class UpdateDecider(Protocol):
    """Mem0's rule: ADD, UPDATE, DELETE or NOOP for a new fact against similar memories."""

    name: str

    async def decide(self, fact: ExtractedFact, similar: Sequence[ExistingMemory]) -> Decision: ...


class CandidateSource(Protocol):
    """One tier that can propose candidates for a query."""

    async def vector_search(
        self, tenant: UUID, query: SearchQuery, vector: Sequence[float], k: int
    ) -> list[Candidate]:
        """Nearest by cosine; ``Candidate.score`` is the cosine similarity."""
        ...

    async def text_search(self, tenant: UUID, query: SearchQuery, k: int) -> list[Candidate]:
        """Full-text matches; ``Candidate.score`` is ts_rank_cd, higher is better."""
        ...


class EpisodeRepository(CandidateSource, Protocol):
    async def add_many(
        self,
        tenant: UUID,
        scope: Scope,
        items: Sequence[NewEpisode],
        vectors: Sequence[Sequence[float]],
        now: datetime,
    ) -> list[Episode]: ...

    async def get(self, tenant: UUID, episode_id: UUID) -> Episode | None: ...

    async def scan(
        self,
        tenant: UUID,
        scope: Scope,
        vector: Sequence[float],
        *,
        limit: int,
        max_tokens: int | None = None,
    ) -> tuple[list[tuple[Turn, float]], bool]: ...

    async def similarities(
        self, tenant: UUID, ids: Sequence[UUID], vector: Sequence[float]
    ) -> dict[UUID, tuple[float, float]]: ...

    async def neighbours(
        self, tenant: UUID, scope: Scope, ids: Sequence[UUID], window: int
    ) -> dict[UUID, list[ContextTurn]]:
        """Up to ``window`` episodes before and after each of ``ids``, in time order."""
        ...

    async def get_many(self, tenant: UUID, episode_ids: Sequence[UUID]) -> list[Episode]:
        """The episodes that still exist, in time order."""
        ...

    async def page(
        self,
        tenant: UUID,
        scope: Scope,
        *,
        since: datetime | None,
        until: datetime | None,
        cursor: str | None,
        limit: int,
        descending: bool = False,
    ) -> EpisodePage: ...

    async def delete(self, tenant: UUID, episode_id: UUID) -> bool: ...


class MemoryRepository(CandidateSource, Protocol):
    async def add(self, tenant: UUID, new: NewMemory, vector: Sequence[float]) -> Memory: ...

    async def get(
        self, tenant: UUID, memory_id: UUID, *, for_update: bool = False
    ) -> Memory | None: ...

    async def page(
        self,
        tenant: UUID,
        scope: Scope,
        *,
        include_inactive: bool,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Memory], str | None]: ...

    async def update(
        self,
        tenant: UUID,
        memory_id: UUID,
        *,
        text: str | None = None,
        vector: Sequence[float] | None = None,
        metadata: Mapping[str, Any] | None = None,
        valid_to: datetime | None = None,
        status: str | None = None,
    ) -> Memory: ...

    async def add_history(
        self,
        tenant: UUID,
        memory_id: UUID,
        *,
        op: str,
        old_text: str | None,
        new_text: str | None,
        cause: str,
    ) -> MemoryChange: ...

    async def history(self, tenant: UUID, memory_id: UUID) -> list[MemoryChange]: ...

    async def similarities(
        self, tenant: UUID, ids: Sequence[UUID], vector: Sequence[float]
    ) -> dict[UUID, tuple[float, float]]: ...

    async def add_sources(
        self, tenant: UUID, memory_id: UUID, episode_ids: Sequence[UUID]
    ) -> None: ...


class JobRepository(Protocol):
    """Job rows; ``created`` is the outbox of jobs added in this unit of work."""

    created: list[UUID]

    async def add(
        self, tenant: UUID, scope: Scope, kind: str, payload: Mapping[str, Any]
    ) -> Job: ...

    async def get(self, tenant: UUID, job_id: UUID) -> Job | None: ...

    async def start(self, job_id: UUID, *, stale_after_s: float) -> Job | None: ...

    async def lock(self, job_id: UUID) -> Job | None: ...

    async def lock_scope(self, tenant: UUID, scope: Scope) -> None: ...

    async def finish(self, job_id: UUID) -> None: ...

    async def fail(self, job_id: UUID, error: str, *, retry_in_s: float | None) -> None: ...

    async def runnable(self, *, stale_after_s: float, limit: int) -> list[UUID]: ...

    async def stale(self, *, older_than_s: float, limit: int) -> list[UUID]: ...

    async def counts(self) -> dict[str, int]: ...


class EntityRepository(Protocol):
    async def by_names(self, tenant: UUID, scope: Scope, names: Sequence[str]) -> list[Entity]: ...

    async def nearest(
        self, tenant: UUID, scope: Scope, vector: Sequence[float], k: int
    ) -> list[tuple[Entity, float]]: ...

    async def add(
        self, tenant: UUID, scope: Scope, name: str, type_: str, vector: Sequence[float]
    ) -> Entity: ...

    async def add_alias(self, entity_id: UUID, alias: str) -> None: ...

    async def link(
        self,
        tenant: UUID,
        entity_id: UUID,
        *,
        memory_id: UUID | None = None,
        episode_id: UUID | None = None,
        role: str = "mention",
    ) -> None: ...

    async def merge(self, keep: Entity, drop: Entity) -> None: ...

    async def graph(self, tenant: UUID, scope: Scope) -> tuple[list[Entity], list[Membership]]: ...

    async def members_of(self, tenant: UUID, entity_ids: Sequence[UUID]) -> list[Membership]: ...

    async def names(self, tenant: UUID, entity_ids: Sequence[UUID]) -> dict[UUID, str]: ...

    async def edges_near(
        self,
        tenant: UUID,
        scope: Scope,
        entity_ids: Sequence[UUID],
        vector: Sequence[float],
        k: int,
    ) -> list[tuple[Candidate, int]]:
        """Hyperedges containing any of ``entity_ids``, with how many they join."""
        ...

    async def of_edges(
        self, tenant: UUID, *, memory_ids: Sequence[UUID] = (), episode_ids: Sequence[UUID] = ()
    ) -> list[Membership]: ...


class IdempotencyRepository(Protocol):
    async def claim(
        self, tenant: UUID, key: str, request_hash: str, user_id: str | None
    ) -> tuple[str, Mapping[str, Any]] | None:
        """Reserve ``key``; return ``(request_hash, response)`` when it was used before."""
        ...

    async def store(self, tenant: UUID, key: str, response: Mapping[str, Any]) -> None: ...


class RetrievalLog(Protocol):
    async def record(
        self,
        tenant: UUID,
        query: SearchQuery,
        *,
        request: Mapping[str, Any],
        stages: Mapping[str, Any],
        gate: Mapping[str, Any] | None = None,
        route: str,
        results: Sequence[Mapping[str, Any]],
    ) -> UUID: ...


class FeedbackRepository(Protocol):
    async def retrieval(self, tenant: UUID, retrieval_id: UUID) -> RetrievalRecord | None: ...

    async def add(
        self,
        tenant: UUID,
        feedback_id: UUID,
        retrieval_id: UUID,
        reward: float,
        item_ids: Sequence[UUID],
    ) -> bool: ...

    async def update_utilities(
        self, tenant: UUID, items: Sequence[tuple[str, UUID]], reward: float, alpha: float
    ) -> dict[UUID, float]: ...


class TransferRepository(Protocol):
    def export(self, tenant: UUID, scope: Scope) -> AsyncIterator[dict[str, Any]]: ...

    async def load(self, tenant: UUID, kind: str, rows: Sequence[Mapping[str, Any]]) -> int: ...

    async def set_merged(self, tenant: UUID, merged: Mapping[UUID, UUID | None]) -> None: ...

    async def existing(self, tenant: UUID, kind: str, ids: Collection[UUID]) -> set[UUID]:
        """Those of ``ids`` that are rows of ``kind`` in ``tenant`` (never another's)."""
        ...


class ScopeRepository(Protocol):
    async def forget_user(self, tenant: UUID, user_id: str) -> dict[str, int]:
        """Delete everything of ``user_id``; return counts per table."""
        ...


class TenantRepository(Protocol):
    async def create_tenant(self, name: str) -> UUID: ...

    async def tenant_by_name(self, name: str) -> UUID | None: ...

    async def any_tenant(self) -> bool: ...

    async def create_key(self, tenant: UUID, name: str, prefix: str, key_hash: str) -> ApiKey: ...

    async def key_by_hash(self, key_hash: str) -> ApiKey | None: ...

    async def list_keys(self) -> list[ApiKey]: ...

    async def revoke_key(self, key_id: UUID) -> bool: ...


class UnitOfWork(Protocol):
    """Repositories over one transaction. The entrypoint commits; nothing below it does."""

    @property
    def episodes(self) -> EpisodeRepository: ...

    @property
    def memories(self) -> MemoryRepository: ...

    @property
    def jobs(self) -> JobRepository: ...

    @property
    def idempotency(self) -> IdempotencyRepository: ...

    @property
    def retrievals(self) -> RetrievalLog: ...

    @property
    def scopes(self) -> ScopeRepository: ...

    @property
    def tenants(self) -> TenantRepository: ...

    @property
    def entities(self) -> EntityRepository: ...

    @property
    def feedback(self) -> FeedbackRepository: ...

    @property
    def transfer(self) -> TransferRepository: ...

    async def flush(self) -> None: ...
