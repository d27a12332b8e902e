"""Learned-sparse vectors of episodes: stored by the consolidation worker (or a
backfill) and searched exactly within a scope, by inner product."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from pgvector import SparseVector
from sqlalchemy import Integer, Select, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.db.filters import scope_filters
from memory_service.db.models import SPARSE_DIM, EpisodeRow, table_of
from memory_service.domain.models import Scope


async def store(session: AsyncSession, tenant: UUID, vectors: dict[UUID, dict[int, float]]) -> None:
    """Each episode's vector (an empty one is stored as such: encoded, matches nothing)."""
    if not vectors:
        return
    table = table_of(EpisodeRow)
    stmt = (
        update(table)
        .where(table.c.tenant_id == tenant, table.c.id == bindparam("episode_id"))
        .values(sparse=bindparam("vector"))
    )
    params = [
        {"episode_id": episode_id, "vector": SparseVector(vector, SPARSE_DIM)}
        for episode_id, vector in vectors.items()
    ]
    await session.execute(stmt, params)


async def unencoded(
    session: AsyncSession, columns: Sequence[Any], tenant: UUID, scope: Scope, limit: int
) -> list[Any]:
    """Rows of the scope's episodes without a vector, oldest first."""
    stmt = (
        select(*columns)
        .where(*scope_filters(EpisodeRow, tenant, scope), EpisodeRow.sparse.is_(None))
        .order_by(EpisodeRow.occurred_at, EpisodeRow.seq)
        .limit(limit)
    )
    return list((await session.execute(stmt)).all())


async def backlog(session: AsyncSession, columns: Sequence[Any], limit: int) -> list[Any]:
    """Rows (with ``tenant_id``) of any tenant's episodes without a vector, oldest first."""
    stmt = (
        select(*columns, EpisodeRow.tenant_id)
        .where(EpisodeRow.sparse.is_(None))
        .order_by(EpisodeRow.seq)
        .limit(limit)
    )
    return list((await session.execute(stmt)).all())


def search_statement(columns: Sequence[Any], filters: Sequence[Any]) -> Select[Any]:
    """The scope's encoded episodes by inner product with ``:vector``, highest first
    (ties: oldest first), at most ``:k``. ``filters``: the search's scope, period and
    metadata filter, applied before the scan. Exact over the scope's ``:scan`` most
    recent encoded episodes (of those passing them), read newest first from the scope's
    time index: the work is bounded however long the history grows (an HNSW index over
    sparse vectors was tried and recalled too little; see the README's "Scale")."""
    table = table_of(EpisodeRow)
    recent = (
        select(*columns, table.c.sparse)
        .where(*filters, table.c.sparse.is_not(None))
        .order_by(table.c.occurred_at.desc(), table.c.seq.desc())
        .limit(bindparam("scan", type_=Integer()))
        .subquery("recent")
    )
    product = recent.c.sparse.max_inner_product(bindparam("vector"))
    shown = [c for c in recent.c if c.name != "sparse"]
    return (
        select(*shown, product.label("negative"))
        .order_by(product, recent.c.seq)
        .limit(bindparam("k", type_=Integer()))
    )


async def search(
    session: AsyncSession,
    statement: Select[Any],
    binds: dict[str, Any],
    vector: dict[int, float],
    k: int,
    scan: int,
) -> list[tuple[Any, float]]:
    """The rows of ``search_statement`` (its filters' values: ``binds``) with their
    inner product, above zero only."""
    if not vector:
        return []
    values = {**binds, "vector": SparseVector(vector, SPARSE_DIM), "scan": scan, "k": k}
    rows = (await session.execute(statement, values)).all()
    return [(r, -float(r.negative)) for r in rows if r.negative < 0]
