"""Memories and their history in memory, with the contracts of ``memory_service.db.memories``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from memory_service.domain.errors import NotFound
from memory_service.domain.filters import MetadataFilter, matches
from memory_service.domain.models import (
    Candidate,
    HistoryOp,
    Memory,
    MemoryChange,
    MemoryStatus,
    NewMemory,
    Scope,
    SearchQuery,
)
from memory_service.fake_store._tables import (
    FakeStore,
    HeldLocks,
    HistoryRow,
    MemoryRow,
    best_first,
    cosine,
    decode_cursor,
    encode_cursor,
    in_period,
    in_scope,
    plain_json,
)
from memory_service.fake_store._text import overlap, terms

STATUSES = ("active", "superseded", "deleted")
OPS = ("ADD", "UPDATE", "DELETE")


def _candidate(m: Memory, score: float) -> Candidate:
    return Candidate(
        kind="memory",
        id=m.id,
        text=m.text,
        occurred_at=m.valid_from or m.created_at,
        score=score,
        source_episode_ids=tuple(m.source_episode_ids),
    )


class FakeMemories:
    """``text_search`` ranks by word overlap, not ts_rank_cd (see ``_text``). A status
    or history op outside the SQL check constraints is a ValueError."""

    def __init__(self, store: FakeStore, now: datetime, locks: HeldLocks) -> None:
        self._db = store
        self._now = now
        self._locks = locks

    def _row(self, tenant: UUID, memory_id: UUID) -> MemoryRow | None:
        row = self._db.memories.get((tenant, memory_id))
        return row if row is not None and row.tenant == tenant else None

    def _searchable(self, tenant: UUID, query: SearchQuery) -> list[MemoryRow]:
        """Active memories of the scope, within the query's period (by ``valid_from``,
        else ``created_at``), oldest first."""
        rows = [
            r
            for r in self._db.memories.values()
            if in_scope(r.tenant, r.memory.scope, tenant, query.scope)
            and r.memory.status == "active"
            and in_period(r.memory.valid_from or r.memory.created_at, query.since, query.until)
            and matches(query.filters, r.memory.metadata)
        ]
        return sorted(rows, key=lambda r: r.memory.created_at)

    async def add(self, tenant: UUID, new: NewMemory, vector: Sequence[float]) -> Memory:
        memory = Memory(
            id=self._db.new_id(),
            scope=new.scope,
            text=new.text,
            metadata=plain_json(new.metadata),
            source_episode_ids=tuple(new.source_episode_ids),
            valid_from=new.valid_from,
            valid_to=new.valid_to,
            status="active",
            utility=0.0,
            created_at=self._now,
            updated_at=self._now,
        )
        self._db.memories[(tenant, memory.id)] = MemoryRow(tenant, memory, tuple(vector))
        return memory

    async def get(
        self, tenant: UUID, memory_id: UUID, *, for_update: bool = False
    ) -> Memory | None:
        """``for_update``: the row stays locked until this unit of work's transaction
        ends (its ``async with`` block)."""
        row = self._row(tenant, memory_id)
        if row is None:
            return None
        if for_update:
            await self._locks.take(f"memory:{tenant}:{memory_id}")
        return row.memory

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
        sources = set(episode_ids)
        found = [
            r.memory
            for r in self._db.memories.values()
            if in_scope(r.tenant, r.memory.scope, tenant, scope)
            and (include_inactive or r.memory.status == "active")
            and matches(where, r.memory.metadata)
            and (not sources or not sources.isdisjoint(r.memory.source_episode_ids))
        ]
        found.sort(key=lambda m: (m.created_at, m.id))
        if cursor:
            after = decode_cursor(cursor, lambda last: UUID(str(last)))
            found = [m for m in found if (m.created_at, m.id) > after]
        more = len(found) > limit
        found = found[:limit]
        next_cursor = (
            encode_cursor(found[-1].created_at, str(found[-1].id)) if more and found else None
        )
        return found, next_cursor

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
        """The changed memory; NotFound when it is not one of ``tenant``'s."""
        row = self._row(tenant, memory_id)
        if row is None:
            raise NotFound(f"memory {memory_id} not found")
        m = row.memory
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        row.memory = replace(
            m,
            text=m.text if text is None else text,
            metadata=m.metadata if metadata is None else plain_json(metadata),
            valid_to=m.valid_to if valid_to is None else valid_to,
            status=m.status if status is None else cast(MemoryStatus, status),
            updated_at=self._now,
        )
        if vector is not None:
            row.vector = tuple(vector)
        return row.memory

    async def add_sources(self, tenant: UUID, memory_id: UUID, episode_ids: Sequence[UUID]) -> None:
        """Union ``episode_ids`` into the memory's provenance (no repeats; the fake keeps
        the order, where SQL's ``DISTINCT`` does not promise one)."""
        row = self._row(tenant, memory_id)
        if row is None:
            return
        sources = tuple(dict.fromkeys([*row.memory.source_episode_ids, *episode_ids]))
        row.memory = replace(row.memory, source_episode_ids=sources, updated_at=self._now)

    async def drop_source(self, tenant: UUID, episode_id: UUID) -> list[Memory]:
        """Take ``episode_id`` out of every memory's provenance."""
        changed = []
        for row in [r for r in self._db.memories.values() if r.tenant == tenant]:
            sources = row.memory.source_episode_ids
            if episode_id in sources:
                kept = tuple(s for s in sources if s != episode_id)
                row.memory = replace(row.memory, source_episode_ids=kept, updated_at=self._now)
                changed.append(row.memory)
        return sorted(changed, key=lambda m: m.id)

    async def similarities(
        self, tenant: UUID, ids: Sequence[UUID], vector: Sequence[float]
    ) -> dict[UUID, tuple[float, float]]:
        """Exact cosine to ``vector`` and utility Q of each memory in ``ids``."""
        rows = [self._row(tenant, i) for i in ids]
        return {
            r.memory.id: (cosine(r.vector, vector), r.memory.utility) for r in rows if r is not None
        }

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
        """One history row; the memory must exist (the foreign key), else NotFound."""
        if op not in OPS:
            raise ValueError(f"op must be one of {OPS}, got {op!r}")
        if (tenant, memory_id) not in self._db.memories:
            raise NotFound(f"memory {memory_id} not found")
        change = MemoryChange(
            id=self._db.new_id(),
            memory_id=memory_id,
            op=cast(HistoryOp, op),
            old_text=old_text,
            new_text=new_text,
            cause=cause,
            created_at=self._now,
        )
        self._db.history[(tenant, change.id)] = HistoryRow(tenant, self._db.next_seq(), change)
        return change

    async def history(self, tenant: UUID, memory_id: UUID) -> list[MemoryChange]:
        rows = [
            h
            for h in self._db.history.values()
            if h.tenant == tenant and h.change.memory_id == memory_id
        ]
        return [h.change for h in sorted(rows, key=lambda h: h.seq)]

    async def vector_search(
        self, tenant: UUID, query: SearchQuery, vector: Sequence[float], k: int
    ) -> list[Candidate]:
        """The ``k`` active memories nearest by exact cosine (ties: oldest first)."""
        scored = [(cosine(r.vector, vector), r.memory) for r in self._searchable(tenant, query)]
        scored.sort(key=lambda pair: best_first(pair[0]))
        return [_candidate(m, score) for score, m in scored[:k]]

    async def text_search(self, tenant: UUID, query: SearchQuery, k: int) -> list[Candidate]:
        """Active memories holding any query term, by word overlap (not ts_rank_cd;
        ties: oldest first)."""
        wanted = terms(query.text)
        scored = [
            (overlap(wanted, r.memory.text), r.memory) for r in self._searchable(tenant, query)
        ]
        hits = sorted((p for p in scored if p[0] > 0), key=lambda p: -p[0])
        return [_candidate(m, score) for score, m in hits[:k]]
