"""What one maximum-size batch costs: ``POST /v1/messages`` with ``max_batch_messages``
messages of 8,000 characters, with the real MiniLM, while another tenant keeps reading.

    python -m evals.bench.batch_cost [--messages 500] [--chars 8000] [--consolidate]

Figures, printed as JSON (and written to ``evals/out/bench_batch_cost.json``):

- ``model``: the bare embedder (``LocalEmbedder.embed_sync``, from a worker thread as
  the service calls it) over the batch's texts, cut before tokenizing as it is now and
  whole as it was (``adapters.clipping``);
- ``request``: the batch over real HTTP (uvicorn in a thread of this process, as in
  ``evals.bench.ingest``): seconds, and the CPU seconds of the server's event loop, the
  model's threads and PostgreSQL;
- ``bystander``: another tenant's ``GET /v1/episodes`` and ``POST /v1/search`` (its
  query goes through the same embedding queue) one after another while the batch runs:
  count, median and largest latency;
- ``consolidation`` (``--consolidate``): the batch's consolidation job (spaCy facts,
  their embeddings and decisions, SPLADE-tiny over the episodes) run as the background
  worker runs it, after the request: off the request path, but CPU on the same machine.

PostgreSQL is the embedded server in its own data folder (``--data-dir``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from evals.bench.ingest import ROOT, Server, cpu_seconds
from evals.bench.store import sentences
from memory_service.adapters.local_embedder import LocalEmbedder
from memory_service.adapters.splade import SpladeEncoder
from memory_service.api.app import create_app
from memory_service.bootstrap import Components, build_consolidator, migrate
from memory_service.config import Settings
from memory_service.db.embedded import asyncpg_url, start_embedded
from memory_service.db.session import make_engine, make_sessionmaker
from memory_service.services import tenants
from memory_service.services.consolidate import consolidate

DB_NAME = "memory_batch_cost_bench"


def long_texts(messages: int, chars: int, seed: int = 7) -> list[str]:
    """``messages`` chat-like texts of ``chars`` characters each, all different."""
    pool = sentences(4 * chars // 40 + messages, seed)
    return [" ".join(pool[i : i + chars // 20])[:chars] for i in range(messages)]


def model_seconds(embedder: LocalEmbedder, texts: list[str]) -> dict[str, float]:
    """The bare embedder over ``texts`` in its batches: cut before tokenizing (now),
    and whole (``SentenceTransformer.encode`` on the full texts, as before)."""
    model = embedder._load()

    def whole() -> None:
        model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)

    def timed(run: Any) -> float:
        started = time.perf_counter()
        run()
        return round(time.perf_counter() - started, 2)

    with ThreadPoolExecutor(1) as worker:
        clipped = worker.submit(timed, lambda: embedder.embed_sync(texts)).result()
        full = worker.submit(timed, whole).result()
    return {"clipped_s": clipped, "whole_s": full, "per_message_ms": 1000 * clipped / len(texts)}


async def keys(components: Components) -> tuple[tuple[str, UUID], str]:
    """(the batch's key, its tenant) and the bystander's key, each of its own tenant."""
    async with components.uow() as uow:
        a = await tenants.issue_key(uow, "batch", "bench")
        b = await tenants.issue_key(uow, "bystander", "bench")
    await components.engine.dispose()  # its connections belong to this loop
    return (a.secret, a.key.tenant_id), b.secret


def summary(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"count": 0}
    return {
        "count": len(latencies),
        "median_ms": round(statistics.median(latencies), 1),
        "max_ms": round(max(latencies), 1),
    }


async def batch_with_bystander(base: str, batch_key: str, other_key: str, texts: list[str]) -> Any:
    """The batch, and the bystander's reads one after another until it is answered."""
    seen: dict[str, list[float]] = {"episodes": [], "search": []}
    async with (
        httpx.AsyncClient(base_url=base, timeout=600, headers=auth(batch_key)) as a,
        httpx.AsyncClient(base_url=base, timeout=600, headers=auth(other_key)) as b,
    ):
        await b.post("/v1/messages", json={"user_id": "b", "messages": [{"content": "hi"}]})
        body = {"user_id": "a", "messages": [{"content": t} for t in texts]}
        started = time.perf_counter()
        batch = asyncio.create_task(a.post("/v1/messages", json=body))
        while not batch.done():
            for name, call in (
                ("episodes", b.get("/v1/episodes", params={"user_id": "b"})),
                ("search", b.post("/v1/search", json={"user_id": "b", "query": "hi there"})),
            ):
                sent = time.perf_counter()
                (await call).raise_for_status()
                seen[name].append((time.perf_counter() - sent) * 1000)
            await asyncio.sleep(0.2)
        answer = await batch
        elapsed = time.perf_counter() - started
    answer.raise_for_status()
    return answer.json(), round(elapsed, 2), {k: summary(v) for k, v in seen.items()}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def consolidation_seconds(components: Components, tenant: UUID, job_id: UUID) -> Any:
    """The job run once, in one transaction, as the background worker runs it; on an
    engine of this event loop (the server's pooled connections died with its loop)."""
    engine = make_engine(components.database_url)
    components = replace(components, engine=engine, sessions=make_sessionmaker(engine))
    parts = build_consolidator(components.settings, components.embedder, sparse=SpladeEncoder())
    async with components.uow(tenant) as uow:
        job = await uow.jobs.get(tenant, job_id)
        if job is None:
            raise SystemExit(f"job {job_id} not found")
        started = time.perf_counter()
        report = await consolidate(uow, parts, job)
        elapsed = time.perf_counter() - started
    await components.engine.dispose()
    return {"seconds": round(elapsed, 2), "episodes": report.episodes, "facts": report.facts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=Settings().max_batch_messages)
    parser.add_argument("--chars", type=int, default=8_000)
    parser.add_argument("--consolidate", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".memory-data-bench" / "pg")
    args = parser.parse_args()

    pg, _ = start_embedded(args.data_dir.resolve())
    pg.psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE);")
    pg.psql(f"CREATE DATABASE {DB_NAME};")
    url = asyncpg_url(pg.get_uri(), DB_NAME)
    migrate(url)
    settings = Settings(database_url=url, max_batch_messages=max(args.messages, 1))
    embedder = LocalEmbedder(device="cpu")
    engine = make_engine(url)
    components = Components(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        embedder=embedder,
        database_url=url,
    )
    texts = long_texts(args.messages, args.chars)
    (batch_key, batch_tenant), other_key = asyncio.run(keys(components))
    figures: dict[str, Any] = {"messages": args.messages, "chars": args.chars}
    figures["model"] = model_seconds(embedder, texts)
    app = create_app(components=components, background=False)
    with Server(app) as server:
        postmaster = int(pg.get_pid())
        before = cpu_seconds(server, postmaster)
        answer, seconds, bystander = asyncio.run(
            batch_with_bystander(server.base, batch_key, other_key, texts)
        )
        after = cpu_seconds(server, postmaster)
    figures["request"] = {
        "seconds": seconds,
        "cpu_s": {k: round(after[k] - before[k], 2) for k in after if k != "clients"},
    }
    figures["bystander"] = bystander
    print(json.dumps(figures, indent=2), flush=True)
    if args.consolidate:
        job = UUID(answer["job_id"])
        figures["consolidation"] = asyncio.run(consolidation_seconds(components, batch_tenant, job))
    out = ROOT / "evals" / "out" / "bench_batch_cost.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))
    if args.consolidate:
        print(json.dumps({"consolidation": figures["consolidation"]}, indent=2))


if __name__ == "__main__":
    main()
