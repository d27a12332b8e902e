"""``memory-eval``: LoCoMo and LongMemEval runs, and the performance benchmark.

Runs drive the service's own code in process (the same ingest and recall services
the API serves), write results.jsonl as they go, and finish with summary.json,
report.md and PNG plots; Ctrl-C leaves a valid partial report.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from evals.datasets import sources
from evals.quality import figures, memrl_protocol
from evals.quality.embed_cache import CachedEmbedder, CachedSparse
from evals.quality.locomo import LocomoConfig, run_locomo
from evals.quality.longmemeval import LongMemEvalConfig, run_longmemeval
from evals.quality.output import RunOutput
from evals.quality.progress import RunProgress, progress_for
from evals.quality.qa import build_llm, prompt_template
from memory_service.bootstrap import Components, build_components
from memory_service.config import Settings

RETRIEVAL_PIPELINES = "rag-turns,bm25-turns,hybrid"
CONSOLIDATED_PIPELINES = "rag-turns,bm25-turns,episodes-hybrid,memories-hybrid,hybrid,hybrid-graph"
QA_PIPELINES = "full-context,rag-turns,bm25-turns,hybrid"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("give a positive integer")
    return value


def _ints(text: str) -> list[int]:
    values = sorted({int(x) for x in text.split(",") if x.strip()})
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError("give positive integers, e.g. 5,10,25")
    return values


def _names(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mode", choices=["retrieval", "qa"], default="retrieval")
    p.add_argument("--k", type=_ints, default=[5, 10, 25], help="comma-separated k values")
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help="items each question is asked for (default max(k, 50): enough to fill the "
        "largest token budget; recall@k counts the first k of them)",
    )
    p.add_argument(
        "--progress-every",
        type=float,
        default=10.0,
        help="seconds between progress lines when stderr is not a terminal (0: none)",
    )
    p.add_argument("--pipeline", type=_names, default=None, help="comma-separated pipelines")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--llm", default=None, help="litellm model for answers, or 'scripted'")
    p.add_argument("--judge", default=None, help="litellm model for the judge, or 'scripted'")
    p.add_argument("--judge-seeds", type=int, default=1)
    p.add_argument("--qa-k", type=int, default=10, help="items in the answer prompt")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--embedder", choices=["local", "hash"], default=None)


def _data_argument(p: argparse.ArgumentParser, source: sources.DatasetSource) -> None:
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help=f"the {source.name} JSON file (default: ${sources.DATA_DIR_ENV}/{source.filename}, "
        f"else data/{source.filename}; download: {source.where})",
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="memory-eval", description=__doc__)
    sub = p.add_subparsers(dest="dataset", required=True)
    locomo = sub.add_parser("locomo", help="LoCoMo (locomo10.json or the development split)")
    _data_argument(locomo, sources.LOCOMO)
    locomo.add_argument("--conversations", type=_names, default=None)
    locomo.add_argument("--max-questions", type=int, default=None, help="per conversation")
    locomo.add_argument(
        "--consolidate",
        action="store_true",
        help="run consolidation (facts, entities) after ingesting each conversation",
    )
    locomo.add_argument(
        "--packer-folds",
        type=Path,
        default=None,
        help="pack each conversation with DIR/<its id>.json, a packer model trained without "
        "it (python -m evals.train_packer --folds DIR): held-out figures for value packing",
    )
    _common(locomo)
    lme = sub.add_parser("longmemeval", help="LongMemEval (_s, _m or _oracle JSON)")
    _data_argument(lme, sources.LONGMEMEVAL)
    lme.add_argument("--max-items", type=int, default=None)
    lme.add_argument(
        "--every", type=_positive, default=1, help="every N-th question (a spread over types)"
    )
    _common(lme)
    bench = sub.add_parser("bench", help="store benchmark: ingestion and search latency")
    bench.add_argument("args", nargs=argparse.REMAINDER)
    calibrate = sub.add_parser("calibrate", help="gate thresholds from a run's results.jsonl")
    calibrate.add_argument("args", nargs=argparse.REMAINDER)
    train = sub.add_parser("train-gate", help="train the learned gate on a run's results.jsonl")
    train.add_argument("args", nargs=argparse.REMAINDER)
    quantiles = sub.add_parser("gate-quantiles", help="the learned gate's escalation budget")
    quantiles.add_argument("args", nargs=argparse.REMAINDER)
    replot = sub.add_parser("replot", help="redraw a report folder's plots from its results")
    replot.add_argument("args", nargs=argparse.REMAINDER)
    memrl = sub.add_parser("memrl", help="does MemRL feedback help unseen LoCoMo questions?")
    memrl_protocol.add_arguments(memrl)
    return p


def config_record(args: argparse.Namespace, components: Components) -> dict[str, Any]:
    record = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    record["embedder"] = components.embedder.name
    record["database"] = "external" if components.settings.database_url else "embedded"
    return record


async def run(args: argparse.Namespace, components: Components) -> dict[str, Any]:
    """One evaluation run with the given components; returns the summary."""
    random.seed(args.seed)
    if args.mode == "qa" and not args.llm:
        raise SystemExit("--mode qa needs --llm (a litellm model name, or 'scripted')")
    args.data = _data_file(args)
    default = QA_PIPELINES if args.mode == "qa" else RETRIEVAL_PIPELINES
    if getattr(args, "consolidate", False) and args.mode == "retrieval":
        default = CONSOLIDATED_PIPELINES
    args.pipeline = args.pipeline or _names(default)
    if args.mode == "retrieval" and "full-context" in args.pipeline:
        args.pipeline.remove("full-context")  # not a ranking: it only makes sense for QA
    out = RunOutput(args.out or Path("evals/out") / args.dataset, config_record(args, components))
    llm, judge_llm = build_llm(args.llm), build_llm(args.judge)
    # Each distinct text (a turn, a question) is embedded once per run.
    cache = CachedEmbedder(components.embedder)
    sparse = CachedSparse(components.sparse) if components.sparse else None
    components = dataclasses.replace(components, embedder=cache, sparse=sparse)
    partial = True
    facts: dict[str, Any] = {}
    every = 0.0 if os.environ.get("MEMORY_EVAL_PROGRESS") == "0" else args.progress_every
    with progress_for(sys.stderr, every) as progress:
        try:
            facts = await _dispatch(args, components, llm, judge_llm, out.write, progress)
            partial = False
        except (KeyboardInterrupt, asyncio.CancelledError):
            progress.note("interrupted: writing a partial report")
        finally:
            facts["embedding_cache"] = cache.stats()
            if sparse is not None:
                facts["sparse_cache"] = sparse.stats()
            summary = _finish(args, out, facts, partial)
    return summary


def _data_file(args: argparse.Namespace) -> Path:
    """The run's dataset file: ``--data`` or the default; stops the run when missing."""
    source = sources.LOCOMO if args.dataset == "locomo" else sources.LONGMEMEVAL
    return sources.resolve(source, args.data)


