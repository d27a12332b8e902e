"""Store benchmark: ingestion throughput and search latency through the real service path.

    python -m evals.bench_store [--quick] [--sizes 10000,100000] [--queries 200]

Ingestion posts batches to ``POST /v1/messages`` and compares with the embedder alone;
search times ``POST /v1/search`` and the HNSW list against an exact NumPy scan.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from memory_service.adapters.local_embedder import LocalEmbedder
from memory_service.api.app import create_app
from memory_service.bootstrap import Components, migrate
from memory_service.config import Settings
from memory_service.db.embedded import asyncpg_url, start_embedded
from memory_service.db.session import make_engine, make_sessionmaker
from memory_service.domain.models import NewEpisode, Scope, SearchQuery
from memory_service.services import tenants

Matrix = npt.NDArray[np.float32]
ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / ".memory-data-bench"
DB_NAME = "memory_bench"
BATCH = 50
CHUNK = 1_000
POOL = 3_000
NOISE = 0.025
K = 10
FILL_SCOPE = Scope(user_id="bench-fill")
INGEST_SCOPE = Scope(user_id="bench-ingest")

NOTE = (
    f"Fill: {POOL:,} template sentences embedded once with the real model; fill vectors are "
    f"those plus N(0, {NOISE}^2) noise, renormalised; fill texts repeat the sentences (small "
    "vocabulary, so full-text matches are broad: a pessimistic case for episodes.text). "
    "HNSW list and NumPy exact exclude the query embedding (the 'embed' stage)."
)
_WHO = ("I", "My sister", "Our team lead", "The landlord", "My doctor", "Tom", "Priya", "Gran")
_DID = ("booked", "cancelled", "moved", "finally finished", "complained about", "forgot", "loved")
_WHAT = (
    *("the dentist appointment", "a trip to Lisbon", "the quarterly report", "yoga classes"),
    *("the new espresso machine", "the car insurance renewal", "a pottery workshop", "our lease"),
    *("the flight to Osaka", "the kitchen renovation", "her thesis defence", "the cookbook"),
)
_WHEN = ("yesterday", "last Friday", "this morning", "two weeks ago", "in March", "after lunch")
_WHY = ("because the price went up", "since work got busy", "after reading the reviews")
_ASK = ("What did {w} say about {x}?", "When is {x} scheduled?", "Do I still need {x}?")


def sentences(n: int, seed: int) -> list[str]:
    """``n`` short, varied chat-like sentences, the same for the same seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        if rng.random() < 0.15:
            out.append(rng.choice(_ASK).format(w=rng.choice(_WHO), x=rng.choice(_WHAT)))
            continue
        parts = [rng.choice(_WHO), rng.choice(_DID), rng.choice(_WHAT), rng.choice(_WHEN)]
        why = [rng.choice(_WHY)] if rng.random() < 0.5 else []
        out.append(" ".join([*parts, *why]) + ".")
    return out


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def spread(name: str, values: Sequence[float]) -> dict[str, float]:
    return {f"{name}_p50_ms": pct(values, 50), f"{name}_p95_ms": pct(values, 95)}


def machine(embedder: LocalEmbedder) -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    models = [
        ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")
    ]
    import torch

    return {
        "cores": os.cpu_count(),
        "cpu": models[0] if models else "unknown",
        "torch_device": embedder.device,
        "torch_threads": torch.get_num_threads(),
        "load_avg_1m_at_start": os.getloadavg()[0],  # other work on the box skews every figure
    }


@dataclass
class Bench:
    components: Components
    client: httpx.AsyncClient
    tenant: UUID
    embedder: LocalEmbedder


def fresh_database() -> tuple[Any, str]:
    server, _ = start_embedded((DATA_DIR / "pg").resolve())
    server.psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE);")
    server.psql(f"CREATE DATABASE {DB_NAME};")
    url = asyncpg_url(server.get_uri(), DB_NAME)
    migrate(url)
    return server, url


