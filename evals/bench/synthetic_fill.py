"""Fast synthetic fill for the store benchmark: random unit vectors, short texts, COPY.

Rows go straight into ``episodes`` with PostgreSQL's binary COPY over a psycopg 3
connection as the embedded server's superuser (which bypasses row-level security). The
HNSW index is dropped for the load and built again afterwards, then the table is
analysed; load, index build and ANALYZE are timed separately. The index build runs
under a statement timeout while a second connection samples its progress, so a build
too long for the run stops at a known point instead of running on.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
import numpy.typing as npt
import psycopg
from pgvector.psycopg import register_vector

from memory_service.db.session import sync_url

Matrix = npt.NDArray[np.float32]
CHUNK = 10_000
VOCAB_SIZE = 20_000
WORDS_PER_TEXT = (6, 14)
SEED = 11
INDEX_NAME = "ix_episodes_embedding"
# As memory_service/db/models.py ``_vector_index("episodes")`` declares it.
INDEX_SQL = (
    f"CREATE INDEX {INDEX_NAME} ON episodes USING hnsw (embedding vector_cosine_ops) "
    "WITH (m = 16, ef_construction = 64)"
)
# pgvector 0.8.2 here: 64 MB of maintenance_work_mem held 28,365 384-d elements
# (~2,370 bytes each) before "hnsw graph no longer fits into maintenance_work_mem".
BYTES_PER_ELEMENT = 2_400
MIN_INDEX_MEM_GB = 2
COLUMNS = ("id", "tenant_id", "user_id", "role", "text", "occurred_at", "embedding")
TYPES = ("uuid", "uuid", "varchar", "varchar", "text", "timestamptz", "vector")
ID_BASE = 0xBE5C << 112  # synthetic ids: ID_BASE + row number, so no id list is held
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"


def episode_id(row: int) -> UUID:
    return UUID(int=ID_BASE + row)


def vocabulary(base: Sequence[str], size: int = VOCAB_SIZE, seed: int = SEED) -> list[str]:
    """``base`` (real words) plus generated pseudo-words of 2-4 syllables, ``size`` in all."""
    rng = np.random.default_rng(seed)
    words = list(dict.fromkeys(w.lower() for w in base))
    seen = set(words)
    while len(words) < size:
        n = int(rng.integers(2, 5))
        word = "".join(
            _CONSONANTS[int(rng.integers(len(_CONSONANTS)))] + _VOWELS[int(rng.integers(5))]
            for _ in range(n)
        )
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def texts(vocab: Sequence[str], start: int, count: int, seed: int = SEED) -> list[str]:
    """``count`` texts of 6-14 words drawn uniformly from ``vocab`` (seeded by ``start``)."""
    rng = np.random.default_rng((seed, 1, start))
    lengths = rng.integers(WORDS_PER_TEXT[0], WORDS_PER_TEXT[1] + 1, count)
    picks = rng.integers(0, len(vocab), int(lengths.sum()))
    out, at = [], 0
    for n in lengths.tolist():
        out.append(" ".join(vocab[i] for i in picks[at : at + n].tolist()))
        at += n
    return out


def unit_vectors(start: int, count: int, dim: int, seed: int = SEED) -> Matrix:
    """``count`` isotropic random unit vectors, float32, seeded by ``start``."""
    rng = np.random.default_rng((seed, 2, start))
    rows = rng.standard_normal((count, dim), dtype=np.float32)
    out: Matrix = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return out


def conninfo(url: str) -> str:
    """libpq form of the service's database URL, through its psycopg (sync) variant."""
    return sync_url(url).replace("postgresql+psycopg://", "postgresql://", 1)


def index_mem_gb(rows: int) -> int:
    """maintenance_work_mem for an in-memory HNSW build: 2 GB, or more where the graph
    (with 15% headroom) would not fit and pgvector would go on building on disk."""
    return max(MIN_INDEX_MEM_GB, math.ceil(rows * BYTES_PER_ELEMENT * 1.15 / 2**30))


@dataclass
class IndexBuild:
    rows: int
    mem_gb: int
    seconds: float = 0.0
    complete: bool = False
    error: str | None = None
    progress: dict[str, Any] = field(default_factory=dict)  # last sample of the build
    notices: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out = {
            "rows": self.rows,
            "maintenance_work_mem": f"{self.mem_gb}GB",
            "max_parallel_maintenance_workers": 2,
            "seconds": self.seconds,
            "complete": self.complete,
        }
        if not self.complete:
            out.update(error=self.error, last_progress=self.progress)
            done = self.progress.get("fraction") or 0.0
            if done > 0:
                # Linear from the heap scan's progress: a lower bound, since later
                # insertions into a larger graph cost more.
                out["projected_seconds_at_least"] = round(self.progress["elapsed_s"] / done)
        if self.notices:
            out["notices"] = self.notices
        return out


