"""Scoring one question: retrieval figures and, in QA mode, answer figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evals.quality import metrics
from evals.quality.pipelines import Item

BUDGETS = (250, 500, 1000, 2000, 4000)
"""Token budgets of the headline: recall within what a context block of that size holds."""

MIN_LIMIT = 50
"""Items each pipeline is asked for by default: enough to fill the largest budget."""


def retrieval_limit(ks: Sequence[int], limit: int | None = None) -> int:
    """The ``limit`` a question is asked with: ``limit`` if given, else max(k, 50)."""
    return limit if limit is not None else max(*ks, MIN_LIMIT)


def budget_key(budget: int) -> str:
    return f"recall@{budget}tok"


def retrieval_scores(
    items: Sequence[Item], evidence: Sequence[str], ks: Sequence[int]
) -> dict[str, Any]:
    """recall@k, all-evidence@k, NDCG@k and context tokens@k over the first k items;
    recall within each of ``BUDGETS`` tokens over the rank-order prefix that fits."""
    covers = [item.covers for item in items]
    tokens = [item.tokens for item in items]
    out: dict[str, Any] = {}
    for k in ks:
        out[f"recall@{k}"] = metrics.evidence_recall_at_k(covers, evidence, k)
        out[f"all@{k}"] = float(metrics.all_evidence_at_k(covers, evidence, k))
        out[f"ndcg@{k}"] = metrics.ndcg_at_k(covers, evidence, k)
        out[f"tokens@{k}"] = float(sum(tokens[:k]))
    out.update(budget_scores(covers, tokens, evidence))
    out["tokens_retrieved"] = float(sum(tokens))
    return out


def budget_scores(
    covers: Sequence[frozenset[str]],
    tokens: Sequence[int],
    evidence: Sequence[str],
    prefix: str = "",
) -> dict[str, float]:
    """``{prefix}recall@{B}tok`` for every budget B of ``BUDGETS``."""
    return {
        prefix + budget_key(b): metrics.recall_at_budget(covers, tokens, evidence, b)
        for b in BUDGETS
    }


def answer_scores(prediction: str, gold: str, category: int) -> dict[str, float]:
    return {
        "f1": metrics.locomo_f1(prediction, gold, category),
        "set_f1": metrics.set_f1(prediction, gold),
        "bleu1": metrics.bleu1(prediction, gold),
    }
