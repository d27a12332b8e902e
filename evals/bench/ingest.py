"""Ingestion benchmark: POST /v1/messages against the bare embedder, same texts, one run.

    python -m evals.bench.ingest [--messages 2000] [--clients 1,4,16] [--batch 50]
        [--single 500] [--rounds 2]

The app runs under uvicorn on a loopback port, in a thread of this process with its
own event loop (as ``memory-service serve`` runs it, minus the in-process consolidation
worker: jobs wait in their table, so only the write path is timed). Real HTTP, and a
blocked server loop shows as latency; sharing the process lets the bench count the
embedder's model calls and read each thread's CPU time. Clients are httpx in this
process's main thread (on a 2-core machine they take CPU from the server either way).

Levels, each compared with the bare embedder (``LocalEmbedder.embed_sync``) on the
same texts, the two alternating for ``--rounds`` rounds so that other load on the
machine hits both alike:

- N clients each posting batches of ``--batch`` messages, for N in ``--clients``;
  against the bare embedder at that batch size;
- 16 clients each posting one message per request, through the batching queue and,
  as before it existed, one model call per request (``asyncio.to_thread``); against
  the bare embedder at its best batch size and at batch 1.

PostgreSQL is the embedded server in its own data folder (``--data-dir``); the JSON
goes to ``evals/out/bench_ingest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn

from evals.bench.load import free_port
from evals.bench.store import sentences
from memory_service.adapters.batching import BatchStats
from memory_service.adapters.local_embedder import LocalEmbedder
from memory_service.api.app import create_app
from memory_service.bootstrap import Components, migrate
from memory_service.config import Settings
from memory_service.db.embedded import asyncpg_url, start_embedded
from memory_service.db.session import make_engine, make_sessionmaker
from memory_service.services import tenants

ROOT = Path(__file__).resolve().parents[2]
DB_NAME = "memory_ingest_bench"
BATCH_SIZES = (16, 32, 64, 128)
SWEEP_TEXTS = 1_000
SINGLE_CLIENTS = 16
BATCH1_TEXTS = 128
"""The bare embedder at batch 1 runs on this many of the texts (it is slow)."""


class Switchable:
    """The embedder the app sees: through its batching queue, or (``queued = False``)
    one model call per request in a worker thread, as ``embed`` was before the queue."""

    def __init__(self, inner: LocalEmbedder) -> None:
        self.inner = inner
        self.dim = inner.dim
        self.name = inner.name
        self.queued = True

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if self.queued:
            return await self.inner.embed(texts)
        return await asyncio.to_thread(self.inner.embed_sync, texts)


class Server:
    """uvicorn serving ``app`` on a loopback port from a thread of its own."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="bench-uvicorn")

    @property
    def tid(self) -> int:
        return self._thread.native_id or 0

    def __enter__(self) -> Server:
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise SystemExit("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(60)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _ticks(stat: Path) -> int:
    """utime + stime of a /proc ``stat`` file, in clock ticks."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def postgres_cpu(postmaster: int) -> float:
    """CPU seconds of PostgreSQL: the postmaster, its live children, and (in the
    postmaster's children's times) those that have exited."""
    ticks = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(proc.name) == postmaster:
            ticks += sum(int(t) for t in stat[11:15])  # utime stime cutime cstime
        elif int(stat[1]) == postmaster:
            ticks += int(stat[11]) + int(stat[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_seconds(server: Server, postmaster: int) -> dict[str, float]:
    """CPU seconds so far: the server's loop thread, the clients' (main) thread, the
    rest of this process (the model's threads), and PostgreSQL's processes."""
    hz = os.sysconf("SC_CLK_TCK")
    loop = _ticks(Path(f"/proc/self/task/{server.tid}/stat")) / hz
    clients = _ticks(Path(f"/proc/self/task/{threading.main_thread().native_id}/stat")) / hz
    return {
        "server_loop": loop,
        "clients": clients,
        "model_and_other_threads": process_cpu() - loop - clients,
        "postgres": postgres_cpu(postmaster),
    }


def fresh_database(pg: Any, name: str = DB_NAME) -> str:
    """A new, migrated database ``name`` on the PostgreSQL server ``pg``."""
    pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE);")
    pg.psql(f"CREATE DATABASE {name};")
    url = asyncpg_url(pg.get_uri(), name)
    migrate(url)
    return url


async def issue_key(components: Components) -> str:
    async with components.uow() as uow:
        issued = await tenants.issue_key(uow, "bench-ingest", "bench-ingest")
    await components.engine.dispose()  # its connections belong to this loop; uvicorn has its own
    return issued.secret


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def chunked(texts: Sequence[str], size: int) -> list[list[str]]:
    return [list(texts[i : i + size]) for i in range(0, len(texts), size)]


def bare_seconds(embedder: LocalEmbedder, texts: Sequence[str], batch: int) -> float:
    """Seconds ``embed_sync`` takes over ``texts`` in batches of ``batch``, called from
    a worker thread as the service calls it (torch can run at another speed in the
    main thread: 4x slower here on a loaded 2-core machine)."""

    def timed() -> float:
        started = time.perf_counter()
        for chunk in chunked(texts, batch):
            embedder.embed_sync(chunk)
        return time.perf_counter() - started

    with ThreadPoolExecutor(1) as worker:
        return worker.submit(timed).result()


async def post_all(
    base: str, secret: str, user: str, chunks: list[list[str]], clients: int
) -> list[float]:
    """``chunks`` posted as requests by ``clients`` concurrent clients, each taking the
    next chunk when its last request is answered; each request's latency (ms)."""
    latencies: list[float] = []
    pending = iter(chunks)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=300) as c:

        async def client() -> None:
            for chunk in pending:
                body = {"user_id": user, "messages": [{"content": t} for t in chunk]}
                sent = time.perf_counter()
                (await c.post("/v1/messages", json=body)).raise_for_status()
                latencies.append((time.perf_counter() - sent) * 1000)

        await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


@dataclass
class Level:
    name: str
    user: str
    chunks: list[list[str]]
    clients: int
    references: dict[str, tuple[list[str], int]]
    """Bare-embedder references: name -> (texts, batch size)."""
    queued: bool = True
    service_s: float = 0.0
    bare_s: dict[str, float] = field(default_factory=dict)
    bare_cpu: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def messages(self) -> int:
        return sum(len(chunk) for chunk in self.chunks)


def run_round(
    level: Level, embedder: LocalEmbedder, switch: Switchable, server: Server, secret: str, pg: int
) -> None:
    """The level's bare references, then its requests, once; times and CPU added up."""
    for name, (texts, batch) in level.references.items():
        cpu = process_cpu()
        level.bare_s[name] = level.bare_s.get(name, 0.0) + bare_seconds(embedder, texts, batch)
        level.bare_cpu[name] = level.bare_cpu.get(name, 0.0) + process_cpu() - cpu
    switch.queued = level.queued
    before = cpu_seconds(server, pg)
    started = time.perf_counter()
    posting = post_all(server.base, secret, level.user, level.chunks, level.clients)
    level.latencies += asyncio.run(posting)
    level.service_s += time.perf_counter() - started
    for part, seconds in cpu_seconds(server, pg).items():
        level.cpu[part] = level.cpu.get(part, 0.0) + seconds - before[part]
    switch.queued = True


def summary(level: Level, rounds: int, calls: dict[str, Any]) -> dict[str, Any]:
    """The level's figures. ``ratio_vs_bare_*``: service msg/s over bare msg/s, timed
    alternately. ``cpu_ratio_vs_bare_*``: the bare embedder's CPU per message over the
    service's (server loop, model threads and PostgreSQL; the clients left out): what
    the ratio would be on a machine whose cores the two had to themselves."""
    messages = level.messages * rounds
    rate = messages / level.service_s
    service_cpu = sum(v for k, v in level.cpu.items() if k != "clients") / messages
    row: dict[str, Any] = {
        "level": level.name,
        "clients": level.clients,
        "messages_per_request": len(level.chunks[0]),
        "messages": messages,
        "service_msgs_per_s": rate,
        "latency_p50_ms": round(pct(level.latencies, 50), 1),
        "latency_p95_ms": round(pct(level.latencies, 95), 1),
        **calls,
        "cpu_ms_per_message": {k: round(v * 1000 / messages, 2) for k, v in level.cpu.items()},
        "cores_busy": round(sum(level.cpu.values()) / level.service_s, 2),
    }
    shown = []
    for name, (texts, _) in level.references.items():
        bare = len(texts) * rounds / level.bare_s[name]
        bare_cpu = level.bare_cpu[name] / (len(texts) * rounds)
        row[f"bare_{name}_msgs_per_s"] = bare
        row[f"bare_{name}_cpu_ms_per_message"] = round(bare_cpu * 1000, 2)
        row[f"ratio_vs_bare_{name}"] = rate / bare
        row[f"cpu_ratio_vs_bare_{name}"] = bare_cpu / service_cpu
        shown.append(
            f"bare {name} {bare:.0f}/s x{rate / bare:.2f} (CPU x{bare_cpu / service_cpu:.2f})"
        )
    print(
        f"{level.name:<30} {rate:5.0f} msg/s  {'  '.join(shown)}  p50 {row['latency_p50_ms']:.0f} "
        f"ms  {calls['model_calls']} model calls  {row['cores_busy']} cores"
    )
    return row


def model_calls(before: BatchStats, after: BatchStats) -> dict[str, Any]:
    calls, items = after.calls - before.calls, after.items - before.items
    return {
        "model_calls": calls,
        "texts_embedded": items,
        "texts_per_call": round(items / calls, 1) if calls else None,
    }


def levels(args: argparse.Namespace, texts: list[str], best: int) -> list[Level]:
    single = texts[: args.single]
    out = [
        Level(
            f"{n} client(s) x {args.batch} msgs",
            f"batch-{n}",
            chunked(texts, args.batch),
            n,
            {f"batch{args.batch}": (texts, args.batch)},
        )
        for n in args.clients
    ]
    refs = {f"batch{best}": (single, best), "batch1": (single[:BATCH1_TEXTS], 1)}
    for queued in (True, False):
        name = f"{SINGLE_CLIENTS} clients x 1 msg, " + ("queue" if queued else "no queue")
        user = "single-queue" if queued else "single-direct"
        out.append(Level(name, user, chunked(single, 1), SINGLE_CLIENTS, refs, queued=queued))
    return out


def machine(embedder: LocalEmbedder) -> dict[str, Any]:
    import torch

    return {
        "cores": os.cpu_count(),
        "torch_device": embedder.device,
        "torch_threads": torch.get_num_threads(),
        "load_avg_1m_at_start": os.getloadavg()[0],
    }


def run(args: argparse.Namespace, pg: Any) -> dict[str, Any]:
    """Every level on the PostgreSQL server ``pg`` (in a database of its own)."""
    texts = sentences(args.messages, seed=1)
    url = fresh_database(pg)
    embedder = LocalEmbedder(device=args.device)
    embedder.embed_sync(texts[:64])  # warm-up: model load, first-call allocations
    settings = Settings(database_url=url, data_dir=args.data_dir, rate_limit_per_minute=0)
    engine = make_engine(url, pool_size=10)  # as `memory-service serve` builds it
    switch = Switchable(embedder)
    components = Components(settings, engine, make_sessionmaker(engine), switch, url)
    secret = asyncio.run(issue_key(components))
    report: dict[str, Any] = {"machine": machine(embedder)}
    report["command_args"] = {k: str(v) for k, v in vars(args).items()}
    probe = texts[:SWEEP_TEXTS]
    sweep = {b: len(probe) / bare_seconds(embedder, probe, b) for b in BATCH_SIZES}
    best = max(sweep, key=lambda b: sweep[b])
    report["bare_batch_sweep_msgs_per_s"] = sweep
    print("bare embedder by batch size: " + ", ".join(f"{b}: {r:.0f}/s" for b, r in sweep.items()))
    rows = []
    with Server(create_app(components=components, background=False)) as server:
        asyncio.run(post_all(server.base, secret, "warm-up", chunked(texts[:100], args.batch), 1))
        for level in levels(args, texts, best):
            before = BatchStats(**asdict(embedder.queue.stats))
            for _ in range(args.rounds):
                run_round(level, embedder, switch, server, secret, pg.get_pid())
            rows.append(summary(level, args.rounds, model_calls(before, embedder.queue.stats)))
    asyncio.run(engine.dispose(close=False))  # its connections died with uvicorn's loop
    report["levels"] = rows
    report["load_avg_1m_at_end"] = os.getloadavg()[0]
    return report


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m evals.bench.ingest", description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--clients", default="1,4,16", help="client counts posting batches")
    parser.add_argument("--batch", type=int, default=50, help="messages per request")
    parser.add_argument(
        "--single", type=int, default=500, help="messages posted one per request (16 clients)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="bare/service alternations")
    parser.add_argument("--device", default=None, help="torch device; default: cuda if seen")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/memory-bench-ingest"))
    parser.add_argument("--out", type=Path, default=ROOT / "evals" / "out" / "bench_ingest.json")
    args = parser.parse_args(argv)
    args.clients = [int(s) for s in args.clients.split(",") if s.strip()]
    args.single = min(args.single, args.messages)
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    pg, _ = start_embedded((args.data_dir / "pg").resolve())  # stops when it goes
    report = run(args, pg)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
