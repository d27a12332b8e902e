"""CPU per search: how much of one ``POST /v1/search`` is Python on the event loop, and how
much the process spends in all (the encoders' threads included), PostgreSQL's not counted.

    python -m evals.bench.search_cpu [--turns 1000] [--queries 150] [--preset NAME]
        [--profile FILE]

The app is served in process over ASGI (``httpx.ASGITransport``: the client's own
Python counts too), built as ``memory-service serve`` builds it, on the embedded
server in ``--data-dir``. A new scope (a user no earlier run used: the folder is kept
between runs, and a scope that grew run after run would make runs incomparable) gets
``--turns`` turns of 10 words each from the load script's real words and 3,000
pseudo-words (consolidation left queued); then the same client asks ``--queries``
searches one after another (eight of those words each, or with ``--locomo`` a LoCoMo
file's questions, which are shorter: the encoders' share differs). Printed: latency
p50 / p95, the main thread's CPU per search (``time.thread_time``: the event loop),
the process's (``getrusage``: every thread), and the stages' p50 as the responses
report them.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import random
import resource
import statistics
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from evals.bench import load
from memory_service.api.app import create_app
from memory_service.bootstrap import build_components
from memory_service.config import Settings
from memory_service.services import tenants

WORDS = [*load.WORDS, *(f"w{i}x" for i in range(3000))]


def process_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(data_dir=args.data_dir, rate_limit_per_minute=0)
    components = build_components(settings)
    async with components.uow() as uow:
        secret = (await tenants.issue_key(uow, "search-cpu", "bench")).secret
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(components=components)),
        base_url="http://bench",
        headers={"Authorization": f"Bearer {secret}"},
        timeout=300,
    )
    rng = random.Random(args.seed)
    user = f"user-{uuid.uuid4().hex}"  # the texts follow --seed; the scope is new
    try:
        for _ in range(0, args.turns, 50):
            said = [{"content": " ".join(rng.choices(WORDS, k=10))} for _ in range(50)]
            r = await client.post("/v1/messages", json={"user_id": user, "messages": said})
            r.raise_for_status()
        queries = [" ".join(rng.choices(WORDS, k=8)) + "?" for _ in range(args.queries)]
        if args.locomo is not None:  # real questions: about 15 word pieces, not 37
            asked = [q["question"] for c in json.loads(args.locomo.read_text()) for q in c["qa"]]
            queries = asked[: args.queries]

        async def search(text: str) -> tuple[float, dict[str, float]]:
            body: dict[str, Any] = {"user_id": user, "query": text, "limit": 10}
            if args.preset:
                body["preset"] = args.preset
            started = time.perf_counter()
            r = await client.post("/v1/search", json=body)
            r.raise_for_status()
            return (time.perf_counter() - started) * 1000, dict(r.json()["timings_ms"])

        for text in queries[:5]:  # models loaded, statements prepared
            await search(text)
        profile = cProfile.Profile() if args.profile else None
        statements = [0]

        def count(*_: Any) -> None:
            statements[0] += 1

        event.listen(components.engine.sync_engine, "before_cursor_execute", count)
        loop_cpu, all_cpu, wall = time.thread_time(), process_cpu_s(), time.perf_counter()
        if profile is not None:
            profile.enable()
        results = [await search(text) for text in queries]
        if profile is not None:
            profile.disable()
            profile.dump_stats(args.profile)
        n = len(queries)
        loop_cpu = (time.thread_time() - loop_cpu) * 1000 / n
        all_cpu = (process_cpu_s() - all_cpu) * 1000 / n
        wall = (time.perf_counter() - wall) * 1000 / n
        event.remove(components.engine.sync_engine, "before_cursor_execute", count)
    finally:
        await client.aclose()
        await components.dispose()
    latencies = sorted(ms for ms, _ in results)
    stages: dict[str, float] = {}
    for name in results[0][1]:
        stages[name] = round(statistics.median(t.get(name, 0.0) for _, t in results), 1)
    return {
        "turns": args.turns,
        "queries": n,
        "p50_ms": round(latencies[n // 2], 1),
        "p95_ms": round(latencies[min(n - 1, int(n * 0.95))], 1),
        "event_loop_cpu_ms_per_search": round(loop_cpu, 1),
        "process_cpu_ms_per_search": round(all_cpu, 1),
        "wall_ms_per_search": round(wall, 1),
        "statements_per_search": round(statements[0] / n, 2),
        "stages_p50_ms": stages,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m evals.bench.search_cpu", description=__doc__)
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--preset", default=None, help="default: the service's")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--locomo",
        type=Path,
        default=None,
        help="ask the questions of this LoCoMo file (the first --queries) instead of "
        "eight random words each",
    )
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/memory-bench-search-cpu"))
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="write cProfile statistics of the event loop's thread over the timed searches "
        "here (the figures then include the profiler's own cost)",
    )
    report = asyncio.run(run(parser.parse_args(argv)))
    for key, value in report.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
