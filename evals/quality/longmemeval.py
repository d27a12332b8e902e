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
from evals.quality.harness import ScopeRun, SourceTurn, eval_tenant, ingest_turns
from evals.quality.pipelines import Item, Pipeline, build_pipeline, route_fields
from evals.quality.qa import prompt_template
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


def ranked_ids(items: Sequence[Item], run: ScopeRun, level: str) -> list[str]:
    """Retrieved items as turn ids (user turns only) or session ids, first hit first."""
    user_turns = {t.label for t in run.turns if t.role == "user"}
    out: list[str] = []
    for item in items:
        for label in sorted(item.covers):
            if level == "turn" and label not in user_turns:
                continue
            key = label if level == "turn" else run.session_of[label]
            if key not in out:
                out.append(key)
    return out


def retrieval_scores(
    items: Sequence[Item], run: ScopeRun, item: LMEItem, ks: Sequence[int]
) -> dict[str, float]:
    scores: dict[str, float] = {}
    for level, evidence in (("session", evidence_sessions(item)), ("turn", evidence_turns(item))):
        if not evidence:
            continue
        ranked = ranked_ids(items, run, level)
        for k in ks:
            scores[f"{level}_recall_all@{k}"] = metrics.recall_all_at_k(ranked, evidence, k)
            scores[f"{level}_ndcg_any@{k}"] = metrics.ndcg_any_at_k(ranked, evidence, k)
    return scores


async def run_longmemeval(
    cfg: LongMemEvalConfig,
    components: Components,
    llm: LLM | None,
    judge_llm: LLM | None,
    sink: Callable[[dict[str, Any]], None],
    tick: Callable[[str], None],
) -> dict[str, Any]:
    items = load_longmemeval(cfg.data)[: cfg.max_items]
    pipelines = [build_pipeline(name, components) for name in cfg.pipelines]
    facts: dict[str, Any] = {"items": len(items), "abstention": sum(i.is_abstention for i in items)}
    async with eval_tenant(components, f"lme-{int(time.time())}") as tenant:
        for item in items:
            run = await ingest_turns(components, tenant, item.question_id, source_turns(item))
            for pipeline in pipelines:
                sink(await _one(cfg, pipeline, run, item, llm, judge_llm))
            tick(item.question_id)
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
    retrieved = await pipeline.retrieve(run, item.question, max(*cfg.ks, cfg.qa_k))
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
