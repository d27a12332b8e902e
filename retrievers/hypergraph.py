"""Hypergraph retrieval (HGMem's local investigation): the entities a query names, their
hyperedges, and one more hop through the entities those hyperedges join."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from memory_service.domain.models import Candidate, SearchQuery
from memory_service.domain.text import MENTION_STOPWORDS
from memory_service.ports import EntityRepository

_WORD = re.compile(r"[\w][\w'’-]*")


def mention_keys(text: str, longest: int = 3) -> list[str]:
    """Lower-cased 1..``longest``-word spans of the query, possessives dropped, that do not
    start or end with a stop word: the names an entity could be stored under."""
    words = [re.sub(r"['’]s$", "", w.lower()) for w in _WORD.findall(text)]
    keys: list[str] = []
    for size in range(1, longest + 1):
        for i in range(len(words) - size + 1):
            span = words[i : i + size]
            if span[0] in MENTION_STOPWORDS or span[-1] in MENTION_STOPWORDS:
                continue
            keys.append(" ".join(span))
    return list(dict.fromkeys(keys))


@dataclass(frozen=True, slots=True)
class HypergraphRetriever:
    """Scores: hyperedges joining more of the query's entities rank first (a fact that
    joins Caroline and Melanie answers "what do both like?"); then cosine similarity.
    Second-hop hyperedges follow, ranked by similarity alone."""

    entities: EntityRepository
    seed_similarity: float = 0.55
    hop_entities: int = 5

    async def retrieve(
        self, tenant: UUID, query: SearchQuery, vector: Sequence[float], k: int
    ) -> list[Candidate]:
        seeds = await self._seeds(tenant, query, vector)
        if not seeds:
            return []
        where = query.filters
        first = await self.entities.edges_near(tenant, query.scope, seeds, vector, k, where)
        ranked = [cand for cand, _ in first]
        hop = await self._second_hop(tenant, seeds, ranked[: self.hop_entities])
        if hop:
            seen = {(c.kind, c.id) for c in ranked}
            second = await self.entities.edges_near(tenant, query.scope, hop, vector, k, where)
            extra = sorted(
                (c for c, _ in second if (c.kind, c.id) not in seen), key=lambda c: -c.score
            )
            ranked += extra
        return [c for c in ranked if c.kind in query.kinds][:k]

    async def _seeds(self, tenant: UUID, query: SearchQuery, vector: Sequence[float]) -> list[UUID]:
        named = await self.entities.by_names(tenant, query.scope, mention_keys(query.text))
        ids = [e.id for e in named]
        for entity, similarity in await self.entities.nearest(tenant, query.scope, vector, 3):
            if similarity >= self.seed_similarity and entity.id not in ids:
                ids.append(entity.id)
        return ids

    async def _second_hop(
        self, tenant: UUID, seeds: Sequence[UUID], edges: Sequence[Candidate]
    ) -> list[UUID]:
        if not edges:
            return []
        members = await self.entities.of_edges(
            tenant,
            memory_ids=[c.id for c in edges if c.kind == "memory"],
            episode_ids=[c.id for c in edges if c.kind == "episode"],
        )
        return list(dict.fromkeys(m.entity_id for m in members if m.entity_id not in set(seeds)))
