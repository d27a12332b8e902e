"""Memories (consolidated facts) and their history."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    bindparam,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.db.filters import (
    DEFAULT_TUNING,
    SearchTuning,
    Shape,
    decode_cursor,
    encode_cursor,
    per_shape,
    period_binds,
    scope_binds,
    scope_filters,
    search_binds,
    shape_of,
    similarities,
    text_binds,
    text_search,
    tune_vector_scan,
)
from memory_service.db.metadata_filters import metadata_filters
from memory_service.db.models import MemoryHistoryRow, MemoryRow, table_of
from memory_service.domain.errors import NotFound
from memory_service.domain.filters import MetadataFilter
from memory_service.domain.models import (
    Candidate,
    Memory,
    MemoryChange,
    NewMemory,
    Scope,
    SearchQuery,
)

_COLUMNS = (
    MemoryRow.id,
    MemoryRow.user_id,
    MemoryRow.agent_id,
    MemoryRow.session_id,
    MemoryRow.text,
    MemoryRow.metadata_.label("metadata"),
    MemoryRow.source_episode_ids,
    MemoryRow.valid_from,
    MemoryRow.valid_to,
    MemoryRow.status,
    MemoryRow.utility,
    MemoryRow.created_at,
    MemoryRow.updated_at,
)


def _memory(row: Any) -> Memory:
    return Memory(
        id=row.id,
        scope=Scope(row.user_id, row.agent_id, row.session_id),
        text=row.text,
        metadata=row.metadata,
        source_episode_ids=tuple(row.source_episode_ids),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        status=row.status,
        utility=row.utility,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _candidate(row: Any, score: float) -> Candidate:
    return Candidate(
        kind="memory",
        id=row.id,
        text=row.text,
        occurred_at=row.valid_from or row.created_at,
        score=float(score),
        source_episode_ids=tuple(row.source_episode_ids),
    )


def _change(row: Any) -> MemoryChange:
    return MemoryChange(
        id=row.id,
        memory_id=row.memory_id,
        op=row.op,
        old_text=row.old_text,
        new_text=row.new_text,
        cause=row.cause,
        created_at=row.created_at,
    )


class SqlMemories:
    def __init__(self, session: AsyncSession, tuning: SearchTuning = DEFAULT_TUNING) -> None:
        self._s = session
        self._tuning = tuning

    async def add(self, tenant: UUID, new: NewMemory, vector: Sequence[float]) -> Memory:
        values = {
            "id": uuid4(),
            "tenant_id": tenant,
            "user_id": new.scope.user_id,
            "agent_id": new.scope.agent_id,
            "session_id": new.scope.session_id,
            "text": new.text,
            "metadata": dict(new.metadata),
            "source_episode_ids": list(new.source_episode_ids),
            "valid_from": new.valid_from,
            "valid_to": new.valid_to,
            "embedding": list(vector),
        }
        table = table_of(MemoryRow)
        row = (await self._s.execute(insert(table).values(values).returning(*table.c))).one()
        return _memory(row)

    async def get(
        self, tenant: UUID, memory_id: UUID, *, for_update: bool = False
    ) -> Memory | None:
        stmt = select(*_COLUMNS).where(MemoryRow.tenant_id == tenant, MemoryRow.id == memory_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = (await self._s.execute(stmt)).one_or_none()
        return _memory(row) if row else None

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
        clauses = scope_filters(MemoryRow, tenant, scope)
        clauses += metadata_filters(MemoryRow.metadata_, where)
        if episode_ids:  # ``&&``: through the GIN index on the provenance
            clauses.append(MemoryRow.source_episode_ids.overlap(list(episode_ids)))
        if not include_inactive:
            clauses.append(MemoryRow.status == "active")
        key = tuple_(MemoryRow.created_at, MemoryRow.id)
        if cursor:
            moment, memory_id = decode_cursor(cursor, lambda last: UUID(str(last)))
            clauses.append(key > tuple_(moment, memory_id))
        stmt = (
            select(*_COLUMNS)
            .where(*clauses)
            .order_by(MemoryRow.created_at, MemoryRow.id)
            .limit(limit + 1)
        )
        rows = (await self._s.execute(stmt)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].created_at, str(rows[-1].id)) if more else None
        return [_memory(r) for r in rows], next_cursor

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
    ) -> Memory:
        values: dict[str, Any] = {"updated_at": func.now()}
        if text is not None:
            values["text"] = text
        if vector is not None:
            values["embedding"] = list(vector)
        if metadata is not None:
            values["metadata"] = dict(metadata)
        if valid_to is not None:
            values["valid_to"] = valid_to
        if status is not None:
            values["status"] = status
        table = table_of(MemoryRow)
        stmt = (
            update(table)
            .where(table.c.tenant_id == tenant, table.c.id == memory_id)
            .values(values)
            .returning(*table.c)
        )
        row = (await self._s.execute(stmt)).one_or_none()
        if row is None:
            raise NotFound(f"memory {memory_id} not found")
        return _memory(row)

    async def add_sources(self, tenant: UUID, memory_id: UUID, episode_ids: Sequence[UUID]) -> None:
        """Union ``episode_ids`` into the memory's provenance (order kept, no repeats)."""
        table = table_of(MemoryRow)
        merged = func.array(
            select(
                func.distinct(
                    func.unnest(func.array_cat(table.c.source_episode_ids, list(episode_ids)))
                )
            ).scalar_subquery()
        )
        await self._s.execute(
            update(table)
            .where(table.c.tenant_id == tenant, table.c.id == memory_id)
            .values(source_episode_ids=merged, updated_at=func.now())
        )

    async def drop_source(self, tenant: UUID, episode_id: UUID) -> list[Memory]:
        """Take ``episode_id`` out of every memory's provenance (the GIN index on
        ``source_episode_ids`` finds them); the memories changed, in id order."""
        table = table_of(MemoryRow)
        stmt = (
            update(table)
            .where(
                table.c.tenant_id == tenant,
                table.c.source_episode_ids.contains([episode_id]),
            )
            .values(
                source_episode_ids=func.array_remove(table.c.source_episode_ids, episode_id),
                updated_at=func.now(),
            )
            .returning(*table.c)
        )
        rows = (await self._s.execute(stmt)).all()
        return sorted((_memory(r) for r in rows), key=lambda m: m.id)

    async def similarities(
        self, tenant: UUID, ids: Sequence[UUID], vector: Sequence[float]
    ) -> dict[UUID, tuple[float, float]]:
        """Exact cosine similarity to ``vector`` and utility Q of each memory in ``ids``."""
        if not ids:
            return {}
        binds = {"vector": list(vector), "tenant": tenant, "ids": list(ids)}
        rows = (await self._s.execute(_similarities(), binds)).all()
        return {r.id: (float(r.similarity), float(r.utility)) for r in rows}

    async def add_history(
        self,
        tenant: UUID,
        memory_id: UUID,
        *,
        op: str,
        old_text: str | None,
        new_text: str | None,
        cause: str,
    ) -> MemoryChange:
        table = table_of(MemoryHistoryRow)
        values = {
            "id": uuid4(),
            "tenant_id": tenant,
            "memory_id": memory_id,
            "op": op,
            "old_text": old_text,
            "new_text": new_text,
            "cause": cause,
        }
        row = (await self._s.execute(insert(table).values(values).returning(*table.c))).one()
        return _change(row)

    async def history(self, tenant: UUID, memory_id: UUID) -> list[MemoryChange]:
        stmt = (
            select(MemoryHistoryRow)
            .where(MemoryHistoryRow.tenant_id == tenant, MemoryHistoryRow.memory_id == memory_id)
            .order_by(MemoryHistoryRow.seq)
        )
        return [_change(r) for r in (await self._s.execute(stmt)).scalars()]

    async def vector_search(
        self, tenant: UUID, query: SearchQuery, vector: Sequence[float], k: int
    ) -> list[Candidate]:
        await tune_vector_scan(self._s, max(self._tuning.ef_search, k))
        binds = search_binds(tenant, query)
        stmt = _vector_search(shape_of(binds), query.filters)
        rows = (await self._s.execute(stmt, {**binds, "vector": list(vector), "k": k})).all()
        # equal distances go to the earlier fact, whatever order the plan read them in
        rows = sorted(rows, key=lambda r: (float(r.distance), r.created_at, r.id))
        return [_candidate(r, 1.0 - float(r.distance)) for r in rows]

    async def text_search(self, tenant: UUID, query: SearchQuery, k: int) -> list[Candidate]:
        """Active facts matching any of the query's words, best ``ts_rank_cd`` first
        (``filters.text_hits``: through the GIN index, under the tenant wall)."""
        binds = text_binds(tenant, query, k, self._tuning.text_budget)
        stmt = _text_search((), query.filters)
        rows = (await self._s.execute(stmt, {**binds, "k": k})).all()
        return [_candidate(r, float(r.rank)) for r in rows]


