"""Ports to the store: the unit of work, and the repositories of logs, feedback,
transfer, scopes and tenants."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol
from uuid import UUID

from memory_service.domain.models import (
    ApiKey,
    RetrievalRecord,
    Scope,
    ScopeSummary,
    SearchQuery,
)
from memory_service.domain.spaces import EmbeddingSpace
from memory_service.ports.stores import (
    EntityRepository,
    EpisodeRepository,
    JobRepository,
    MemoryRepository,
)


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
    async def forget(self, tenant: UUID, scope: Scope) -> dict[str, int]:
        """Delete every row of ``tenant`` whose scope matches each part ``scope`` gives
        (an empty scope: the whole tenant), with what cascades from them; return counts
        per table. Idempotency keys, which record only a user, go only when ``scope``
        names no agent and no session."""
        ...

    async def page(
        self, tenant: UUID, scope: Scope, *, cursor: str | None, limit: int
    ) -> tuple[list[ScopeSummary], str | None]:
        """The tenant's exact scopes (each triple found on its episodes or memories)
        inside ``scope`` (each part it gives must match), most recently active first,
        then by ids; up to ``limit`` and the cursor of the next page (None at the end)."""
        ...


class TenantRepository(Protocol):
    async def create_tenant(self, name: str) -> UUID: ...

    async def tenant_by_name(self, name: str) -> UUID | None: ...

    async def any_tenant(self) -> bool: ...

    async def instructions(self, tenant: UUID) -> str | None:
        """The tenant's standing extraction instructions (what to remember and ignore)."""
        ...

    async def set_instructions(self, tenant: UUID, instructions: str | None) -> None: ...

    async def embedding_space(self, tenant: UUID, *, lock: bool = False) -> EmbeddingSpace | None:
        """The embedding space of the tenant's stored vectors; None: none recorded yet.
        ``lock``: until the transaction ends, a reembed cannot switch it."""
        ...

    async def claim_space(self, tenant: UUID, space: EmbeddingSpace) -> EmbeddingSpace | None:
        """Record ``space`` if the tenant has none; return the tenant's space after,
        its row then held in share mode to the end of the transaction."""
        ...

    async def vector_width(self) -> int | None:
        """The width of the store's vector columns (None: any)."""
        ...

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

    def beside(self) -> AbstractAsyncContextManager[UnitOfWork | None]:
        """Another unit of work to read beside this one (at the same time): its own
        read-only transaction, on a connection of its own, under the same tenant; None
        when there is no connection to spare, or this one lends none."""
        ...
