"""What storing a write's episodes costs PostgreSQL, and how much of it each index is.

    python -m evals.bench.insert_cost [--batches 40] [--batch 50] [--without ix_a,ix_b]

On the embedded server in ``--data-dir``, in a new database migrated as the service
migrates it, the write path's insert (``SqlEpisodes.add_many`` in a unit of work under
the tenant, as ``POST /v1/messages`` stores a request) runs ``--batches`` times on
``--batch`` messages: the store bench's sentences with the service's own MiniLM vectors,
embedded once beforehand (the model is not timed). Then again in a second new database
with each index named in ``--without`` dropped first (by default the HNSW index over the
vectors). Printed per variant: the insert's p50 / mean ms per batch (the first five left
out: caches warm), ms per row, and the WAL it wrote per row. The model's own time per
batch (``embed_sync``, the same texts) is printed beside it, since the write path waits
for the two one after the other when one client writes.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from evals.bench.ingest import fresh_database
from evals.bench.store import sentences
from memory_service.adapters.local_embedder import LocalEmbedder
from memory_service.bootstrap import Components
from memory_service.config import Settings
from memory_service.db.embedded import start_embedded
from memory_service.db.session import make_engine, make_sessionmaker
from memory_service.domain.models import NewEpisode, Scope
from memory_service.services import tenants

WARM = 5
"""Batches left out of the figures: the first ones fill caches."""
DB_NAME = "memory_insert_bench"


async def timed_inserts(
    components: Components,
    texts: Sequence[str],
    vectors: Sequence[Any],
    batch: int,
    drop: Sequence[str],
) -> dict[str, float]:
    async with components.uow() as uow:
        for index in drop:
            await uow.session.execute(text(f'DROP INDEX "{index}"'))
        tenant = (await tenants.issue_key(uow, "insert-cost", "bench")).key.tenant_id
    async with components.uow() as uow:
        lsn = (await uow.session.execute(text("SELECT pg_current_wal_lsn()"))).scalar()
    scope = Scope(user_id=f"user-{uuid.uuid4().hex}")
    seconds = []
    for start in range(0, len(texts), batch):
        items = [NewEpisode(role="user", text=t) for t in texts[start : start + batch]]
        began = time.perf_counter()
        async with components.uow(tenant) as uow:
            await uow.episodes.add_many(
                tenant, scope, items, vectors[start : start + batch], datetime.now(UTC)
            )
        seconds.append(time.perf_counter() - began)
    async with components.uow() as uow:
        wal = (
            await uow.session.execute(
                text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :lsn)"),
                {"lsn": lsn},
            )
        ).scalar()
    kept = seconds[WARM:]
    return {
        "p50_ms": 1000 * statistics.median(kept),
        "mean_ms": 1000 * statistics.mean(kept),
        "ms_per_row": 1000 * statistics.mean(kept) / batch,
        "wal_bytes_per_row": float(wal or 0) / len(texts),
    }


def run_variant(
    pg: Any,
    args: argparse.Namespace,
    embedder: LocalEmbedder,
    texts: list[str],
    vectors: Any,
    drop: list[str],
) -> dict[str, float]:
    url = fresh_database(pg, DB_NAME)
    engine = make_engine(url, pool_size=2)
    settings = Settings(database_url=url, data_dir=args.data_dir, rate_limit_per_minute=0)
    components = Components(settings, engine, make_sessionmaker(engine), embedder, url)

    async def go() -> dict[str, float]:
        try:
            return await timed_inserts(components, texts, vectors, args.batch, drop)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m evals.bench.insert_cost", description=__doc__)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch", type=int, default=50, help="messages per insert")
    parser.add_argument(
        "--without", default="ix_episodes_embedding", help="indexes to drop, comma-separated"
    )
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/memory-bench-insert"))
    args = parser.parse_args(argv)
    if args.batches <= WARM:
        parser.error(f"--batches must be more than the {WARM} warm-up batches")
    return args


def run(args: argparse.Namespace, pg: Any) -> dict[str, Any]:
    """The model's ms per batch, and each variant's figures, by label."""
    texts = sentences(args.batches * args.batch, seed=1)
    embedder = LocalEmbedder()
    embedder.embed_sync(texts[:64])  # warm-up: model load, first-call allocations
    vectors: list[list[float]] = []
    began = time.perf_counter()
    for start in range(0, len(texts), args.batch):  # as the service's writes call it
        vectors += embedder.embed_sync(texts[start : start + args.batch])
    model_ms = 1000 * (time.perf_counter() - began) / args.batches
    dropped = [name for name in args.without.split(",") if name]
    variants = {}
    for label, drop in (("as migrated", []), ("without " + ", ".join(dropped), dropped)):
        variants[label] = run_variant(pg, args, embedder, texts, vectors, drop)
    pg.psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE);")
    return {"model_ms_per_batch": model_ms, "variants": variants}


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    pg, _ = start_embedded((args.data_dir / "pg").resolve())  # stops when it goes
    report = run(args, pg)
    print(f"model (embed_sync), {args.batch} texts: {report['model_ms_per_batch']:.1f} ms a batch")
    for label, f in report["variants"].items():
        print(
            f"{label}: insert p50 {f['p50_ms']:.1f} ms, mean {f['mean_ms']:.1f} ms a batch"
            f" ({f['ms_per_row']:.2f} ms a row), WAL {f['wal_bytes_per_row']:,.0f} bytes a row"
        )


if __name__ == "__main__":
    main()
