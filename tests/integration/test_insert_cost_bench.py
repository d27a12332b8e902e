"""The insert-cost benchmark end to end at a tiny size: both variants store every row,
the second without the index it names, and each reports its time and WAL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evals.bench import insert_cost

pytestmark = pytest.mark.integration


def test_insert_cost_bench_drops_the_index_it_names(pg_server: Any, tmp_path: Path) -> None:
    args = insert_cost.parse_args(["--batches", "7", "--batch", "3", "--data-dir", str(tmp_path)])
    report = insert_cost.run(args, pg_server)
    assert report["model_ms_per_batch"] > 0
    assert list(report["variants"]) == ["as migrated", "without ix_episodes_embedding"]
    for figures in report["variants"].values():
        assert figures["p50_ms"] > 0
        assert figures["ms_per_row"] > 0
    # The HNSW index logs each new element and its neighbours' updates: without it, less.
    kept, dropped = (f["wal_bytes_per_row"] for f in report["variants"].values())
    assert 0 < dropped < kept
    gone = pg_server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{insert_cost.DB_NAME}';")
    assert "(0 rows)" in gone


def test_insert_cost_bench_needs_batches_past_the_warm_up() -> None:
    with pytest.raises(SystemExit):
        insert_cost.parse_args(["--batches", str(insert_cost.WARM)])
