"""Read path: fast retrieval, MemRL reranking, the quality gate, and Full Deliberation.

System 1 fuses the preset's lists (RRF) and, with the ``memrl`` reranker, orders the
pool by similarity and learned utility. The gate scores that result; when it fails
(or ``mode="deliberate"``), System 2 reads the raw history. Every search is logged.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import (
    Candidate,
    Completion,
    SearchHit,
    SearchQuery,
    SearchResult,
)
from memory_service.ports import LLM, ChunkRunner, Embedder, UnitOfWork
from memory_service.services.audit import audit_evidence
from memory_service.services.deliberate import deliberate
from memory_service.services.gating import gate_input
from policies.excerpts import merge_overlapping
from policies.gate import GateConfig, assess
from policies.gate_features import FEATURES
from policies.gate_features import features as gate_features
from policies.learned_gate import LearnedGate
from policies.memrl import RerankConfig, Scored, rerank
from policies.recipes import RecallConfig
from policies.time_refs import time_ranges
from retrievers.deliberation import Budget
from retrievers.fusion import Fused, reciprocal_rank_fusion
from retrievers.hybrid import HybridRetriever, list_functions

Mode = Literal["auto", "fast", "deliberate"]


@dataclass(frozen=True, slots=True)
class RecallOptions:
    """Per-request knobs: the route, the request's ``now``, and System 2's budget."""

    mode: Mode = "auto"
    now: datetime | None = None
    llm: LLM | None = None
    chunks: ChunkRunner | None = None
    """Where Full Deliberation's LLM chunks are read (Celery workers); None: in process."""
    gate: GateConfig = field(default_factory=GateConfig)
    budget: Budget = field(default_factory=Budget)
    gate_model: LearnedGate | None = None
    """The learned gate; None routes by the hand-set pass marks alone."""
    audit: bool = True
    """With an LLM, a fast result that passes the other dimensions is also audited for
    answerability (one LLM call) before it is returned."""


async def search(
    uow: UnitOfWork,
    embedder: Embedder,
    tenant: UUID,
    query: SearchQuery,
    config: RecallConfig,
    *,
    options: RecallOptions | None = None,
    log: bool = True,
) -> SearchResult:
    """The best ``query.limit`` items of the scope, with the route taken and its cost."""
    _validate(query)
    opts = options or RecallOptions()
    now = opts.now or datetime.now(UTC)
    timings: dict[str, float] = {}
    cost: dict[str, float] = {"llm_calls": 0, "input_tokens": 0, "output_tokens": 0}
    started = time.perf_counter()
    [vector] = await embedder.embed([query.text])
    timings["embed"] = _ms(started)
    fused, list_timings = await HybridRetriever(list_functions(uow), config).retrieve(
        tenant, _time_filtered(query, config, now), vector
    )
    timings.update(list_timings)
    started = time.perf_counter()
    pool = query.limit * config.candidates if config.window > 0 and config.merge else query.limit
    ranked, similarity = await _rank(uow, tenant, fused, vector, pool, config)
    timings["rerank"] = _ms(started)
    started = time.perf_counter()
    hits = await _passages(uow, tenant, query, ranked, config)
    if config.window > 0:
        timings["context"] = _ms(started)
    gate: dict[str, Any] | None = None
    route = "deliberate" if opts.mode == "deliberate" else "fast"
    if config.gate or opts.mode != "auto":
        started = time.perf_counter()
        route, gate = await _gate(uow, tenant, query, hits, similarity, now, opts, cost, timings)
        timings["gate"] = _ms(started) - timings.get("audit", 0.0)
    notes: dict[str, Any] | None = None
    if route == "deliberate":
        started = time.perf_counter()
        found = await deliberate(
            uow,
            tenant,
            replace(query, limit=pool),
            vector,
            llm=opts.llm,
            budget=opts.budget,
            chunks=opts.chunks,
        )
        deliberated = [_hit(c, {"deliberation": c.score}) for c in found.candidates]
        # Without an LLM, a gated System 2 widens System 1 rather than replacing it:
        # the exhaustive scan's list is fused with the fast one.
        widen = opts.llm is None and opts.mode == "auto"
        ranked = _fuse(ranked, deliberated, pool) if widen else deliberated
        hits = await _passages(uow, tenant, query, ranked, config)
        cost.update(
            llm_calls=cost["llm_calls"] + found.llm_calls,
            input_tokens=cost["input_tokens"] + found.input_tokens,
            output_tokens=cost["output_tokens"] + found.output_tokens,
            chunks_read=found.chunks_read,
            chunks_total=found.chunks_total,
            truncated=float(found.truncated),
            deliberation_errors=len(found.errors),
        )
        notes = {"runner": found.runner, "truncated": found.truncated, "errors": found.errors}
        timings["deliberation"] = _ms(started)
    retrieval_id = UUID(int=0)
    if log:
        started = time.perf_counter()
        retrieval_id = await uow.retrievals.record(
            tenant,
            query,
            request=_request_record(query, config, opts),
            stages={
                "timings_ms": timings,
                "candidates": len(fused),
                "cost": cost,
                "deliberation": notes,
            },
            gate=gate,
            route=route,
            results=[{"kind": h.kind, "id": str(h.id), "score": h.score} for h in hits],
        )
        timings["log"] = _ms(started)
    timings["total"] = sum(timings.values())
    return SearchResult(
        retrieval_id=retrieval_id, hits=hits, timings_ms=timings, route=route, gate=gate, cost=cost
    )


