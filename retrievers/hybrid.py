"""Hybrid retrieval: vector and full-text lists over episodes and memories, fused."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from memory_service.domain.models import Candidate, HitKind, SearchQuery
from memory_service.ports import CandidateSource
from policies.recipes import RecallConfig
from retrievers.fusion import Fused, reciprocal_rank_fusion

KIND_OF_TIER: dict[str, HitKind] = {"episodes": "episode", "memories": "memory"}


@dataclass(frozen=True, slots=True)
class HybridRetriever:
    """Runs the lists a :class:`RecallConfig` names and fuses them by RRF."""

    tiers: Mapping[str, CandidateSource]
    config: RecallConfig

    async def retrieve(
        self, tenant: UUID, query: SearchQuery, vector: Sequence[float]
    ) -> tuple[list[Fused], dict[str, float]]:
        """Fused candidates, best first, and the milliseconds each list took."""
        lists: dict[str, list[Candidate]] = {}
        timings: dict[str, float] = {}
        for source in self.config.sources:
            tier_name, method = source.split(".")
            if KIND_OF_TIER[tier_name] not in query.kinds:
                continue
            tier = self.tiers[tier_name]
            started = time.perf_counter()
            if method == "vector":
                lists[source] = await tier.vector_search(tenant, query, vector, self.config.pool)
            else:
                lists[source] = await tier.text_search(tenant, query, self.config.pool)
            timings[source] = (time.perf_counter() - started) * 1000
        return reciprocal_rank_fusion(lists, k=self.config.rrf_k), timings
