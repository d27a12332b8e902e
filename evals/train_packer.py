"""Train the packer's model (``policies/value_model.json``) on the LoCoMo development
split, and measure packing by value per token leave-one-conversation-out.

1. Pools: each conversation is ingested (and consolidated) through the service's own
   write path; each question with evidence is asked of the default preset's candidate
   lists, fused, and each episode hit gets its two neighbours a side (``Window(2)``):
   the first ``--limit`` (100) hits, as the packer receives them. ``--pools FILE``
   keeps them (pickle) so a second run skips this step.
2. Rows: every hit, labelled "its turn (a fact: one of its source turns) is evidence",
   and every neighbour of the first 40 episode hits, labelled "it is evidence"; the
   features are the service's own (``policies.value_packing``).
3. Models: two logistic regressions (torch, L-BFGS, a small L2 penalty, standardised
   features; probabilities, not class-balanced scores, since the packer adds them).
4. Held out: each conversation packed by the models trained on the others, scored as
   the runner scores (each item rendered as ``/v1/context`` renders it, recall within
   250..4,000 tokens), beside today's packer (``DistinctPassages(wide=10)``, the
   default preset's) on the same pools. ``--folds DIR`` writes each fold's model as
   ``DIR/<conversation>.json`` for ``memory-eval locomo --packer-folds DIR``.
5. The shipped model is fitted on every conversation (``--out``); its in-sample figures
   are not a result and are not reported.

``--tiny`` asks a few questions of two unconsolidated conversations, for the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import pickle
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from statistics import fmean
from typing import Any
from uuid import UUID

from evals.datasets.locomo import CATEGORY_NAMES, load_locomo
from evals.quality.harness import consolidate_all, encode_sparse, eval_tenant, ingest_turns
from evals.quality.locomo import source_turns
from evals.quality.output import git_commit
from evals.quality.rendering import hit_tokens
from evals.quality.scoring import BUDGETS, budget_key, budget_scores
from memory_service.bootstrap import Components, build_components, build_consolidator
from memory_service.config import Settings
from memory_service.domain.models import SearchHit, SearchQuery
from memory_service.services import recall
from memory_service.services.recall.parts import Parts
from memory_service.services.recall.presets import FOCUSED, SPARSE_LISTS, Preset
from policies.distinct import distinct_passages
from policies.packing import TopK
from policies.time_refs import time_ranges
from policies.value_features import Period, Ranked
from policies.value_model import BUNDLED, HIT_FEATURES, NEIGHBOUR_FEATURES, Logistic, ValueModel
from policies.value_packing import NEIGHBOURS_OF, value_passages
from retrievers.passages import Window

LIMIT = 100
L2 = 1e-4


@dataclass(frozen=True, slots=True)
class Asked:
    """One question's pool, as the packer receives it, and what holds its evidence."""

    conversation: str
    question: str
    category: int
    evidence: frozenset[str]
    hits: tuple[SearchHit, ...]
    label_of: Mapping[UUID, str]
    now: datetime
    """When it is asked: the conversation's last turn ("last year" is resolved against it)."""

    @property
    def periods(self) -> tuple[Period, ...]:
        """The periods the question names, as the service resolves them."""
        return _periods(self.question, self.now)


@cache
def _periods(question: str, now: datetime) -> tuple[Period, ...]:
    return tuple(time_ranges(question, now))


async def collect(
    components: Components,
    data: Path,
    conversations: Sequence[str] | None,
    max_questions: int | None = None,
    *,
    consolidate: bool = True,
    limit: int = LIMIT,
) -> list[Asked]:
    """Every question's pool (see the module docstring, step 1)."""
    preset = Preset("packer-pools", SPARSE_LISTS, passages=Window(2), packer=TopK())
    pipeline = preset.build(components.embedder, Parts(sparse=components.sparse))
    consolidator = (
        build_consolidator(components.settings, components.embedder, None, sparse=components.sparse)
        if consolidate
        else None
    )
    out: list[Asked] = []
    async with eval_tenant(components, f"packer-{int(time.time())}") as tenant:
        for conv in load_locomo(data, conversations):
            run = await ingest_turns(components, tenant, conv.sample_id, source_turns(conv))
            if consolidator is not None:
                await consolidate_all(components, consolidator)
            await encode_sparse(components, run)
            asked = [q for q in conv.questions if q.evidence][:max_questions]
            now = run.present
            for q in asked:
                query = SearchQuery(text=q.question, scope=run.scope, limit=limit)
                async with components.uow() as uow:
                    found = await recall.search(uow, pipeline, tenant, query, now=now, log=False)
                out.append(
                    Asked(
                        conv.sample_id,
                        q.question,
                        q.category,
                        frozenset(q.evidence),
                        tuple(found.hits),
                        dict(run.label_of),
                        now,
                    )
                )
    return out


