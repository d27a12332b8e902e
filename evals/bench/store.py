"""Store benchmark: search latency and recall at scale through the real service path,
for two shapes of scale, the current code against a baseline in the same run.

    python -m evals.bench.store [--sizes 100000,1000000] [--shape one,many]
        [--baseline DIR] [--versions baseline,current] [--queries 200] [--preset NAME]
        [--vectors model|random] [--quick] [--ingest-messages N] [--concurrency 1,4,16]

For each size, shape and version (in that order, the versions of one shape and size one
after the other, so that load on the machine hits them alike): a fresh database,
migrated by that version's own code; the same seeded synthetic rows loaded with binary
COPY, every secondary index of ``episodes`` that version's schema declares dropped for
the load and built again after it, each timed (evals/bench/synthetic_fill.py); then that
version's code, in its own process (evals/bench/searcher.py), times ``POST /v1/search``
for the same queries, with the stage timings the response reports, and the episodes'
vector and learned-sparse lists alone, whose hits are checked against exact searches
done here (recall@10).

Shapes (evals/bench/shapes.py): ``one``, every row in one user's scope; ``many``, 100
episodes per user (size / 100 users), each query searching one user picked at random.

``--baseline DIR``: a checkout of the baseline commit (``git worktree add DIR <commit>``),
run with DIR first on the import path; the report names the files each run imported.
``--ingest-messages N`` also times ``POST /v1/messages`` (the current code, in process,
on its own database) against the embedder alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import httpx
import numpy as np
import numpy.typing as npt
import psycopg
from rich.console import Console

from evals.bench import synthetic_fill
from evals.bench.report import render
from evals.bench.shapes import SHAPES, Shape, ShapeName, user_name
from memory_service.adapters.local_embedder import LocalEmbedder
from memory_service.api.app import create_app
from memory_service.bootstrap import Components, migrate
from memory_service.config import Settings
from memory_service.db.embedded import asyncpg_url, start_embedded
from memory_service.db.models import EMBEDDING_DIM, SPARSE_DIM
from memory_service.db.session import make_engine, make_sessionmaker
from memory_service.domain.models import Scope
from memory_service.services import tenants

Matrix = npt.NDArray[np.float32]
ROOT = Path(__file__).resolve().parents[2]
SEARCHER = Path(__file__).resolve().parent / "searcher.py"
DATA_DIR = ROOT / ".memory-data-bench"
DB_NAME = "memory_bench"
BATCH = 50
POOL = 3_000
K = 10
QUERY_SEED = 3
USER_SEED = 5
PROBE_SEED = 12  # random query vectors, not the fill's seed
SPARSE_PROBES_AT = 10**9  # learned-sparse probes: the fill's law, rows it never writes
WARMUP_SEED = 4
WARMUP = 5
EXACT_BATCH = 32
INGEST_SCOPE = Scope(user_id="bench-ingest")
TARGET_P95_MS = {100_000: 30.0, 1_000_000: 50.0}
"""Issue 13's acceptance: /v1/search p95 at these sizes, one client, default preset."""

