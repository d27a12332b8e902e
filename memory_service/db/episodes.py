"""Episodes: the raw, never-rewritten record of what was said."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, Integer, Select, bindparam, delete, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.db import sparse, turns
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
    sequence_number,
    shape_of,
    similarities,
    text_binds,
    text_search,
    tune_vector_scan,
)
from memory_service.db.metadata_filters import metadata_filters
from memory_service.db.models import EpisodeRow, table_of
from memory_service.domain.filters import MetadataFilter
from memory_service.domain.models import (
    Candidate,
    ContextTurn,
    Episode,
    EpisodePage,
    NewEpisode,
    Scope,
    SearchQuery,
    Turn,
)

_COLUMNS = (
    EpisodeRow.id,
    EpisodeRow.seq,
    EpisodeRow.user_id,
    EpisodeRow.agent_id,
    EpisodeRow.session_id,
    EpisodeRow.role,
    EpisodeRow.speaker,
    EpisodeRow.text,
    EpisodeRow.occurred_at,
    EpisodeRow.created_at,
    EpisodeRow.metadata_.label("metadata"),
    EpisodeRow.utility,
)


def _episode(row: Any) -> Episode:
    return Episode(
        id=row.id,
        scope=Scope(row.user_id, row.agent_id, row.session_id),
        role=row.role,
        speaker=row.speaker,
        text=row.text,
        occurred_at=row.occurred_at,
        created_at=row.created_at,
        metadata=row.metadata,
        utility=row.utility,
    )


def _candidate(row: Any, score: float) -> Candidate:
    return Candidate(
        kind="episode",
        id=row.id,
        text=row.text,
        occurred_at=row.occurred_at,
        score=float(score),
        source_episode_ids=(row.id,),
        speaker=row.speaker,
    )


class SqlEpisodes:
    def __init__(self, session: AsyncSession, tuning: SearchTuning = DEFAULT_TUNING) -> None:
        self._s = session
        self._tuning = tuning

    async def add_many(
        self,
        tenant: UUID,
        scope: Scope,
        items: Sequence[NewEpisode],
        vectors: Sequence[Sequence[float]],
        now: datetime,
    ) -> list[Episode]:
        rows = [
            {
                "id": uuid4(),
                "tenant_id": tenant,
                "user_id": scope.user_id,
                "agent_id": scope.agent_id,
                "session_id": scope.session_id,
                "role": item.role,
                "speaker": item.speaker,
                "text": item.text,
                "occurred_at": item.occurred_at or now,
                "metadata": dict(item.metadata),
                "embedding": list(vector),
            }
            for item, vector in zip(items, vectors, strict=True)
        ]
        table = table_of(EpisodeRow)
        result = await self._s.execute(insert(table).returning(*_COLUMNS), rows)
        by_id = {row.id: row for row in result}
        return [_episode(by_id[row["id"]]) for row in rows]

    async def get(self, tenant: UUID, episode_id: UUID) -> Episode | None:
        row = (
            await self._s.execute(
                select(*_COLUMNS).where(EpisodeRow.tenant_id == tenant, EpisodeRow.id == episode_id)
            )
        ).one_or_none()
        return _episode(row) if row else None

    async def get_many(self, tenant: UUID, episode_ids: Sequence[UUID]) -> list[Episode]:
        stmt = (
            select(*_COLUMNS)
            .where(EpisodeRow.tenant_id == tenant, EpisodeRow.id.in_(list(episode_ids)))
            .order_by(EpisodeRow.occurred_at, EpisodeRow.seq)
        )
        return [_episode(r) for r in (await self._s.execute(stmt)).all()]

    async def scan(
        self,
        tenant: UUID,
        scope: Scope,
        vector: Sequence[float],
        *,
        limit: int,
        max_tokens: int | None = None,
        where: MetadataFilter | None = None,
    ) -> tuple[list[tuple[Turn, float]], bool]:
        """The scope's most recent turns (those passing ``where``) with their exact
        similarity to ``vector``, and whether older ones were left out
        (``turns.recent_turns``)."""
        return await turns.recent_turns(
            self._s, tenant, scope, vector, limit=limit, max_tokens=max_tokens, where=where
        )

    async def similarities(
        self, tenant: UUID, ids: Sequence[UUID], vector: Sequence[float]
    ) -> dict[UUID, tuple[float, float]]:
        """Exact cosine similarity to ``vector`` and utility Q of each episode in ``ids``."""
        if not ids:
            return {}
        binds = {"vector": list(vector), "tenant": tenant, "ids": list(ids)}
        rows = (await self._s.execute(_similarities(), binds)).all()
        return {r.id: (float(r.similarity), float(r.utility)) for r in rows}

    async def neighbours(
        self,
        tenant: UUID,
        scope: Scope,
        ids: Sequence[UUID],
        window: int,
        where: MetadataFilter | None = None,
    ) -> dict[UUID, list[ContextTurn]]:
        """Up to ``window`` episodes of ``scope`` (passing ``where``) just before and
        just after each of ``ids``, in time order (``turns.neighbours``)."""
        return await turns.neighbours(self._s, tenant, scope, ids, window, where)

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
    ) -> EpisodePage:
        clauses = scope_filters(EpisodeRow, tenant, scope)
        clauses += metadata_filters(EpisodeRow.metadata_, where)
        if since is not None:
            clauses.append(EpisodeRow.occurred_at >= since)
        if until is not None:
            clauses.append(EpisodeRow.occurred_at < until)
        key = tuple_(EpisodeRow.occurred_at, EpisodeRow.seq)
        if cursor:
            moment, seq = decode_cursor(cursor, sequence_number)
            after = tuple_(moment, seq)
            clauses.append(key < after if descending else key > after)
        order = (
            (EpisodeRow.occurred_at.desc(), EpisodeRow.seq.desc())
            if descending
            else (EpisodeRow.occurred_at, EpisodeRow.seq)
        )
        stmt = select(*_COLUMNS).where(*clauses).order_by(*order).limit(limit + 1)
        rows = (await self._s.execute(stmt)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].occurred_at, rows[-1].seq) if more else None
        return EpisodePage(items=[_episode(r) for r in rows], next_cursor=next_cursor)

    async def delete(self, tenant: UUID, episode_id: UUID) -> bool:
        result = await self._s.execute(
            delete(EpisodeRow)
            .where(EpisodeRow.tenant_id == tenant, EpisodeRow.id == episode_id)
            .returning(EpisodeRow.id)
        )
        return result.first() is not None

    async def vector_search(
        self, tenant: UUID, query: SearchQuery, vector: Sequence[float], k: int
    ) -> list[Candidate]:
        await tune_vector_scan(self._s, max(self._tuning.ef_search, k))
        binds = search_binds(tenant, query)
        stmt = _vector_search(shape_of(binds), query.filters)
        rows = (await self._s.execute(stmt, {**binds, "vector": list(vector), "k": k})).all()
        # equal distances (the same words, an unrelated turn) go to the earlier turn,
        # whatever order the plan read the rows in
        rows = sorted(rows, key=lambda r: (float(r.distance), r.seq))
        return [_candidate(r, 1.0 - float(r.distance)) for r in rows]

    async def set_sparse(self, tenant: UUID, vectors: dict[UUID, dict[int, float]]) -> None:
        """Store each episode's learned-sparse vector (``sparse.store``)."""
        await sparse.store(self._s, tenant, vectors)

    async def unencoded(self, tenant: UUID, scope: Scope, limit: int) -> list[Episode]:
        return [
            _episode(r) for r in await sparse.unencoded(self._s, _COLUMNS, tenant, scope, limit)
        ]

    async def backlog(self, limit: int) -> list[tuple[UUID, Episode]]:
        return [(r.tenant_id, _episode(r)) for r in await sparse.backlog(self._s, _COLUMNS, limit)]

    async def sparse_search(
        self, tenant: UUID, query: SearchQuery, vector: dict[int, float], k: int
    ) -> list[Candidate]:
        """The scope's most recent encoded episodes (at most ``sparse_scan``) by inner
        product (``sparse.search``)."""
        binds = search_binds(tenant, query)
        stmt = _sparse_search(shape_of(binds), query.filters)
        rows = await sparse.search(self._s, stmt, binds, vector, k, self._tuning.sparse_scan)
        return [_candidate(r, score) for r, score in rows]

    async def text_search(self, tenant: UUID, query: SearchQuery, k: int) -> list[Candidate]:
        """The scope's episodes matching any of the query's words, best ``ts_rank_cd``
        first (``filters.text_hits``: through the GIN index, under the tenant wall)."""
        binds = text_binds(tenant, query, k, self._tuning.text_budget)
        stmt = _text_search((), query.filters)
        rows = (await self._s.execute(stmt, {**binds, "k": k})).all()
        return [_candidate(r, float(r.rank)) for r in rows]


