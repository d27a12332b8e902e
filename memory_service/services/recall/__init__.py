"""Read path: run a preset's pipeline of stages and log the search.

System 1 fuses the preset's candidate lists and reranks them; the quality gate scores
that result and, when it fails (or ``mode="deliberate"``), System 2 reads the raw
history. Every search is logged under a ``retrieval_id`` that feedback refers to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from memory_service.domain.models import SearchQuery, SearchResult
from memory_service.domain.search import Budget, Mode
from memory_service.ports import UnitOfWork
from memory_service.services.recall.pipeline import Outcome, RecallPipeline

__all__ = ["Mode", "RecallPipeline", "search"]


async def search(
    uow: UnitOfWork,
    pipeline: RecallPipeline,
    tenant: UUID,
    query: SearchQuery,
    *,
    mode: Mode = "auto",
    now: datetime | None = None,
    budget: Budget | None = None,
    audit: bool = True,
    log: bool = True,
) -> SearchResult:
    """The best ``query.limit`` items of the scope, with the route taken and its cost.

    ``now`` resolves "last week" (default: the clock); ``budget`` bounds System 2;
    ``audit=False`` keeps the gate from auditing answerability with the LLM (for a
    caller that audits its own answer)."""
    found = await pipeline.run(uow, tenant, query, mode=mode, now=now, budget=budget, audit=audit)
    trace = found.trace
    retrieval_id = UUID(int=0)
    if log:
        with trace.stage("log"):
            retrieval_id = await uow.retrievals.record(
                tenant,
                query,
                request=_request_record(query, pipeline.name, mode, now),
                stages={
                    "timings_ms": dict(trace.timings_ms),
                    "candidates": found.candidates,
                    "cost": trace.cost,
                    "deliberation": trace.notes.get("deliberation"),
                },
                gate=found.gate,
                route=found.route,
                results=[{"kind": h.kind, "id": str(h.id), "score": h.score} for h in found.hits],
            )
    return _result(retrieval_id, found)


def _result(retrieval_id: UUID, found: Outcome) -> SearchResult:
    timings = dict(found.trace.timings_ms)
    timings["total"] = found.trace.total_ms()
    return SearchResult(
        retrieval_id=retrieval_id,
        hits=found.hits,
        timings_ms=timings,
        route=found.route,
        gate=found.gate,
        cost=dict(found.trace.cost),
    )


def _request_record(
    query: SearchQuery, preset: str, mode: Mode, now: datetime | None
) -> dict[str, Any]:
    return {
        "limit": query.limit,
        "since": query.since.isoformat() if query.since else None,
        "until": query.until.isoformat() if query.until else None,
        "kinds": list(query.kinds),
        "preset": preset,
        "mode": mode,
        "now": now.isoformat() if now else None,
    }
