"""The load script, at tiny bounds: it drives a real server and checks afterwards that
every acknowledged write is stored."""

from __future__ import annotations

import json
from pathlib import Path

from evals.bench import load


def test_load_script_counts_acknowledged_writes(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    argv = [
        "--rate", "6", "--duration", "4", "--clients", "4", "--write-share", "0.5",
        "--embedder", "hash", "--data-dir", str(tmp_path / "data"), "--out", str(out),
    ]  # fmt: skip
    assert load.main(argv) == 0
    result = json.loads(out.read_text())
    assert result["errors"] == {}
    assert result["acknowledged_episodes"] > 0
    assert result["missing_episodes"] == 0
    slowest = result["slowest"]
    assert 0 < len(slowest) <= 10
    assert [s["ms"] for s in slowest] == sorted((s["ms"] for s in slowest), reverse=True)
    assert slowest[0]["ms"] >= max(result["search"]["p99_ms"], result["write"]["p99_ms"])
    assert all(0 <= s["started_s"] < 4 + 30 for s in slowest)  # within the run and timeout
