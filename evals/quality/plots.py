"""PNG plots of a run: recall against the token budget, recall@k, latency per pipeline."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARKERS = "osD^vP*Xh<>p"


@dataclass(frozen=True, slots=True)
class Panel:
    """One panel: ``group`` (``overall``, ``overall_without_<x>`` or a group's key) and
    the score prefix it plots
    (``""`` for LoCoMo's ``recall@…``, ``"session_"`` for ``session_recall@…``)."""

    title: str
    group: str = "overall"
    prefix: str = ""


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _style(i: int) -> dict[str, Any]:
    """A colour (tab10) and marker per pipeline; the eleventh and later are dashed."""
    plt = _pyplot()
    return {
        "color": plt.get_cmap("tab10")(i % 10),
        "marker": MARKERS[i % len(MARKERS)],
        "linestyle": "-" if i < 10 else "--",
        "markersize": 4,
        "linewidth": 1.4,
    }


def _stats(entry: Mapping[str, Any], group: str) -> Mapping[str, Any]:
    """A pipeline's figures for ``overall``, ``overall_without_<x>`` or one group."""
    return dict(entry[group] if group.startswith("overall") else entry["groups"].get(group, {}))


def _grid(plt: Any, n: int, width: float = 3.6, height: float = 3.2) -> tuple[Any, list[Any]]:
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(width * cols, height * rows), sharey=True, squeeze=False
    )
    flat = [ax for row in axes for ax in row]
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _save(plt: Any, fig: Any, axes: Sequence[Any], path: Path) -> None:
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:  # outside the panels, so it covers no line
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def recall_vs_budget(
    summary: Mapping[str, Any], budgets: Sequence[int], panels: Sequence[Panel], path: Path
) -> None:
    """Recall within each token budget (log2 x axis), one line per pipeline, per panel;
    a budget a summary lacks is a gap in the line."""
    plt = _pyplot()
    fig, axes = _grid(plt, len(panels))
    for ax, panel in zip(axes, panels, strict=True):
        for i, (name, entry) in enumerate(summary.items()):
            stats = _stats(entry, panel.group)
            ys = [stats.get(f"{panel.prefix}recall@{b}tok") for b in budgets]
            if any(y is not None for y in ys):
                values = [y if y is not None else float("nan") for y in ys]
                ax.plot(list(budgets), values, label=name, **_style(i))
        ax.set_xscale("log", base=2)  # the budgets double: evenly spaced
        ax.set_xticks(list(budgets), [f"{b:,}" for b in budgets])
        ax.minorticks_off()
        ax.set_title(panel.title, fontsize=9)
        ax.set_xlabel("context tokens (cl100k_base)")
        ax.set_ylim(0, 1.03)  # a line at 1.0 stays visible
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"{panels[0].prefix}recall within budget")
    _save(plt, fig, axes, path)


def recall_at_k(
    summary: Mapping[str, Any], ks: Sequence[int], metric: str, path: Path, panels: Sequence[Panel]
) -> bool:
    """``metric@k`` over k, one line per pipeline; written only for two k or more (one k
    is a column of dots: the report's table says it better). Returns whether written."""
    if len(ks) < 2:
        path.unlink(missing_ok=True)  # a stale plot from an earlier run in the same folder
        return False
    plt = _pyplot()
    fig, axes = _grid(plt, len(panels))
    for ax, panel in zip(axes, panels, strict=True):
        for i, (name, entry) in enumerate(summary.items()):
            stats = _stats(entry, panel.group)
            ys = [stats.get(f"{metric}@{k}") for k in ks]
            if any(y is not None for y in ys):
                values = [y if y is not None else float("nan") for y in ys]
                ax.plot(list(ks), values, label=name, **_style(i))
        ax.set_xticks(list(ks))
        ax.set_title(panel.title, fontsize=9)
        ax.set_xlabel("k (items)")
        ax.set_ylim(0, 1.03)  # a line at 1.0 stays visible
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(metric)
    _save(plt, fig, axes, path)
    return True


def latency_boxes(records: Sequence[Mapping[str, Any]], path: Path) -> None:
    """Latency per question, one box plot per pipeline, on a log axis (whiskers 5-95%)."""
    plt = _pyplot()
    by_pipeline: dict[str, list[float]] = {}
    for r in records:
        by_pipeline.setdefault(r["pipeline"], []).append(max(float(r["latency_ms"]), 1e-3))
    names = list(by_pipeline)
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.38 * len(names)))
    ax.boxplot(
        [by_pipeline[n] for n in names],
        orientation="horizontal",
        tick_labels=names,
        whis=(5, 95),
        showfliers=True,
        flierprops={"markersize": 2, "alpha": 0.4},
    )
    ax.invert_yaxis()  # first pipeline on top, as in the tables
    ax.set_xscale("log")
    ax.set_xlabel("latency per question (ms, log scale)")
    ax.grid(alpha=0.3, axis="x", which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def latency_ranges(summary: Mapping[str, Any], path: Path) -> bool:
    """Latency per pipeline from a summary alone (no per-question records): the median
    as a dot, a bar to the 95th percentile, on a log axis. Returns whether written
    (no pipeline with both figures: nothing to draw)."""
    rows = [
        (name, float(o["latency_ms_p50"]), float(o["latency_ms_p95"]))
        for name, entry in summary.items()
        if "latency_ms_p50" in (o := entry.get("overall", {})) and "latency_ms_p95" in o
    ]
    if not rows:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.38 * len(rows)))
    for y, (_, p50, p95) in enumerate(rows):
        low, high = max(p50, 1e-3), max(p95, 1e-3)
        ax.plot([low, high], [y, y], color="0.35", linewidth=1.4)
        ax.plot([high], [y], marker="|", color="0.35", markersize=10)
        ax.plot([low], [y], marker="o", color="tab:orange", markersize=6)
    ax.set_yticks(range(len(rows)), [name for name, _, _ in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)  # first pipeline on top, as in the tables
    ax.set_xscale("log")
    _plain_log_labels(ax, min(p50 for _, p50, _ in rows), max(p95 for _, _, p95 in rows))
    ax.set_xlabel("latency per question (ms, log scale): median (dot) to 95th percentile")
    ax.grid(alpha=0.3, axis="x", which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _plain_log_labels(ax: Any, low: float, high: float) -> None:
    """Within one decade a log axis has no labelled major tick, and matplotlib writes
    the minor ones as ``4×10^1``: label them ``40`` instead."""
    if high < 10 * low:
        from matplotlib.ticker import FuncFormatter

        plain = FuncFormatter(lambda value, _: f"{value:g}")
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(plain)
        ax.tick_params(axis="x", which="both", labelsize=9)
