"""Rerankers: stages that reorder the fused pool (``memory_service.ports.Reranker``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Self

from memory_service.ports import Pool, Search
from policies.memrl import RerankConfig, Scored, rerank


@dataclass(frozen=True, slots=True)
class MemRL:
    """MemRL's two phases over the pool: the most similar items above ``floor``, then
    ordered by ``(1 - lam) z(cosine) + lam z(Q)`` (:func:`policies.memrl.rerank`).
    Each hit's scores gain ``similarity``, ``utility`` and ``memrl``."""

    lam: float = 0.5
    floor: float = 0.2

    async def rerank(self, search: Search, pool: Pool, limit: int) -> Pool:
        scored = [
            Scored(id=h.id, similarity=pool.exact[h.id][0], utility=pool.exact[h.id][1])
            for h in pool.hits
            if h.id in pool.exact
        ]
        by_id = {h.id: h for h in pool.hits}
        hits = []
        for r in rerank(scored, limit, RerankConfig(lam=self.lam, floor=self.floor)):
            h = by_id[r.id]
            scores = {**h.scores, "similarity": r.similarity, "utility": r.utility}
            hits.append(replace(h, score=r.score, scores={**scores, "memrl": r.score}))
        return Pool(hits, pool.exact)

    def create(self, parts: object) -> Self:
        return self
