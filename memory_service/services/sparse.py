"""Learned-sparse vectors of episodes, encoded off the write path: by the consolidation
worker for each job's episodes, and in bulk for episodes written before (a backfill)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from uuid import UUID

from memory_service.domain.models import Episode, Scope
from memory_service.ports import SparseEncoder, UnitOfWork


async def encode_episodes(
    uow: UnitOfWork, encoder: SparseEncoder, tenant: UUID, episodes: Sequence[Episode]
) -> None:
    """Encode ``episodes`` (speaker and text, as they are embedded) and store the vectors."""
    if not episodes:
        return
    vectors = await encoder.encode([e.embedding_text() for e in episodes])
    await uow.episodes.set_sparse(tenant, dict(zip((e.id for e in episodes), vectors, strict=True)))


async def encode_pending(
    uow: UnitOfWork, encoder: SparseEncoder, tenant: UUID, scope: Scope, *, limit: int = 256
) -> int:
    """Encode up to ``limit`` of the scope's episodes that have no sparse vector yet,
    oldest first; returns how many (0: none is left)."""
    episodes = await uow.episodes.unencoded(tenant, scope, limit)
    await encode_episodes(uow, encoder, tenant, episodes)
    return len(episodes)


async def encode_backlog(uow: UnitOfWork, encoder: SparseEncoder, *, limit: int = 256) -> int:
    """Encode up to ``limit`` episodes of any tenant that have none yet (written
    before the learned-sparse list existed, or imported); returns how many."""
    pending = await uow.episodes.backlog(limit)
    by_tenant: dict[UUID, list[Episode]] = defaultdict(list)
    for tenant, episode in pending:
        by_tenant[tenant].append(episode)
    for tenant, episodes in by_tenant.items():
        await encode_episodes(uow, encoder, tenant, episodes)
    return len(pending)
