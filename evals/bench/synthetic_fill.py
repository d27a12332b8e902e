"""Fast synthetic fill for the store benchmark: dense vectors (real sentence embeddings
plus noise, or isotropic random unit vectors), short texts with their learned-sparse
vectors, COPY.

Rows go straight into ``episodes`` with PostgreSQL's binary COPY over a psycopg 3
connection as the embedded server's superuser (which bypasses row-level security).
Whatever secondary indexes the schema gives ``episodes`` (every index neither unique
nor the primary key, read from the catalogue: HNSW, GIN, B-tree alike) are dropped for
the load and built again afterwards, one at a time and each timed, then the table is
analysed. Each build runs under a statement timeout while a second connection samples
its progress, so a build too long for the run stops at a known point instead of
running on.

Learned-sparse vectors imitate SPLADE's: each word of a text contributes its real
WordPiece ids (SPLADE's own tokenizer, mapped once per vocabulary word) with weights
U(0.3, 2.5), and a few "expansion" ids, drawn from a Zipf-like law over the vocabulary
range of whole words, add small weights U(0.05, 0.6).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID

import numpy as np
import numpy.typing as npt
import psycopg
import scipy.sparse as sp
from pgvector import SparseVector
from pgvector.psycopg import register_vector

from evals.bench.shapes import Shape
from memory_service.db.models import SPARSE_DIM
from memory_service.db.session import sync_url

Matrix = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]
CHUNK = 10_000
VOCAB_SIZE = 20_000
WORDS_PER_TEXT = (6, 14)
SEED = 11
TABLE = "episodes"
WORD_WEIGHTS = (0.3, 2.5)
EXPANSIONS = 10
"""Expansion terms per text, on average (Poisson)."""
EXPANSION_IDS = (1996, SPARSE_DIM)
"""Whole words of the vocabulary (below 1996: [unused], specials, single characters)."""
EXPANSION_WEIGHTS = (0.05, 0.6)
ZIPF_S = 1.0
NOISE = 0.025
"""Dense fill from a base of real embeddings: each row is one plus N(0, NOISE^2) noise."""
# pgvector 0.8.2 here: 64 MB of maintenance_work_mem held 28,365 384-d elements
# (~2,370 bytes each) before "hnsw graph no longer fits into maintenance_work_mem".
# Sparse elements (~35 non-zeros) are far smaller, so this covers every index.
BYTES_PER_ELEMENT = 2_400
MIN_INDEX_MEM_GB = 2
PARALLEL_WORKERS = 2
COLUMNS = ("id", "tenant_id", "user_id", "role", "text", "occurred_at", "embedding", "sparse")
TYPES = ("uuid", "uuid", "varchar", "varchar", "text", "timestamptz", "vector", "sparsevec")
ID_BASE = 0xBE5C << 112  # synthetic ids: ID_BASE + row number, so no id list is held
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"


def episode_id(row: int) -> UUID:
    return UUID(int=ID_BASE + row)


def row_of(episode: UUID | str) -> int:
    """The row number of a synthetic episode id (``episode_id``'s inverse)."""
    return (episode if isinstance(episode, UUID) else UUID(episode)).int - ID_BASE


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


WORD_LAWS = ("uniform", "zipf")
word_law = "uniform"
"""How texts draw their words: ``uniform`` over the vocabulary, or ``zipf`` (rank r
with weight 1/r, the vocabulary's first words, the real ones, commonest), as English
does; ``store.py --words`` sets it for the whole run."""


@cache
def _word_cdf(n_vocab: int) -> npt.NDArray[np.float64]:
    weights = 1.0 / np.arange(1, n_vocab + 1)
    cdf: npt.NDArray[np.float64] = np.cumsum(weights) / weights.sum()
    return cdf


def _words(n_vocab: int, start: int, count: int, seed: int = SEED) -> tuple[Ints, Ints]:
    """Each text's length (6-14) and its words' vocabulary indices, flattened."""
    rng = np.random.default_rng((seed, 1, start))
    lengths = rng.integers(WORDS_PER_TEXT[0], WORDS_PER_TEXT[1] + 1, count)
    total = int(lengths.sum())
    if word_law == "zipf":
        picks: Ints = np.searchsorted(_word_cdf(n_vocab), rng.random(total), side="right")
        return lengths, np.minimum(picks, n_vocab - 1)
    return lengths, rng.integers(0, n_vocab, total)


def texts(vocab: Sequence[str], start: int, count: int, seed: int = SEED) -> list[str]:
    """``count`` texts of 6-14 words drawn uniformly from ``vocab`` (seeded by ``start``)."""
    lengths, picks = _words(len(vocab), start, count, seed)
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


@dataclass(frozen=True)
class Wordpieces:
    """Each vocabulary word's WordPiece ids, flattened: word ``w``'s are
    ``ids[start[w] : start[w] + count[w]]``."""

    ids: Ints
    start: Ints
    count: Ints

    @classmethod
    def of(cls, pieces: Sequence[Sequence[int]]) -> Wordpieces:
        count = np.asarray([len(p) for p in pieces], dtype=np.int64)
        start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
        ids = np.asarray([i for p in pieces for i in p], dtype=np.int64)
        return cls(ids, start, count)


def splade_wordpieces(vocab: Sequence[str]) -> Wordpieces:
    """``vocab`` tokenised by the service's SPLADE tokenizer (its bundled files, offline)."""
    from transformers import AutoTokenizer

    from memory_service.adapters.offline import stay_offline
    from memory_service.adapters.splade import SpladeEncoder

    stay_offline()
    tokenizer = AutoTokenizer.from_pretrained(str(SpladeEncoder().check()), local_files_only=True)
    return Wordpieces.of(tokenizer(list(vocab), add_special_tokens=False)["input_ids"])


def _zipf_cdf() -> npt.NDArray[np.float64]:
    ranks = np.arange(1, EXPANSION_IDS[1] - EXPANSION_IDS[0] + 1, dtype=np.float64)
    weights = ranks**-ZIPF_S
    cdf: npt.NDArray[np.float64] = np.cumsum(weights) / weights.sum()
    return cdf


def sparse_rows(
    pieces: Wordpieces, n_vocab: int, start: int, count: int, seed: int = SEED
) -> sp.csr_array:
    """Learned-sparse vectors of the texts ``texts(vocab, start, count)`` returns: a
    ``count`` x 30522 float32 CSR array, one term once (the higher weight kept)."""
    lengths, picks = _words(n_vocab, start, count, seed)
    n_pieces = pieces.count[picks]
    rows = np.repeat(np.repeat(np.arange(count), lengths), n_pieces)
    within = np.arange(int(n_pieces.sum())) - np.repeat(np.cumsum(n_pieces) - n_pieces, n_pieces)
    ids = pieces.ids[np.repeat(pieces.start[picks], n_pieces) + within]
    rng = np.random.default_rng((seed, 3, start))
    weights = rng.uniform(*WORD_WEIGHTS, len(ids))
    extra = rng.poisson(EXPANSIONS, count)
    ranks = np.searchsorted(_zipf_cdf(), rng.random(int(extra.sum())), side="right")
    # Popular expansions are spread over the range, not the lowest ids.
    order = np.random.default_rng((seed, 4)).permutation(EXPANSION_IDS[1] - EXPANSION_IDS[0])
    rows = np.concatenate([rows, np.repeat(np.arange(count), extra)])
    ids = np.concatenate([ids, EXPANSION_IDS[0] + order[ranks]])
    weights = np.concatenate([weights, rng.uniform(*EXPANSION_WEIGHTS, len(ranks))])
    keep = np.lexsort((-weights, ids, rows))
    rows, ids, weights = rows[keep], ids[keep], weights[keep]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (ids[1:] != ids[:-1])
    out = sp.csr_array(
        (weights[first].astype(np.float32), (rows[first], ids[first])),
        shape=(count, SPARSE_DIM),
        dtype=np.float32,
    )
    out.sort_indices()
    return out


def terms(rows: sp.csr_array, row: int) -> dict[str, float]:
    """Row ``row`` of ``rows`` as {term id (as text, for JSON): weight}."""
    lo, hi = int(rows.indptr[row]), int(rows.indptr[row + 1])
    pairs = zip(rows.indices[lo:hi].tolist(), rows.data[lo:hi].tolist(), strict=True)
    return {str(t): float(w) for t, w in pairs}


@dataclass
class Data:
    """What the fill writes for ``size`` rows, kept for the exact searches."""

    vocab: list[str]
    pieces: Wordpieces
    vectors: Matrix
    sparse: sp.csr_array

    @property
    def size(self) -> int:
        return len(self.vectors)

    def nbytes(self) -> int:
        s = self.sparse
        return int(self.vectors.nbytes + s.data.nbytes + s.indices.nbytes + s.indptr.nbytes)


def noisy(base: Matrix, start: int, count: int, seed: int = SEED) -> Matrix:
    """Rows ``start..start+count`` of ``base`` (cycled) plus seeded N(0, NOISE^2) noise,
    renormalised."""
    rng = np.random.default_rng((seed, 5, start))
    rows = base[np.arange(start, start + count) % len(base)]
    rows = rows + rng.normal(0.0, NOISE, rows.shape).astype(np.float32)
    out: Matrix = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return out


def generate(
    vocab: list[str], pieces: Wordpieces, size: int, dim: int, base: Matrix | None = None
) -> Data:
    """Rows ``0..size``: their dense vectors (``base``'s rows plus noise, or isotropic
    random unit vectors without one) and learned-sparse vectors (texts are drawn again
    from the same seeds when written)."""
    vectors = np.empty((size, dim), dtype=np.float32)
    chunks = []
    for lo in range(0, size, CHUNK):
        count = min(CHUNK, size - lo)
        vectors[lo : lo + count] = (
            unit_vectors(lo, count, dim) if base is None else noisy(base, lo, count)
        )
        chunks.append(sparse_rows(pieces, len(vocab), lo, count))
    sparse = sp.csr_array(sp.vstack(chunks, format="csr"), dtype=np.float32)
    return Data(vocab, pieces, vectors, sparse)


def conninfo(url: str) -> str:
    """libpq form of the service's database URL, through its psycopg (sync) variant."""
    return sync_url(url).replace("postgresql+psycopg://", "postgresql://", 1)


def index_mem_gb(rows: int) -> int:
    """maintenance_work_mem for an in-memory HNSW build: 2 GB, or more where the graph
    (with 15% headroom) would not fit and pgvector would go on building on disk."""
    return max(MIN_INDEX_MEM_GB, math.ceil(rows * BYTES_PER_ELEMENT * 1.15 / 2**30))


_SECONDARY = (
    "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
    "JOIN pg_class c ON c.oid = i.indexrelid "
    "WHERE i.indrelid = %s::regclass AND NOT i.indisunique AND NOT i.indisprimary "
    "ORDER BY c.relname"
)


def secondary_indexes(conn: psycopg.Connection[Any], table: str = TABLE) -> list[tuple[str, str]]:
    """``table``'s indexes that are neither unique nor the primary key: (name, definition)."""
    return [(str(name), str(sql)) for name, sql in conn.execute(_SECONDARY, (table,)).fetchall()]


def server_settings(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """The server's settings that decide how parallel index builds and scans run."""
    names = (
        "server_version",
        "max_worker_processes",
        "max_parallel_workers",
        "max_parallel_maintenance_workers",
        "maintenance_work_mem",
        "shared_buffers",
        "work_mem",
        "effective_cache_size",
        "dynamic_shared_memory_type",
    )
    out = {n: str(conn.execute(f"SHOW {n}").fetchone()[0]) for n in names}  # type: ignore[index]
    row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    out["pgvector"] = str(row[0]) if row else "absent"
    return out


@dataclass
class IndexBuild:
    name: str
    sql: str
    rows: int
    mem_gb: int
    seconds: float = 0.0
    complete: bool = False
    error: str | None = None
    workers_seen: int = 0
    """The most parallel workers seen building it at once (sampled every 2 s)."""
    size_mib: float | None = None
    progress: dict[str, Any] = field(default_factory=dict)  # last sample of the build
    notices: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "sql": self.sql,
            "rows": self.rows,
            "maintenance_work_mem": f"{self.mem_gb}GB",
            "max_parallel_maintenance_workers": PARALLEL_WORKERS,
            "parallel_workers_seen": self.workers_seen,
            "seconds": self.seconds,
            "size_mib": self.size_mib,
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
    "SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total, "
    "(SELECT count(*) FROM pg_stat_activity WHERE leader_pid = %s) "
    "FROM pg_stat_progress_create_index WHERE pid = %s"
)


def _watch(
    dsn: str, pid: int, build: IndexBuild, stop: threading.Event, log: Callable[[str], None]
) -> None:
    """Sample the build's progress every 2 s; log it every 60 s."""
    started = time.perf_counter()
    last_log = started
    with psycopg.connect(dsn, autocommit=True) as conn:
        while not stop.wait(2.0):
            row = conn.execute(_PROGRESS, (pid, pid)).fetchone()
            if row is None:
                continue
            phase, blocks_done, blocks_total, tuples_done, tuples_total, workers = row
            build.workers_seen = max(build.workers_seen, int(workers))
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
                log(
                    f"  {build.name} {elapsed:.0f}s: {phase}, {share}, {tuples_done:,} tuples, "
                    f"{workers} workers"
                )


def build_index(
    dsn: str, name: str, sql: str, rows: int, timeout_s: float, log: Callable[[str], None]
) -> IndexBuild:
    """``sql`` (a CREATE INDEX) under ``statement_timeout``, with the memory and parallel
    workers of ``index_mem_gb`` and ``PARALLEL_WORKERS``; on timeout the index stays
    absent."""
    build = IndexBuild(name=name, sql=sql, rows=rows, mem_gb=index_mem_gb(rows))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.add_notice_handler(lambda d: build.notices.append(str(d.message_primary)))
        conn.execute(f"SET maintenance_work_mem = '{build.mem_gb}GB'")
        conn.execute(f"SET max_parallel_maintenance_workers = {PARALLEL_WORKERS}")
        conn.execute(f"SET statement_timeout = {int(timeout_s * 1000)}")
        stop = threading.Event()
        args = (dsn, conn.info.backend_pid, build, stop, log)
        watcher = threading.Thread(target=_watch, args=args, daemon=True)
        watcher.start()
        started = time.perf_counter()
        try:
            conn.execute(sql.encode())
            build.complete = True
        except psycopg.Error as exc:
            build.error = f"{type(exc).__name__}: {exc}".strip()
        finally:
            build.seconds = time.perf_counter() - started
            stop.set()
            watcher.join(timeout=30)
        if build.complete:
            size = conn.execute("SELECT pg_relation_size(%s::regclass)", (name,)).fetchone()
            build.size_mib = int(size[0]) / 2**20 if size else None
    return build


@dataclass
class Load:
    rows: int
    copy_seconds: float
    indexes: list[IndexBuild]
    analyze_seconds: float
    table_mib: float

    @property
    def complete(self) -> bool:
        return all(i.complete for i in self.indexes)

    def summary(self) -> dict[str, Any]:
        return {
            "rows_copied": self.rows,
            "copy_seconds": self.copy_seconds,
            "copy_rows_per_s": self.rows / self.copy_seconds if self.copy_seconds else None,
            "indexes": [i.summary() for i in self.indexes],
            "index_seconds": sum(i.seconds for i in self.indexes),
            "analyze_seconds": self.analyze_seconds,
            "table_mib": self.table_mib,
        }


def _sparse(data: Data, row: int) -> SparseVector:
    s = data.sparse
    lo, hi = int(s.indptr[row]), int(s.indptr[row + 1])
    terms = zip(s.indices[lo:hi].tolist(), s.data[lo:hi].tolist(), strict=True)
    return SparseVector(dict(terms), SPARSE_DIM)


def copy_rows(conn: psycopg.Connection[Any], tenant: UUID, shape: Shape, data: Data) -> None:
    """Rows ``0..shape.size`` of ``data`` into ``episodes``, owned as ``shape`` deals them."""
    sql = f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    with conn.cursor() as cur, cur.copy(sql.encode()) as copy:
        copy.set_types(list(TYPES))
        for lo in range(0, shape.size, CHUNK):
            count = min(CHUNK, shape.size - lo)
            users = shape.users_of(lo, count)
            for i, text in enumerate(texts(data.vocab, lo, count)):
                row = lo + i
                when = EPOCH + timedelta(seconds=row)
                vector = data.vectors[row]
                copy.write_row(
                    (
                        episode_id(row),
                        tenant,
                        users[i],
                        "user",
                        text,
                        when,
                        vector,
                        _sparse(data, row),
                    )
                )


def load(
    url: str,
    tenant: UUID,
    shape: Shape,
    data: Data,
    *,
    index_timeout_s: float,
    log: Callable[[str], None],
) -> Load:
    """``data``'s first ``shape.size`` rows into an empty ``episodes``, its secondary
    indexes dropped for the load and each built again after it, then ANALYZE."""
    dsn = conninfo(url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        register_vector(conn)
        indexes = secondary_indexes(conn)
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"'.encode())
        started = time.perf_counter()
        copy_rows(conn, tenant, shape, data)
        copy_s = time.perf_counter() - started
        log(f"  copied {shape.size:,} rows in {copy_s:.1f}s; building {len(indexes)} indexes")
        builds = []
        for name, sql in indexes:
            build = build_index(dsn, name, sql, shape.size, index_timeout_s, log)
            log(f"  {name}: {build.seconds:.1f}s" + ("" if build.complete else f" ({build.error})"))
            builds.append(build)
        started = time.perf_counter()
        conn.execute(f"ANALYZE {TABLE}".encode())
        analyze_s = time.perf_counter() - started
        size = conn.execute(f"SELECT pg_table_size('{TABLE}')".encode()).fetchone()
    return Load(shape.size, copy_s, builds, analyze_s, int(size[0]) / 2**20 if size else 0.0)
