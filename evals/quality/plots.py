"""PNG plots of a run: recall@k per group, latency distribution."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def recall_curves(
    summary: Mapping[str, Any],
    ks: Sequence[int],
    metric: str,
    path: Path,
    titles: Mapping[str, str],
) -> None:
    """One panel per group plus ``overall``; one line per pipeline, ``metric@k`` over k."""
    plt = _pyplot()
    groups = ["overall", *sorted({g for p in summary.values() for g in p["groups"]})]
    fig, axes = plt.subplots(1, len(groups), figsize=(3.2 * len(groups), 3.2), sharey=True)
    axes = axes if len(groups) > 1 else [axes]
    for ax, group in zip(axes, groups, strict=True):
        for name, entry in summary.items():
            stats = entry["overall"] if group == "overall" else entry["groups"].get(group, {})
            ys = [stats.get(f"{metric}@{k}") for k in ks]
            if any(y is not None for y in ys):
                ax.plot(
                    list(ks), [y if y is not None else float("nan") for y in ys], "o-", label=name
                )
        ax.set_title(titles.get(group, group), fontsize=9)
        ax.set_xlabel("k")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(metric)
    if axes[-1].get_legend_handles_labels()[0]:
        axes[-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def latency_histogram(records: Sequence[Mapping[str, Any]], path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    by_pipeline: dict[str, list[float]] = {}
    for r in records:
        by_pipeline.setdefault(r["pipeline"], []).append(float(r["latency_ms"]))
    for name, values in by_pipeline.items():
        ax.hist(values, bins=40, alpha=0.5, label=name)
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("questions")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
