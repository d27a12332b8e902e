"""LongMemEval: each item's haystack in its own scope; session- and turn-level retrieval
over user turns (abstention items excluded), and judged QA with per-type prompts."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.datasets.longmemeval import (
    LMEItem,
    evidence_sessions,
    evidence_turns,
    judge_prompt,
    judge_verdict,
    load_longmemeval,
)
from evals.quality import metrics
from evals.quality.harness import ScopeRun, SourceTurn, encode_sparse, eval_tenant, ingest_turns
from evals.quality.pipelines import Item, Pipeline, build_pipeline, route_fields
from evals.quality.progress import RunProgress
from evals.quality.qa import prompt_template
from evals.quality.scoring import budget_scores, retrieval_limit
from memory_service.bootstrap import Components
from memory_service.domain.models import ChatMessage
from memory_service.ports import LLM


@dataclass
class LongMemEvalConfig:
    data: Path
    mode: str
    ks: Sequence[int]
    pipelines: Sequence[str]
    qa_k: int = 10
    seed: int = 0
    max_items: int | None = None
    every: int = 1
    """Take every ``every``-th question of the file (the file is grouped by question
    type, so this spreads a short run over every type), then at most ``max_items``."""
    limit: int | None = None
    """Items each question is asked for (None: max(k, 50), enough for every budget)."""


def source_turns(item: LMEItem) -> list[SourceTurn]:
    return [
        SourceTurn(
            label=t.turn_id,
            session=t.session_id,
            speaker=t.role,
            role=t.role,
            text=t.content,
            occurred_at=t.occurred_at,
        )
        for session in item.sessions
        for t in session
    ]


def item_ids(items: Sequence[Item], run: ScopeRun, level: str) -> list[list[str]]:
    """Per item, the turn ids (user turns only, in time order) or session ids it covers."""
    order = {t.label: i for i, t in enumerate(run.turns) if t.role == "user" or level != "turn"}
    out = []
    for item in items:
        labels = sorted((c for c in item.covers if c in order), key=order.__getitem__)
        ids = labels if level == "turn" else [run.session_of[c] for c in labels]
        out.append(list(dict.fromkeys(ids)))
    return out


def ranked_ids(items: Sequence[Item], run: ScopeRun, level: str) -> list[str]:
    """Retrieved items as turn ids (user turns only) or session ids, first hit first."""
    out: dict[str, None] = {}
    for ids in item_ids(items, run, level):
        out.update(dict.fromkeys(ids))
    return list(out)


def retrieval_scores(
    items: Sequence[Item], run: ScopeRun, item: LMEItem, ks: Sequence[int]
) -> dict[str, float]:
    """LongMemEval's recall_any@k, recall_all@k and ndcg_any@k over the first k session
    (or user-turn) ids, and evidence recall within each token budget, at both levels."""
    scores: dict[str, float] = {}
    for level, evidence in (("session", evidence_sessions(item)), ("turn", evidence_turns(item))):
        if not evidence:
            continue
        ranked = ranked_ids(items, run, level)
        for k in ks:
            scores[f"{level}_recall_any@{k}"] = metrics.recall_any_at_k(ranked, evidence, k)
            scores[f"{level}_recall_all@{k}"] = metrics.recall_all_at_k(ranked, evidence, k)
            scores[f"{level}_ndcg_any@{k}"] = metrics.ndcg_any_at_k(ranked, evidence, k)
        covers = [frozenset(ids) for ids in item_ids(items, run, level)]
        tokens = [i.tokens for i in items]
        scores.update(budget_scores(covers, tokens, sorted(evidence), prefix=f"{level}_"))
    for k in ks:
        scores[f"tokens@{k}"] = float(sum(i.tokens for i in items[:k]))
    scores["tokens_retrieved"] = float(sum(i.tokens for i in items))
    return scores


async def run_longmemeval(
    cfg: LongMemEvalConfig,
    components: Components,
    llm: LLM | None,
    judge_llm: LLM | None,
    sink: Callable[[dict[str, Any]], None],
    progress: RunProgress,
) -> dict[str, Any]:
    """Ingest each item's haystack into a tenant of its own, ask its question of every
    pipeline, drop the tenant; returns facts about the data and the time spent ingesting.

    One tenant per item keeps the tables at one haystack (~500 turns), not the whole
    file's (119k turns for the 240-question half): a scope-filtered vector scan then
    reads the item's own turns, and inserts do not slow down as the run goes on.
    """
    items = load_longmemeval(cfg.data)[:: cfg.every][: cfg.max_items]
    pipelines = [build_pipeline(name, components) for name in cfg.pipelines]
    facts: dict[str, Any] = {"items": len(items), "abstention": sum(i.is_abstention for i in items)}
    facts["limit"] = retrieval_limit(cfg.ks, cfg.limit)
    facts["ingest_seconds"] = 0.0
    progress.expect(len(items))
    stamp = int(time.time())
    for item in items:
        async with eval_tenant(components, f"lme-{stamp}-{item.question_id}") as tenant:
            progress.phase(f"{item.question_id}: ingesting")
            started = time.perf_counter()
            run = await ingest_turns(components, tenant, item.question_id, source_turns(item))
            run.asked_at = item.question_date
            await encode_sparse(components, run)
            facts["ingest_seconds"] += time.perf_counter() - started
            progress.phase(f"{item.question_id}: asking")
            for pipeline in pipelines:
                sink(await _one(cfg, pipeline, run, item, llm, judge_llm))
            progress.tick(item.question_id)
    facts["ingest_seconds"] = round(facts["ingest_seconds"], 1)
    return facts


async def _one(
    cfg: LongMemEvalConfig,
    pipeline: Pipeline,
    run: ScopeRun,
    item: LMEItem,
    llm: LLM | None,
    judge_llm: LLM | None,
) -> dict[str, Any]:
    started = time.perf_counter()
    limit = max(retrieval_limit(cfg.ks, cfg.limit), cfg.qa_k)
    retrieved = await pipeline.retrieve(run, item.question, limit)
    found = retrieved.items
    record: dict[str, Any] = {
        "pipeline": pipeline.name,
        "question_id": item.question_id,
        "question_type": item.question_type,
        "abstention": item.is_abstention,
        "question": item.question,
        "gold": item.answer,
        "retrieval_ms": (time.perf_counter() - started) * 1000,
        **route_fields(retrieved),
    }
    if not item.is_abstention:
        record["scores"] = retrieval_scores(found, run, item, cfg.ks)
    if cfg.mode == "qa" and llm is not None:
        record.update(await _answer(cfg, llm, judge_llm, item, found, pipeline.name))
    record["latency_ms"] = record["retrieval_ms"] + record.get("answer_ms", 0.0)
    return record


async def _answer(
    cfg: LongMemEvalConfig,
    llm: LLM,
    judge_llm: LLM | None,
    item: LMEItem,
    found: Sequence[Item],
    pipeline: str,
) -> dict[str, Any]:
    context = found if pipeline == "full-context" else found[: cfg.qa_k]
    prompt = prompt_template("longmemeval_answer").format(
        context="\n".join(i.text for i in context),
        question_date=item.question_date.strftime("%Y/%m/%d %H:%M"),
        question=item.question,
    )
    started = time.perf_counter()
    out = await llm.complete([ChatMessage("user", prompt)], max_tokens=128, seed=cfg.seed)
    result: dict[str, Any] = {
        "prediction": out.text,
        "context_tokens": sum(i.tokens for i in context),
        "input_tokens": out.input_tokens,
        "output_tokens": out.output_tokens,
        "llm_calls": 1,
        "answer_ms": (time.perf_counter() - started) * 1000,
        "answer_scores": {},
    }
    if judge_llm is not None:
        verdict_prompt = judge_prompt(
            item.question_type, item.question, item.answer, out.text, item.is_abstention
        )
        reply = await judge_llm.complete([ChatMessage("user", verdict_prompt)], max_tokens=10)
        result["judge"] = [judge_verdict(reply.text)]
    return result
