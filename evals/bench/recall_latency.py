"""Latency of each read-path stage at a conversation-sized scope, per preset.

    python -m evals.bench.recall_latency [--presets focus-window2,hybrid-window]
        [--queries 200] [--consolidate] [--data data/locomo10.json]

Every conversation of the LoCoMo file goes into ONE scope (the development split's
five make about 3,000 turns, a long-lived user's memory), its episodes encoded for
the learned-sparse list as the worker would, facts consolidated with
``--consolidate``; then the first ``--queries`` questions of the file (spread over
the conversations) are asked of each preset with limit 10 in ``auto`` mode, one at a
time, after two warm-up queries. Prints, per preset, the wall time of the search and
of every stage (``timings_ms`` of the search) at p50 / p95 / p99, and the share of
questions sent to System 2. A benchmark, not a test: the machine is shared, so
compare presets measured in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.datasets import sources
from evals.datasets.locomo import load_locomo
from evals.quality.harness import (
    SourceTurn,
    consolidate_all,
    encode_sparse,
    eval_tenant,
    ingest_turns,
)
from evals.quality.locomo import source_turns
from memory_service.bootstrap import build_components, build_consolidator
from memory_service.config import Settings
from memory_service.domain.models import SearchQuery
from memory_service.services import recall

PRESETS = "hybrid,hybrid-window,focus-window2,sparse-focus2,gated-focus2"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def interleaved(questions: list[list[str]], n: int) -> list[str]:
    """Up to ``n`` questions taken a conversation at a time, round robin."""
    out: list[str] = []
    for i in range(max(map(len, questions), default=0)):
        out += [qs[i] for qs in questions if i < len(qs)]
    return out[:n]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    components = build_components(Settings())
    conversations = load_locomo(args.data)
    turns: list[SourceTurn] = []
    for conv in conversations:
        turns += [
            SourceTurn(
                f"{conv.sample_id}:{t.label}", t.session, t.speaker, t.role, t.text, t.occurred_at
            )
            for t in source_turns(conv)
        ]
    questions = interleaved(
        [[q.question for q in c.questions] for c in conversations], args.queries
    )
    report: dict[str, Any] = {"turns": len(turns), "questions": len(questions), "presets": {}}
    async with eval_tenant(components, f"latency-{int(time.time())}") as tenant:
        started = time.perf_counter()
        run_ = await ingest_turns(components, tenant, "latency", turns)
        report["ingest_s"] = round(time.perf_counter() - started, 1)
        if args.consolidate:
            consolidator = build_consolidator(
                components.settings, components.embedder, sparse=components.sparse
            )
            report["consolidate_s"] = round(
                (await consolidate_all(components, consolidator))["seconds"], 1
            )
        started = time.perf_counter()
        report["sparse_encoded"] = await encode_sparse(components, run_)
        report["sparse_encode_s"] = round(time.perf_counter() - started, 1)
        for name in args.presets.split(","):
            pipeline = components.pipeline(name)
            walls: list[float] = []
            stages: dict[str, list[float]] = defaultdict(list)
            routes = 0
            for i, text in enumerate([*questions[:2], *questions]):
                async with components.uow(tenant) as uow:
                    t0 = time.perf_counter()
                    result = await recall.search(
                        uow,
                        pipeline,
                        tenant,
                        SearchQuery(text, run_.scope, limit=10),
                        now=datetime.now(UTC),
                    )
                    wall = (time.perf_counter() - t0) * 1000
                if i < 2:
                    continue  # warm-up: models load, caches fill
                walls.append(wall)
                routes += result.route == "deliberate"
                for stage, ms in result.timings_ms.items():
                    stages[stage].append(ms)
            row: dict[str, Any] = {"search": [round(pct(walls, q), 1) for q in (50, 95, 99)]}
            row |= {s: [round(pct(v, q), 1) for q in (50, 95, 99)] for s, v in stages.items()}
            row["deliberate_share"] = round(routes / len(walls), 3)
            report["presets"][name] = row
            print(json.dumps({name: row}), flush=True)
    await components.dispose()
    return report


def main() -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help=f"the LoCoMo file (default: ${sources.DATA_DIR_ENV}/{sources.LOCOMO.filename}, "
        f"else data/{sources.LOCOMO.filename})",
    )
    p.add_argument("--presets", default=PRESETS)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--consolidate", action="store_true")
    args = p.parse_args()
    args.data = sources.resolve(sources.LOCOMO, args.data)
    report = asyncio.run(run(args))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