async def ingest(bench: Bench, texts: list[str]) -> dict[str, float]:
    """Messages/s through ``POST /v1/messages`` and through the embedder alone.

    The two alternate batch by batch, so that other load on the machine hits both alike.
    """
    batches = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]
    bench.embedder.embed_sync(batches[0])  # warm-up: model load, first-call allocations
    embed_s = service_s = 0.0
    for batch in batches:
        started = time.perf_counter()
        bench.embedder.embed_sync(batch)
        embed_s += time.perf_counter() - started
        body = {"user_id": INGEST_SCOPE.user_id, "messages": [{"content": t} for t in batch]}
        started = time.perf_counter()
        (await bench.client.post("/v1/messages", json=body)).raise_for_status()
        service_s += time.perf_counter() - started
    return {
        "messages": len(texts),
        "batch": BATCH,
        "embedder_msgs_per_s": len(texts) / embed_s,
        "service_msgs_per_s": len(texts) / service_s,
        "overhead_ratio": service_s / embed_s,
        "overhead_ms_per_batch": (service_s - embed_s) * 1000 / len(batches),
    }


def noisy(base: Matrix, start: int, count: int) -> Matrix:
    """Pool vectors ``start..start+count`` (cycled) plus seeded Gaussian noise, renormalised."""
    rng = np.random.default_rng((7, start))
    rows = base[np.arange(start, start + count) % len(base)]
    rows = rows + rng.normal(0.0, NOISE, rows.shape).astype(np.float32)
    out: Matrix = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return out


async def fill(
    bench: Bench, pool: list[str], base: Matrix, start: int, stop: int
) -> tuple[list[UUID], Matrix]:
    """Store episodes ``start..stop`` of the fill scope in chunks; their ids and vectors."""
    ids: list[UUID] = []
    chunks: list[Matrix] = []
    for lo in range(start, stop, CHUNK):
        count = min(CHUNK, stop - lo)
        items = [NewEpisode(role="user", text=pool[(lo + i) % len(pool)]) for i in range(count)]
        chunks.append(noisy(base, lo, count))
        async with bench.components.uow() as uow:
            stored = await uow.episodes.add_many(
                bench.tenant, FILL_SCOPE, items, chunks[-1].tolist(), datetime.now(UTC)
            )
        ids.extend(e.id for e in stored)
    async with bench.components.engine.begin() as conn:
        await conn.exec_driver_sql("ANALYZE episodes")
    return ids, np.vstack(chunks)


def exact_top(matrix: Matrix, query: Matrix) -> npt.NDArray[np.intp]:
    scores = matrix @ query
    top = np.argpartition(-scores, K)[:K]
    return top[np.argsort(-scores[top])]


async def service_search(bench: Bench, query: str) -> tuple[float, dict[str, float]]:
    body = {"user_id": FILL_SCOPE.user_id, "query": query, "limit": K}
    started = time.perf_counter()
    response = await bench.client.post("/v1/search", json=body)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed, dict(response.json()["timings_ms"])


async def hnsw_ids(bench: Bench, query: str, vector: Sequence[float]) -> tuple[float, set[UUID]]:
    started = time.perf_counter()
    async with bench.components.uow() as uow:
        hits = await uow.episodes.vector_search(
            bench.tenant, SearchQuery(text=query, scope=FILL_SCOPE), vector, K
        )
    return (time.perf_counter() - started) * 1000, {h.id for h in hits}


async def search(
    bench: Bench, size: int, queries: list[str], qvecs: Matrix, matrix: Matrix, ids: list[UUID]
) -> dict[str, Any]:
    """Latencies of the service, the HNSW list alone and the exact scan; recall@10."""
    await service_search(bench, queries[0])  # warm-up
    service, hnsw, exact, recall = [], [], [], []
    stages: dict[str, list[float]] = {}
    for query, qvec in zip(queries, qvecs, strict=True):
        ms, timings = await service_search(bench, query)
        service.append(ms)
        for name, value in timings.items():
            stages.setdefault(name, []).append(value)
        ms, got = await hnsw_ids(bench, query, qvec.tolist())
        hnsw.append(ms)
        started = time.perf_counter()
        top = exact_top(matrix, qvec)
        exact.append((time.perf_counter() - started) * 1000)
        recall.append(len(got & {ids[i] for i in top}) / K)
    return {
        "episodes": size,
        "queries": len(queries),
        **spread("service", service),
        **spread("hnsw", hnsw),
        **spread("exact_numpy", exact),
        "recall_at_10": float(np.mean(recall)),
        "service_stage_p50_ms": {k: round(pct(v, 50), 2) for k, v in stages.items()},
    }


