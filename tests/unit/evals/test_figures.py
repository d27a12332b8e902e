"""A report's plots, and ``memory-eval replot`` on a folder that kept only summary.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals import runner
from evals.quality import figures
from evals.quality.scoring import BUDGETS

REPORT = """# LoCoMo evaluation

## recall@10 by category

| pipeline | 1 multi-hop |

![recall@k](recall_at_k.png)

![latency](latency.png)

## Prompt: answer

```
Answer:
```
"""


def stats(base: float) -> dict[str, float]:
    budgets = {f"recall@{b}tok": min(1.0, base * (i + 1)) for i, b in enumerate(BUDGETS[1:4])}
    return budgets | {"recall@10": base, "latency_ms_p50": 40 * base, "latency_ms_p95": 90 * base}


def summary(ks: list[int]) -> dict[str, Any]:
    pipelines = {
        name: {"overall": stats(b), "overall_without_5": stats(b), "groups": {"1": stats(b)}}
        for name, b in (("hybrid", 0.3), ("bm25-turns", 0.2))
    }
    return {"dataset": "LoCoMo", "config": {"k": ks}, "pipelines": pipelines}


def folder(tmp_path: Path, ks: list[int]) -> Path:
    (tmp_path / "summary.json").write_text(json.dumps(summary(ks)))
    (tmp_path / "report.md").write_text(REPORT)
    (tmp_path / "recall_at_k.png").write_bytes(b"a column of dots")
    (tmp_path / "latency.png").write_bytes(b"overlaid histograms")
    return tmp_path


def test_replot_redraws_from_the_summary_and_relinks_the_report(tmp_path: Path) -> None:
    report = folder(tmp_path, [10])
    assert runner.main(["replot", str(report), "--redraw-latency"]) == 0
    assert not (report / "recall_at_k.png").exists()  # one k: no recall@k plot
    for name in ("recall_vs_budget.png", "latency.png"):
        assert (report / name).read_bytes()[:4] == b"\x89PNG"
    text = (report / "report.md").read_text()
    assert "recall_at_k.png" not in text
    assert text == REPORT.replace(
        "![recall@k](recall_at_k.png)", "![recall_vs_budget](recall_vs_budget.png)"
    )


def test_replot_keeps_a_runs_latency_boxes_unless_asked(tmp_path: Path) -> None:
    report = folder(tmp_path, [5, 10])
    assert figures.replot(report) == ["recall_vs_budget.png", "recall_at_k.png", "latency.png"]
    assert (report / "latency.png").read_bytes() == b"overlaid histograms"
    assert (report / "recall_at_k.png").read_bytes()[:4] == b"\x89PNG"


def test_relink_appends_links_to_a_report_without_any() -> None:
    assert figures.relink("# t\n", ["latency.png"]) == "# t\n\n![latency](latency.png)\n"
    assert figures.relink(REPORT, []) == REPORT.replace(
        "\n![recall@k](recall_at_k.png)\n\n![latency](latency.png)\n", ""
    )
