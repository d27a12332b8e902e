"""The read path as one pipeline of stages, built once per preset.

embed -> candidate lists -> fusion -> rerankers -> passages -> packing -> gate ->
(System 2 -> passages -> packing, when the gate escalates). Each stage is timed into
the search's :class:`~memory_service.domain.trace.Trace`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from memory_service.domain.models import Candidate, SearchHit, SearchQuery
from memory_service.domain.search import Budget, Mode, Route, finite_or_zero
from memory_service.domain.trace import Trace
from memory_service.ports import (
    Deliberator,
    Embedder,
    Fusion,
    Gate,
    Packer,
    PassageBuilder,
    Pool,
    Reranker,
    Retriever,
    Search,
    UnitOfWork,
    metrics,
)
from memory_service.services.spaces import require_space


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one run of the pipeline found, and how."""

    hits: list[SearchHit]
    route: Route
    gate: dict[str, Any] | None
    candidates: int
    """How many candidates fusion proposed."""
    trace: Trace


@dataclass(frozen=True, slots=True)
class RecallPipeline:
    name: str
    embedder: Embedder
    lists: tuple[Retriever, ...]
    fusion: Fusion
    pool: int
    """How many candidates each list proposes."""
    rerankers: tuple[Reranker, ...]
    passages: PassageBuilder
    packer: Packer
    depth: int
    """Ranked candidates kept per requested item (more than 1 when passages merge and
    freed slots go to the next ones)."""
    gate: Gate
    deliberator: Deliberator

    async def run(
        self,
        uow: UnitOfWork,
        tenant: UUID,
        query: SearchQuery,
        *,
        mode: Mode = "auto",
        now: datetime | None = None,
        budget: Budget | None = None,
        audit: bool = True,
    ) -> Outcome:
        """The best ``query.limit`` items of the scope, with the route taken."""
        trace = Trace()
        await require_space(uow, tenant, self.embedder, write=False)
        with trace.stage("embed"):
            [vector] = await self.embedder.embed([query.text])
        search = Search(
            uow=uow,
            tenant=tenant,
            query=query,
            vector=vector,
            now=now or datetime.now(UTC),
            asked_now=now,
            mode=mode,
            budget=budget or Budget(),
            trace=trace,
            audit=audit,
        )
        fused = await self._candidates(search)
        limit = query.limit * self.depth
        with trace.stage("rerank"):
            pool = await self._rerank(search, fused, limit)
        hits = await self._pack(search, pool.hits[:limit])
        route: Route = "deliberate" if mode == "deliberate" else "fast"
        gate = None
        if self.gate.applies(search):
            with trace.stage("gate"), metrics.purpose("gate"):
                routing = await self.gate.route(search, hits, pool.similarity())
            route, gate = routing.route, dict(routing.report)
        if route == "deliberate":
            with trace.stage("deliberation"), metrics.purpose("deliberation"):
                ranked = await self.deliberator.deliberate(search, pool.hits[:limit], limit)
            hits = await self._pack(search, ranked)
        metrics.search_route(route)
        return Outcome(hits, route, gate, len(fused), trace)

    async def _candidates(self, search: Search) -> list[SearchHit]:
        ranked: dict[str, Sequence[Candidate]] = {}
        for source in self.lists:
            if source.kind is not None and source.kind not in search.query.kinds:
                continue
            with search.trace.stage(source.name):
                found = await source.retrieve(search, self.pool)
            ranked[source.name] = [_finite(c) for c in found]
        return self.fusion.fuse(ranked)

    async def _rerank(self, search: Search, fused: Sequence[SearchHit], limit: int) -> Pool:
        """The rerankers in order, over the fused pool with each item's exact cosine
        and utility (which the gate reads too)."""
        uow, tenant, vector = search.uow, search.tenant, search.vector
        exact = await uow.episodes.similarities(
            tenant, [h.id for h in fused if h.kind == "episode"], vector
        )
        exact |= await uow.memories.similarities(
            tenant, [h.id for h in fused if h.kind == "memory"], vector
        )
        exact = {item: (finite_or_zero(cos), finite_or_zero(q)) for item, (cos, q) in exact.items()}
        pool = Pool(list(fused), exact)
        for reranker in self.rerankers:
            pool = await reranker.rerank(search, pool, limit)
        return pool

    async def _pack(self, search: Search, ranked: Sequence[SearchHit]) -> list[SearchHit]:
        with search.trace.stage("context"):
            return self.packer.pack(search, await self.passages.build(search, ranked))


def _finite(candidate: Candidate) -> Candidate:
    """``candidate``, its score 0.0 when not finite (a zero vector's cosine is NaN)."""
    score = finite_or_zero(candidate.score)
    return candidate if score == candidate.score else replace(candidate, score=score)