async def run_all(args: argparse.Namespace, bench: Bench, console: Console) -> dict[str, Any]:
    report: dict[str, Any] = {"machine": machine(bench.embedder)}
    console.print(f"machine: {report['machine']}")
    report["ingest"] = await ingest(bench, sentences(args.ingest_messages, seed=1))
    console.print(f"ingested {args.ingest_messages} messages")
    pool = sentences(POOL, seed=2)
    base = np.asarray(bench.embedder.embed_sync(pool), dtype=np.float32)
    queries = sentences(args.queries, seed=3)
    qvecs = np.asarray(bench.embedder.embed_sync(queries), dtype=np.float32)
    report["note"] = NOTE
    report["hnsw_ef_search"] = bench.components.settings.hnsw_ef_search
    ids: list[UUID] = []
    matrix = np.zeros((0, base.shape[1]), dtype=np.float32)
    report["search"], report["fill"] = [], []
    for size in sorted(set(args.sizes)):
        started = time.perf_counter()
        new_ids, new_rows = await fill(bench, pool, base, len(ids), size)
        took = time.perf_counter() - started
        ids, matrix = ids + new_ids, np.vstack([matrix, new_rows])
        report["fill"].append({"to": size, "seconds": took, "rows_per_s": len(new_ids) / took})
        console.print(f"filled to {size:,} episodes ({len(new_ids) / took:.0f} rows/s)")
        report["search"].append(await search(bench, size, queries, qvecs, matrix, ids))
    report["load_avg_1m_at_end"] = os.getloadavg()[0]
    return report


async def open_bench(url: str, embedder: LocalEmbedder) -> Bench:
    settings = Settings(database_url=url, data_dir=DATA_DIR)
    engine = make_engine(url, pool_size=5)
    components = Components(settings, engine, make_sessionmaker(engine), embedder, url)
    async with components.uow() as uow:
        issued = await tenants.issue_key(uow, "bench", "bench")
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(components=components)),
        base_url="http://bench",
        headers={"Authorization": f"Bearer {issued.secret}"},
        timeout=120,
    )
    return Bench(components, client, issued.key.tenant_id, embedder)


_INGEST_COLUMNS = ("embedder msg/s", "service msg/s", "service/embedder time", "overhead/batch")
_SEARCH_COLUMNS = ("/v1/search p50", "p95", "HNSW list p50", "p95", "NumPy exact p50", "p95")
_SEARCH_KEYS = [f"{name}_p{q}_ms" for name in ("service", "hnsw", "exact_numpy") for q in (50, 95)]


def render(report: dict[str, Any], console: Console) -> None:
    ing = report["ingest"]
    table = Table(title=f"Ingestion ({ing['messages']} messages, batches of {ing['batch']})")
    for col in _INGEST_COLUMNS:
        table.add_column(col, justify="right")
    rates = (f"{ing[k]:.0f}" for k in ("embedder_msgs_per_s", "service_msgs_per_s"))
    ratio = f"{ing['overhead_ratio']:.2f}x"
    table.add_row(*rates, ratio, f"{ing['overhead_ms_per_batch']:.1f} ms")
    console.print(table)
    title = f"Search latency, ms, {report['search'][0]['queries']} queries, top-{K}"
    table = Table(title=f"{title} (fill vectors: real + N(0, {NOISE}^2) noise, renormalised)")
    for col in ("episodes", *_SEARCH_COLUMNS, "recall@10"):
        table.add_column(col, justify="right")
    for row in report["search"]:
        cells = [f"{row[k]:.1f}" for k in _SEARCH_KEYS]
        table.add_row(f"{row['episodes']:,}", *cells, f"{row['recall_at_10']:.3f}")
    console.print(table)
    for row in report["search"]:
        stages = " · ".join(f"{k} {v:.1f}" for k, v in row["service_stage_p50_ms"].items())
        console.print(f"/v1/search stage p50 (ms) at {row['episodes']:,}: {stages}")
    console.print(NOTE)
    load = (report["machine"]["load_avg_1m_at_start"], report["load_avg_1m_at_end"])
    console.print(f"Load average (1 min) at start / end: {load[0]:.2f} / {load[1]:.2f}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m evals.bench_store", description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ingest-messages", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="sizes 2000, 50 queries, 500 messages")
    parser.add_argument("--out", type=Path, default=ROOT / "evals" / "out" / "bench_store.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.queries, args.ingest_messages = "2000", 50, 500
    args.sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    return args


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    console = Console(width=120)
    _server, url = fresh_database()  # held: the embedded server stops when it goes
    embedder = LocalEmbedder(device=None)
    bench = await open_bench(url, embedder)
    try:
        report = await run_all(args, bench, console)
    finally:
        await bench.client.aclose()
        await bench.components.dispose()
    render(report, console)
    return report


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    report = asyncio.run(amain(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
