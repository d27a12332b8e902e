"""LoCoMo: ingest each conversation into a fresh scope, ask every question, score it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.datasets.locomo import CATEGORY_NAMES, Conversation, Question, load_locomo
from evals.quality.harness import (
    ScopeRun,
    SourceTurn,
    consolidate_all,
    encode_sparse,
    eval_tenant,
    ingest_turns,
    scope_counts,
)
from evals.quality.pipelines import Item, Pipeline, build_pipeline, route_fields
from evals.quality.progress import RunProgress
from evals.quality.qa import answer, judge, usd_cost
from evals.quality.scoring import BUDGETS, answer_scores, retrieval_limit, retrieval_scores
from memory_service.bootstrap import Components, build_consolidator
from memory_service.ports import LLM


@dataclass
class LocomoConfig:
    data: Path
    conversations: Sequence[str] | None
    mode: str  # "retrieval" | "qa"
    ks: Sequence[int]
    pipelines: Sequence[str]
    qa_k: int = 10
    seed: int = 0
    judge_seeds: int = 1
    max_questions: int | None = None
    consolidate: bool = False
    limit: int | None = None
    """Items each question is asked for (None: max(k, 50), enough for every budget)."""
    packer_folds: Path | None = None
    """Each conversation's packer model is ``<packer_folds>/<its id>.json`` (trained
    without it), so presets that pack by value per token are measured held out."""
    extra: dict[str, Any] = field(default_factory=dict)


NOT_MENTIONED = "Not mentioned in the conversation"
Sink = Callable[[dict[str, Any]], None]


def source_turns(conv: Conversation) -> list[SourceTurn]:
    return [
        SourceTurn(
            label=t.dia_id,
            session=f"S{t.session}",
            speaker=t.speaker,
            role="user",
            text=t.text,
            occurred_at=t.occurred_at,
        )
        for t in conv.turns
    ]


async def run_locomo(
    cfg: LocomoConfig,
    components: Components,
    llm: LLM | None,
    judge_llm: LLM | None,
    sink: Sink,
    progress: RunProgress,
) -> dict[str, Any]:
    """Run every (conversation, question, pipeline); each result goes to ``sink`` at once.

    Returns facts about the data (counts, skipped items) for the summary.
    """
    conversations = load_locomo(cfg.data, cfg.conversations)
    pipelines = [build_pipeline(name, components) for name in cfg.pipelines]
    facts: dict[str, Any] = {"conversations": [c.sample_id for c in conversations]}
    facts["questions"] = sum(len(c.questions) for c in conversations)
    facts["malformed_evidence_tokens"] = sum(
        q.malformed_evidence for c in conversations for q in c.questions
    )
    facts["skipped_no_evidence"] = 0
    facts["limit"] = retrieval_limit(cfg.ks, cfg.limit)
    progress.expect(sum(len(_asked(cfg, c)) for c in conversations))
    facts["ingest_seconds"] = 0.0
    consolidator = (
        build_consolidator(components.settings, components.embedder, llm, sparse=components.sparse)
        if cfg.consolidate
        else None
    )
    async with eval_tenant(components, f"locomo-{int(time.time())}") as tenant:
        for conv in conversations:
            progress.phase(f"{conv.sample_id}: ingesting")
            started = time.perf_counter()
            run = await ingest_turns(components, tenant, conv.sample_id, source_turns(conv))
            facts["ingest_seconds"] += time.perf_counter() - started
            if consolidator is not None:
                progress.phase(f"{conv.sample_id}: consolidating")
                done = await consolidate_all(components, consolidator)
                counts = await scope_counts(components, run)
                facts.setdefault("consolidation", {})[conv.sample_id] = {
                    "episodes": len(run.turns),
                    **counts,
                    "seconds": round(done["seconds"], 2),
                    "episodes_per_s": round(len(run.turns) / done["seconds"], 1),
                }
            started = time.perf_counter()
            if await encode_sparse(components, run):
                facts["sparse_encode_seconds"] = facts.get("sparse_encode_seconds", 0.0) + (
                    time.perf_counter() - started
                )
            if cfg.packer_folds is not None:
                held_out = with_packer(components, cfg.packer_folds / f"{conv.sample_id}.json")
                pipelines = [build_pipeline(name, held_out) for name in cfg.pipelines]
            for q in _asked(cfg, conv):
                if not q.evidence and cfg.mode == "retrieval":
                    facts["skipped_no_evidence"] += 1
                    progress.tick(conv.sample_id)
                    continue
                for pipeline in pipelines:
                    sink(await _one(cfg, pipeline, run, conv, q, llm, judge_llm))
                progress.tick(conv.sample_id)
    return facts


def with_packer(components: Components, model: Path) -> Components:
    """``components`` whose presets pack with the packer model at ``model`` (their
    pipelines built anew; the database, models and caches shared)."""
    if not model.is_file():
        raise SystemExit(f"no packer model {model}: python -m evals.train_packer --folds")
    settings = components.settings.model_copy(update={"packer_model": model})
    return dataclasses.replace(components, settings=settings)


def _asked(cfg: LocomoConfig, conv: Conversation) -> Sequence[Question]:
    return conv.questions[: cfg.max_questions] if cfg.max_questions else conv.questions


def shown(items: Sequence[Item], ks: Sequence[int]) -> int:
    """How many items a record lists: the first max(k), or all within the largest budget."""
    used, fit = 0, 0
    for item in items:
        used += item.tokens
        if used > BUDGETS[-1]:
            break
        fit += 1
    return max(*ks, fit)


async def _one(
    cfg: LocomoConfig,
    pipeline: Pipeline,
    run: ScopeRun,
    conv: Conversation,
    q: Question,
    llm: LLM | None,
    judge_llm: LLM | None,
) -> dict[str, Any]:
    limit = retrieval_limit(cfg.ks, cfg.limit)
    limit = max(limit, cfg.qa_k) if cfg.mode == "qa" else limit
    started = time.perf_counter()
    found = await pipeline.retrieve(run, q.question, limit)
    items = found.items
    listed = items[: shown(items, cfg.ks)]
    record: dict[str, Any] = {
        "pipeline": pipeline.name,
        "conversation": conv.sample_id,
        "question_id": q.question_id,
        "category": q.category,
        "category_name": CATEGORY_NAMES[q.category],
        "question": q.question,
        "gold": q.answer,
        "evidence": list(q.evidence),
        "retrieved": [sorted(i.covers) for i in listed],
        "retrieved_kinds": [i.kind for i in listed],
        "retrieved_tokens": [i.tokens for i in listed],
        "retrieval_ms": (time.perf_counter() - started) * 1000,
        **route_fields(found),
    }
    if q.evidence:
        record["scores"] = retrieval_scores(items, q.evidence, cfg.ks)
    if cfg.mode == "qa" and llm is not None:
        context = items if pipeline.name == "full-context" else items[: cfg.qa_k]
        out = await answer(
            llm, q.question, context, speakers=(conv.speaker_a, conv.speaker_b), seed=cfg.seed
        )
        record.update(
            prediction=out.text,
            answer_scores=answer_scores(out.text, q.answer, q.category),
            context_tokens=sum(i.tokens for i in context),
            input_tokens=out.input_tokens,
            output_tokens=out.output_tokens,
            llm_calls=out.calls,
            answer_ms=out.latency_ms,
            cost_usd=usd_cost(llm.model, out.input_tokens, out.output_tokens),
        )
        if judge_llm is not None:
            # Category 5 asks about things never said: the right answer is to decline.
            gold = NOT_MENTIONED if q.category == 5 else q.answer
            record["judge"] = [
                await judge(judge_llm, q.question, gold, out.text, seed=cfg.seed + s)
                for s in range(cfg.judge_seeds)
            ]
    record["latency_ms"] = record["retrieval_ms"] + record.get("answer_ms", 0.0)
    return record