async def _dispatch(
    args: argparse.Namespace,
    components: Components,
    llm: Any,
    judge_llm: Any,
    sink: Callable[[dict[str, Any]], None],
    progress: RunProgress,
) -> dict[str, Any]:
    if args.dataset == "locomo":
        cfg = LocomoConfig(
            data=args.data,
            conversations=args.conversations,
            mode=args.mode,
            ks=args.k,
            pipelines=args.pipeline,
            qa_k=args.qa_k,
            seed=args.seed,
            judge_seeds=args.judge_seeds,
            max_questions=args.max_questions,
            consolidate=args.consolidate,
            limit=args.limit,
            packer_folds=args.packer_folds,
        )
        return await run_locomo(cfg, components, llm, judge_llm, sink, progress)
    lme = LongMemEvalConfig(
        data=args.data,
        mode=args.mode,
        ks=args.k,
        pipelines=args.pipeline,
        qa_k=args.qa_k,
        seed=args.seed,
        max_items=args.max_items,
        every=args.every,
        limit=args.limit,
    )
    return await run_longmemeval(lme, components, llm, judge_llm, sink, progress)


def _finish(
    args: argparse.Namespace, out: RunOutput, facts: dict[str, Any], partial: bool
) -> dict[str, Any]:
    if args.dataset == "locomo":
        prompts = {"answer": prompt_template("locomo_answer")}
        if args.judge:
            prompts["judge"] = prompt_template("locomo_judge")
        return out.finish(
            dataset="LoCoMo",
            group_key="category",
            figures=figures.LOCOMO,
            ks=args.k,
            facts=facts,
            partial=partial,
            exclude="5",
            prompts=prompts,
        )
    return out.finish(
        dataset="LongMemEval",
        group_key="question_type",
        figures=figures.LONGMEMEVAL,
        ks=args.k,
        facts=facts,
        partial=partial,
        prompts={"answer": prompt_template("longmemeval_answer")},
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.dataset == "bench":
        from evals.bench import store

        store.main(args.args)
        return 0
    if args.dataset == "calibrate":
        from evals.quality import calibrate

        return calibrate.main(args.args)
    if args.dataset == "train-gate":
        from evals.quality import train_gate

        return train_gate.main(args.args)
    if args.dataset == "gate-quantiles":
        from evals.quality import gate_budget

        return gate_budget.main(args.args)
    if args.dataset == "replot":
        return figures.main(args.args)
    if args.dataset == "memrl":
        return memrl_protocol.main(args)
    args.data = _data_file(args)  # a missing file stops here, before the models load
    logging.basicConfig(level=logging.WARNING)
    settings = Settings()
    if args.embedder:
        settings = settings.model_copy(update={"embedder": args.embedder})
    components = build_components(settings)

    async def go() -> dict[str, Any]:
        try:
            return await run(args, components)
        finally:
            await components.dispose()

    try:
        summary = asyncio.run(go())
    except KeyboardInterrupt:
        return 130
    print(
        f"wrote {args.out or Path('evals/out') / args.dataset}: "
        f"{'partial' if summary['partial'] else 'complete'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
