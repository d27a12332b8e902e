"""Entities (hypergraph vertices) and their memberships in hyperedges."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import delete, func, insert, literal, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.db.filters import scope_filters
from memory_service.db.metadata_filters import metadata_filters
from memory_service.db.models import EntityRow, EpisodeRow, HyperedgeMemberRow, MemoryRow, table_of
from memory_service.domain.filters import MetadataFilter
from memory_service.domain.models import Candidate, Entity, Membership, Scope


def _entity(row: Any) -> Entity:
    return Entity(
        id=row.id,
        scope=Scope(row.user_id, row.agent_id, row.session_id),
        name=row.name,
        type=row.type,
        aliases=tuple(row.aliases),
    )


def _membership(row: Any) -> Membership:
    if row.memory_id is not None:
        return Membership(row.entity_id, "memory", row.memory_id, row.role)
    return Membership(row.entity_id, "episode", row.episode_id, row.role)


class SqlEntities:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    def _live(self, tenant: UUID, scope: Scope) -> list[Any]:
        return [*scope_filters(EntityRow, tenant, scope), EntityRow.merged_into.is_(None)]

    async def by_names(self, tenant: UUID, scope: Scope, names: Sequence[str]) -> list[Entity]:
        """Live entities whose name or an alias equals one of ``names`` (any case)."""
        lowered = sorted({n.lower() for n in names})
        if not lowered:
            return []
        stmt = select(EntityRow).where(
            *self._live(tenant, scope),
            or_(func.lower(EntityRow.name).in_(lowered), EntityRow.aliases.overlap(lowered)),
        )
        return [_entity(r) for r in (await self._s.execute(stmt)).scalars()]

    async def nearest(
        self, tenant: UUID, scope: Scope, vector: Sequence[float], k: int
    ) -> list[tuple[Entity, float]]:
        distance = EntityRow.embedding.cosine_distance(list(vector))
        stmt = (
            select(EntityRow, distance.label("distance"))
            .where(*self._live(tenant, scope), EntityRow.embedding.is_not(None))
            .order_by(distance)
            .limit(k)
        )
        rows = (await self._s.execute(stmt)).all()
        return [(_entity(row[0]), 1.0 - float(row.distance)) for row in rows]

    async def add(
        self, tenant: UUID, scope: Scope, name: str, type_: str, vector: Sequence[float]
    ) -> Entity:
        table = table_of(EntityRow)
        values = {
            "id": uuid4(),
            "tenant_id": tenant,
            "user_id": scope.user_id,
            "agent_id": scope.agent_id,
            "session_id": scope.session_id,
            "name": name,
            "type": type_,
            "aliases": [name.lower()],
            "embedding": list(vector),
        }
        row = (await self._s.execute(insert(table).values(values).returning(*table.c))).one()
        return _entity(row)

    async def add_alias(self, tenant: UUID, entity_id: UUID, alias: str) -> None:
        await self._s.execute(
            update(EntityRow)
            .where(
                EntityRow.tenant_id == tenant,
                EntityRow.id == entity_id,
                ~EntityRow.aliases.contains([alias.lower()]),
            )
            .values(aliases=func.array_append(EntityRow.aliases, alias.lower()))
        )

    async def link(
        self,
        tenant: UUID,
        entity_id: UUID,
        *,
        memory_id: UUID | None = None,
        episode_id: UUID | None = None,
        role: str = "mention",
    ) -> None:
        """Make ``entity_id`` a member of the hyperedge; linking twice changes nothing."""
        where = "memory_id IS NOT NULL" if memory_id is not None else "episode_id IS NOT NULL"
        edge = "memory_id" if memory_id is not None else "episode_id"
        key = ["tenant_id", edge, "entity_id", "role"]
        stmt = (
            pg_insert(HyperedgeMemberRow)
            .values(
                id=uuid4(),
                tenant_id=tenant,
                entity_id=entity_id,
                memory_id=memory_id,
                episode_id=episode_id,
                role=role,
            )
            .on_conflict_do_nothing(index_elements=key, index_where=text(where))
        )
        await self._s.execute(stmt)

    async def merge(self, tenant: UUID, keep: Entity, drop: Entity) -> None:
        """Fold ``drop`` into ``keep`` (both of ``tenant``): memberships move, aliases
        join, ``drop`` points at ``keep`` (kept, not erased, so old references resolve)."""
        dropped = (HyperedgeMemberRow.tenant_id == tenant, HyperedgeMemberRow.entity_id == drop.id)
        members = (await self._s.execute(select(HyperedgeMemberRow).where(*dropped))).scalars()
        for m in list(members):
            await self.link(
                tenant, keep.id, memory_id=m.memory_id, episode_id=m.episode_id, role=m.role
            )
        await self._s.execute(delete(HyperedgeMemberRow).where(*dropped))
        for alias in {drop.name, *drop.aliases}:
            await self.add_alias(tenant, keep.id, alias)
        await self._s.execute(
            update(EntityRow)
            .where(EntityRow.tenant_id == tenant, EntityRow.id == drop.id)
            .values(merged_into=keep.id)
        )

    async def graph(self, tenant: UUID, scope: Scope) -> tuple[list[Entity], list[Membership]]:
        """The scope's live entities and every membership that touches them."""
        entities = [
            _entity(r)
            for r in (
                await self._s.execute(
                    select(EntityRow)
                    .where(*self._live(tenant, scope))
                    .order_by(EntityRow.created_at)
                )
            ).scalars()
        ]
        ids = [e.id for e in entities]
        if not ids:
            return [], []
        rows = (
            await self._s.execute(
                select(HyperedgeMemberRow)
                .where(
                    HyperedgeMemberRow.tenant_id == tenant, HyperedgeMemberRow.entity_id.in_(ids)
                )
                .order_by(HyperedgeMemberRow.created_at)
            )
        ).scalars()
        return entities, [_membership(r) for r in rows]

    async def edges_near(
        self,
        tenant: UUID,
        scope: Scope,
        entity_ids: Sequence[UUID],
        vector: Sequence[float],
        k: int,
        where: MetadataFilter | None = None,
    ) -> list[tuple[Candidate, int]]:
        return await edges_of_entities(self._s, tenant, scope, entity_ids, vector, k, where)

    async def names(self, tenant: UUID, entity_ids: Sequence[UUID]) -> dict[UUID, str]:
        if not entity_ids:
            return {}
        stmt = select(EntityRow.id, EntityRow.name).where(
            EntityRow.tenant_id == tenant, EntityRow.id.in_(list(entity_ids))
        )
        return {row.id: row.name for row in (await self._s.execute(stmt)).all()}

    async def of_edges(
        self, tenant: UUID, *, memory_ids: Sequence[UUID] = (), episode_ids: Sequence[UUID] = ()
    ) -> list[Membership]:
        clauses = []
        if memory_ids:
            clauses.append(HyperedgeMemberRow.memory_id.in_(list(memory_ids)))
        if episode_ids:
            clauses.append(HyperedgeMemberRow.episode_id.in_(list(episode_ids)))
        if not clauses:
            return []
        stmt = select(HyperedgeMemberRow).where(
            HyperedgeMemberRow.tenant_id == tenant, or_(*clauses)
        )
        return [_membership(r) for r in (await self._s.execute(stmt)).scalars()]


