"""Evaluation metrics, all pure: answer scores, retrieval scores and aggregation.

Answer scores follow the LoCoMo evaluation code (``task_eval/evaluation.py``);
retrieval scores over retrieved *items* let one item cover several evidence ids (a turn
covers itself; a consolidated fact covers the turns it came from). Token counts are the
service's own (``memory_service.adapters.tokens.count_tokens``).
"""

from __future__ import annotations

from evals.quality.metrics.answers import (
    adversarial_score,
    bleu1,
    f1_multi,
    f1_score,
    locomo_f1,
    normalize_answer,
    set_f1,
)
from evals.quality.metrics.retrieval import (
    all_evidence_at_k,
    evidence_recall_at_k,
    ndcg_any_at_k,
    ndcg_at_k,
    recall_all_at_k,
    recall_any_at_k,
    recall_at_budget,
)
from evals.quality.metrics.stats import mean_ci, percentile, roc_auc

__all__ = [
    "adversarial_score",
    "all_evidence_at_k",
    "bleu1",
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
    "roc_auc",
    "set_f1",
]
