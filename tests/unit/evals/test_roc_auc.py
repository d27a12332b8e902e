"""ROC AUC (the gate's figure of merit in the reports), table-driven and against the
pairwise definition."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from evals.quality.metrics import roc_auc


@pytest.mark.parametrize(
    ("scores", "labels", "expected"),
    [
        ([0.9, 0.8, 0.2, 0.1], [True, True, False, False], 1.0),  # perfect
        ([0.1, 0.2, 0.8, 0.9], [True, True, False, False], 0.0),  # inverted
        ([0.5, 0.5], [True, False], 0.5),  # a tie counts half
        ([0.5, 0.5, 0.5, 0.5], [True, False, True, False], 0.5),
        ([0.9, 0.3, 0.5], [True, False, True], 1.0),
        # pairs (pos, neg): .8>.6 .8>.2 .4<.6 .4>.2 -> 3 of 4
        ([0.8, 0.4, 0.6, 0.2], [True, True, False, False], 0.75),
        # .5 vs .5 tie (0.5), .5 > .1 (1) -> 1.5 of 2
        ([0.5, 0.5, 0.1], [True, False, False], 0.75),
    ],
)
def test_roc_auc(scores: list[float], labels: list[bool], expected: float) -> None:
    assert roc_auc(scores, labels) == pytest.approx(expected)


def _pairwise_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """The reference: every (positive, negative) pair, ties counting half."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


@pytest.mark.parametrize("seed", range(5))
def test_roc_auc_matches_the_pairwise_reference(seed: int) -> None:
    rng = random.Random(seed)
    scores = [round(rng.random(), 1) for _ in range(60)]  # rounded: many ties
    labels = [rng.random() < 0.4 for _ in range(60)]
    labels[:2] = [True, False]
    assert roc_auc(scores, labels) == pytest.approx(_pairwise_auc(scores, labels))


@pytest.mark.parametrize(
    ("scores", "labels", "match"),
    [
        ([0.1], [True], "both classes"),
        ([0.1, 0.2], [False, False], "both classes"),
        ([], [], "both classes"),
        ([0.1, 0.2], [True], "labels"),
        ([float("nan"), 0.2], [True, False], "NaN"),
    ],
)
def test_roc_auc_rejects(scores: list[float], labels: list[bool], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        roc_auc(scores, labels)