Rows = tuple[list[dict[str, float]], list[bool]]


def rows(asked: Sequence[Asked]) -> tuple[Rows, Rows]:
    """(hit rows, neighbour rows), each (features, is evidence)."""
    hit_x: list[dict[str, float]] = []
    hit_y: list[bool] = []
    near_x: list[dict[str, float]] = []
    near_y: list[bool] = []
    for a in asked:
        ranked = Ranked.of(a.hits, a.question, periods=a.periods)
        for rank, hit in enumerate(a.hits):
            own = ranked.hit(rank)
            turns = [hit.id] if hit.kind == "episode" else list(hit.source_episode_ids)
            hit_x.append(own)
            hit_y.append(any(a.label_of.get(t) in a.evidence for t in turns))
            if hit.kind == "episode" and rank < NEIGHBOURS_OF:
                for turn in hit.context:
                    near = ranked.neighbour(rank, own, turn)
                    near_x.append(near)
                    near_y.append(a.label_of.get(turn.id) in a.evidence)
    return (hit_x, hit_y), (near_x, near_y)


def fit(x: Sequence[Mapping[str, float]], y: Sequence[bool], features: Sequence[str]) -> Logistic:
    """A logistic regression on standardised ``features`` (L-BFGS, L2 ``L2``)."""
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(2)
    xs = torch.tensor([[row.get(f, 0.0) for f in features] for row in x], dtype=torch.float64)
    ys = torch.tensor([float(v) for v in y], dtype=torch.float64)
    mean = xs.mean(0)
    scale = xs.std(0).clamp_min(1e-6)
    z = (xs - mean) / scale
    w = torch.zeros(len(features), dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=200, line_search_fn="strong_wolfe")
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def closure() -> float:
        opt.zero_grad()
        loss = loss_fn(z @ w + b, ys) + L2 * (w * w).sum()
        loss.backward()
        return float(loss.detach())

    opt.step(closure)  # type: ignore[no-untyped-call]
    return Logistic(
        features=tuple(features),
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        weights=tuple(float(v) for v in w.detach()),
        bias=float(b.detach()[0]),
    )


def train(asked: Sequence[Asked], info: Mapping[str, Any] | None = None) -> ValueModel:
    (hx, hy), (nx, ny) = rows(asked)
    if not any(hy) or all(hy) or not any(ny) or all(ny):
        raise SystemExit("too few questions to train on: both labels are needed in both models")
    return ValueModel(fit(hx, hy, HIT_FEATURES), fit(nx, ny, NEIGHBOUR_FEATURES), info)


Packing = Callable[[Asked], list[SearchHit]]


def focus(a: Asked) -> list[SearchHit]:
    """Today's packer of the default preset (``FOCUSED``), limit 50."""
    return distinct_passages(a.hits, 50, max_tokens=FOCUSED.max_tokens, wide=FOCUSED.wide)


def budget_recall(packed: Sequence[SearchHit], a: Asked) -> dict[int, float]:
    """Recall within each budget of the rank-order prefix that fits, as the runner counts
    (each item rendered as ``/v1/context`` renders it)."""
    covers = [frozenset(a.label_of.get(e, "") for e in h.source_episode_ids) for h in packed]
    tokens = [hit_tokens(h)[1] for h in packed]
    scores = budget_scores(covers, tokens, sorted(a.evidence))
    return {budget: scores[budget_key(budget)] for budget in BUDGETS}


def _valued_by(model: ValueModel) -> Packing:
    def pack(a: Asked) -> list[SearchHit]:
        return value_passages(a.hits, a.question, 50, model, periods=a.periods)

    return pack


