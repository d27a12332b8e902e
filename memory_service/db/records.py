"""Jobs (the outbox), idempotency keys, the retrieval log and forgetting a scope."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.db.models import (
    EntityRow,
    EpisodeRow,
    FeedbackRow,
    IdempotencyRow,
    JobRow,
    MemoryRow,
    RetrievalRow,
    table_of,
)
from memory_service.db.scope_summaries import page_scopes
from memory_service.domain.models import RetrievalRecord, Scope, ScopeSummary, SearchQuery
from memory_service.domain.search import finite_json


class SqlIdempotency:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def claim(
        self, tenant: UUID, key: str, request_hash: str, user_id: str | None
    ) -> tuple[str, Mapping[str, Any]] | None:
        # A concurrent claim of the same key blocks on the primary key until the
        # first transaction ends, then sees its row: exactly one request wins.
        stmt = (
            pg_insert(IdempotencyRow)
            .values(
                tenant_id=tenant, key=key, request_hash=request_hash, response={}, user_id=user_id
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "key"])
            .returning(IdempotencyRow.key)
        )
        if (await self._s.execute(stmt)).first() is not None:
            return None
        row = (
            await self._s.execute(
                select(IdempotencyRow.request_hash, IdempotencyRow.response).where(
                    IdempotencyRow.tenant_id == tenant, IdempotencyRow.key == key
                )
            )
        ).one()
        return row.request_hash, row.response

    async def store(self, tenant: UUID, key: str, response: Mapping[str, Any]) -> None:
        await self._s.execute(
            update(IdempotencyRow)
            .where(IdempotencyRow.tenant_id == tenant, IdempotencyRow.key == key)
            .values(response=dict(response))
        )


class SqlRetrievalLog:
    """The search log. Each search's row is inserted in ``session``'s transaction; a
    log made by ``pending()`` (a read-only replica's) keeps the rows, ids handed back
    at once, until ``write`` inserts them in a session on the primary."""

    def __init__(self, session: AsyncSession | None) -> None:
        self._s = session
        self.rows: list[dict[str, Any]] = []

    @classmethod
    def pending(cls) -> SqlRetrievalLog:
        return cls(None)

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
    ) -> UUID:
        retrieval_id = uuid4()
        row: dict[str, Any] = {
            "id": retrieval_id,
            "tenant_id": tenant,
            "user_id": query.scope.user_id,
            "agent_id": query.scope.agent_id,
            "session_id": query.scope.session_id,
            "query": query.text,
            # No NaN or Infinity in jsonb: a score that is not finite is logged as null.
            "request": finite_json(dict(request)),
            "stages": finite_json(dict(stages)),
            "gate": finite_json(dict(gate)) if gate is not None else None,
            "route": route,
            "results": [finite_json(dict(r)) for r in results],
        }
        if self._s is None:
            self.rows.append(row)
        else:
            await self._s.execute(_RETRIEVALS, row)
        return retrieval_id

    async def write(self, session: AsyncSession) -> None:
        """Insert the kept rows in ``session``'s transaction."""
        for row in self.rows:
            await session.execute(_RETRIEVALS, row)


_RETRIEVALS = insert(table_of(RetrievalRow))
"""Every search inserts one row: one statement, its values bound."""


class SqlScopes:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def forget(self, tenant: UUID, scope: Scope) -> dict[str, int]:
        counts: dict[str, int] = {}
        # Memories first: their history and memberships go with them (ON DELETE CASCADE).
        for name, table in (
            ("memories", MemoryRow),
            ("episodes", EpisodeRow),
            ("entities", EntityRow),
            ("retrievals", RetrievalRow),
            ("jobs", JobRow),
        ):
            counts[name] = await self._delete(table, tenant, scope)
        counts["idempotency_keys"] = 0
        if scope.agent_id is None and scope.session_id is None:
            # A key records only its user: kept when a narrower scope is forgotten.
            counts["idempotency_keys"] = await self._delete(IdempotencyRow, tenant, scope)
        return counts

    async def page(
        self, tenant: UUID, scope: Scope, *, cursor: str | None, limit: int
    ) -> tuple[list[ScopeSummary], str | None]:
        return await page_scopes(self._s, tenant, scope, cursor=cursor, limit=limit)

    async def _delete(self, table: Any, tenant: UUID, scope: Scope) -> int:
        stmt = delete(table).where(table.tenant_id == tenant)
        for column in ("user_id", "agent_id", "session_id"):
            value = getattr(scope, column)
            if value is not None:
                stmt = stmt.where(getattr(table, column) == value)
        result = await self._s.execute(stmt.returning(table.tenant_id))
        return len(result.all())


class SqlFeedback:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def retrieval(self, tenant: UUID, retrieval_id: UUID) -> RetrievalRecord | None:
        row = (
            await self._s.execute(
                select(RetrievalRow).where(
                    RetrievalRow.tenant_id == tenant, RetrievalRow.id == retrieval_id
                )
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        items = tuple((str(r["kind"]), UUID(str(r["id"]))) for r in row.results)
        return RetrievalRecord(id=row.id, query=row.query, route=row.route, items=items)

    async def add(
        self,
        tenant: UUID,
        feedback_id: UUID,
        retrieval_id: UUID,
        reward: float,
        item_ids: Sequence[UUID],
    ) -> bool:
        """Record feedback once per id; False when this id was recorded before."""
        stmt = (
            pg_insert(FeedbackRow)
            .values(
                id=feedback_id,
                tenant_id=tenant,
                retrieval_id=retrieval_id,
                reward=reward,
                item_ids=list(item_ids),
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "id"])
            .returning(FeedbackRow.id)
        )
        return (await self._s.execute(stmt)).first() is not None

    async def update_utilities(
        self, tenant: UUID, items: Sequence[tuple[str, UUID]], reward: float, alpha: float
    ) -> dict[UUID, float]:
        """``Q <- Q + alpha (reward - Q)`` for each item, in SQL (no lost updates).

        The rows are locked first, memories before episodes and each table in id
        order: an UPDATE alone locks rows in its scan order, which differs between
        concurrent transactions (updated rows move), and two feedbacks on one
        retrieval then deadlock. In one order they queue, and commit as a serial
        replay. ``FOR NO KEY UPDATE`` is the lock the UPDATE takes anyway.
        """
        updated: dict[UUID, float] = {}
        for kind, table in (("memory", MemoryRow), ("episode", EpisodeRow)):
            ids = sorted({i for k, i in items if k == kind})
            if not ids:
                continue
            mine = (table.tenant_id == tenant, table.id.in_(ids))
            lock = select(table.id).where(*mine).order_by(table.id).with_for_update(key_share=True)
            await self._s.execute(lock)
            stmt = (
                update(table)
                .where(*mine)
                .values(utility=table.utility + alpha * (reward - table.utility))
                .returning(table.id, table.utility)
            )
            updated.update({row.id: float(row.utility) for row in await self._s.execute(stmt)})
        return updated