async def edges_of_entities(
    session: AsyncSession,
    tenant: UUID,
    scope: Scope,
    entity_ids: Sequence[UUID],
    vector: Sequence[float],
    k: int,
    where: MetadataFilter | None = None,
) -> list[tuple[Candidate, int]]:
    """Hyperedges (active memories, episodes) with at least one of ``entity_ids``, each
    with how many of them it joins; most joined first, then most similar to ``vector``.
    Only hyperedges whose metadata passes ``where``."""
    if not entity_ids:
        return []
    found: list[tuple[Candidate, int]] = []
    for table, edge_col, kind in (
        (MemoryRow, HyperedgeMemberRow.memory_id, "memory"),
        (EpisodeRow, HyperedgeMemberRow.episode_id, "episode"),
    ):
        joined = func.count(func.distinct(HyperedgeMemberRow.entity_id)).label("joined")
        similarity = (1 - table.embedding.cosine_distance(list(vector))).label("similarity")
        when = (
            func.coalesce(MemoryRow.valid_from, MemoryRow.created_at)
            if table is MemoryRow
            else EpisodeRow.occurred_at
        )
        speaker = EpisodeRow.speaker if table is EpisodeRow else literal(None)
        sources = MemoryRow.source_episode_ids if table is MemoryRow else literal(None)
        stmt = (
            select(
                table.id,
                table.text,
                when.label("at"),
                speaker.label("speaker"),
                sources.label("sources"),
                joined,
                similarity,
            )
            .join(
                HyperedgeMemberRow,
                (HyperedgeMemberRow.tenant_id == table.tenant_id) & (edge_col == table.id),
            )
            .where(
                *scope_filters(table, tenant, scope),
                HyperedgeMemberRow.entity_id.in_(list(entity_ids)),
                *([MemoryRow.status == "active"] if table is MemoryRow else []),
                *metadata_filters(table.metadata_, where),
            )
            .group_by(table.tenant_id, table.id)  # the key: the other columns follow
            .order_by(joined.desc(), similarity.desc())
            .limit(k)
        )
        for row in (await session.execute(stmt)).all():
            cand = Candidate(
                kind=kind,  # type: ignore[arg-type]
                id=row.id,
                text=row.text,
                occurred_at=row.at,
                score=float(row.similarity),
                source_episode_ids=tuple(row.sources) if kind == "memory" else (row.id,),
                speaker=row.speaker,
            )
            found.append((cand, int(row.joined)))
    found.sort(key=lambda pair: (-pair[1], -pair[0].score))
    return found[:k]