_PROGRESS = (
    "SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total "
    "FROM pg_stat_progress_create_index WHERE pid = %s"
)


def _watch(
    dsn: str, pid: int, build: IndexBuild, stop: threading.Event, log: Callable[[str], None]
) -> None:
    """Sample the build's progress every 5 s; log it every 60 s."""
    started = time.perf_counter()
    last_log = started
    with psycopg.connect(dsn, autocommit=True) as conn:
        while not stop.wait(5.0):
            row = conn.execute(_PROGRESS, (pid,)).fetchone()
            if row is None:
                continue
            phase, blocks_done, blocks_total, tuples_done, tuples_total = row
            fraction = blocks_done / blocks_total if blocks_total else None
            elapsed = time.perf_counter() - started
            build.progress = {
                "elapsed_s": round(elapsed, 1),
                "phase": phase,
                "heap_blocks_done": blocks_done,
                "heap_blocks_total": blocks_total,
                "tuples_done": tuples_done,
                "tuples_total": tuples_total,
                "fraction": fraction,
            }
            if time.perf_counter() - last_log >= 60:
                last_log = time.perf_counter()
                share = f"{fraction:.1%} of heap blocks" if fraction is not None else "?"
                log(f"  index build {elapsed:.0f}s: {phase}, {share}, {tuples_done:,} tuples")


def build_index(dsn: str, rows: int, timeout_s: float, log: Callable[[str], None]) -> IndexBuild:
    """CREATE INDEX under ``statement_timeout``; on timeout the index stays absent."""
    build = IndexBuild(rows=rows, mem_gb=index_mem_gb(rows))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.add_notice_handler(lambda d: build.notices.append(str(d.message_primary)))
        conn.execute(f"SET maintenance_work_mem = '{build.mem_gb}GB'")
        conn.execute("SET max_parallel_maintenance_workers = 2")
        conn.execute(f"SET statement_timeout = {int(timeout_s * 1000)}")
        stop = threading.Event()
        args = (dsn, conn.info.backend_pid, build, stop, log)
        watcher = threading.Thread(target=_watch, args=args, daemon=True)
        watcher.start()
        started = time.perf_counter()
        try:
            conn.execute(INDEX_SQL)
            build.complete = True
        except psycopg.Error as exc:
            build.error = f"{type(exc).__name__}: {exc}".strip()
        finally:
            build.seconds = time.perf_counter() - started
            stop.set()
            watcher.join(timeout=30)
    return build


@dataclass
class Load:
    rows: int
    copy_seconds: float
    index: IndexBuild
    analyze_seconds: float

    def summary(self) -> dict[str, Any]:
        return {
            "rows_copied": self.rows,
            "copy_seconds": self.copy_seconds,
            "copy_rows_per_s": self.rows / self.copy_seconds if self.copy_seconds else None,
            "index": self.index.summary(),
            "analyze_seconds": self.analyze_seconds,
        }


def load(
    url: str,
    tenant: UUID,
    user_id: str,
    vocab: Sequence[str],
    matrix: Matrix,
    start: int,
    stop: int,
    *,
    index_timeout_s: float,
    log: Callable[[str], None],
) -> Load:
    """Rows ``start..stop`` into ``episodes`` (their vectors also into ``matrix``), then
    the HNSW index over all rows and ANALYZE."""
    dsn = conninfo(url)
    dim = matrix.shape[1]
    with psycopg.connect(dsn, autocommit=True) as conn:
        register_vector(conn)
        conn.execute(f"DROP INDEX IF EXISTS {INDEX_NAME}")
        started = time.perf_counter()
        sql = f"COPY episodes ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
        with conn.cursor() as cur, cur.copy(sql) as copy:
            copy.set_types(list(TYPES))
            for lo in range(start, stop, CHUNK):
                count = min(CHUNK, stop - lo)
                vectors = unit_vectors(lo, count, dim)
                matrix[lo : lo + count] = vectors
                for i, text in enumerate(texts(vocab, lo, count)):
                    row = lo + i
                    when = EPOCH + timedelta(seconds=row)
                    copy.write_row(
                        (episode_id(row), tenant, user_id, "user", text, when, vectors[i])
                    )
        copy_s = time.perf_counter() - started
        total = conn.execute("SELECT count(*) FROM episodes").fetchone()
        log(f"  copied {stop - start:,} rows in {copy_s:.1f}s; building the HNSW index")
        build = build_index(dsn, int(total[0]) if total else stop, index_timeout_s, log)
        started = time.perf_counter()
        conn.execute("ANALYZE episodes")
        analyze_s = time.perf_counter() - started
    return Load(stop - start, copy_s, build, analyze_s)
