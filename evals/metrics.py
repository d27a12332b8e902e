"""Evaluation metrics: answer scores, retrieval scores, aggregation and token counts.

All functions are pure except ``count_tokens``, which imports litellm lazily on
first use. Answer scores follow the LoCoMo evaluation code
(``task_eval/evaluation.py``); retrieval scores over retrieved *items* let one
item cover several evidence ids (a turn covers itself; a consolidated fact covers
the turns it came from).
"""

from __future__ import annotations

import importlib
import math
import os
import re
import statistics
import string
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from functools import cache
from typing import Any, Final

__all__ = [
    "adversarial_score",
    "all_evidence_at_k",
    "bleu1",
    "count_tokens",
    "evidence_recall_at_k",
    "f1_multi",
    "f1_score",
    "locomo_f1",
    "mean_ci",
    "ndcg_any_at_k",
    "ndcg_at_k",
    "normalize_answer",
    "percentile",
    "recall_all_at_k",
    "recall_any_at_k",
    "recall_at_budget",
    "set_f1",
]

_ARTICLES: Final = re.compile(r"\b(a|an|the|and)\b")
_PUNCTUATION: Final = frozenset(string.punctuation)
_ADVERSARIAL_MARKERS: Final = ("no information available", "not mentioned")

# --- answer scores -------------------------------------------------------------


def normalize_answer(text: str) -> str:
    """LoCoMo normalisation: drop commas, lowercase, strip punctuation, drop a/an/the/and."""
    text = text.replace(",", "").lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


@cache
def _stemmer() -> Any:
    from nltk.stem import PorterStemmer

    return PorterStemmer()


@cache
def _stem(word: str) -> str:
    return str(_stemmer().stem(word))


def _stemmed_tokens(text: str) -> list[str]:
    return [_stem(word) for word in normalize_answer(text).split()]


def _harmonic_f1(common: int, n_prediction: int, n_gold: int) -> float:
    if common == 0:
        return 0.0
    precision, recall = common / n_prediction, common / n_gold
    return 2 * precision * recall / (precision + recall)


def f1_score(prediction: str, gold: str) -> float:
    """LoCoMo token F1 in [0, 1]: multiset overlap of Porter-stemmed normalised tokens."""
    predicted, expected = _stemmed_tokens(prediction), _stemmed_tokens(gold)
    common = sum((Counter(predicted) & Counter(expected)).values())
    return _harmonic_f1(common, len(predicted), len(expected))


def f1_multi(prediction: str, gold: str) -> float:
    """LoCoMo multi-hop F1 in [0, 1]: mean over ","-separated gold parts of the best part F1."""
    predictions = [part.strip() for part in prediction.split(",")]
    golds = [part.strip() for part in gold.split(",")]
    return statistics.fmean(max(f1_score(p, g) for p in predictions) for g in golds)


def adversarial_score(prediction: str) -> float:
    """LoCoMo category 5: 1.0 when the output declines ("not mentioned" ...), else 0.0."""
    lowered = prediction.lower()
    return 1.0 if any(marker in lowered for marker in _ADVERSARIAL_MARKERS) else 0.0


def locomo_f1(prediction: str, gold: str, category: int) -> float:
    """Score one LoCoMo answer in [0, 1] with the rule for its category (1-5).

    1: ``f1_multi``; 2, 4: ``f1_score``; 3: ``f1_score`` against ``gold.split(";")[0]``;
    5: ``adversarial_score`` (the gold answer is ignored).
    """
    if category == 1:
        return f1_multi(prediction, gold)
    if category in (2, 4):
        return f1_score(prediction, gold)
    if category == 3:
        return f1_score(prediction, gold.split(";")[0].strip())
    if category == 5:
        return adversarial_score(prediction)
    raise ValueError(f"unknown LoCoMo category: {category}")


def set_f1(prediction: str, gold: str) -> float:
    """Set-based token F1 in [0, 1] over normalised, unstemmed tokens; 0 when either is empty."""
    predicted, expected = (
        set(normalize_answer(prediction).split()),
        set(normalize_answer(gold).split()),
    )
    return _harmonic_f1(len(predicted & expected), len(predicted), len(expected))


def bleu1(prediction: str, gold: str) -> float:
    """Unigram BLEU in [0, 1]: clipped precision times brevity penalty; 0 when either is empty."""
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not predicted or not expected:
        return 0.0
    clipped = sum((Counter(predicted) & Counter(expected)).values())
    brevity = (
        1.0 if len(predicted) > len(expected) else math.exp(1 - len(expected) / len(predicted))
    )
    return brevity * clipped / len(predicted)


# --- retrieval scores ----------------------------------------------------------


def _evidence_set(evidence: Collection[str]) -> frozenset[str]:
    if not evidence:
        raise ValueError("evidence is empty: skip such questions before scoring retrieval")
    return frozenset(evidence)


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")


