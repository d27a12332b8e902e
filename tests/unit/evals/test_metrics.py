"""Hand-computed cases for evals.quality.metrics (arithmetic in the comments)."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Collection, Sequence

import pytest

from evals.quality import metrics
from memory_service.adapters.tokens import count_tokens

LOG2_3 = math.log2(3)  # 1.58496...: the rank-2 discount of standard DCG
LOG2_5 = math.log2(5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The U.S.A., and an apple!", "usa apple"),  # commas, dots, "!", the/and/an go
        ("  Hello,   World  ", "hello world"),
        ("Andrew and the band", "andrew band"),  # whole words only: "band", "Andrew" stay
        ("A-list", "alist"),  # punctuation goes before articles, so "a" survives as a prefix
    ],
)
def test_normalize_answer(text: str, expected: str) -> None:
    assert metrics.normalize_answer(text) == expected


@pytest.mark.parametrize(
    ("prediction", "gold", "category", "expected"),
    [
        # stemming: running -> run, runs -> run
        ("running", "runs", 2, 1.0),
        # articles and "and" removed: "cat dog" vs "cat dog"
        ("The cat and the dog", "cat dog", 4, 1.0),
        # 2 of 3 tokens shared: P = R = 2/3, F1 = 2/3
        ("red blue green", "red blue yellow", 4, 2 / 3),
        # multiset: pred [cat, cat], gold [cat]; common 1, P = 1/2, R = 1, F1 = 2/3
        ("cat cat", "cat", 2, 2 / 3),
        # pred [pari], gold [pari, rome]; P = 1, R = 1/2, F1 = 2/3
        ("Paris", "Paris and Rome", 4, 2 / 3),
        ("U.S.A.", "usa", 4, 1.0),
        ("", "cat", 4, 0.0),
        ("cat", "", 2, 0.0),
        # category 1, gold parts "London", "Rome": best F1 1 and 0, mean 0.5
        ("Paris, London", "London, Rome", 1, 0.5),
        # category 1, one prediction part [london, rome]: vs "London" P 1/2 R 1 -> 2/3,
        # vs "Rome" 2/3; mean 2/3
        ("London and Rome", "London, Rome", 1, 2 / 3),
        # the same pair in category 4: both normalise to "london rome"
        ("London and Rome", "London, Rome", 4, 1.0),
        ("3", "3", 1, 1.0),
        # category 3 keeps the gold before ';': "national park" vs "national park"
        ("National park", "National park; she likes the outdoors", 3, 1.0),
        # without that rule gold is [nation, park, she, like, outdoor]: P 1, R 2/5, F1 4/7
        ("National park", "National park; she likes the outdoors", 4, 4 / 7),
        # category 5 looks only for the two refusal phrases
        ("Not mentioned in the conversation", "a dog", 5, 1.0),
        ("No information available.", "", 5, 1.0),
        ("Yes", "Yes", 5, 0.0),
        ("I don't know", "", 5, 0.0),
    ],
)
def test_locomo_f1(prediction: str, gold: str, category: int, expected: float) -> None:
    assert metrics.locomo_f1(prediction, gold, category) == pytest.approx(expected)


@pytest.mark.parametrize("category", [0, 6])
def test_locomo_f1_rejects_unknown_category(category: int) -> None:
    with pytest.raises(ValueError, match="category"):
        metrics.locomo_f1("a", "a", category)


@pytest.mark.parametrize(
    ("prediction", "gold", "expected"),
    [
        # sets {cat, sat} vs {cat, sat, mat}: common 2, P 1, R 2/3, F1 0.8
        ("cat cat sat", "cat sat mat", 0.8),
        ("running", "runs", 0.0),  # unstemmed
        ("The cat", "cat", 1.0),
        ("", "cat", 0.0),
        ("cat", "", 0.0),
        ("", "", 0.0),
    ],
)
def test_set_f1(prediction: str, gold: str, expected: float) -> None:
    assert metrics.set_f1(prediction, gold) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("prediction", "gold", "expected"),
    [
        # c = 2, r = 4 ("the" dropped); precision 1; BP = exp(1 - 4/2) = e^-1
        ("cat sat", "the cat sat on mat", math.exp(-1)),
        # clipped count min(3, 1) = 1, precision 1/3; c = 3 > r = 2 so BP = 1
        ("cat cat cat", "cat sat", 1 / 3),
        ("cat sat", "cat sat", 1.0),  # c == r: BP = exp(0) = 1
        ("dog", "cat", 0.0),
        ("", "cat", 0.0),
        ("cat", "", 0.0),
    ],
)
def test_bleu1(prediction: str, gold: str, expected: float) -> None:
    assert metrics.bleu1(prediction, gold) == pytest.approx(expected)


RETRIEVED: list[set[str]] = [{"D1:1"}, {"D2:1", "D2:2"}, set(), {"D3:1"}]


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (1, 0.0),
        (2, 1 / 3),  # D2:2 of {D2:2, D3:1, D9:9}
        (4, 2 / 3),  # + D3:1
        (10, 2 / 3),  # k beyond the list
    ],
)
def test_evidence_recall_at_k(k: int, expected: float) -> None:
    evidence = {"D2:2", "D3:1", "D9:9"}
    assert metrics.evidence_recall_at_k(RETRIEVED, evidence, k) == pytest.approx(expected)


@pytest.mark.parametrize(("k", "expected"), [(2, False), (3, False), (4, True)])
def test_all_evidence_at_k(k: int, expected: bool) -> None:
    assert metrics.all_evidence_at_k(RETRIEVED, {"D2:2", "D3:1"}, k) is expected


@pytest.mark.parametrize(
    ("retrieved", "evidence", "k", "expected"),
    [
        # gains at ranks 2 and 4: 1/log2(3) + 1/log2(5); ideal 2 items: 1 + 1/log2(3)
        (RETRIEVED, {"D2:2", "D3:1"}, 4, (1 / LOG2_3 + 1 / LOG2_5) / (1 + 1 / LOG2_3)),
        # rank 2 repeats "a" and gains nothing; rank 3 gains 1/log2(4) = 0.5
        ([{"a"}, {"a"}, {"b"}], {"a", "b"}, 3, 1.5 / (1 + 1 / LOG2_3)),
        # one item covering both ids gains once: 1 / (1 + 1/log2(3))
        ([{"a", "b"}], {"a", "b"}, 5, 1 / (1 + 1 / LOG2_3)),
        # k = 1 caps the ideal at one item
        ([{"a"}, {"b"}], {"a", "b"}, 1, 1.0),
        ([{"a"}, {"b"}], {"a", "b"}, 2, 1.0),
        ([{"x"}], {"a"}, 3, 0.0),
        ([], {"a"}, 3, 0.0),
    ],
)
def test_ndcg_at_k(
    retrieved: Sequence[Collection[str]], evidence: set[str], k: int, expected: float
) -> None:
    assert metrics.ndcg_at_k(retrieved, evidence, k) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        (0, 0.0),
        (4, 0.0),  # the first item (5 tokens) does not fit
        (5, 1 / 3),
        (14, 1 / 3),  # 5 + 10 > 14: the walk stops, though the 1-token item would fit
        (15, 2 / 3),
        (16, 1.0),
    ],
)
def test_recall_at_budget(budget: int, expected: float) -> None:
    retrieved = [{"a"}, {"b"}, {"c"}]
    got = metrics.recall_at_budget(retrieved, [5, 10, 1], {"a", "b", "c"}, budget)
    assert got == pytest.approx(expected)


def test_recall_at_budget_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="one entry per"):
        metrics.recall_at_budget([{"a"}], [1, 2], {"a"}, 10)
    with pytest.raises(ValueError, match="non-negative"):
        metrics.recall_at_budget([{"a"}], [1], {"a"}, -1)


@pytest.mark.parametrize(
    ("k", "any_expected", "all_expected"),
    [(1, 0.0, 0.0), (2, 1.0, 0.0), (3, 1.0, 0.0), (4, 1.0, 1.0)],
)
def test_lme_recall(k: int, any_expected: float, all_expected: float) -> None:
    retrieved = ["s1", "s2", "s3", "s4"]
    evidence = {"s2", "s4"}
    assert metrics.recall_any_at_k(retrieved, evidence, k) == any_expected
    assert metrics.recall_all_at_k(retrieved, evidence, k) == all_expected


@pytest.mark.parametrize(
    ("retrieved", "evidence", "k", "expected"),
    [
        # LongMemEval DCG: rel[0] + rel[1]/log2(2) + rel[2]/log2(3) + ...
        # rels [0, 1, 1]: 1 + 1/log2(3); ideal [1, 1]: 1 + 1 = 2
        (["x", "a", "b"], {"a", "b"}, 3, (1 + 1 / LOG2_3) / 2),
        # rels [1, 0, 1]: the same score, as ranks 1 and 2 are both undiscounted
        (["a", "x", "b"], {"a", "b"}, 3, (1 + 1 / LOG2_3) / 2),
        (["a", "b"], {"a", "b"}, 10, 1.0),
        (["b", "a"], {"a", "b"}, 10, 1.0),
        (["x", "y", "a"], {"a"}, 3, 1 / LOG2_3),
        (["a", "a"], {"a", "b"}, 2, 0.5),  # a repeat gains nothing: 1 / 2
        (["x", "a"], {"a"}, 1, 0.0),
    ],
)
def test_ndcg_any_at_k(retrieved: list[str], evidence: set[str], k: int, expected: float) -> None:
    assert metrics.ndcg_any_at_k(retrieved, evidence, k) == pytest.approx(expected)


def test_retrieval_metrics_reject_empty_evidence_and_bad_k() -> None:
    for call in (
        lambda: metrics.evidence_recall_at_k([{"a"}], set(), 1),
        lambda: metrics.all_evidence_at_k([{"a"}], set(), 1),
        lambda: metrics.ndcg_at_k([{"a"}], set(), 1),
        lambda: metrics.recall_at_budget([{"a"}], [1], set(), 1),
        lambda: metrics.recall_all_at_k(["a"], set(), 1),
        lambda: metrics.recall_any_at_k(["a"], set(), 1),
        lambda: metrics.ndcg_any_at_k(["a"], set(), 1),
    ):
        with pytest.raises(ValueError, match="evidence is empty"):
            call()
    with pytest.raises(ValueError, match="k must be"):
        metrics.ndcg_at_k([{"a"}], {"a"}, 0)


def test_mean_ci_t_interval() -> None:
    pytest.importorskip("scipy")
    # mean 2.5; sd = sqrt(5/3) = 1.290994; sem = sd / 2 = 0.645497
    # t(0.975, df=3) = 3.182446; half-width = 2.054260
    mean, low, high = metrics.mean_ci([1.0, 2.0, 3.0, 4.0])
    assert mean == pytest.approx(2.5)
    assert low == pytest.approx(2.5 - 2.054260, abs=1e-5)
    assert high == pytest.approx(2.5 + 2.054260, abs=1e-5)


@pytest.mark.parametrize(
    ("values", "expected"),
    [([5.0], (5.0, 5.0, 5.0)), ([2.0, 2.0, 2.0], (2.0, 2.0, 2.0))],
)
def test_mean_ci_degenerate(values: list[float], expected: tuple[float, float, float]) -> None:
    assert metrics.mean_ci(values) == expected


def test_mean_ci_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one"):
        metrics.mean_ci([])
    with pytest.raises(ValueError, match="confidence"):
        metrics.mean_ci([1.0, 2.0], confidence=1.0)


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([4.0, 1.0, 3.0, 2.0], 0, 1.0),
        ([4.0, 1.0, 3.0, 2.0], 25, 1.75),  # position 3 * 0.25 = 0.75: 1 + 0.75 * (2 - 1)
        ([4.0, 1.0, 3.0, 2.0], 50, 2.5),
        ([4.0, 1.0, 3.0, 2.0], 100, 4.0),
        ([7.0], 90, 7.0),
    ],
)
def test_percentile(values: list[float], p: float, expected: float) -> None:
    assert metrics.percentile(values, p) == pytest.approx(expected)


@pytest.mark.parametrize(("values", "p"), [([], 50), ([1.0], -1), ([1.0], 101)])
def test_percentile_rejects_bad_input(values: list[float], p: float) -> None:
    with pytest.raises(ValueError, match=r"percentile|p must"):
        metrics.percentile(values, p)


@pytest.mark.parametrize(("text", "expected"), [("hello world", 2), ("", 0)])
def test_count_tokens(text: str, expected: int) -> None:
    # the service's count, which the evals' context-token figures use
    assert count_tokens(text) == expected


def test_import_does_no_heavy_work() -> None:
    code = (
        "import sys, evals.quality.metrics; "
        "assert 'litellm' not in sys.modules and 'nltk' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
