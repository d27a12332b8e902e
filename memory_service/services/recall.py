"""Read path: hybrid retrieval over the scope, logged under a retrieval id."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import SearchHit, SearchQuery, SearchResult
from memory_service.ports import Embedder, UnitOfWork
from policies.recipes import RecallConfig
from retrievers.hybrid import HybridRetriever, list_functions


async def search(
    uow: UnitOfWork,
    embedder: Embedder,
    tenant: UUID,
    query: SearchQuery,
    config: RecallConfig,
    *,
    log: bool = True,
) -> SearchResult:
    """The best ``query.limit`` hits of the scope, each with the scores of every part."""
    if not query.text.strip():
        raise InvalidInput({"query": "query must not be empty"})
    if query.scope.is_empty():
        raise InvalidInput({"scope": "give at least one of user_id, agent_id, session_id"})
    timings: dict[str, float] = {}
    started = time.perf_counter()
    [vector] = await embedder.embed([query.text])
    timings["embed"] = (time.perf_counter() - started) * 1000
    retriever = HybridRetriever(list_functions(uow), config)
    fused, list_timings = await retriever.retrieve(tenant, query, vector)
    timings.update(list_timings)
    hits = [
        SearchHit(
            kind=f.candidate.kind,
            id=f.candidate.id,
            text=f.candidate.text,
            occurred_at=f.candidate.occurred_at,
            score=f.score,
            scores={"rrf": f.score, **f.parts},
            source_episode_ids=f.candidate.source_episode_ids,
            speaker=f.candidate.speaker,
        )
        for f in fused[: query.limit]
    ]
    retrieval_id = UUID(int=0)
    if log:
        started = time.perf_counter()
        retrieval_id = await uow.retrievals.record(
            tenant,
            query,
            request=_request_record(query, config),
            stages={"timings_ms": timings, "candidates": len(fused)},
            route="fast",
            results=[{"kind": h.kind, "id": str(h.id), "score": h.score} for h in hits],
        )
        timings["log"] = (time.perf_counter() - started) * 1000
    timings["total"] = sum(timings.values())
    return SearchResult(retrieval_id=retrieval_id, hits=hits, timings_ms=timings)


def _request_record(query: SearchQuery, config: RecallConfig) -> dict[str, Any]:
    return {
        "limit": query.limit,
        "since": query.since.isoformat() if query.since else None,
        "until": query.until.isoformat() if query.until else None,
        "kinds": list(query.kinds),
        "preset": config.name,
    }
