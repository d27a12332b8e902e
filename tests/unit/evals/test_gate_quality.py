"""The gate's figures from a run's records: the AUC of the score that routes, the
escalation share and recall on each side (``evals.quality.gate_quality``), and the
escalation budget measured leave-one-conversation-out (``evals.quality.gate_budget``)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from evals.quality.gate_budget import questions, study, with_quantiles
from evals.quality.gate_quality import gate_quality
from evals.quality.metrics import roc_auc
from evals.quality.report import gate_auc
from policies.gate_features import FEATURES
from policies.learned_gate import QUANTILE_POINTS, LearnedGate


def tiny(weight: float, bias: float) -> LearnedGate:
    """A logistic model over sim_best alone (mean 0, scale 1)."""
    n = len(FEATURES)
    row = tuple(weight if name == "sim_best" else 0.0 for name in FEATURES)
    return LearnedGate(FEATURES, (0.0,) * n, (1.0,) * n, (((row,), (bias,)),))


def run_records(seed: int = 5, per_conversation: int = 40) -> list[dict[str, Any]]:
    """A gated preset's run in results.jsonl form: its ``@fast`` twin with the gate's
    features (label and probability follow sim_best) and the preset's own records,
    escalated under p = 0.4 with a better System 2 result."""
    rng = random.Random(seed)
    model = tiny(4.0, 0.0)
    out: list[dict[str, Any]] = []
    for conv in ("conv-a", "conv-b", "conv-c"):
        for i in range(per_conversation):
            x = [rng.gauss(0, 1) for _ in FEATURES]
            p = model.probability(x)
            held = x[FEATURES.index("sim_best")] + rng.gauss(0, 0.7) > 0
            fast = {"recall@10": float(held), "all@10": float(held), "recall@1000tok": 0.5}
            common = {"conversation": conv, "question_id": f"{conv}:q{i}", "gate_overall": 0.5}
            common["gate_scores"] = {"relevance": 0.5, "learned": p}
            twin = {**common, "pipeline": "gated@fast", "route": "fast", "scores": fast}
            twin["gate_features"] = dict(zip(FEATURES, x, strict=True))
            routed = {**common, "pipeline": "gated", "route": "deliberate" if p < 0.4 else "fast"}
            routed["scores"] = dict.fromkeys(fast, 1.0) if p < 0.4 else fast
            out += [twin, routed]
    return out


def test_gate_quality_measures_the_score_that_routes() -> None:
    records = run_records()
    found = gate_quality(records, "gated")
    assert found is not None
    assert gate_quality(records, "gated@fast") == found
    assert (found["score"], found["n"]) == ("learned", 120)
    twins = [r for r in records if r["pipeline"] == "gated@fast"]
    learned = [r["gate_scores"]["learned"] for r in twins]
    labels = [r["scores"]["all@10"] == 1.0 for r in twins]
    assert found["auc"] == pytest.approx(roc_auc(learned, labels))
    assert found["auc"] > 0.75  # not the hand-set overall (0.5 everywhere: AUC 0.5)
    escalated = sum(p < 0.4 for p in learned)
    assert found["escalation_share"] == pytest.approx(escalated / 120)
    assert found["escalated"]["n"] == escalated
    assert found["escalated"]["recall"] == 1.0
    assert found["escalated"]["fast_recall"] < found["passed"]["fast_recall"]
    assert found["passed"]["recall"] == found["passed"]["fast_recall"]
    assert set(found["by_conversation"]) == {"conv-a", "conv-b", "conv-c"}
    assert found["by_conversation"]["conv-a"]["n"] == 40
    alone = gate_quality(twins, "gated@fast", threshold=0.4)
    assert alone is not None
    assert alone["escalation_share"] is None  # no routed records: only the would-be share
    assert alone["share_under_threshold"] == pytest.approx(escalated / 120)
    without = [{**r, "gate_scores": {"relevance": 0.5}} for r in records]
    assert (gate_quality(without, "gated") or {})["score"] == "overall"
    assert gate_quality(records, "hybrid") is None


def test_the_budget_study_routes_each_conversation_by_the_others_quantiles() -> None:
    records = run_records(per_conversation=60)
    qs = questions(records, "gated@fast")
    assert len(qs) == 180
    assert sum(q.system2 is not None for q in qs) == sum(
        r["route"] == "deliberate" for r in records if r["pipeline"] == "gated"
    )
    model = with_quantiles(tiny(4.0, 0.0), qs, "test")
    assert len(model.quantiles) == QUANTILE_POINTS
    found = study(qs, model, [0.2])
    assert found["never_escalate"]["escalation_share"] == 0.0
    share = found["shares"]["0.2"]
    assert share["threshold"] == pytest.approx(model.threshold_at_share(0.2))
    held = share["threshold_held_out"]
    assert held["escalation_share"] == pytest.approx(0.2, abs=0.05)
    assert set(held["thresholds"]) == {"conv-a", "conv-b", "conv-c"}
    assert held["no_system2"] == 0  # every mark is under 0.4, where the run escalated
    assert found["never_escalate"]["recall@10"] < held["recall@10"] <= found["as_run"]["recall@10"]
    refit = share["model_held_out"]
    assert refit["escalation_share"] == pytest.approx(0.2, abs=0.1)
    assert set(refit["by_conversation"]) == {"conv-a", "conv-b", "conv-c"}


def test_the_report_shows_the_auc_of_the_score_that_routes() -> None:
    """With a learned gate the report's gate AUC is the learned probability's, not the
    dimensions' overall score (constant here, so its AUC would be 0.5)."""
    twins = [r for r in run_records() if r["pipeline"] == "gated@fast"]
    labels = [r["scores"]["all@10"] >= 1.0 for r in twins]
    learned = roc_auc([r["gate_scores"]["learned"] for r in twins], labels)
    out = gate_auc(twins)
    assert out["gate_auc_score"] == "learned"
    assert out["gate_auc"] == pytest.approx(learned)
    assert learned > 0.7
    without = [{**r, "gate_scores": {"relevance": 0.5}} for r in twins]
    assert gate_auc(without) == {"gate_auc": 0.5, "gate_auc_score": "overall"}
