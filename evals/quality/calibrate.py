"""Calibrate the quality gate's thresholds on a run's results.jsonl.

For each dimension, the pass mark that best separates fast results holding all their
evidence from those that do not (Youden's J: true-pass rate minus false-pass rate),
printed as the MEMORY_GATE_* settings to use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.quality.gate_quality import gate_label
from evals.quality.report import read_records

DIMENSIONS = ("relevance", "coverage", "temporal_fit", "consistency")


def best_threshold(values: Sequence[float], labels: Sequence[bool]) -> tuple[float, float]:
    """(threshold, J) maximising Youden's J for "passes when value >= threshold"."""
    positives = sum(labels) or 1
    negatives = (len(labels) - sum(labels)) or 1
    best = (0.0, -1.0)
    for threshold in sorted(set(values)):
        tp = sum(1 for v, y in zip(values, labels, strict=True) if v >= threshold and y)
        fp = sum(1 for v, y in zip(values, labels, strict=True) if v >= threshold and not y)
        j = tp / positives - fp / negatives
        if j > best[1]:
            best = (threshold, j)
    return best


def calibrate(
    records: Sequence[Mapping[str, Any]], pipeline: str
) -> dict[str, tuple[float, float]]:
    rows = [
        (r["gate_scores"], gate_label(r))
        for r in records
        if r["pipeline"] == pipeline and r.get("gate_scores") and gate_label(r) is not None
    ]
    labels = [bool(y) for _, y in rows]
    return {
        dim: best_threshold([float(scores.get(dim, 1.0)) for scores, _ in rows], labels)
        for dim in DIMENSIONS
    }


def main(argv: Sequence[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="memory-eval calibrate", description=__doc__)
    parser.add_argument("results", type=Path, help="results.jsonl of a run with pipeline 'fast'")
    parser.add_argument("--pipeline", default="fast")
    args = parser.parse_args(argv)
    found = calibrate(read_records(args.results), args.pipeline)
    for dim, (threshold, j) in found.items():
        print(f"MEMORY_GATE_{dim.upper()}={threshold:.3f}   # Youden J {j:.3f}")
    return 0