DENSE_MODEL = (
    f"Dense vectors: {POOL:,} template sentences embedded once with the service's model, "
    f"each row one of them (cycled) plus N(0, {synthetic_fill.NOISE}^2) noise per "
    "dimension, renormalised; the queries are other template sentences, so their nearest "
    "rows are meaningful and recall@10 says how well the index finds them."
)
DENSE_RANDOM = (
    f"Dense vectors: isotropic random unit vectors (seeded NumPy, float32, {EMBEDDING_DIM}-d), "
    "the hardest case for HNSW: recall@10 here is no quality figure."
)
NOTE = (
    "Fill: synthetic, the same rows for every shape and version of a size. Texts: 6-14 "
    f"words drawn uniformly from a {synthetic_fill.VOCAB_SIZE:,}-word vocabulary (the words "
    "of the bench's template sentences plus generated pseudo-words). Learned-sparse vectors: "
    "the texts' real WordPiece ids (SPLADE's tokenizer) weighted U(0.3, 2.5) plus "
    f"~{synthetic_fill.EXPANSIONS} Zipf-drawn expansion ids weighted U(0.05, 0.6). Queries: "
    "template sentences, embedded and SPLADE-encoded by the service itself. Binary COPY; the "
    "schema's secondary indexes on episodes are dropped for the load and each rebuilt after "
    "it (maintenance_work_mem as shown, max_parallel_maintenance_workers = 2), then ANALYZE. "
    "Dense recall@10: the vector list against an exact NumPy scan of the query's scope "
    "('random q': random unit query vectors instead of the queries). Sparse recall@10: the "
    "learned-sparse list against the exact inner product over the scope's rows (those "
    "scoring above zero); 'fill-like q': query vectors drawn as the fill's rows are, where "
    "the real queries' terms (real words) are rare among the rows' (mostly pseudo-word "
    "pieces). RSS: the searcher process (the API app, both models), not "
    "PostgreSQL."
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
    return float(np.percentile(np.asarray(values), q)) if len(values) else float("nan")


def spread(values: Sequence[float]) -> dict[str, float]:
    return {f"p{q}_ms": round(pct(values, q), 2) for q in (50, 95, 99)}


def rss_mib() -> tuple[float, float]:
    """This process's resident set now and at its peak (VmRSS, VmHWM), MiB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024  # kB
    return fields.get("VmRSS", float("nan")), fields.get("VmHWM", float("nan"))


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    models = [
        ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")
    ]
    return {
        "cores": os.cpu_count(),
        "cpu": models[0] if models else "unknown",
        "load_avg_1m_at_start": os.getloadavg()[0],  # other work on the box skews every figure
    }


# --- the code under test ------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    name: str
    root: Path

    def describe(self) -> dict[str, Any]:
        """The checkout's commit and whether its tracked files differ from it."""
        out: dict[str, Any] = {"root": str(self.root)}
        try:
            git = ("git", "-C", str(self.root))
            head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, check=True)
            dirty = subprocess.run(
                [*git, "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                check=True,
            )
        except (OSError, subprocess.CalledProcessError):
            return out | {"commit": None}
        changed = dirty.stdout.decode().splitlines()
        return out | {"commit": head.stdout.decode().strip(), "modified_files": len(changed)}

    def run(self, command: str, job: dict[str, Any]) -> dict[str, Any]:
        """``searcher.py`` with this version's code first on the import path."""
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            job_path, out_path = Path(tmp) / "job.json", Path(tmp) / "out.json"
            job_path.write_text(json.dumps(job))
            env = os.environ | {"PYTHONPATH": str(self.root)}
            args = [sys.executable, str(SEARCHER), str(self.root), command]
            done = subprocess.run(
                [*args, str(job_path), str(out_path)],
                cwd=self.root,
                env=env,
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise RuntimeError(
                    f"{self.name} {command} failed ({done.returncode}):\n{done.stderr[-4000:]}"
                )
            result: dict[str, Any] = json.loads(out_path.read_text())
        files = result.get("files", {})
        outside = [f for f in files.values() if not Path(f).resolve().is_relative_to(self.root)]
        if not files or outside:
            raise RuntimeError(f"{self.name} imported code from elsewhere: {files}")
        return result


def versions(args: argparse.Namespace) -> list[Version]:
    out = []
    for name in args.versions:
        if name == "current":
            out.append(Version("current", ROOT))
        elif args.baseline is None:
            raise SystemExit("--versions baseline needs --baseline DIR")
        else:
            out.append(Version("baseline", args.baseline.resolve()))
    return out


# --- exact search and recall ----------------------------------------------------------


def exact_dense(
    data: synthetic_fill.Data, shape: Shape, users: Sequence[int], queries: Matrix
) -> list[set[int]]:
    """For each query (a row of ``queries``), the row numbers of the ``K`` rows of its
    user's scope nearest it by cosine (the rows are unit vectors)."""
    if shape.users > 1:
        out = []
        for user, query in zip(users, queries, strict=True):
            rows = shape.rows_of(user)
            scores = data.vectors[rows] @ query
            out.append({int(r) for r in rows[np.argsort(-scores)[:K]]})
        return out
    tops: list[set[int]] = []
    for lo in range(0, len(queries), EXACT_BATCH):  # one pass over the rows per batch
        scores = data.vectors @ queries[lo : lo + EXACT_BATCH].T
        top = np.argpartition(-scores, K, axis=0)[:K]
        tops.extend({int(r) for r in top[:, j]} for j in range(top.shape[1]))
    return tops


def exact_sparse(
    data: synthetic_fill.Data, rows: npt.NDArray[np.intp] | None, query: dict[int, float]
) -> list[int]:
    """Row numbers of the ``K`` rows (of ``rows``; None: all) with the highest inner
    product with ``query``, above zero only (ties: the older row first), as the
    service's sparse list ranks them."""
    dense = np.zeros(SPARSE_DIM, dtype=np.float32)
    for term, weight in query.items():
        dense[term] = weight
    matrix = data.sparse if rows is None else data.sparse[rows]
    scores = np.asarray(matrix @ dense)
    ids = np.arange(len(scores)) if rows is None else rows
    hit = scores > 0
    order = np.lexsort((ids[hit], -scores[hit]))[:K]
    return [int(r) for r in ids[hit][order]]


def sparse_probes(data: synthetic_fill.Data, count: int) -> list[dict[str, float]]:
    """``count`` learned-sparse query vectors drawn as the fill's rows are (``score``
    draws them again): the index on its own kind of data."""
    rows = synthetic_fill.sparse_rows(data.pieces, len(data.vocab), SPARSE_PROBES_AT, count)
    return [synthetic_fill.terms(rows, i) for i in range(count)]


def recall(got: Sequence[str], truth: set[int] | list[int]) -> float | None:
    """Share of ``truth`` among the hits ``got`` (episode ids); None without truth."""
    if not truth:
        return None
    return len({synthetic_fill.row_of(g) for g in got} & set(truth)) / len(truth)


def mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def stage_spread(timings: Sequence[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Each stage's p50 / p95 / p99 over the queries (in the order the first names them)."""
    names = list(dict.fromkeys(n for t in timings for n in t))
    return {n: spread([t[n] for t in timings if n in t]) for n in names}


def sparse_recall(
    data: synthetic_fill.Data,
    shape: Shape,
    users: Sequence[int],
    hits: Sequence[Sequence[str]],
    queries: Sequence[dict[str, float]],
) -> list[float | None]:
    """Recall@10 of each query's learned-sparse hits (queries as {term as text: weight})."""
    out = []
    for user, got, weights in zip(users, hits, queries, strict=False):
        rows = None if shape.users == 1 else shape.rows_of(user)
        query = {int(t): float(w) for t, w in weights.items()}
        out.append(recall(got, exact_sparse(data, rows, query)))
    return out


def score(
    result: dict[str, Any], shape: Shape, users: Sequence[int], data: synthetic_fill.Data
) -> dict[str, Any]:
    """Latencies, stage timings and recall of one searcher run."""
    qvecs = np.asarray(result["query_vectors"], dtype=np.float32)
    truth = exact_dense(data, shape, users, qvecs)
    dense = [recall(got, t) for got, t in zip(result["vector_ids"], truth, strict=True)]
    probed = len(result["probe_ids"])
    probe_vectors = synthetic_fill.unit_vectors(0, probed, EMBEDDING_DIM, PROBE_SEED)
    truth = exact_dense(data, shape, users[:probed], probe_vectors)
    probes = [recall(got, t) for got, t in zip(result["probe_ids"], truth, strict=True)]
    sparse = sparse_recall(data, shape, users, result["sparse_ids"], result["query_sparse"])
    drawn = sparse_probes(data, len(result["sparse_probe_ids"]))
    sparse_probed = sparse_recall(data, shape, users, result["sparse_probe_ids"], drawn)
    out: dict[str, Any] = {
        "queries": len(result["service_ms"]),
        "service": spread(result["service_ms"]),
        "stages": stage_spread(result["timings_ms"]),
        "vector_list": spread(result["vector_ms"]) | {"recall_at_10": mean(dense)},
        "probe_list": spread(result["probe_ms"]) | {"recall_at_10": mean(probes)},
        "service_ms": [round(v, 2) for v in result["service_ms"]],
    }
    if result["sparse_ms"]:
        out["sparse_list"] = spread(result["sparse_ms"]) | {
            "recall_at_10": mean(sparse),
            "queries_with_matches": sum(v is not None for v in sparse),
            "encode": spread(result["sparse_encode_ms"]),
        }
    if result["sparse_probe_ms"]:
        out["sparse_probe_list"] = spread(result["sparse_probe_ms"]) | {
            "recall_at_10": mean(sparse_probed)
        }
    out["also"] = {
        preset: {"service": spread(r["service_ms"]), "stages": stage_spread(r["timings_ms"])}
        for preset, r in result.get("also", {}).items()
    }
    out["concurrency"] = [
        {k: v for k, v in c.items() if k != "latencies_ms"}
        | spread(c["latencies_ms"])
        | {"requests_per_s": c["requests"] / c["seconds"]}
        for c in result.get("concurrency", [])
    ]
    return out


# --- one measurement --------------------------------------------------------------------


def fresh_database(server: Any, name: str = DB_NAME) -> str:
    """An empty database (no schema: each version migrates its own); its URL."""
    server.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE);")
    server.psql(f"CREATE DATABASE {name};")
    return asyncpg_url(server.get_uri(), name)


def measure(
    server: Any,
    version: Version,
    shape: Shape,
    data: synthetic_fill.Data,
    queries: list[str],
    args: argparse.Namespace,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Fill a database migrated by ``version`` to ``shape``, then search it with
    ``version``'s code."""
    filled = fill(server, version, shape, data, queries, args, log, args.database)
    if filled.job is not None:
        searched(filled, [version.run("search", filled.job)], shape, data, log)
    return filled.row


def measure_rounds(
    server: Any,
    code: Sequence[Version],
    shape: Shape,
    data: synthetic_fill.Data,
    queries: list[str],
    args: argparse.Namespace,
    log: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Each version's own database filled once (``<database>_<version>``), then the
    versions' searches alternating, ``args.rounds`` each, so that whatever else loads
    the machine meanwhile hits every version alike: the latencies of all rounds
    pooled, each round's p50 and p95 kept, recall from the first round."""
    filled = [
        (version, fill(server, version, shape, data, queries, args, log, f"{args.database}_{i}"))
        for i, version in enumerate(code)
    ]
    results: dict[str, list[dict[str, Any]]] = {version.name: [] for version in code}
    for turn in range(args.rounds):
        for version, one in filled:
            if one.job is not None:
                result = version.run("search", one.job)
                results[version.name].append(result)
                ms = result["service_ms"]
                log(
                    f"[{version.name} / {shape.name} / {shape.size:,}] round {turn + 1}: "
                    f"p50 {pct(ms, 50):.1f} p95 {pct(ms, 95):.1f} ms"
                )
    for version, one in filled:
        if one.job is not None:
            searched(one, results[version.name], shape, data, log)
    return [one.row for _, one in filled]


@dataclass
class Filled:
    """A database filled for one version: its report row so far, the search job (None
    when an index build did not finish), the users the queries search, and when the
    fill began."""

    row: dict[str, Any]
    job: dict[str, Any] | None
    users: list[int]
    started: float


def fill(
    server: Any,
    version: Version,
    shape: Shape,
    data: synthetic_fill.Data,
    queries: list[str],
    args: argparse.Namespace,
    log: Callable[[str], None],
    database: str,
) -> Filled:
    """A fresh database ``database`` migrated by ``version`` and filled to ``shape``."""
    started = time.perf_counter()
    row: dict[str, Any] = {
        "version": version.name,
        "shape": shape.name,
        "episodes": shape.size,
        "users": shape.users,
    }
    url = fresh_database(server, database)
    prepared = version.run("prepare", {"url": url})
    row["schema_revision"] = prepared["revision"]
    log(f"[{version.name} / {shape.name} / {shape.size:,}] migrated to {prepared['revision']}")
    loaded = synthetic_fill.load(
        url,
        UUID(prepared["tenant"]),
        shape,
        data,
        index_timeout_s=args.index_timeout,
        log=log,
    )
    row["fill"] = loaded.summary()
    if not loaded.complete:
        row["skipped"] = "an index build did not finish: no search"
        return Filled(row, None, [], started)
    users = shape.query_users(len(queries), USER_SEED)
    job = {
        "url": url,
        "tenant": prepared["tenant"],
        "secret": prepared["secret"],
        "k": K,
        "preset": args.preset,
        "also_presets": args.also_presets,
        "queries": [{"text": q, "user": user_name(u)} for q, u in zip(queries, users, strict=True)],
        "warmup": [
            {"text": q, "user": user_name(u)}
            for q, u in zip(
                sentences(WARMUP, WARMUP_SEED), shape.query_users(WARMUP, WARMUP_SEED), strict=True
            )
        ],
        "probes": synthetic_fill.unit_vectors(0, len(queries), EMBEDDING_DIM, PROBE_SEED).tolist(),
        "sparse_probes": sparse_probes(data, len(queries)),
        "concurrency": args.concurrency,
        "concurrent_requests": args.concurrent_requests,
        "level_seconds": args.level_seconds,
    }
    return Filled(row, job, users, started)


POOLED = ("service_ms", "timings_ms", "vector_ms", "probe_ms", "sparse_ms", "sparse_probe_ms")
"""The per-query latencies of a searcher's answer, pooled over rounds."""


def pooled(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The first round's answer with every round's latencies (``POOLED``, and the
    other presets') in its lists."""
    first = dict(results[0])
    for key in POOLED:
        if key in first:
            first[key] = [v for r in results for v in r[key]]
    first["also"] = {
        preset: {
            name: [v for r in results for v in r["also"][preset][name]]
            for name in ("service_ms", "timings_ms")
        }
        for preset in first.get("also", {})
    }
    return first


def searched(
    filled: Filled,
    results: Sequence[dict[str, Any]],
    shape: Shape,
    data: synthetic_fill.Data,
    log: Callable[[str], None],
) -> None:
    """Complete the filled database's row with the searcher's answers (one per round)."""
    row, result = filled.row, pooled(results)
    row["files"] = result["files"]
    row["preset"] = result["preset"]
    row["default_preset"] = result["default_preset"]
    row["hnsw_ef_search"] = result["hnsw_ef_search"]
    row["sparse_encoder"] = result["sparse_encoder"]
    row["torch_device"] = result["torch_device"]
    row["search"] = score(result, shape, filled.users, data)
    if len(results) > 1:
        row["search"]["rounds"] = [spread(r["service_ms"]) for r in results]
    row["memory"] = {
        "api_rss_mib": result["rss_mib"],
        "api_peak_rss_mib": result["peak_rss_mib"],
        "bench_rss_mib": rss_mib()[0],
        "bench_arrays_mib": data.nbytes() / 2**20,
    }
    row["load_avg_1m"] = os.getloadavg()[0]
    row["seconds"] = time.perf_counter() - filled.started
    service = row["search"]["service"]
    log(
        f"[{row['version']} / {shape.name} / {shape.size:,}] /v1/search p50 "
        f"{service['p50_ms']:.1f} p95 {service['p95_ms']:.1f} ms ({row['seconds']:.0f}s in all)"
    )


def acceptance(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each run at a size the issue sets a target for: its p95 against the target."""
    out = []
    for run in runs:
        target = TARGET_P95_MS.get(run["episodes"])
        if target is None or "search" not in run:
            continue
        p95 = run["search"]["service"]["p95_ms"]
        out.append(
            {k: run[k] for k in ("version", "shape", "episodes", "preset")}
            | {"p95_ms": p95, "target_ms": target, "met": p95 <= target}
        )
    return out


def run_all(
    args: argparse.Namespace,
    server: Any,
    console: Console,
    checkpoint: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """The whole matrix; ``checkpoint`` gets the report so far after each run."""
    began = time.perf_counter()
    code = versions(args)
    report: dict[str, Any] = {"machine": machine(), "k": K}
    report["command_args"] = {k: str(v) for k, v in vars(args).items()}
    report["versions"] = {v.name: v.describe() for v in code}
    dsn = synthetic_fill.conninfo(asyncpg_url(server.get_uri()))
    with psycopg.connect(dsn, autocommit=True) as conn:
        report["postgres"] = synthetic_fill.server_settings(conn)
    console.print(f"machine: {report['machine']}")
    console.print(f"postgres: {report['postgres']}")
    if args.ingest_messages:
        report["ingest"] = asyncio.run(measure_ingest(server, args))
        console.print(f"ingestion: {report['ingest']}")
    synthetic_fill.word_law = args.words
    queries = sentences(args.queries, seed=QUERY_SEED)
    words = {w for s in sentences(POOL, seed=2) for w in s.strip(".?").split()}
    vocab = synthetic_fill.vocabulary(sorted(words))
    pieces = synthetic_fill.splade_wordpieces(vocab)
    base = None
    if args.vectors == "model":
        embedder = LocalEmbedder(device=None)
        pool = embedder.embed_sync(sentences(POOL, seed=2))
        base = np.asarray(pool, dtype=np.float32)
        del embedder
    report["note"] = (DENSE_MODEL if base is not None else DENSE_RANDOM) + " " + NOTE
    if args.words == "zipf":
        report["note"] += (
            " WORDS DRAWN BY ZIPF'S LAW (--words zipf): rank r with weight 1/r, the real "
            "template words commonest, so the queries' words are common, as in English."
        )
    report["runs"] = []

    def log(message: str) -> None:
        console.print(message, markup=False, highlight=False)

    for size in sorted(set(args.sizes)):
        started = time.perf_counter()
        data = synthetic_fill.generate(vocab, pieces, size, EMBEDDING_DIM, base)
        console.print(
            f"generated {size:,} rows in {time.perf_counter() - started:.1f}s "
            f"({data.sparse.nnz / size:.1f} sparse terms a row)"
        )
        for name in args.shape:
            shape = Shape.of(cast(ShapeName, name), size, args.per_user)
            if args.rounds > 1:
                report["runs"].extend(measure_rounds(server, code, shape, data, queries, args, log))
                checkpoint(report)
                continue
            for version in code:
                row = measure(server, version, shape, data, queries, args, log)
                report["runs"].append(row)
                checkpoint(report)
        del data
    report["acceptance"] = acceptance(report["runs"])
    report["load_avg_1m_at_end"] = os.getloadavg()[0]
    report["wall_seconds"] = time.perf_counter() - began
    return report


# --- ingestion (current code, in process) -------------------------------------------------


@dataclass
class Bench:
    components: Components
    client: httpx.AsyncClient
    tenant: UUID
    embedder: LocalEmbedder


async def open_bench(url: str, embedder: LocalEmbedder) -> Bench:
    settings = Settings(database_url=url, data_dir=DATA_DIR, rate_limit_per_minute=0)
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
    return Bench(components, client, issued.key.tenant_id, embedder)


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


async def measure_ingest(server: Any, args: argparse.Namespace) -> dict[str, float]:
    url = fresh_database(server, args.database)
    migrate(url)
    bench = await open_bench(url, LocalEmbedder(device=None))
    try:
        return await ingest(bench, sentences(args.ingest_messages, seed=1))
    finally:
        await bench.client.aclose()
        await bench.components.dispose()


# --- command line ---------------------------------------------------------------------------


def _ints(text: str) -> list[int]:
    return [int(s) for s in str(text).split(",") if s.strip()]


def _names(text: str, allowed: Sequence[str]) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = set(names) - set(allowed)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {sorted(unknown)}; known: {list(allowed)}")
    return names


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m evals.bench.store",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--shape", default=",".join(SHAPES), help="one, many or both")
    parser.add_argument(
        "--per-user", type=int, default=100, help="episodes per user in the many shape"
    )
    parser.add_argument("--baseline", type=Path, help="a checkout of the baseline commit")
    parser.add_argument(
        "--versions", help="baseline,current (both when --baseline is given, else current)"
    )
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="more than 1: each version's own database, filled once, and the versions' "
        "searches alternating this many times each (latencies pooled)",
    )
    parser.add_argument(
        "--vectors",
        choices=("model", "random"),
        default="model",
        help="dense fill: real sentence embeddings plus noise, or isotropic random vectors",
    )
    parser.add_argument(
        "--preset", default=None, help="the preset /v1/search runs (default: the service's)"
    )
    parser.add_argument(
        "--words",
        choices=synthetic_fill.WORD_LAWS,
        default="uniform",
        help="texts' words: uniform over the vocabulary, or Zipf (common words, as English)",
    )
    parser.add_argument(
        "--also-presets",
        default="",
        help="comma-separated presets also timed on the same fill (service latency only)",
    )
    parser.add_argument(
        "--ingest-messages", type=int, default=0, help="also time ingestion of N messages"
    )
    parser.add_argument(
        "--concurrency", default="1", help="concurrent clients per level (1: one client only)"
    )
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
        "--index-timeout", type=float, default=3600, help="seconds allowed per index build"
    )
    parser.add_argument(
        "--shared-buffers",
        default="auto",
        help="the embedded server's shared_buffers, as MEMORY_EMBEDDED_SHARED_BUFFERS",
    )
    parser.add_argument("--quick", action="store_true", help="size 2000, 30 queries")
    parser.add_argument("--database", default=DB_NAME, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "evals" / "out" / "bench_store.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.queries = "2000", 30
    args.sizes = _ints(args.sizes)
    args.concurrency = _ints(args.concurrency)
    args.also_presets = [p for p in args.also_presets.split(",") if p]
    args.shape = _names(args.shape, SHAPES)
    default = "baseline,current" if args.baseline else "current"
    args.versions = _names(args.versions or default, ("baseline", "current"))
    return args


def write(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    console = Console(width=160)
    # held: stops when it goes
    server, _ = start_embedded((DATA_DIR / "pg").resolve(), shared_buffers=args.shared_buffers)
    report = run_all(args, server, console, lambda r: write(args.out, r))
    write(args.out, report)
    render(report, console)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
