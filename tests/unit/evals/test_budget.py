"""Recall within a token budget: the rank-order prefix that fits, at every budget."""

from __future__ import annotations

import pytest

from evals.quality.locomo import shown
from evals.quality.pipelines import Item
from evals.quality.scoring import BUDGETS, retrieval_limit, retrieval_scores


def item(tokens: int, *covers: str) -> Item:
    return Item("x", frozenset(covers), tokens, "episode", 0.0)


def test_the_budget_curve_grows_with_the_prefix_that_fits() -> None:
    # 200 + 300 + 600 + 1500 + 3000 tokens: the prefixes that fit end after items 1, 2, 2, 3 and 4.
    items = [item(200, "a"), item(300), item(600, "b"), item(1500, "c"), item(3000, "d")]
    scores = retrieval_scores(items, ["a", "b", "c", "d"], [1, 3])
    curve = [scores[f"recall@{b}tok"] for b in BUDGETS]
    assert curve == [0.25, 0.25, 0.25, 0.5, 0.75]
    assert curve == sorted(curve)
    assert scores["recall@1"] == 0.25  # recall@k: the first k of the same answer
    assert scores["recall@3"] == 0.5
    assert scores["tokens@3"] == 1100.0
    assert scores["tokens_retrieved"] == 5600.0


def test_an_item_that_does_not_fit_ends_the_prefix() -> None:
    # A long first item keeps everything out of the small budgets, even short items after it.
    scores = retrieval_scores([item(300, "a"), item(5, "b")], ["a", "b"], [2])
    assert scores["recall@250tok"] == 0.0
    assert scores["recall@500tok"] == 1.0


@pytest.mark.parametrize(
    ("ks", "limit", "expected"), [([10], None, 50), ([5, 100], None, 100), ([10], 10, 10)]
)
def test_questions_are_asked_for_enough_items(
    ks: list[int], limit: int | None, expected: int
) -> None:
    assert retrieval_limit(ks, limit) == expected


def test_records_list_every_item_within_the_largest_budget() -> None:
    assert shown([item(100)] * 50, [10]) == 40  # 40 x 100 tokens = the 4,000-token budget
    assert shown([item(3000)] * 50, [10]) == 10  # never fewer than the largest k
