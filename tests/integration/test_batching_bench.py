"""The ingestion benchmark end to end at a tiny size: every level runs against uvicorn
on loopback, the bare embedder is timed beside it, and the model calls are counted
(one-message requests through the queue are embedded; without it the queue sees none)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evals.bench import ingest

pytestmark = pytest.mark.integration


def test_ingest_bench_runs_every_level(pg_server: Any, tmp_path: Path) -> None:
    sizes = ["--messages", "20", "--batch", "5", "--clients", "1,2", "--single", "8"]
    args = ingest.parse_args([*sizes, "--rounds", "1", "--out", str(tmp_path / "out.json")])
    report = ingest.run(args, pg_server)
    levels = {row["level"]: row for row in report["levels"]}
    assert list(levels) == [
        "1 client(s) x 5 msgs",
        "2 client(s) x 5 msgs",
        "16 clients x 1 msg, queue",
        "16 clients x 1 msg, no queue",
    ]
    for row in levels.values():
        assert row["service_msgs_per_s"] > 0
        assert all(v > 0 for k, v in row.items() if k.startswith("ratio_vs_bare_"))
        assert set(row["cpu_ms_per_message"]) == {
            "server_loop",
            "clients",
            "model_and_other_threads",
            "postgres",
        }
    assert levels["1 client(s) x 5 msgs"]["texts_embedded"] == 20
    assert levels["1 client(s) x 5 msgs"]["model_calls"] == 4
    assert levels["16 clients x 1 msg, queue"]["texts_embedded"] == 8
    assert 1 <= levels["16 clients x 1 msg, queue"]["model_calls"] <= 8
    assert levels["16 clients x 1 msg, no queue"]["model_calls"] == 0
    assert {"bare_batch1_msgs_per_s", "ratio_vs_bare_batch1"} <= levels[
        "16 clients x 1 msg, queue"
    ].keys()
    pg_server.psql(f"DROP DATABASE IF EXISTS {ingest.DB_NAME} WITH (FORCE);")