def _hit_columns() -> list[ColumnElement[Any]]:
    """What ``_candidate`` reads, and the tiebreaks: Core columns, so that running a
    search statement skips the ORM."""
    columns = table_of(MemoryRow).c
    return [
        columns.id,
        columns.text,
        columns.source_episode_ids,
        columns.valid_from,
        columns.created_at,
    ]


@per_shape
def _vector_search(shape: Shape, where: MetadataFilter | None) -> Select[Any]:
    """Binds ``search_binds``, ``vector`` and ``k``: the active facts of the scope and
    period passing ``where``, nearest first."""
    columns = table_of(MemoryRow).c
    moment = func.coalesce(columns.valid_from, columns.created_at)
    searched: list[ColumnElement[bool]] = [
        *scope_binds(columns, shape),
        columns.status == "active",
        *metadata_filters(columns.metadata, where),
        *period_binds(moment, shape),
    ]
    distance = columns.embedding.cosine_distance(bindparam("vector"))
    return (
        select(*_hit_columns(), distance.label("distance"))
        .where(*searched)
        .order_by(distance)
        .limit(bindparam("k", type_=Integer()))
    )


@per_shape
def _text_search(shape: Shape, where: MetadataFilter | None) -> Select[Any]:
    """Binds ``text_binds`` and ``k`` (the shape is always empty: the function takes
    the scope and period whole)."""
    table = table_of(MemoryRow)
    return text_search(table, "memory_text_hits", _hit_columns(), table.c.created_at, where)


@functools.cache
def _similarities() -> Select[Any]:
    """Binds ``vector``, ``tenant`` and ``ids``."""
    return similarities(table_of(MemoryRow))