def _validate(query: SearchQuery) -> None:
    if not query.text.strip():
        raise InvalidInput({"query": "query must not be empty"})
    if query.scope.is_empty():
        raise InvalidInput({"scope": "give at least one of user_id, agent_id, session_id"})


async def _gate(
    uow: UnitOfWork,
    tenant: UUID,
    query: SearchQuery,
    hits: Sequence[SearchHit],
    similarity: Mapping[UUID, float],
    now: datetime,
    opts: RecallOptions,
    cost: dict[str, float],
    timings: dict[str, float],
) -> tuple[str, dict[str, Any]]:
    """The quality gate's route and report: its dimensions, the learned probability,
    and, with an LLM, the answerability audit of a result that passes the rest."""
    features = await gate_input(uow, tenant, query, hits, similarity, now)
    signals = gate_features(features, opts.gate)
    learned = None
    if opts.gate_model is not None:
        learned = (opts.gate_model.probability(signals), opts.gate_model.threshold)
    verdict = assess(features, opts.gate, learned=learned, mode=opts.mode)
    audited: dict[str, Any] | None = None
    if verdict.route == "fast" and opts.mode == "auto" and opts.llm and opts.audit:
        started = time.perf_counter()
        call = await audit_evidence(opts.llm, query.text, hits, opts.now)
        _charge(cost, call.completion)
        checks = call.audit.checks() if call.audit else {}
        verdict = assess(features, opts.gate, audit=checks, learned=learned, mode=opts.mode)
        audited = (
            call.audit.model_dump() if call.audit else {"unreadable": call.completion.text[:200]}
        )
        timings["audit"] = _ms(started)
    gate: dict[str, Any] = {
        "scores": verdict.scores,
        "overall": verdict.overall,
        "reasons": verdict.reasons,
        "features": dict(zip(FEATURES, signals, strict=True)),
    }
    if audited is not None:
        gate["audit"] = audited
    return verdict.route, gate


def _fuse(fast: Sequence[SearchHit], slow: Sequence[SearchHit], limit: int) -> list[SearchHit]:
    """The two lists fused by RRF (best ``limit``); each hit keeps its own scores."""
    by_key = {(h.kind, h.id): h for h in (*fast, *slow)}
    fused = reciprocal_rank_fusion(
        {"fast": [_candidate(h) for h in fast], "deliberation": [_candidate(h) for h in slow]}
    )
    out = []
    for f in fused[:limit]:
        hit = by_key[(f.candidate.kind, f.candidate.id)]
        out.append(replace(hit, score=f.score, scores={**hit.scores, "fused": f.score}))
    return out


def _candidate(hit: SearchHit) -> Candidate:
    return Candidate(
        kind=hit.kind,
        id=hit.id,
        text=hit.text,
        occurred_at=hit.occurred_at,
        score=hit.score,
        source_episode_ids=hit.source_episode_ids,
        speaker=hit.speaker,
    )


