"""Store benchmark: ingestion throughput and search latency through the real service path.

    python -m evals.bench.store [--quick] [--sizes 10000,100000,1000000] [--queries 200]
        [--concurrency 1,4,16] [--fill auto|service|synthetic]

Ingestion posts batches to ``POST /v1/messages`` and compares with the embedder alone;
search times ``POST /v1/search`` and the HNSW list against an exact NumPy scan (p50, p95,
p99), then N concurrent clients against the same ASGI app (one client is the baseline).
The app runs in this process, so its memory is this process's RSS, taken after each size.

Fill: through the repository (real-model sentence vectors plus noise), or, for large
sizes, synthetic (random unit vectors, short texts from a 20,000-word vocabulary) loaded
with COPY, the HNSW index rebuilt after each load (evals/bench/synthetic_fill.py). ``--fill auto``
uses the synthetic fill for every size of a run whose largest size is above 100,000, so
that the sizes of one run stay comparable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import numpy as np
import numpy.typing as npt
from rich.console import Console

from evals.bench import synthetic_fill
from evals.bench.report import render
from memory_service.adapters.local_embedder import LocalEmbedder
from memory_service.api.app import create_app
from memory_service.bootstrap import Components, migrate
from memory_service.config import Settings
from memory_service.db.embedded import asyncpg_url, start_embedded
from memory_service.db.session import make_engine, make_sessionmaker
from memory_service.domain.models import NewEpisode, Scope, SearchQuery
from memory_service.services import tenants

Matrix = npt.NDArray[np.float32]
ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / ".memory-data-bench"
DB_NAME = "memory_bench"
BATCH = 50
CHUNK = 1_000
POOL = 3_000
NOISE = 0.025
K = 10
SYNTHETIC_ABOVE = 100_000
PROBE_SEED = 12  # random query vectors, not the fill's seed
FILL_SCOPE = Scope(user_id="bench-fill")
INGEST_SCOPE = Scope(user_id="bench-ingest")

SERVICE_NOTE = (
    f"Fill: {POOL:,} template sentences embedded once with the real model; fill vectors are "
    f"those plus N(0, {NOISE}^2) noise, renormalised; fill texts repeat the sentences (small "
    "vocabulary, so full-text matches are broad: a pessimistic case for episodes.text). "
    "HNSW list and NumPy exact exclude the query embedding (the 'embed' stage)."
)
SYNTHETIC_NOTE = (
    "Fill: SYNTHETIC at every size of this run (so that they compare): isotropic random "
    "unit vectors (seeded NumPy, float32, 384-d) and texts of 6-14 words drawn uniformly "
    f"from a {synthetic_fill.VOCAB_SIZE:,}-word vocabulary (the template words plus generated "
    "pseudo-words), loaded with binary COPY; the HNSW index (m=16, ef_construction=64) is "
    "dropped for each load and rebuilt over all rows after it, then ANALYZE. Recall here "
    "is no quality figure. 'random q': random unit query vectors, a plain ef_search "
    "search over isotropic random 384-d data, the hardest case for HNSW. 'recall@10': "
    "the real queries (sentences embedded by the model), whose nearest rows are the "
    "messages ingested first (another user, same tenant and index, real-model vectors); "
    "the user filter rejects them and pgvector's iterative scan goes on (up to "
    "hnsw.max_scan_tuples): nearly exhaustive at small sizes, lost in a large graph. "
    "HNSW list and NumPy exact exclude the query embedding (the 'embed' stage)."
)
MEMORY_NOTE = (
    "RSS: VmRSS / VmHWM of this process, which runs the API app (ASGI, in process) and the "
    "embedding model, and also holds the bench's NumPy copy of the vectors ('bench "
    "arrays'); PostgreSQL runs in its own processes and is not counted."
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
    return {f"{name}_p{q}_ms": pct(values, q) for q in (50, 95, 99)}


def rss_mib() -> tuple[float, float]:
    """This process's resident set now and at its peak (VmRSS, VmHWM), MiB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024  # kB
    return fields.get("VmRSS", float("nan")), fields.get("VmHWM", float("nan"))


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
    preset: str = "hybrid"
    """The preset searched; ``hybrid`` (four fast lists, no gate) gives the README's figures."""


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
    bench: Bench, pool: list[str], base: Matrix, matrix: Matrix, start: int, stop: int
) -> list[UUID]:
    """Store episodes ``start..stop`` of the fill scope in chunks through the repository
    (their vectors also into ``matrix``); their ids."""
    ids: list[UUID] = []
    for lo in range(start, stop, CHUNK):
        count = min(CHUNK, stop - lo)
        items = [NewEpisode(role="user", text=pool[(lo + i) % len(pool)]) for i in range(count)]
        matrix[lo : lo + count] = noisy(base, lo, count)
        async with bench.components.uow() as uow:
            stored = await uow.episodes.add_many(
                bench.tenant, FILL_SCOPE, items, matrix[lo : lo + count].tolist(), datetime.now(UTC)
            )
        ids.extend(e.id for e in stored)
    async with bench.components.engine.begin() as conn:
        await conn.exec_driver_sql("ANALYZE episodes")
    return ids


