"""Retrieval scores over ranked items.

LoCoMo-style scores take retrieved *items*, each covering several evidence ids (a turn
covers itself; a consolidated fact covers the turns it came from); LongMemEval's take
ranked ids. Every score is in [0, 1]; evidence must not be empty and ``k`` >= 1.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence


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