def _searched(shape: Shape, where: MetadataFilter | None) -> list[ColumnElement[bool]]:
    """A search's scope, metadata filter and period (``search_binds``)."""
    table = table_of(EpisodeRow)
    return [
        *scope_binds(table.c, shape),
        *metadata_filters(table.c.metadata, where),
        *period_binds(table.c.occurred_at, shape),
    ]


def _hit_columns() -> list[ColumnElement[Any]]:
    """What ``_candidate`` reads, and the tiebreak (``seq``): Core columns, so that
    running a search statement skips the ORM."""
    columns = table_of(EpisodeRow).c
    return [columns.id, columns.seq, columns.speaker, columns.text, columns.occurred_at]


@per_shape
def _vector_search(shape: Shape, where: MetadataFilter | None) -> Select[Any]:
    """Binds ``search_binds``, ``vector`` and ``k``."""
    distance = table_of(EpisodeRow).c.embedding.cosine_distance(bindparam("vector"))
    return (
        select(*_hit_columns(), distance.label("distance"))
        .where(*_searched(shape, where))
        .order_by(distance)
        .limit(bindparam("k", type_=Integer()))
    )


@per_shape
def _sparse_search(shape: Shape, where: MetadataFilter | None) -> Select[Any]:
    return sparse.search_statement(_hit_columns(), _searched(shape, where))


@per_shape
def _text_search(shape: Shape, where: MetadataFilter | None) -> Select[Any]:
    """Binds ``text_binds`` and ``k`` (the shape is always empty: the function takes
    the scope and period whole)."""
    table = table_of(EpisodeRow)
    return text_search(table, "episode_text_hits", _hit_columns(), table.c.seq, where)


@functools.cache
def _similarities() -> Select[Any]:
    """Binds ``vector``, ``tenant`` and ``ids``."""
    return similarities(table_of(EpisodeRow))