def exact_top(matrix: Matrix, query: Matrix) -> npt.NDArray[np.intp]:
    scores = matrix @ query
    top = np.argpartition(-scores, K)[:K]
    return top[np.argsort(-scores[top])]


async def service_search(bench: Bench, query: str) -> tuple[float, dict[str, float]]:
    body = {"user_id": FILL_SCOPE.user_id, "query": query, "limit": K, "preset": bench.preset}
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
    bench: Bench,
    size: int,
    queries: list[str],
    qvecs: Matrix,
    matrix: Matrix,
    id_of: Callable[[int], UUID],
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
        recall.append(len(got & {id_of(int(i)) for i in top}) / K)
    return {
        "episodes": size,
        "queries": len(queries),
        **spread("service", service),
        **spread("hnsw", hnsw),
        **spread("exact_numpy", exact),
        "recall_at_10": float(np.mean(recall)),
        "service_stage_p50_ms": {k: round(pct(v, 50), 2) for k, v in stages.items()},
    }


async def random_recall(
    bench: Bench, probes: Matrix, matrix: Matrix, id_of: Callable[[int], UUID]
) -> dict[str, float]:
    """HNSW list latency and recall@10 for query vectors drawn like the synthetic fill
    (random unit vectors): the index on its own data, without the real queries' pull
    towards the real-model vectors of other scopes (the ingested messages)."""
    hnsw, recall = [], []
    for vec in probes:
        ms, got = await hnsw_ids(bench, "random probe", vec.tolist())
        hnsw.append(ms)
        recall.append(len(got & {id_of(int(i)) for i in exact_top(matrix, vec)}) / K)
    return {**spread("hnsw_random_q", hnsw), "recall_at_10_random_q": float(np.mean(recall))}


async def concurrent(
    bench: Bench, queries: list[str], clients: int, requests: int, seconds: float
) -> dict[str, Any]:
    """Up to ``requests`` searches shared out among ``clients`` concurrent clients, none
    started after ``seconds``; req/s and latency."""
    latencies: list[float] = []
    issued = 0
    started = time.perf_counter()

    async def client() -> None:
        nonlocal issued
        while issued < requests and time.perf_counter() - started < seconds:
            query = queries[issued % len(queries)]
            issued += 1
            ms, _ = await service_search(bench, query)
            latencies.append(ms)

    await asyncio.gather(*(client() for _ in range(clients)))
    took = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": len(latencies),
        "time_capped": len(latencies) < requests,
        "seconds": took,
        "requests_per_s": len(latencies) / took,
        **spread("latency", latencies),
    }


async def under_load(bench: Bench, queries: list[str], args: argparse.Namespace) -> list[Any]:
    """Each level of ``--concurrency``; the one-client level first, as the baseline."""
    levels = sorted({1, *args.concurrency})
    rows = [
        await concurrent(bench, queries, n, args.concurrent_requests, args.level_seconds)
        for n in levels
    ]
    for row in rows:
        row["speedup_vs_1_client"] = row["requests_per_s"] / rows[0]["requests_per_s"]
    return rows


def memory_row(size: int, held: Sequence[npt.NDArray[Any]]) -> dict[str, Any]:
    rss, peak = rss_mib()
    return {
        "episodes": size,
        "rss_mib": rss,
        "peak_rss_mib": peak,
        "bench_arrays_mib": sum(a.nbytes for a in held) / 2**20,
        "load_avg_1m": os.getloadavg()[0],
    }


def fill_mode(args: argparse.Namespace) -> str:
    if args.fill != "auto":
        return str(args.fill)
    return "synthetic" if max(args.sizes) > SYNTHETIC_ABOVE else "service"


