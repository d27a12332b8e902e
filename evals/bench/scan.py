"""System 2's scan alone: ``EpisodeStore.scan`` on the largest scope that
``evals.bench.store`` left in its database (run that first), within a token budget.

    python -m evals.bench.scan --budget 250000 --queries 7

Prints the turns read, whether older ones were left out, and the median and best
milliseconds over random query vectors (the scan's SQL and the rows' trip to Python;
no embedding, no ranking).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Sequence

import numpy as np
from sqlalchemy import func, select

from evals.bench.store import DATA_DIR, DB_NAME
from memory_service.db.embedded import asyncpg_url, start_embedded
from memory_service.db.episodes import SqlEpisodes
from memory_service.db.models import EpisodeRow
from memory_service.db.session import make_engine, make_sessionmaker
from memory_service.domain.models import Scope


async def bench(budget: int, queries: int) -> dict[str, float]:
    server, _ = start_embedded((DATA_DIR / "pg").resolve())
    engine = make_engine(asyncpg_url(server.get_uri(), DB_NAME))
    try:
        async with make_sessionmaker(engine)() as session:
            count = func.count().label("n")
            biggest = (
                await session.execute(
                    select(EpisodeRow.tenant_id, EpisodeRow.user_id, count)
                    .group_by(EpisodeRow.tenant_id, EpisodeRow.user_id)
                    .order_by(count.desc())
                    .limit(1)
                )
            ).first()
            if biggest is None:
                raise SystemExit("no episodes: run python -m evals.bench.store first")
            tenant, user, size = biggest
            store, rng, times = SqlEpisodes(session), np.random.default_rng(0), []
            for _ in range(queries):
                vector = rng.normal(size=384)
                vector /= np.linalg.norm(vector)
                started = time.perf_counter()
                turns, older_left = await store.scan(
                    tenant, Scope(user_id=user), vector.tolist(), limit=200_000, max_tokens=budget
                )
                times.append((time.perf_counter() - started) * 1000)
    finally:
        await engine.dispose()
    return {
        "scope_episodes": size,
        "turns_read": len(turns),
        "older_left_out": float(older_left),
        "median_ms": statistics.median(times),
        "best_ms": min(times),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m evals.bench.scan", description=__doc__)
    parser.add_argument("--budget", type=int, default=250_000, help="tokens")
    parser.add_argument("--queries", type=int, default=7)
    args = parser.parse_args(argv)
    for name, value in asyncio.run(bench(args.budget, args.queries)).items():
        print(f"{name}: {value:,.1f}")


if __name__ == "__main__":
    main()
