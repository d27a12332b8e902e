"""The scope's hypergraph: merging entities that are the same thing, and export."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any
from uuid import UUID

from memory_service.domain.models import Scope
from memory_service.ports import UnitOfWork
from policies.hypergraph import components, merge_candidates


async def merge_entities(uow: UnitOfWork, tenant: UUID, scope: Scope) -> int:
    """HGMem's merge step for entities; returns how many were folded into another."""
    entities, members = await uow.entities.graph(tenant, scope)
    by_id = {e.id: e for e in entities}
    pairs = merge_candidates(entities, members)
    for keep, drop in pairs:
        await uow.entities.merge(tenant, by_id[keep], by_id[drop])
    return len(pairs)


async def export_graph(
    uow: UnitOfWork,
    tenant: UUID,
    scope: Scope,
    *,
    kinds: Collection[str] = ("memory", "episode"),
    max_edges: int | None = None,
) -> dict[str, Any]:
    """Entities, hyperedges of ``kinds`` (memories and episodes with their member
    entities), and the components they join. With ``max_edges``, at most that many
    hyperedges, memories before episodes, each kind in the order it was linked; then
    ``truncated`` says that some were left out."""
    entities, members = await uow.entities.graph(tenant, scope)
    edges: dict[tuple[str, UUID], list[dict[str, str]]] = {}
    for m in members:
        if m.edge_kind in kinds:
            edges.setdefault((m.edge_kind, m.edge_id), []).append(
                {"entity_id": str(m.entity_id), "role": m.role}
            )
    kept = sorted(edges, key=lambda edge: edge[0] != "memory")[:max_edges]
    shown = set(kept)
    members = [m for m in members if (m.edge_kind, m.edge_id) in shown]
    texts = await _edge_texts(uow, tenant, kept)
    return {
        "entities": [
            {"id": str(e.id), "name": e.name, "type": e.type, "aliases": list(e.aliases)}
            for e in entities
        ],
        "hyperedges": [
            {
                "kind": kind,
                "id": str(edge_id),
                "text": texts.get(edge_id),
                "members": edges[kind, edge_id],
            }
            for kind, edge_id in kept
        ],
        "components": [[str(i) for i in group] for group in components(entities, members)],
        "truncated": len(kept) < len(edges),
    }


async def _edge_texts(
    uow: UnitOfWork, tenant: UUID, edges: Sequence[tuple[str, UUID]]
) -> dict[UUID, str]:
    episode_ids = [i for kind, i in edges if kind == "episode"]
    texts = {e.id: e.text for e in await uow.episodes.get_many(tenant, episode_ids)}
    for kind, memory_id in edges:
        if kind == "memory":
            memory = await uow.memories.get(tenant, memory_id)
            if memory is not None:
                texts[memory_id] = memory.text
    return texts