async def run_all(
    args: argparse.Namespace,
    bench: Bench,
    console: Console,
    checkpoint: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """The whole benchmark; ``checkpoint`` gets the report so far after each size."""
    began = time.perf_counter()
    mode = fill_mode(args)
    report: dict[str, Any] = {"machine": machine(bench.embedder), "fill_mode": mode, "k": K}
    report["command_args"] = {k: str(v) for k, v in vars(args).items()}
    console.print(f"machine: {report['machine']}")
    report["ingest"] = await ingest(bench, sentences(args.ingest_messages, seed=1))
    console.print(f"ingested {args.ingest_messages} messages")
    queries = sentences(args.queries, seed=3)
    qvecs = np.asarray(bench.embedder.embed_sync(queries), dtype=np.float32)
    sizes = sorted(set(args.sizes))
    # Room for the largest size up front: no copy as it grows (pages are touched as filled).
    matrix = np.empty((sizes[-1], qvecs.shape[1]), dtype=np.float32)
    id_of: Callable[[int], UUID]
    if mode == "synthetic":
        base_words = {w for s in sentences(POOL, seed=2) for w in s.strip(".?").split()}
        vocab = synthetic_fill.vocabulary(sorted(base_words))
        id_of = synthetic_fill.episode_id
        probes = synthetic_fill.unit_vectors(0, len(queries), qvecs.shape[1], seed=PROBE_SEED)
        report["note"] = SYNTHETIC_NOTE
    else:
        pool = sentences(POOL, seed=2)
        base = np.asarray(bench.embedder.embed_sync(pool), dtype=np.float32)
        ids: list[UUID] = []
        id_of = ids.__getitem__
        report["note"] = SERVICE_NOTE
    report["note"] += " " + MEMORY_NOTE
    report["hnsw_ef_search"] = bench.components.settings.hnsw_ef_search
    report["search"], report["fill"], report["memory"] = [], [], []
    report["memory"].append(memory_row(0, [matrix[:0], qvecs]))
    filled = 0
    for size in sizes:
        started = time.perf_counter()
        row: dict[str, Any] = {"to": size, "rows": size - filled}
        if mode == "synthetic":
            loaded = await asyncio.to_thread(
                synthetic_fill.load,
                bench.components.database_url,
                bench.tenant,
                FILL_SCOPE.user_id or "",
                vocab,
                matrix,
                filled,
                size,
                index_timeout_s=args.index_timeout,
                log=console.print,
            )
            row.update(loaded.summary())
            row["seconds"] = loaded.copy_seconds
            complete = loaded.index.complete
        else:
            ids.extend(await fill(bench, pool, base, matrix, filled, size))
            row["seconds"] = time.perf_counter() - started
            complete = True
        row["rows_per_s"] = row["rows"] / row["seconds"]
        report["fill"].append(row)
        filled = size
        console.print(
            f"filled to {size:,} episodes ({mode}; {row['rows_per_s']:,.0f} rows/s, "
            f"step {time.perf_counter() - started:.0f}s)"
        )
        if not complete:
            console.print(f"HNSW index at {size:,} incomplete: no search at this size or above")
            report["memory"].append(memory_row(size, [matrix[:size], qvecs]))
            checkpoint(report)
            break
        result = await search(bench, size, queries, qvecs, matrix[:size], id_of)
        if mode == "synthetic":
            result.update(await random_recall(bench, probes, matrix[:size], id_of))
        result["concurrency"] = await under_load(bench, queries, args)
        report["search"].append(result)
        report["memory"].append(memory_row(size, [matrix[:size], qvecs]))
        console.print(
            f"searched at {size:,}: p50 {result['service_p50_ms']:.1f} ms, "
            f"RSS {report['memory'][-1]['rss_mib']:,.0f} MiB"
        )
        checkpoint(report)
    report["peak_rss_mib"] = rss_mib()[1]
    report["load_avg_1m_at_end"] = os.getloadavg()[0]
    report["wall_seconds"] = time.perf_counter() - began
    return report


async def open_bench(url: str, embedder: LocalEmbedder, preset: str = "hybrid") -> Bench:
    settings = Settings(database_url=url, data_dir=DATA_DIR)
    engine = make_engine(url, pool_size=10)  # as `memory-service serve` builds it
    components = Components(settings, engine, make_sessionmaker(engine), embedder, url)
    async with components.uow() as uow:
        issued = await tenants.issue_key(uow, "bench", "bench")
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(components=components)),
        base_url="http://bench",
        headers={"Authorization": f"Bearer {issued.secret}"},
        timeout=120,
    )
    return Bench(components, client, issued.key.tenant_id, embedder, preset)


def _ints(text: str) -> list[int]:
    return [int(s) for s in str(text).split(",") if s.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m evals.bench.store", description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ingest-messages", type=int, default=2000)
    parser.add_argument("--concurrency", default="1,4,16", help="concurrent clients per level")
    parser.add_argument(
        "--concurrent-requests", type=int, default=200, help="requests per concurrency level"
    )
    parser.add_argument(
        "--level-seconds",
        type=float,
        default=60,
        help="no new request starts after this long in a concurrency level",
    )
    parser.add_argument(
        "--fill",
        choices=("auto", "service", "synthetic"),
        default="auto",
        help=f"auto: synthetic for all sizes when the largest is above {SYNTHETIC_ABOVE:,}",
    )
    parser.add_argument(
        "--index-timeout", type=float, default=1500, help="seconds allowed per HNSW build"
    )
    parser.add_argument(
        "--quick", action="store_true", help="sizes 2000, 50 queries, 500 messages, 50 requests"
    )
    parser.add_argument("--preset", default="hybrid", help="the preset /v1/search runs")
    parser.add_argument("--out", type=Path, default=ROOT / "evals" / "out" / "bench_store.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.queries, args.ingest_messages = "2000", 50, 500
        args.concurrent_requests = 50
    args.sizes = _ints(args.sizes)
    args.concurrency = _ints(args.concurrency)
    return args


def write(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    console = Console(width=120)
    _server, url = fresh_database()  # held: the embedded server stops when it goes
    embedder = LocalEmbedder(device=None)
    bench = await open_bench(url, embedder, args.preset)
    try:
        report = await run_all(args, bench, console, lambda r: write(args.out, r))
    finally:
        await bench.client.aclose()
        await bench.components.dispose()
    render(report, console)
    return report


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    report = asyncio.run(amain(args))
    write(args.out, report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
