"""Answer scores, after the LoCoMo evaluation code (``task_eval/evaluation.py``).

Pure functions of two strings, each in [0, 1]; NLTK's Porter stemmer is imported on
first use.
"""

from __future__ import annotations

import math
import re
import statistics
import string
from collections import Counter
from functools import cache
from typing import Any, Final

_ARTICLES: Final = re.compile(r"\b(a|an|the|and)\b")
_PUNCTUATION: Final = frozenset(string.punctuation)
_ADVERSARIAL_MARKERS: Final = ("no information available", "not mentioned")


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