def _charge(cost: dict[str, float], out: Completion) -> None:
    cost["llm_calls"] += 1
    cost["input_tokens"] += out.input_tokens
    cost["output_tokens"] += out.output_tokens


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _time_filtered(query: SearchQuery, config: RecallConfig, now: datetime) -> SearchQuery:
    """Restrict the lists to the period the query names, when the preset asks for it
    and the caller gave no explicit ``since``/``until``."""
    if not config.time_filter or query.since is not None or query.until is not None:
        return query
    ranges = time_ranges(query.text, now)
    if not ranges:
        return query
    return replace(query, since=min(r[0] for r in ranges), until=max(r[1] for r in ranges))


def _hit(cand: Candidate, scores: dict[str, float], score: float | None = None) -> SearchHit:
    return SearchHit(
        kind=cand.kind,
        id=cand.id,
        text=cand.text,
        occurred_at=cand.occurred_at,
        score=cand.score if score is None else score,
        scores=scores,
        source_episode_ids=cand.source_episode_ids,
        speaker=cand.speaker,
    )


async def _rank(
    uow: UnitOfWork,
    tenant: UUID,
    fused: Sequence[Fused],
    vector: Sequence[float],
    limit: int,
    config: RecallConfig,
) -> tuple[list[SearchHit], dict[UUID, float]]:
    """RRF order, or MemRL's two phases over the pool; plus each item's exact cosine."""
    sims: dict[UUID, tuple[float, float]] = {}
    sims |= await uow.episodes.similarities(
        tenant, [f.candidate.id for f in fused if f.candidate.kind == "episode"], vector
    )
    sims |= await uow.memories.similarities(
        tenant, [f.candidate.id for f in fused if f.candidate.kind == "memory"], vector
    )
    similarity = {item_id: sim for item_id, (sim, _) in sims.items()}
    if config.reranker != "memrl":
        hits = [_hit(f.candidate, {"rrf": f.score, **f.parts}, f.score) for f in fused[:limit]]
        return hits, similarity
    by_id = {f.candidate.id: f for f in fused}
    pool = [
        Scored(
            id=f.candidate.id, similarity=sims[f.candidate.id][0], utility=sims[f.candidate.id][1]
        )
        for f in fused
        if f.candidate.id in sims
    ]
    ranked = rerank(pool, limit, RerankConfig(lam=config.lam, floor=config.floor))
    hits = []
    for r in ranked:
        f = by_id[r.id]
        parts = {"rrf": f.score, **f.parts, "similarity": r.similarity, "utility": r.utility}
        hits.append(_hit(f.candidate, {**parts, "memrl": r.score}, r.score))
    return hits, similarity


async def _passages(
    uow: UnitOfWork,
    tenant: UUID,
    query: SearchQuery,
    ranked: Sequence[SearchHit],
    config: RecallConfig,
) -> list[SearchHit]:
    """The best ``query.limit`` of ``ranked``; with a window, episode hits gain their
    neighbouring turns (provenance covers them too), and overlapping passages merge."""
    if config.window < 1:
        return list(ranked[: query.limit])
    around = await uow.episodes.neighbours(
        tenant, query.scope, [h.id for h in ranked if h.kind == "episode"], config.window
    )
    out = []
    for h in ranked:
        turns = around.get(h.id, []) if h.kind == "episode" else []
        if turns:
            sources = tuple(dict.fromkeys([*h.source_episode_ids, *(t.id for t in turns)]))
            h = replace(h, context=tuple(turns), source_episode_ids=sources)
        out.append(h)
    return merge_overlapping(out, query.limit) if config.merge else out[: query.limit]


def _request_record(
    query: SearchQuery, config: RecallConfig, opts: RecallOptions
) -> dict[str, Any]:
    return {
        "limit": query.limit,
        "since": query.since.isoformat() if query.since else None,
        "until": query.until.isoformat() if query.until else None,
        "kinds": list(query.kinds),
        "preset": config.name,
        "mode": opts.mode,
        "now": opts.now.isoformat() if opts.now else None,
    }
