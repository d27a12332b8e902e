"""Ports to the store: repositories over one unit of work (``db`` implements them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from memory_service.domain.filters import MetadataFilter
from memory_service.domain.models import (
    Candidate,
    ContextTurn,
    Entity,
    Episode,
    EpisodePage,
    Job,
    JobState,
    Membership,
    Memory,
    MemoryChange,
    NewEpisode,
    NewMemory,
    Scope,
    SearchQuery,
    Turn,
)


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
    async def set_sparse(self, tenant: UUID, vectors: dict[UUID, dict[int, float]]) -> None:
        """Store learned-sparse vectors of episodes (the consolidation worker's)."""
        ...

    async def unencoded(self, tenant: UUID, scope: Scope, limit: int) -> list[Episode]:
        """Up to ``limit`` of the scope's episodes without a sparse vector, oldest first."""
        ...

    async def backlog(self, limit: int) -> list[tuple[UUID, Episode]]:
        """Up to ``limit`` episodes of any tenant without a sparse vector, with their
        tenant, oldest first (system work: a backfill)."""
        ...

    async def sparse_search(
        self, tenant: UUID, query: SearchQuery, vector: dict[int, float], k: int
    ) -> list[Candidate]:
        """Encoded episodes by inner product with ``vector``, highest first, only those
        above zero; ``Candidate.score`` is the product."""
        ...

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
        where: MetadataFilter | None = None,
    ) -> tuple[list[tuple[Turn, float]], bool]: ...

    async def similarities(
        self, tenant: UUID, ids: Sequence[UUID], vector: Sequence[float]
    ) -> dict[UUID, tuple[float, float]]: ...

    async def neighbours(
        self,
        tenant: UUID,
        scope: Scope,
        ids: Sequence[UUID],
        window: int,
        where: MetadataFilter | None = None,
    ) -> dict[UUID, list[ContextTurn]]:
        """Up to ``window`` episodes (passing ``where``) before and after each of
        ``ids``, in time order."""
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
        where: MetadataFilter | None = None,
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
        where: MetadataFilter | None = None,
        episode_ids: Sequence[UUID] = (),
    ) -> tuple[list[Memory], str | None]:
        """Memories of ``scope`` in creation order; with ``episode_ids``, only those
        drawn from any of these episodes (their provenance)."""
        ...

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

    async def drop_source(self, tenant: UUID, episode_id: UUID) -> list[Memory]:
        """Take ``episode_id`` out of every memory's provenance; the memories it was in,
        as they are now, locked for update."""
        ...


class JobRepository(Protocol):
    """Job rows; ``created`` is the outbox of jobs added in this unit of work."""

    created: list[UUID]

    async def add(
        self, tenant: UUID, scope: Scope, kind: str, payload: Mapping[str, Any]
    ) -> Job: ...

    async def get(self, tenant: UUID, job_id: UUID) -> Job | None: ...

    async def page(
        self,
        tenant: UUID,
        scope: Scope,
        *,
        state: JobState | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Job], str | None]:
        """The tenant's jobs of ``scope`` (and ``state``, when given), newest first; up
        to ``limit`` and the cursor of the next page (None at the end)."""
        ...

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

    async def add_alias(self, tenant: UUID, entity_id: UUID, alias: str) -> None: ...

    async def link(
        self,
        tenant: UUID,
        entity_id: UUID,
        *,
        memory_id: UUID | None = None,
        episode_id: UUID | None = None,
        role: str = "mention",
    ) -> None: ...

    async def merge(self, tenant: UUID, keep: Entity, drop: Entity) -> None: ...

    async def graph(self, tenant: UUID, scope: Scope) -> tuple[list[Entity], list[Membership]]: ...

    async def names(self, tenant: UUID, entity_ids: Sequence[UUID]) -> dict[UUID, str]: ...

    async def edges_near(
        self,
        tenant: UUID,
        scope: Scope,
        entity_ids: Sequence[UUID],
        vector: Sequence[float],
        k: int,
        where: MetadataFilter | None = None,
    ) -> list[tuple[Candidate, int]]:
        """Hyperedges containing any of ``entity_ids`` (passing ``where``), with how
        many they join."""
        ...

    async def of_edges(
        self, tenant: UUID, *, memory_ids: Sequence[UUID] = (), episode_ids: Sequence[UUID] = ()
    ) -> list[Membership]: ...
