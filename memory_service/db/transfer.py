"""Export and import of a tenant's rows, embeddings included (exact round trips)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Table, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.db.filters import scope_filters
from memory_service.db.models import (
    EntityRow,
    EpisodeRow,
    HyperedgeMemberRow,
    MemoryHistoryRow,
    MemoryRow,
    table_of,
)
from memory_service.domain.models import Scope

PAGE = 500
KINDS: dict[str, type[Any]] = {
    "episode": EpisodeRow,
    "memory": MemoryRow,
    "history": MemoryHistoryRow,
    "entity": EntityRow,
    "membership": HyperedgeMemberRow,
}
SKIP = {"tenant_id", "tsv", "seq", "sparse"}
"""Columns never exported: the tenant is the importer's, the rest is derived (learned-
sparse vectors by the encoder the importer runs: ``memory-service encode-sparse``)."""


def _plain(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "tolist"):  # pgvector returns numpy arrays
        return [float(x) for x in value.tolist()]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


RENAMED = {"type": "entity_type"}
"""An entity's ``type`` column travels as ``entity_type``: ``type`` names the record."""


def _record(kind: str, table: Table, row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in table.c:
        if column.name not in SKIP:
            out[RENAMED.get(column.name, column.name)] = _plain(getattr(row, column.name))
    return {"type": kind, **out}


class SqlTransfer:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def export(self, tenant: UUID, scope: Scope) -> AsyncIterator[dict[str, Any]]:
        """Every row of the scope (the whole tenant when the scope is empty), parents first:
        episodes in time order (turns of one instant in the order they were written, so an
        import stores them in that order), the other kinds in id order."""
        for kind in ("episode", "memory", "entity"):
            model = KINDS[kind]
            table = table_of(model)
            keys = (table.c.occurred_at, table.c.seq) if kind == "episode" else (table.c.id,)
            last: tuple[Any, ...] | None = None
            while True:
                stmt = select(table).where(*scope_filters(model, tenant, scope))
                if last is not None:
                    stmt = stmt.where(tuple_(*keys) > tuple_(*last))
                rows = (await self._s.execute(stmt.order_by(*keys).limit(PAGE))).all()
                for row in rows:
                    yield _record(kind, table, row)
                    if kind == "memory":
                        history = self._children(tenant, MemoryHistoryRow, "memory_id", row.id)
                        async for change in history:
                            yield change
                    if kind == "entity":
                        members = self._children(tenant, HyperedgeMemberRow, "entity_id", row.id)
                        async for member in members:
                            yield member
                if len(rows) < PAGE:
                    break
                last = tuple(getattr(rows[-1], c.name) for c in keys)

    async def _children(
        self, tenant: UUID, model: type[Any], key: str, parent: UUID
    ) -> AsyncIterator[dict[str, Any]]:
        """The rows of ``tenant`` that point at ``parent`` through ``key`` (another tenant
        may hold a row of the same id, with children of its own)."""
        table = table_of(model)
        kind = "history" if model is MemoryHistoryRow else "membership"
        stmt = select(table).where(table.c.tenant_id == tenant, getattr(table.c, key) == parent)
        order = table.c.seq if "seq" in table.c else table.c.created_at
        for row in (await self._s.execute(stmt.order_by(order))).all():
            yield _record(kind, table, row)

    async def load(self, tenant: UUID, kind: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert rows of one kind into ``tenant``; rows whose id exists in ``tenant`` are
        skipped, so importing the same stream twice changes nothing. Returns how many were
        new. Keys are per tenant (``(tenant_id, id)``, memberships' ``(tenant_id, edge,
        entity, role)``): an id another tenant holds is new here, as a fresh one is."""
        if not rows:
            return 0
        table = table_of(KINDS[kind])
        back = {v: k for k, v in RENAMED.items()}
        # Rows without a value leave it to the column's default, so rows with the same
        # set of keys go in one multi-row INSERT.
        groups: dict[frozenset[str], list[dict[str, Any]]] = {}
        for r in rows:
            values = {back.get(k, k): v for k, v in r.items()} | {"tenant_id": tenant}
            groups.setdefault(frozenset(values), []).append(values)
        added = 0
        for values_list in groups.values():
            stmt = pg_insert(table).values(values_list).on_conflict_do_nothing()
            added += len((await self._s.execute(stmt.returning(table.c.id))).all())
        return added

    async def existing(self, tenant: UUID, kind: str, ids: Collection[UUID]) -> set[UUID]:
        """Those of ``ids`` that are rows of ``kind`` in ``tenant``: checked before the
        insert, so that a dangling reference is a 422 naming its line, not the error the
        foreign key ``(tenant_id, parent_id)`` would raise for the whole statement."""
        table = table_of(KINDS[kind])
        wanted = list(ids)
        found: set[UUID] = set()
        for start in range(0, len(wanted), PAGE):
            stmt = select(table.c.id).where(
                table.c.tenant_id == tenant, table.c.id.in_(wanted[start : start + PAGE])
            )
            found.update((await self._s.execute(stmt)).scalars())
        return found

    async def set_merged(self, tenant: UUID, merged: Mapping[UUID, UUID | None]) -> None:
        """Point merged entities at their survivors once all entities are in."""
        table = table_of(EntityRow)
        for entity_id, target in merged.items():
            await self._s.execute(
                update(table)
                .where(table.c.tenant_id == tenant, table.c.id == entity_id)
                .values(merged_into=target)
            )
