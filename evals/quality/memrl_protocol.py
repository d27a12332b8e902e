"""``memory-eval memrl``: does MemRL's learned utility help questions it was not
trained on?

For each LoCoMo conversation: ingest it (with consolidation, as ``memory-eval locomo
--consolidate``), split its questions with evidence in two halves by a seeded
shuffle, and measure both halves with the preset (default ``fast``: hybrid lists and
the MemRL reranker) while every utility Q is still 0. Then search each question of
the first half and give feedback through the service's own feedback path
(``services.feedback``): reward +1 to each returned item that holds some of the
question's evidence, -1 to the others (credit per item, by id). Then measure both
halves again. The second half ("test") says whether learned utilities help unseen
questions; the first ("train") whether they help the questions they were learned on.
Feedback searches ask for 10 items (what an agent is shown and rates); measurements
ask for ``--limit`` (50) as ``memory-eval locomo`` does, recall@10 counting the first
10 and recall within 1,000 tokens the rank-order prefix that fits. Figures: those two
and all@10, per conversation and pooled, with the paired change and its 95% interval.
Nothing but the utilities changes between the two measurements (the same ingest).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from evals.datasets import sources
from evals.datasets.locomo import Question, load_locomo
from evals.quality.harness import ScopeRun, consolidate_all, eval_tenant, ingest_turns
from evals.quality.locomo import source_turns
from evals.quality.memrl_report import HALVES, METRICS, PHASES, Results, write_outputs
from evals.quality.pipelines import ServicePipeline
from evals.quality.scoring import retrieval_scores
from memory_service.bootstrap import Components, build_components, build_consolidator
from memory_service.config import Settings
from memory_service.domain.models import SearchHit, SearchQuery
from memory_service.services import feedback, recall


@dataclass(frozen=True, slots=True)
class MemrlConfig:
    data: Path
    out: Path
    conversations: Sequence[str] | None = None
    preset: str = "fast"
    k: int = 10
    """Items a feedback search asks for (what an agent is shown and rates)."""
    limit: int = 50
    """Items a measurement asks for: recall@k counts the first k, recall within a token
    budget the rank-order prefix that fits (as ``memory-eval locomo`` does)."""
    seed: int = 0
    epochs: int = 1
    penalty: float = 1.0
    """The reward given to returned items that hold none of the evidence is -penalty
    (0: they get no feedback)."""
    max_questions: int | None = None
    consolidate: bool = True


def split(questions: Sequence[Question], seed: int, key: str) -> tuple[list[Question], ...]:
    """(train, test): a shuffle seeded by ``seed`` and the conversation, cut in half
    (the odd one goes to test)."""
    shuffled = list(questions)
    random.Random(f"{seed}:{key}").shuffle(shuffled)
    half = len(shuffled) // 2
    return shuffled[:half], shuffled[half:]


def covers(run: ScopeRun, hit: SearchHit) -> frozenset[str]:
    """The evidence labels (dataset turn ids) an item holds, from its provenance."""
    return frozenset(run.label_of[e] for e in hit.source_episode_ids if e in run.label_of)


async def measure(
    pipeline: ServicePipeline, cfg: MemrlConfig, run: ScopeRun, q: Question
) -> dict[str, float]:
    found = await pipeline.retrieve(run, q.question, max(cfg.limit, cfg.k))
    scores = retrieval_scores(found.items, q.evidence, [cfg.k])
    return {m: float(scores[m]) for m in METRICS}


async def reinforce(
    components: Components, cfg: MemrlConfig, run: ScopeRun, q: Question, epoch: int
) -> dict[str, int]:
    """One search of ``q``, logged, then feedback per item: +1 to those holding some of
    its evidence, -penalty to the rest (one feedback event for each reward given)."""
    query = SearchQuery(text=q.question, scope=run.scope, limit=cfg.k)
    async with components.uow() as uow:
        result = await recall.search(
            uow, components.pipeline(cfg.preset), run.tenant, query, budget=components.budget()
        )
    wanted = set(q.evidence)
    good = [h.id for h in result.hits if covers(run, h) & wanted]
    bad = [h.id for h in result.hits if not covers(run, h) & wanted]
    if not cfg.penalty:
        bad = []
    counts = {"events": 0, "rewarded": len(good), "penalised": len(bad)}
    for reward, ids, sign in ((1.0, good, "+"), (-cfg.penalty, bad, "-")):
        if ids:
            await _give(components, run.tenant, result.retrieval_id, reward, ids, q, epoch, sign)
            counts["events"] += 1
    return counts


async def _give(
    components: Components,
    tenant: UUID,
    retrieval_id: UUID,
    reward: float,
    ids: Sequence[UUID],
    q: Question,
    epoch: int,
    sign: str,
) -> None:
    key = f"memrl:{q.question_id}:{epoch}:{sign}"
    async with components.uow() as uow:
        await feedback.give_feedback(
            uow,
            tenant,
            retrieval_id,
            reward,
            feedback_id=feedback.feedback_id_for(tenant, key),
            item_ids=ids,
        )


async def run_conversation(
    components: Components, cfg: MemrlConfig, run: ScopeRun, questions: Sequence[Question]
) -> Results:
    """Measure both halves, train on the first, measure both again."""
    pipeline = ServicePipeline(components, cfg.preset, name=f"{cfg.preset}-memrl")
    halves = dict(zip(HALVES, split(questions, cfg.seed, run.scope.user_id or ""), strict=True))
    results = Results(
        run.scope.user_id or "", {h: [q.question_id for q in halves[h]] for h in halves}
    )
    for q in (*halves["train"], *halves["test"]):
        results.scores[PHASES[0]][q.question_id] = await measure(pipeline, cfg, run, q)
    for epoch in range(cfg.epochs):
        for q in halves["train"]:
            results.add_feedback(await reinforce(components, cfg, run, q, epoch))
    for q in (*halves["train"], *halves["test"]):
        results.scores[PHASES[1]][q.question_id] = await measure(pipeline, cfg, run, q)
    results.categories.update({q.question_id: q.category for q in questions})
    return results


async def run_protocol(cfg: MemrlConfig, components: Components) -> dict[str, Any]:
    """Every conversation in its own scope of one throwaway tenant; returns the summary
    (also written to ``cfg.out``)."""
    conversations = load_locomo(cfg.data, cfg.conversations)
    consolidator = (
        build_consolidator(components.settings, components.embedder, sparse=components.sparse)
        if cfg.consolidate
        else None
    )
    done: list[Results] = []
    started = time.perf_counter()
    async with eval_tenant(components, f"memrl-{int(time.time())}") as tenant:
        for conv in conversations:
            run = await ingest_turns(components, tenant, conv.sample_id, source_turns(conv))
            if consolidator is not None:
                await consolidate_all(components, consolidator)
            questions = [q for q in conv.questions if q.evidence]
            questions = questions[: cfg.max_questions] if cfg.max_questions else questions
            done.append(await run_conversation(components, cfg, run, questions))
    config = {
        **{k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "embedder": components.embedder.name,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return write_outputs(cfg.out, config, done)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help=f"the LoCoMo JSON file (default: ${sources.DATA_DIR_ENV}/{sources.LOCOMO.filename}, "
        f"else data/{sources.LOCOMO.filename})",
    )
    p.add_argument("--conversations", type=lambda s: [x for x in s.split(",") if x], default=None)
    p.add_argument("--out", type=Path, default=Path("evals/out/memrl"))
    p.add_argument("--preset", default="fast", help="a preset with the MemRL reranker")
    p.add_argument("--limit", type=int, default=50, help="items a measurement asks for")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=1, help="feedback passes over the train half")
    p.add_argument("--max-questions", type=int, default=None, help="per conversation")
    p.add_argument(
        "--penalty",
        type=_unit,
        default=1.0,
        help="reward -PENALTY to returned items holding none of the evidence (0: none)",
    )
    p.add_argument("--no-consolidate", action="store_true", help="raw turns only")
    p.add_argument("--embedder", choices=["local", "hash"], default=None)


def _unit(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("give a penalty in [0, 1]")
    return value


def config_of(args: argparse.Namespace) -> MemrlConfig:
    return MemrlConfig(
        data=sources.resolve(sources.LOCOMO, args.data),
        out=args.out,
        conversations=args.conversations,
        preset=args.preset,
        limit=args.limit,
        seed=args.seed,
        epochs=args.epochs,
        penalty=args.penalty,
        max_questions=args.max_questions,
        consolidate=not args.no_consolidate,
    )


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING)
    cfg = config_of(args)  # a missing data file stops here, before the models load
    settings = Settings()
    if args.embedder:
        settings = settings.model_copy(update={"embedder": args.embedder})
    components = build_components(settings)

    async def go() -> dict[str, Any]:
        try:
            return await run_protocol(cfg, components)
        finally:
            await components.dispose()

    summary = asyncio.run(go())
    print(f"wrote {args.out}: {summary['verdict']}")
    return 0