def held_out(asked: Sequence[Asked], folds: Path | None = None) -> dict[str, dict[str, float]]:
    """Each conversation packed with models trained on the others, beside today's
    packer: mean recall per budget, overall and per category."""
    scores: dict[str, dict[str, list[float]]] = {
        "value": defaultdict(list),
        "focus": defaultdict(list),
    }
    for conv in sorted({a.conversation for a in asked}):
        model = train([a for a in asked if a.conversation != conv], {"held_out": conv})
        if folds is not None:
            folds.mkdir(parents=True, exist_ok=True)
            (folds / f"{conv}.json").write_text(json.dumps(model.to_json(), indent=1))
        packers: dict[str, Packing] = {"value": _valued_by(model), "focus": focus}
        for a in (a for a in asked if a.conversation == conv):
            for name, pack in packers.items():
                for budget, r in budget_recall(pack(a), a).items():
                    scores[name][f"overall@{budget}"].append(r)
                    scores[name][f"{CATEGORY_NAMES[a.category]}@{budget}"].append(r)
    return {
        name: {key: round(fmean(vs), 4) for key, vs in by.items()} for name, by in scores.items()
    }


def table(figures: Mapping[str, Mapping[str, float]]) -> str:
    head = "| packer | " + " | ".join(f"{b:,} tok" for b in BUDGETS) + " |"
    lines = [head, "|---" * (len(BUDGETS) + 1) + "|"]
    for name, by in figures.items():
        cells = " | ".join(f"{by[f'overall@{b}']:.3f}" for b in BUDGETS)
        lines.append(f"| {name} | {cells} |")
    cats = [c for c in CATEGORY_NAMES.values() if f"{c}@2000" in next(iter(figures.values()))]
    lines += ["", "| packer | " + " | ".join(f"{c} 1k / 2k" for c in cats) + " |"]
    lines.append("|---" * (len(cats) + 1) + "|")
    for name, by in figures.items():
        cells = " | ".join(f"{by[f'{c}@1000']:.3f} / {by[f'{c}@2000']:.3f}" for c in cats)
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evals.train_packer", description=__doc__)
    p.add_argument("--data", type=Path, required=True, help="the LoCoMo development split")
    p.add_argument("--conversations", default=None, help="comma-separated sample ids")
    p.add_argument("--max-questions", type=int, default=None, help="per conversation")
    p.add_argument("--no-consolidate", action="store_true")
    p.add_argument("--pools", type=Path, default=None, help="pickle of the pools: read or write")
    p.add_argument("--folds", type=Path, default=None, help="write each fold's model here")
    p.add_argument("--out", type=Path, default=BUNDLED, help="the model trained on everything")
    p.add_argument(
        "--tiny", action="store_true", help="two conversations, 6 questions each, unconsolidated"
    )
    return p


async def run(args: argparse.Namespace, components: Components) -> dict[str, Any]:
    if args.tiny:
        args.conversations = args.conversations or "conv-26,conv-41"
        args.max_questions = args.max_questions or 6
        args.no_consolidate = True
    names = args.conversations.split(",") if args.conversations else None
    started = time.perf_counter()
    if args.pools is not None and args.pools.is_file():
        asked: list[Asked] = pickle.loads(args.pools.read_bytes())
    else:
        asked = await collect(
            components,
            args.data,
            names,
            args.max_questions,
            consolidate=not args.no_consolidate,
        )
        if args.pools is not None:
            args.pools.write_bytes(pickle.dumps(asked))
    pooled = time.perf_counter() - started
    figures = held_out(asked, args.folds)
    counts: dict[str, int] = defaultdict(int)
    for a in asked:
        counts[a.conversation] += 1
    info = {
        "trained_on": dict(counts),
        "data": args.data.name,
        "commit": git_commit() or "unknown",
        "consolidated": not args.no_consolidate,
        "held_out": figures,
        "note": "figures are leave-one-conversation-out; the model itself saw every one",
    }
    model = train(asked, info)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model.to_json(), indent=1) + "\n")
    summary = {**info, "pools_seconds": round(pooled, 1), "out": str(args.out)}
    if args.folds is not None:
        (args.folds / "held_out.json").write_text(json.dumps(summary, indent=1))
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    components = build_components(Settings())

    async def go() -> dict[str, Any]:
        try:
            return await run(args, components)
        finally:
            await components.dispose()

    summary = asyncio.run(go())
    print(table(summary["held_out"]))
    print(f"model: {summary['out']} (pools in {summary['pools_seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
