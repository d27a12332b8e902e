"""Load test: a real server on loopback, concurrent clients at a stated rate for a stated time.

    python -m evals.bench.load --rate 40 --duration 30 --clients 8

Starts ``memory-service serve`` on a free loopback port with its own data folder, sends
a mix of writes (POST /v1/messages) and searches (POST /v1/search) on a fixed schedule
(open loop: requests are due at fixed times, so a slow server shows as latency, not as
a lower offered rate), then prints throughput, latency percentiles, errors, and the
server's memory (RSS). Afterwards it lists every load user's episodes and counts the
acknowledged writes (episode ids of 201 answers) that are missing: it must be 0.
Every loop is bounded in count and time, and it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
WORDS = [
    "garden",
    "hiking",
    "pottery",
    "concert",
    "adoption",
    "painting",
    "camping",
    "lake",
    "sunrise",
    "museum",
]


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"write": [], "search": []})
    errors: dict[str, int] = field(default_factory=dict)
    late_starts: int = 0
    acknowledged: dict[str, set[str]] = field(default_factory=dict)
    """Episode ids of acknowledged writes, by user."""
    slowest: list[tuple[float, float, str]] = field(default_factory=list)
    """``(latency ms, seconds into the run when it started, kind)`` of every request
    that succeeded: the report keeps the slowest, to tell a stall from a slow tail."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    port: int, data_dir: Path, embedder: str, code: Path = ROOT
) -> subprocess.Popen[bytes]:
    """``memory-service serve`` from the checkout ``code`` (this one by default; another
    one, a baseline, comes first on the import path)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    if code != ROOT:
        env["PYTHONPATH"] = str(code)
    env.update(
        MEMORY_DATA_DIR=str(data_dir),
        MEMORY_EMBEDDER=embedder,
        MEMORY_RATE_LIMIT_PER_MINUTE="0",
        MEMORY_LOG_LEVEL="WARNING",
    )
    log = (data_dir / "server.log").open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "memory_service.cli", "serve", "--port", str(port)],
        cwd=code,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_ready(base: str, proc: subprocess.Popen[bytes], limit_s: float = 180) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("server exited during start; see its server.log")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit("server not ready in time")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sentence(rng: random.Random, i: int) -> str:
    a, b = rng.sample(WORDS, 2)
    return f"User {i % 50} talked about {a} and {b} on day {i % 365}."


async def one(
    client: httpx.AsyncClient,
    kind: str,
    i: int,
    rng: random.Random,
    stats: Stats,
    preset: str,
    run_start: float = 0.0,
) -> None:
    user = f"load-{i % 20}"
    started = time.perf_counter()
    try:
        if kind == "write":
            body = {
                "user_id": user,
                "messages": [{"content": sentence(rng, i + j)} for j in range(5)],
            }
            r = await client.post("/v1/messages", json=body)
            if r.status_code == 201:
                stats.acknowledged.setdefault(user, set()).update(r.json()["episode_ids"])
        else:
            body = {"user_id": user, "query": sentence(rng, i), "preset": preset}
            r = await client.post("/v1/search", json=body)
        ok = r.status_code < 400
        label = str(r.status_code)
    except httpx.HTTPError as exc:
        ok, label = False, type(exc).__name__
    if ok:
        took = (time.perf_counter() - started) * 1000
        stats.latencies[kind].append(took)
        stats.slowest.append((took, started - run_start, kind))
    else:
        stats.errors[label] = stats.errors.get(label, 0) + 1


async def drive(base: str, key: str, args: argparse.Namespace) -> Stats:
    rate, duration, clients, seed = args.rate, args.duration, args.clients, args.seed
    write_share = args.write_share
    stats = Stats()
    rng = random.Random(seed)
    limits = httpx.Limits(max_connections=clients)
    headers = {"Authorization": f"Bearer {key}"}
    total = int(rate * duration)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=30
    ) as client:
        gate = asyncio.Semaphore(clients)
        start = time.perf_counter()

        async def scheduled(i: int) -> None:
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            async with gate:
                if time.perf_counter() - due > 1.0:
                    stats.late_starts += 1
                kind = "write" if rng.random() < write_share else "search"
                await one(client, kind, i, rng, stats, args.preset, start)

        await asyncio.wait_for(
            asyncio.gather(*(scheduled(i) for i in range(total))), duration + 120
        )
    return stats


async def missing_writes(base: str, key: str, stats: Stats) -> int:
    """Acknowledged episode ids that the server does not list afterwards."""
    missing = 0
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        for user, ids in stats.acknowledged.items():
            stored: set[str] = set()
            cursor: str | None = None
            for _ in range(10_000):
                params: dict[str, Any] = {"user_id": user, "limit": 100}
                if cursor:
                    params["cursor"] = cursor
                r = await client.get("/v1/episodes", params=params)
                r.raise_for_status()
                page = r.json()
                stored.update(e["id"] for e in page["items"])
                cursor = page.get("next_cursor")
                if not cursor:
                    break
            missing += len(ids - stored)
    return missing


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(
    stats: Stats, elapsed: float, rss: float, missing: int, args: argparse.Namespace
) -> dict[str, Any]:
    done = sum(len(v) for v in stats.latencies.values())
    out: dict[str, Any] = {
        "offered_rate_per_s": args.rate,
        "duration_s": args.duration,
        "clients": args.clients,
        "write_share": args.write_share,
        "preset": args.preset,
        "code": str(args.code.resolve()),
        "embedder": args.embedder,
        "completed": done,
        "throughput_per_s": done / elapsed,
        "errors": stats.errors,
        "late_starts": stats.late_starts,
        "acknowledged_episodes": sum(len(ids) for ids in stats.acknowledged.values()),
        "missing_episodes": missing,
        "server_rss_mib": rss,
    }
    out["slowest"] = [
        {"ms": round(ms, 1), "started_s": round(at, 2), "kind": kind}
        for ms, at, kind in sorted(stats.slowest, reverse=True)[:10]
    ]
    for kind, values in stats.latencies.items():
        out[kind] = {
            "n": len(values),
            **{f"p{p}_ms": round(pct(values, p), 1) for p in (50, 95, 99)},
        }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.bench.load", description=__doc__)
    p.add_argument("--rate", type=float, default=20.0, help="requests per second, offered")
    p.add_argument("--duration", type=float, default=30.0, help="seconds (at most 600)")
    p.add_argument("--clients", type=int, default=8, help="concurrent connections")
    p.add_argument("--write-share", type=float, default=0.3)
    p.add_argument("--embedder", choices=["local", "hash"], default="local")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--preset", default="hybrid", help="the preset searches name")
    p.add_argument(
        "--data-dir", type=Path, default=ROOT / ".memory-data-load", help="the server's data folder"
    )
    p.add_argument(
        "--code", type=Path, default=ROOT, help="the checkout whose server runs (a baseline)"
    )
    p.add_argument("--out", type=Path, default=ROOT / "evals" / "out" / "load.json")
    args = p.parse_args(argv)
    args.duration = min(args.duration, 600.0)
    data_dir = args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(port, data_dir, args.embedder, args.code.resolve())
    try:
        wait_ready(base, proc)
        key = (data_dir / "api_key").read_text().strip()
        started = time.perf_counter()
        stats = asyncio.run(drive(base, key, args))
        elapsed = time.perf_counter() - started
        rss = rss_mib(proc.pid)
        missing = asyncio.run(missing_writes(base, key, stats))
        result = report(stats, elapsed, rss, missing, args)
    finally:
        proc.terminate()
        proc.wait(60)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
