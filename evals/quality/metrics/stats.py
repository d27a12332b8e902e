"""Aggregation: means with confidence intervals, percentiles, ROC AUC."""

from __future__ import annotations

import importlib
import math
import statistics
from collections.abc import Sequence
from functools import cache
from itertools import groupby


@cache
def _two_sided_quantile(confidence: float, dof: int) -> float:
    probability = (1 + confidence) / 2
    try:
        stats = importlib.import_module("scipy.stats")
    except ImportError:
        return statistics.NormalDist().inv_cdf(probability)
    return float(stats.t.ppf(probability, dof))


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided confidence interval: (mean, low, high).

    Student-t interval when scipy is importable, else the normal approximation.
    With fewer than two values, or no spread, low == high == mean.
    """
    if not values:
        raise ValueError("mean_ci needs at least one value")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, mean, mean
    sem = statistics.stdev(values) / math.sqrt(len(values))
    if sem == 0:
        return mean, mean, mean
    half = _two_sided_quantile(confidence, len(values) - 1) * sem
    return mean, mean - half, mean + half


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile, ``p`` in [0, 100], interpolating linearly (numpy's default)."""
    if not values:
        raise ValueError("percentile needs at least one value")
    if not 0 <= p <= 100:
        raise ValueError(f"p must be in [0, 100], got {p}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the ROC curve, in [0, 1]: the chance that a random positive scores
    above a random negative, ties counting half (Mann-Whitney U over mid-ranks).

    Raises ValueError when only one class is present, the lengths differ, or a score
    is NaN. O(n log n).
    """
    if len(scores) != len(labels):
        raise ValueError(f"{len(scores)} scores but {len(labels)} labels")
    if any(math.isnan(s) for s in scores):
        raise ValueError("roc_auc got a NaN score")
    n_pos = sum(bool(y) for y in labels)
    n_neg = len(labels) - n_pos
    if not n_pos or not n_neg:
        raise ValueError("roc_auc needs both classes")
    pos_rank_sum = 0.0
    below = 0
    for _, group in groupby(sorted(zip(scores, labels, strict=True)), key=lambda p: p[0]):
        tied = [bool(y) for _, y in group]
        # 1-based ranks below + 1 .. below + len(tied); tied scores share their mean
        pos_rank_sum += (below + (len(tied) + 1) / 2) * sum(tied)
        below += len(tied)
    u = pos_rank_sum - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)
