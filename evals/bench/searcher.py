"""The store benchmark's service side, run in its own process against one version of the
code: ``python evals/bench/searcher.py CODE_ROOT prepare|search IN.json OUT.json``.

``CODE_ROOT`` is a checkout of the service (this one, or a git worktree of a baseline
commit): its ``memory_service``, ``policies`` and ``retrievers`` are imported ahead of
anything installed (the venv's editable install included), and the answer names the
files imported so the caller can check. Imports only that code, the standard library,
NumPy and httpx: the bench's own modules may not exist in a baseline.

``prepare`` migrates the database with that code's migrations and issues an API key:
``{"tenant": ..., "secret": ...}``. ``search`` builds the components as ``memory-service
serve`` does (``build_components``: the settings' embedder, sparse encoder, LLM),
serves ``create_app`` in process over ASGI and, per query, times ``POST /v1/search``
(the body names no preset unless asked, so the service's default applies), then the
episodes' vector list and learned-sparse list alone (each in its own transaction under
the tenant, as the service runs them), and the two lists again for the probe vectors it is
given; it returns the hits' ids, the query's dense and sparse vectors (for the exact
searches, done by the caller), and this process's memory.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

PACKAGES = ("memory_service", "policies", "retrievers")


def use_code(root: Path) -> dict[str, str]:
    """Put ``root`` first on the import path (this script's own folder off it), import
    the service's packages from there, and return their files; fails if any comes from
    elsewhere."""
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [str(root), *(p for p in sys.path if p not in (here, str(root)))]
    import importlib

    files = {name: str(importlib.import_module(name).__file__) for name in PACKAGES}
    wrong = {n: f for n, f in files.items() if not Path(f).resolve().is_relative_to(root)}
    if wrong:
        raise SystemExit(f"imported from outside {root}: {wrong}")
    return files


def rss_mib() -> dict[str, float]:
    """This process's resident set now and at its peak (VmRSS, VmHWM), MiB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024  # kB
    return {"rss_mib": fields.get("VmRSS", -1.0), "peak_rss_mib": fields.get("VmHWM", -1.0)}


def settings(url: str) -> Any:
    from memory_service.config import Settings

    # No rate limit: the bench is one client asking as fast as it is answered.
    return Settings(database_url=url, rate_limit_per_minute=0)


async def prepare(job: dict[str, Any]) -> dict[str, Any]:
    from memory_service.bootstrap import head_revision, migrate
    from memory_service.db.session import make_engine, make_sessionmaker
    from memory_service.db.uow import transaction
    from memory_service.services import tenants

    migrate(job["url"])
    engine = make_engine(job["url"], pool_size=1)
    try:
        async with transaction(make_sessionmaker(engine)) as uow:
            issued = await tenants.issue_key(uow, "bench", "bench")
    finally:
        await engine.dispose()
    return {
        "tenant": str(issued.key.tenant_id),
        "secret": issued.secret,
        "revision": head_revision(),
    }


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def search(job: dict[str, Any]) -> dict[str, Any]:
    from uuid import UUID

    import httpx
    import numpy as np

    from memory_service.api.app import create_app
    from memory_service.bootstrap import build_components
    from memory_service.domain.models import Scope, SearchQuery

    components = build_components(settings(job["url"]), run_migrations=False)
    tenant, k = UUID(job["tenant"]), int(job["k"])
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(components=components)),
        base_url="http://bench",
        headers={"Authorization": f"Bearer {job['secret']}"},
        timeout=300,
    )

    async def service(
        text: str, user: str, preset: str | None = job.get("preset")
    ) -> tuple[float, dict[str, float]]:
        body: dict[str, Any] = {"user_id": user, "query": text, "limit": k}
        if preset:
            body["preset"] = preset
        started = time.perf_counter()
        response = await client.post("/v1/search", json=body)
        elapsed = _ms(started)
        response.raise_for_status()
        return elapsed, dict(response.json()["timings_ms"])

    async def vector_list(text: str, user: str, vector: list[float]) -> tuple[float, list[str]]:
        started = time.perf_counter()
        async with components.uow(tenant) as uow:
            hits = await uow.episodes.vector_search(
                tenant, SearchQuery(text=text, scope=Scope(user_id=user)), vector, k
            )
        return _ms(started), [str(h.id) for h in hits]

    async def sparse_list(
        text: str, user: str, vector: dict[int, float]
    ) -> tuple[float, list[str]]:
        started = time.perf_counter()
        async with components.uow(tenant) as uow:
            hits = await uow.episodes.sparse_search(
                tenant, SearchQuery(text=text, scope=Scope(user_id=user)), vector, k
            )
        return _ms(started), [str(h.id) for h in hits]

    queries: list[dict[str, str]] = job["queries"]
    out: dict[str, Any] = {
        "default_preset": components.settings.default_preset,
        "preset": job.get("preset") or components.settings.default_preset,
        "hnsw_ef_search": components.settings.hnsw_ef_search,
        "sparse_encoder": type(components.sparse).__name__ if components.sparse else None,
        "service_ms": [],
        "timings_ms": [],
        "vector_ms": [],
        "vector_ids": [],
        "sparse_encode_ms": [],
        "sparse_ms": [],
        "sparse_ids": [],
        "query_vectors": [],
        "query_sparse": [],
        "probe_ms": [],
        "probe_ids": [],
        "sparse_probe_ms": [],
        "sparse_probe_ids": [],
    }
    try:
        for q in job.get("warmup") or queries[:1]:  # both models load, plans are cached
            await service(q["text"], q["user"])
        for q in queries:
            ms, timings = await service(q["text"], q["user"])
            out["service_ms"].append(ms)
            out["timings_ms"].append(timings)
            [vector] = await components.embedder.embed([q["text"]])
            ms, ids = await vector_list(q["text"], q["user"], vector)
            out["vector_ms"].append(ms)
            out["vector_ids"].append(ids)
            out["query_vectors"].append([float(x) for x in vector])
            if components.sparse is not None:
                started = time.perf_counter()
                [weights] = await components.sparse.encode([q["text"]])
                out["sparse_encode_ms"].append(_ms(started))
                ms, ids = await sparse_list(q["text"], q["user"], weights)
                out["sparse_ms"].append(ms)
                out["sparse_ids"].append(ids)
                out["query_sparse"].append({str(t): w for t, w in weights.items()})
        for q, probe in zip(queries, job.get("probes", []), strict=False):
            ms, ids = await vector_list("random probe", q["user"], [float(x) for x in probe])
            out["probe_ms"].append(ms)
            out["probe_ids"].append(ids)
        for q, terms in zip(queries, job.get("sparse_probes", []), strict=False):
            weights = {int(t): float(w) for t, w in terms.items()}
            ms, ids = await sparse_list("sparse probe", q["user"], weights)
            out["sparse_probe_ms"].append(ms)
            out["sparse_probe_ids"].append(ids)
        out["also"] = {}
        from memory_service.services.recall.presets import PRESETS

        also = [p for p in job.get("also_presets") or [] if p in PRESETS]  # this version's
        for preset in also:  # the same queries, other presets
            await service(queries[0]["text"], queries[0]["user"], preset)
            times, stages = [], []
            for q in queries:
                ms, timings = await service(q["text"], q["user"], preset)
                times.append(ms)
                stages.append(timings)
            out["also"][preset] = {"service_ms": times, "timings_ms": stages}
        out["concurrency"] = [
            await concurrent(service, queries, n, job["concurrent_requests"], job["level_seconds"])
            for n in job.get("concurrency", [])
            if n > 1
        ]
        out["torch_device"] = str(getattr(components.embedder, "device", "?"))
    finally:
        await client.aclose()
        await components.dispose()
    out.update(rss_mib())
    out["numpy"] = np.__version__
    return out


async def concurrent(
    service: Any, queries: list[dict[str, str]], clients: int, requests: int, seconds: float
) -> dict[str, Any]:
    """Up to ``requests`` searches shared out among ``clients`` concurrent clients, none
    started after ``seconds``; their latencies."""
    latencies: list[float] = []
    issued = 0
    started = time.perf_counter()

    async def client() -> None:
        nonlocal issued
        while issued < requests and time.perf_counter() - started < seconds:
            q = queries[issued % len(queries)]
            issued += 1
            ms, _ = await service(q["text"], q["user"])
            latencies.append(ms)

    await asyncio.gather(*(client() for _ in range(clients)))
    took = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": len(latencies),
        "time_capped": len(latencies) < requests,
        "seconds": took,
        "latencies_ms": latencies,
    }


def main(argv: list[str]) -> int:
    root, command, job_path, out_path = Path(argv[0]).resolve(), argv[1], argv[2], argv[3]
    files = use_code(root)
    job = json.loads(Path(job_path).read_text())
    run = {"prepare": prepare, "search": search}[command]
    result = asyncio.run(run(job))
    result["files"] = files
    Path(out_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
