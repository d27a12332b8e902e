"""The quality gate's view of a fast result: the features ``policies.gate`` scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from uuid import UUID

from memory_service.domain.models import SearchHit, SearchQuery
from memory_service.ports import UnitOfWork
from policies.gate import Evidence, GateInput
from policies.time_refs import time_ranges
from policies.update_rule import content_tokens, is_negated
from retrievers.hypergraph import mention_keys

CONFLICT_OVERLAP = 0.5
"""Two facts that share this much of their content words but differ in negation conflict."""


def conflicts(hits: Sequence[SearchHit]) -> dict[UUID, list[str]]:
    """Pairs of fact-like hits that say a thing and its negation, both still active."""
    facts = [h for h in hits if h.kind != "episode"]
    found: dict[UUID, list[str]] = {}
    for i, a in enumerate(facts):
        words_a = content_tokens(a.text)
        for b in facts[i + 1 :]:
            if is_negated(a.text) == is_negated(b.text):
                continue
            words_b = content_tokens(b.text)
            union = words_a | words_b
            if union and len(words_a & words_b) / len(union) >= CONFLICT_OVERLAP:
                found.setdefault(a.id, []).append(str(b.id))
                found.setdefault(b.id, []).append(str(a.id))
    return found


async def gate_input(
    uow: UnitOfWork,
    tenant: UUID,
    query: SearchQuery,
    hits: Sequence[SearchHit],
    similarity: Mapping[UUID, float],
    now: datetime,
) -> GateInput:
    named = await uow.entities.by_names(tenant, query.scope, mention_keys(query.text))
    members = await uow.entities.of_edges(
        tenant,
        memory_ids=[h.id for h in hits if h.kind == "memory"],
        episode_ids=[h.id for h in hits if h.kind == "episode"],
    )
    names = await uow.entities.names(tenant, list({m.entity_id for m in members}))
    by_edge: dict[UUID, list[str]] = {}
    for m in members:
        by_edge.setdefault(m.edge_id, []).append(names.get(m.entity_id, ""))
    clashes = conflicts(hits)
    evidence = [
        Evidence(
            text=h.text,
            similarity=similarity.get(h.id, h.score),
            occurred_at=h.occurred_at,
            entities=tuple(by_edge.get(h.id, ())),
            kind=h.kind,
            conflicts_with=tuple(clashes.get(h.id, ())),
        )
        for h in hits
    ]
    return GateInput(
        query=query.text,
        query_entities=tuple(dict.fromkeys(e.name for e in named)),
        query_times=tuple(time_ranges(query.text, now)),
        evidence=tuple(evidence),
    )