def _covered(retrieved: Sequence[Collection[str]], evidence: frozenset[str]) -> set[str]:
    return {item for covers in retrieved for item in covers if item in evidence}


def evidence_recall_at_k(
    retrieved: Sequence[Collection[str]], evidence: Collection[str], k: int
) -> float:
    """Fraction in [0, 1] of evidence ids covered by the top ``k`` retrieved items."""
    _check_k(k)
    wanted = _evidence_set(evidence)
    return len(_covered(retrieved[:k], wanted)) / len(wanted)


def all_evidence_at_k(
    retrieved: Sequence[Collection[str]], evidence: Collection[str], k: int
) -> bool:
    """Whether the top ``k`` retrieved items together cover every evidence id."""
    _check_k(k)
    wanted = _evidence_set(evidence)
    return _covered(retrieved[:k], wanted) == wanted


def _discount(rank: int) -> float:
    return 1.0 / math.log2(rank + 1)


def ndcg_at_k(retrieved: Sequence[Collection[str]], evidence: Collection[str], k: int) -> float:
    """NDCG@k in [0, 1] with binary gains.

    An item at 1-based rank r gains 1/log2(r+1) when it covers an evidence id no
    earlier item covered; the ideal ranks min(len(evidence), k) gaining items first.
    """
    _check_k(k)
    wanted = _evidence_set(evidence)
    seen: set[str] = set()
    dcg = 0.0
    for rank, covers in enumerate(retrieved[:k], start=1):
        new = (set(covers) & wanted) - seen
        if new:
            dcg += _discount(rank)
            seen |= new
    ideal = sum(_discount(rank) for rank in range(1, min(len(wanted), k) + 1))
    return dcg / ideal


def recall_at_budget(
    retrieved: Sequence[Collection[str]],
    token_counts: Sequence[int],
    evidence: Collection[str],
    budget: int,
) -> float:
    """Evidence recall in [0, 1] of the longest rank-order prefix within ``budget`` tokens.

    Items are taken in rank order and the walk stops at the first item that would
    push the running token total above ``budget``.
    """
    if len(token_counts) != len(retrieved):
        raise ValueError("token_counts must have one entry per retrieved item")
    if budget < 0:
        raise ValueError(f"budget must be non-negative, got {budget}")
    wanted = _evidence_set(evidence)
    used, taken = 0, 0
    for tokens in token_counts:
        if tokens < 0:
            raise ValueError(f"token counts must be non-negative, got {tokens}")
        if used + tokens > budget:
            break
        used, taken = used + tokens, taken + 1
    return len(_covered(retrieved[:taken], wanted)) / len(wanted)


def recall_all_at_k(retrieved: Sequence[str], evidence: Collection[str], k: int) -> float:
    """LongMemEval recall_all@k: 1.0 if every evidence id is in the top ``k``, else 0.0."""
    _check_k(k)
    top = set(retrieved[:k])
    return float(_evidence_set(evidence) <= top)


def recall_any_at_k(retrieved: Sequence[str], evidence: Collection[str], k: int) -> float:
    """LongMemEval recall_any@k: 1.0 if any evidence id is in the top ``k``, else 0.0."""
    _check_k(k)
    top = set(retrieved[:k])
    return float(bool(_evidence_set(evidence) & top))


def _lme_dcg(relevances: Sequence[float]) -> float:
    # LongMemEval's dcg(): rel[0] + sum(rel[i] / log2(i + 1)) for 0-based i >= 1, so the
    # first two ranks are both undiscounted. Kept as-is to match their numbers.
    return sum(rel if i == 0 else rel / math.log2(i + 1) for i, rel in enumerate(relevances))


def ndcg_any_at_k(retrieved: Sequence[str], evidence: Collection[str], k: int) -> float:
    """LongMemEval ndcg@k in [0, 1] (``evaluate_retrieval``), binary relevance per id.

    Assumes every evidence id exists in the corpus, so the ideal ranking has
    min(len(evidence), k) relevant ids first. A repeated id gains nothing.
    """
    _check_k(k)
    wanted = _evidence_set(evidence)
    seen: set[str] = set()
    relevances: list[float] = []
    for doc_id in retrieved[:k]:
        relevances.append(1.0 if doc_id in wanted and doc_id not in seen else 0.0)
        seen.add(doc_id)
    return _lme_dcg(relevances) / _lme_dcg([1.0] * min(len(wanted), k))


# --- aggregation ---------------------------------------------------------------


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


# --- token counting ------------------------------------------------------------


@cache
def _token_counter() -> Callable[..., int]:
    # Use litellm's bundled cost map and cl100k_base: no network access at first use.
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    litellm = importlib.import_module("litellm")
    counter: Callable[..., int] = litellm.token_counter
    return counter


def count_tokens(text: str) -> int:
    """Number of gpt-3.5-turbo (cl100k_base) tokens in ``text``, via litellm (~3 s first call)."""
    return int(_token_counter()(model="gpt-3.5-turbo", text=text))
