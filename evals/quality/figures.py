"""Which plots a report has, and ``memory-eval replot``: redraw a report's plots.

A run draws its plots from results.jsonl (``write_figures``). ``replot`` redraws a
report folder that kept only summary.json (the committed reports under
``evals/reports/``): recall within the token budget and, for two k or more, recall@k
come from the summary's means; latency, without the per-question records, is each
pipeline's median and 95th percentile. It rewrites the report's figure links to match
and changes nothing else in report.md.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.datasets.locomo import CATEGORY_NAMES
from evals.quality import plots
from evals.quality.plots import Panel
from evals.quality.report import read_records
from evals.quality.scoring import BUDGETS

BUDGET_PNG = "recall_vs_budget.png"
AT_K_PNG = "recall_at_k.png"
LATENCY_PNG = "latency.png"
FIGURE_LINK = re.compile(r"^!\[[^\]]*\]\(([\w.-]+\.png)\)$")


@dataclass(frozen=True, slots=True)
class Figures:
    """A dataset's plots: ``titles`` of its groups, the ``metric`` of recall@k, the
    budget plot's headline panels, and whether each group gets a budget panel too."""

    titles: Mapping[str, str]
    metric: str = "recall"
    budget_panels: Sequence[Panel] = (Panel("overall"),)
    budget_by_group: bool = False


LOCOMO = Figures(
    titles={str(k): f"{k} {v}" for k, v in CATEGORY_NAMES.items()},
    budget_panels=(Panel("overall"), Panel("overall without 5", "overall_without_5")),
    budget_by_group=True,
)
LONGMEMEVAL = Figures(
    titles={},
    metric="session_recall_all",
    budget_panels=(
        Panel("session level", prefix="session_"),
        Panel("turn level (user turns)", prefix="turn_"),
    ),
)
BY_DATASET = {"LoCoMo": LOCOMO, "LongMemEval": LONGMEMEVAL}


def write_figures(
    out: Path,
    pipelines: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    ks: Sequence[int],
    spec: Figures,
    latency: bool = True,
) -> list[str]:
    """Draw the plots into ``out`` and return their file names, in report order.

    Latency (unless ``latency`` is false) is a box plot per pipeline from ``records``;
    with no records it is drawn from the summary's percentiles."""
    if not pipelines:
        return []
    figures = []
    groups = sorted({g for p in pipelines.values() for g in p["groups"]})
    by_group = [Panel(spec.titles.get(g, g), g) for g in groups]
    budget = [*spec.budget_panels, *(by_group if spec.budget_by_group else [])]
    plots.recall_vs_budget(pipelines, BUDGETS, budget, out / BUDGET_PNG)
    figures.append(BUDGET_PNG)
    panels = [Panel("overall"), *by_group]
    if plots.recall_at_k(pipelines, ks, spec.metric, out / AT_K_PNG, panels):
        figures.append(AT_K_PNG)
    if not latency:
        return figures
    if records:
        plots.latency_boxes(records, out / LATENCY_PNG)
        figures.append(LATENCY_PNG)
    elif plots.latency_ranges(pipelines, out / LATENCY_PNG):
        figures.append(LATENCY_PNG)
    return figures


def relink(report: str, figures: Sequence[str]) -> str:
    """``report`` with its figure links (each ``![name](file.png)`` line and the blank
    line before it) replaced by links to ``figures``, where the first link was (else
    at the end)."""
    links = [x for name in figures for x in ("", f"![{name.removesuffix('.png')}]({name})")]
    out: list[str] = []
    placed = False
    for line in report.splitlines():
        if FIGURE_LINK.match(line):
            if out and out[-1] == "":
                out.pop()
            if not placed:
                out += links
                placed = True
            continue
        out.append(line)
    if not placed:
        out += links
    return "\n".join(out) + "\n"


def replot(folder: Path, redraw_latency: bool = False) -> list[str]:
    """Redraw ``folder``'s plots from its results.jsonl when it has one, else from its
    summary.json, and relink report.md. Without results.jsonl an existing latency.png
    (a run's box plot, from records replot does not have) stays unless
    ``redraw_latency``."""
    summary = json.loads((folder / "summary.json").read_text())
    spec = BY_DATASET[summary["dataset"]]
    results = folder / "results.jsonl"
    records = read_records(results) if results.exists() else []
    latency = folder / LATENCY_PNG
    keep_latency = latency.exists() and not records and not redraw_latency
    if not keep_latency:
        latency.unlink(missing_ok=True)
    ks = summary["config"].get("k") or []
    figures = write_figures(
        folder, summary["pipelines"], records, ks, spec, latency=not keep_latency
    )
    if keep_latency:
        figures.append(LATENCY_PNG)
    report = folder / "report.md"
    if report.exists():
        report.write_text(relink(report.read_text(), figures))
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="memory-eval replot", description=__doc__)
    p.add_argument("folders", type=Path, nargs="+", help="report folders with a summary.json")
    p.add_argument(
        "--redraw-latency",
        action="store_true",
        help="without results.jsonl, replace latency.png by the summary's percentiles",
    )
    args = p.parse_args(argv)
    status = 0
    for folder in args.folders:
        if not (folder / "summary.json").is_file():
            print(f"{folder}: skipped, no summary.json", file=sys.stderr)
            status = 1
            continue
        figures = replot(folder, args.redraw_latency)
        print(f"{folder}: {', '.join(figures) or 'no plots'}")
    return status
