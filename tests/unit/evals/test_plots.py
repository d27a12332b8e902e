"""The run's plots: recall against budget, recall@k only for several k, latency boxes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evals.quality import plots
from evals.quality.plots import Panel
from evals.quality.scoring import BUDGETS


def summary() -> dict[str, Any]:
    def stats(base: float) -> dict[str, float]:
        out = {f"recall@{b}tok": min(1.0, base * (i + 1)) for i, b in enumerate(BUDGETS)}
        return out | {"recall@10": base, "recall@25": base * 2}

    return {
        name: {"overall": stats(b), "overall_without_5": stats(b), "groups": {"1": stats(b)}}
        for name, b in (("hybrid", 0.2), ("bm25-turns", 0.1))
    }


def is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_recall_against_budget(tmp_path: Path) -> None:
    path = tmp_path / "recall_vs_budget.png"
    panels = [Panel("overall"), Panel("w/o 5", "overall_without_5"), Panel("1 multi-hop", "1")]
    plots.recall_vs_budget(summary(), BUDGETS, panels, path)
    assert is_png(path)


def test_recall_at_k_needs_two_k(tmp_path: Path) -> None:
    path = tmp_path / "recall_at_k.png"
    path.write_bytes(b"stale")
    assert not plots.recall_at_k(summary(), [10], "recall", path, [Panel("overall")])
    assert not path.exists()
    assert plots.recall_at_k(summary(), [10, 25], "recall", path, [Panel("overall")])
    assert is_png(path)


def test_latency_boxes(tmp_path: Path) -> None:
    path = tmp_path / "latency.png"
    records = [
        {"pipeline": name, "latency_ms": ms}
        for name, base in (("bm25-turns", 1.0), ("hybrid", 60.0))
        for ms in (base, base * 1.5, base * 3, 0.0)
    ]
    plots.latency_boxes(records, path)
    assert is_png(path)


def test_latency_from_a_summary_alone(tmp_path: Path) -> None:
    path = tmp_path / "latency.png"
    pipelines = {
        "hybrid": {"overall": {"latency_ms_p50": 53.0, "latency_ms_p95": 72.0}},
        "bm25-turns": {"overall": {"latency_ms_p50": 1.1, "latency_ms_p95": 1.8}},
    }
    assert plots.latency_ranges(pipelines, path)
    assert is_png(path)
    assert not plots.latency_ranges({"hybrid": {"overall": {}}}, tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()
