"""The store benchmark end to end at a tiny size: both shapes, the current code searched
in its own process, every secondary index of episodes rebuilt, recall measured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from evals.bench import store
from evals.bench.report import render

pytestmark = pytest.mark.integration


def test_store_bench_runs_both_shapes(pg_server: Any, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = store.parse_args(
        ["--sizes", "300", "--queries", "3", "--database", "memory_bench_smoke", "--out", str(out)]
    )
    report = store.run_all(args, pg_server, Console(quiet=True), lambda r: None)
    runs = report["runs"]
    assert [(r["shape"], r["users"], r["version"]) for r in runs] == [
        ("one", 1, "current"),
        ("many", 3, "current"),
    ]
    for run in runs:
        assert run["files"]["memory_service"].startswith(str(store.ROOT))
        assert run["preset"] == run["default_preset"]  # no preset named: the service's
        names = {i["name"] for i in run["fill"]["indexes"]}
        assert "ix_episodes_embedding" in names
        assert all(i["complete"] for i in run["fill"]["indexes"])
        search = run["search"]
        assert search["queries"] == 3
        assert {"embed", "episodes.vector"} <= search["stages"].keys()
        assert search["vector_list"]["recall_at_10"] is not None
    render(report, Console(quiet=True))
    pg_server.psql("DROP DATABASE IF EXISTS memory_bench_smoke WITH (FORCE);")


def test_store_bench_rounds_pool_the_searches_of_one_fill(pg_server: Any, tmp_path: Path) -> None:
    database = "memory_bench_rounds"
    out = str(tmp_path / "bench.json")
    argv = ["--sizes", "300", "--shape", "one", "--queries", "3", "--rounds", "2"]
    args = store.parse_args([*argv, "--database", database, "--out", out])
    report = store.run_all(args, pg_server, Console(quiet=True), lambda r: None)
    [run] = report["runs"]
    search = run["search"]
    assert search["queries"] == 6  # three queries, two rounds
    assert len(search["rounds"]) == 2
    assert all(r["p50_ms"] > 0 for r in search["rounds"])
    assert search["vector_list"]["recall_at_10"] is not None
    assert len(run["fill"]["indexes"]) > 0
    render(report, Console(quiet=True))
    pg_server.psql(f"DROP DATABASE IF EXISTS {database}_0 WITH (FORCE);")
