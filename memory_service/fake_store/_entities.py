"""Entities and hyperedge memberships in memory, with the contracts of
``memory_service.db.entities``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from memory_service.domain.errors import NotFound
from memory_service.domain.filters import MetadataFilter, matches
from memory_service.domain.models import Candidate, Entity, Membership, Scope
from memory_service.fake_store._tables import (
    EntityRow,
    FakeStore,
    MemberRow,
    best_first,
    cosine,
    in_scope,
)


def membership(row: MemberRow) -> Membership:
    if row.memory_id is not None:
        return Membership(row.entity_id, "memory", row.memory_id, row.role)
    assert row.episode_id is not None  # the one_edge check constraint
    return Membership(row.entity_id, "episode", row.episode_id, row.role)


class FakeEntities:
    def __init__(self, store: FakeStore, now: datetime) -> None:
        self._db = store
        self._now = now

    def _live(self, tenant: UUID, scope: Scope) -> list[EntityRow]:
        """The scope's entities not merged into another, oldest first."""
        rows = [
            r
            for r in self._db.entities.values()
            if in_scope(r.tenant, r.entity.scope, tenant, scope) and r.merged_into is None
        ]
        return sorted(rows, key=lambda r: (r.created_at, r.seq))

    async def by_names(self, tenant: UUID, scope: Scope, names: Sequence[str]) -> list[Entity]:
        """Live entities whose name or an alias equals one of ``names`` (any case)."""
        lowered = {n.lower() for n in names}
        return [
            r.entity
            for r in self._live(tenant, scope)
            if r.entity.name.lower() in lowered or lowered & set(r.entity.aliases)
        ]

    async def nearest(
        self, tenant: UUID, scope: Scope, vector: Sequence[float], k: int
    ) -> list[tuple[Entity, float]]:
        """Live entities with an embedding, nearest by exact cosine."""
        scored = [
            (r.entity, cosine(r.vector, vector))
            for r in self._live(tenant, scope)
            if r.vector is not None
        ]
        scored.sort(key=lambda pair: best_first(pair[1]))
        return scored[:k]

    async def add(
        self, tenant: UUID, scope: Scope, name: str, type_: str, vector: Sequence[float]
    ) -> Entity:
        entity = Entity(self._db.new_id(), scope, name, type_, (name.lower(),))
        self._db.entities[(tenant, entity.id)] = EntityRow(
            tenant, self._db.next_seq(), entity, tuple(vector), None, self._now, self._now
        )
        return entity

    async def add_alias(self, tenant: UUID, entity_id: UUID, alias: str) -> None:
        """Add ``alias`` (lower-cased) unless the entity has it already."""
        row = self._db.entities.get((tenant, entity_id))
        if row is not None and alias.lower() not in row.entity.aliases:
            row.entity = replace(row.entity, aliases=(*row.entity.aliases, alias.lower()))

    async def link(
        self,
        tenant: UUID,
        entity_id: UUID,
        *,
        memory_id: UUID | None = None,
        episode_id: UUID | None = None,
        role: str = "mention",
    ) -> None:
        """Make ``entity_id`` a member of the hyperedge; linking twice changes nothing.
        Exactly one edge, and rows that exist (the foreign keys), else ValueError or
        NotFound (rows of ``tenant``: the keys and foreign keys name the tenant)."""
        if (memory_id is None) == (episode_id is None):
            raise ValueError("give exactly one of memory_id and episode_id")
        if (tenant, entity_id) not in self._db.entities:
            raise NotFound(f"entity {entity_id} not found")
        if memory_id is not None and (tenant, memory_id) not in self._db.memories:
            raise NotFound(f"memory {memory_id} not found")
        if episode_id is not None and (tenant, episode_id) not in self._db.episodes:
            raise NotFound(f"episode {episode_id} not found")
        for m in self._db.members.values():
            same_edge = (
                m.memory_id == memory_id if memory_id is not None else m.episode_id == episode_id
            )
            if m.tenant == tenant and same_edge and m.entity_id == entity_id and m.role == role:
                return
        row = MemberRow(
            self._db.new_id(),
            tenant,
            self._db.next_seq(),
            entity_id,
            memory_id,
            episode_id,
            role,
            self._now,
        )
        self._db.members[(tenant, row.id)] = row

    async def merge(self, tenant: UUID, keep: Entity, drop: Entity) -> None:
        """Fold ``drop`` into ``keep`` (both of ``tenant``): memberships move, aliases
        join, ``drop`` points at ``keep`` (kept, not erased, so old references resolve)."""

        def dropped(m: MemberRow) -> bool:
            return m.tenant == tenant and m.entity_id == drop.id

        moving = sorted(filter(dropped, self._db.members.values()), key=lambda m: m.seq)
        for m in moving:
            await self.link(
                tenant, keep.id, memory_id=m.memory_id, episode_id=m.episode_id, role=m.role
            )
        self._db.drop_members(lambda m: not dropped(m))
        for alias in dict.fromkeys([drop.name, *drop.aliases]):
            await self.add_alias(tenant, keep.id, alias)
        row = self._db.entities.get((tenant, drop.id))
        if row is not None:
            row.merged_into = keep.id

    async def graph(self, tenant: UUID, scope: Scope) -> tuple[list[Entity], list[Membership]]:
        """The scope's live entities and every membership that touches them."""
        rows = self._live(tenant, scope)
        ids = {r.entity.id for r in rows}
        members = sorted(
            (m for m in self._db.members.values() if m.tenant == tenant and m.entity_id in ids),
            key=lambda m: (m.created_at, m.seq),
        )
        return [r.entity for r in rows], [membership(m) for m in members]

    async def names(self, tenant: UUID, entity_ids: Sequence[UUID]) -> dict[UUID, str]:
        rows = [self._db.entities.get((tenant, i)) for i in entity_ids]
        return {r.entity.id: r.entity.name for r in rows if r is not None and r.tenant == tenant}

    async def of_edges(
        self, tenant: UUID, *, memory_ids: Sequence[UUID] = (), episode_ids: Sequence[UUID] = ()
    ) -> list[Membership]:
        memories, episodes = set(memory_ids), set(episode_ids)
        found = [
            m
            for m in self._db.members.values()
            if m.tenant == tenant
            and (
                (m.memory_id is not None and m.memory_id in memories)
                or (m.episode_id is not None and m.episode_id in episodes)
            )
        ]
        return [membership(m) for m in sorted(found, key=lambda m: m.seq)]

    async def edges_near(
        self,
        tenant: UUID,
        scope: Scope,
        entity_ids: Sequence[UUID],
        vector: Sequence[float],
        k: int,
        where: MetadataFilter | None = None,
    ) -> list[tuple[Candidate, int]]:
        """Hyperedges (active memories, episodes) of the scope with at least one of
        ``entity_ids`` and metadata passing ``where``, each with how many of them it
        joins; most joined first, then most similar to ``vector`` (at most ``k``)."""
        wanted = set(entity_ids)
        joined: dict[UUID, set[UUID]] = {}
        for m in self._db.members.values():
            if m.tenant == tenant and m.entity_id in wanted:
                edge = m.memory_id if m.memory_id is not None else m.episode_id
                assert edge is not None
                joined.setdefault(edge, set()).add(m.entity_id)
        found: list[tuple[Candidate, int]] = []
        for edge, entities in joined.items():
            cand = self._edge(tenant, scope, edge, vector, where)
            if cand is not None:
                found.append((cand, len(entities)))
        # memories before episodes on a tie, as the SQL lists them
        found.sort(key=lambda p: (-p[1], *best_first(p[0].score), p[0].kind != "memory"))
        return found[:k]

    def _edge(
        self,
        tenant: UUID,
        scope: Scope,
        edge: UUID,
        vector: Sequence[float],
        where: MetadataFilter | None,
    ) -> Candidate | None:
        """The hyperedge as a candidate, when it is an active memory or an episode of
        the scope passing ``where``."""
        memory = self._db.memories.get((tenant, edge))
        if memory is not None:
            m = memory.memory
            if not in_scope(memory.tenant, m.scope, tenant, scope) or m.status != "active":
                return None
            if not matches(where, m.metadata):
                return None
            return Candidate(
                kind="memory",
                id=m.id,
                text=m.text,
                occurred_at=m.valid_from or m.created_at,
                score=cosine(memory.vector, vector),
                source_episode_ids=tuple(m.source_episode_ids),
            )
        episode = self._db.episodes.get((tenant, edge))
        if episode is None or not in_scope(episode.tenant, episode.episode.scope, tenant, scope):
            return None
        if not matches(where, episode.episode.metadata):
            return None
        e = episode.episode
        return Candidate(
            kind="episode",
            id=e.id,
            text=e.text,
            occurred_at=e.occurred_at,
            score=cosine(episode.vector, vector),
            source_episode_ids=(e.id,),
            speaker=e.speaker,
        )
