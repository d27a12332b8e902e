"""Hybrid retrieval: named ranked lists (vector, full text, hypergraph), fused by RRF."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from memory_service.domain.models import Candidate, SearchQuery
from memory_service.ports import UnitOfWork
from policies.recipes import RecallConfig, Source
from retrievers.fusion import Fused, reciprocal_rank_fusion
from retrievers.hypergraph import HypergraphRetriever

ListFn = Callable[[UUID, SearchQuery, Sequence[float], int], Awaitable[list[Candidate]]]


def list_functions(uow: UnitOfWork) -> dict[Source, ListFn]:
    """Every ranked list a preset can name, bound to one unit of work."""

    def text(tier: str) -> ListFn:
        source = uow.episodes if tier == "episodes" else uow.memories

        async def run(t: UUID, q: SearchQuery, _: Sequence[float], k: int) -> list[Candidate]:
            return await source.text_search(t, q, k)

        return run

    return {
        "episodes.vector": uow.episodes.vector_search,
        "episodes.text": text("episodes"),
        "memories.vector": uow.memories.vector_search,
        "memories.text": text("memories"),
        "graph": HypergraphRetriever(uow.entities).retrieve,
    }


_KIND_OF: dict[Source, str | None] = {
    "episodes.vector": "episode",
    "episodes.text": "episode",
    "memories.vector": "memory",
    "memories.text": "memory",
    "graph": None,
}


@dataclass(frozen=True, slots=True)
class HybridRetriever:
    """Runs the lists a :class:`RecallConfig` names and fuses them by RRF."""

    lists: Mapping[Source, ListFn]
    config: RecallConfig

    async def retrieve(
        self, tenant: UUID, query: SearchQuery, vector: Sequence[float]
    ) -> tuple[list[Fused], dict[str, float]]:
        """Fused candidates, best first, and the milliseconds each list took."""
        ranked: dict[str, list[Candidate]] = {}
        timings: dict[str, float] = {}
        for source in self.config.sources:
            kind = _KIND_OF[source]
            if kind is not None and kind not in query.kinds:
                continue
            started = time.perf_counter()
            ranked[source] = await self.lists[source](tenant, query, vector, self.config.pool)
            timings[source] = (time.perf_counter() - started) * 1000
        return reciprocal_rank_fusion(ranked, k=self.config.rrf_k), timings
