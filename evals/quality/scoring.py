"""Scoring one question: retrieval figures and, in QA mode, answer figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evals.quality import metrics
from evals.quality.pipelines import Item

BUDGETS = (500, 1000, 2000)


def retrieval_scores(
    items: Sequence[Item], evidence: Sequence[str], ks: Sequence[int]
) -> dict[str, Any]:
    """recall@k, all-evidence@k, NDCG@k, context tokens@k and recall at token budgets."""
    covers = [item.covers for item in items]
    tokens = [item.tokens for item in items]
    out: dict[str, Any] = {}
    for k in ks:
        out[f"recall@{k}"] = metrics.evidence_recall_at_k(covers, evidence, k)
        out[f"all@{k}"] = float(metrics.all_evidence_at_k(covers, evidence, k))
        out[f"ndcg@{k}"] = metrics.ndcg_at_k(covers, evidence, k)
        out[f"tokens@{k}"] = float(sum(tokens[:k]))
    for budget in BUDGETS:
        out[f"recall@{budget}tok"] = metrics.recall_at_budget(covers, tokens, evidence, budget)
    return out


def answer_scores(prediction: str, gold: str, category: int) -> dict[str, float]:
    return {
        "f1": metrics.locomo_f1(prediction, gold, category),
        "set_f1": metrics.set_f1(prediction, gold),
        "bleu1": metrics.bleu1(prediction, gold),
    }
