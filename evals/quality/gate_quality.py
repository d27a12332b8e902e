"""The quality gate's figures from a run's results.jsonl, for the score that routes.

A gated preset (``gated-window2``) is measured with its ``@fast`` twin: the twin's
records are the fast result with the gate scored but not acted on, so they carry the
label "the fast result already held all the evidence" (``gate_label``: all@10)
for every question; the preset's own records carry the route it took and the recall of
what it returned. The routing score is the learned probability (``gate_scores
["learned"]``) when the learned gate scored every record, else the hand-set ``overall``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evals.quality.metrics import roc_auc

FAST = "@fast"

Record = Mapping[str, Any]


def gate_label(record: Mapping[str, Any]) -> bool | None:
    """Whether the fast result already held all the evidence (at k=10, else the largest k)."""
    scores = record.get("scores") or {}
    keys = sorted((k for k in scores if k.startswith("all@")), key=lambda k: int(k[4:]))
    if not keys:
        return None
    key = "all@10" if "all@10" in scores else keys[-1]
    return bool(scores[key] >= 1.0)


def routing_score(records: Sequence[Record]) -> str:
    """``learned`` when every record has the learned probability, else ``overall``."""
    scored = [r.get("gate_scores") or {} for r in records]
    return "learned" if scored and all("learned" in s for s in scored) else "overall"


def routing_value(record: Record, name: str) -> float:
    """The record's ``name`` score (``learned`` or ``overall``)."""
    if name == "learned":
        return float(record["gate_scores"]["learned"])
    return float(record["gate_overall"])


def _auc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    return roc_auc(scores, labels) if any(labels) and not all(labels) else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _key(record: Record) -> tuple[str, str]:
    return str(record["conversation"]), str(record["question_id"])


def _split(records: Sequence[Record], pipeline: str) -> tuple[list[Record], list[Record]]:
    """(fast records, routed records) of the preset ``pipeline`` (or its twin's name).

    Fast records: the ``@fast`` twin's; failing that, the preset's own when it never
    escalated (a preset that only scores). Routed: the preset's own, when not a twin."""
    base = pipeline.removesuffix(FAST)
    own = [r for r in records if r.get("pipeline") == base]
    twin = [r for r in records if r.get("pipeline") == base + FAST]
    if not twin and own and all(r.get("route", "fast") == "fast" for r in own):
        twin = own
    return twin, own


def _gated(records: Sequence[Record]) -> list[Record]:
    return [
        r
        for r in records
        if (r.get("gate_overall") is not None or r.get("gate_scores")) and r.get("scores")
    ]


def _side(
    routed: Sequence[Record], fast_by_key: Mapping[tuple[str, str], Record], metric: str
) -> dict[str, Any]:
    twins = [fast_by_key[_key(r)] for r in routed if _key(r) in fast_by_key]
    return {
        "n": len(routed),
        "recall": _mean([float(r["scores"][metric]) for r in routed]),
        "fast_recall": _mean([float(t["scores"][metric]) for t in twins]),
    }


def _figures(
    fast: Sequence[Record],
    routed: Sequence[Record],
    score: str,
    metric: str,
    threshold: float | None,
) -> dict[str, Any]:
    labelled = [(r, gate_label(r)) for r in fast]
    rows = [(routing_value(r, score), bool(y)) for r, y in labelled if y is not None]
    out: dict[str, Any] = {
        "n": len(fast) or len(routed),
        "auc": _auc([s for s, _ in rows], [y for _, y in rows]) if rows else None,
        "escalation_share": None,
    }
    if threshold is not None and fast:
        out["share_under_threshold"] = _mean(
            [float(routing_value(r, score) < threshold) for r in fast]
        )
    if routed:
        escalated = [r for r in routed if r.get("route") == "deliberate"]
        passed = [r for r in routed if r.get("route") != "deliberate"]
        fast_by_key = {_key(r): r for r in fast}
        out["escalation_share"] = len(escalated) / len(routed)
        out["recall"] = _mean([float(r["scores"][metric]) for r in routed])
        out["escalated"] = _side(escalated, fast_by_key, metric)
        out["passed"] = _side(passed, fast_by_key, metric)
    return out


def gate_quality(
    records: Sequence[Record],
    pipeline: str,
    *,
    metric: str = "recall@10",
    threshold: float | None = None,
) -> dict[str, Any] | None:
    """The gate's figures for the preset ``pipeline`` (``gated-window2`` or its
    ``gated-window2@fast`` twin: both are read), overall and per conversation.

    Returns None when neither has gate scores. Else ``score`` (``learned`` or
    ``overall``: the score that routes), ``metric``, and, overall and under
    ``by_conversation``: ``n``; ``auc``, the ROC AUC of that score at telling fast
    results that hold all their evidence (None without the fast twin or with one
    class only); when the preset's routed records are there, ``escalation_share``
    (share sent to System 2), ``recall`` (``metric`` of what the preset returned), and
    ``escalated`` / ``passed``: ``n``, ``recall`` (what the preset returned) and
    ``fast_recall`` (the same questions' fast result, from the twin). Given the
    routing ``threshold``, ``share_under_threshold``: the share of fast results whose
    score is under it (what the gate would escalate; for a run of the twin alone).

    A preset run in mode ``fast`` (the gate scored, never acted on) reports an
    escalation share of 0. The AUC is in-sample for a learned model fitted on the same
    conversations (``memory-eval train-gate --dry-run`` gives the held-out figure).
    """
    fast, routed = _split(records, pipeline)
    fast, routed = _gated(fast), _gated(routed)
    if not fast and not routed:
        return None
    score = routing_score(fast or routed)
    out: dict[str, Any] = {
        "pipeline": pipeline.removesuffix(FAST),
        "score": score,
        "metric": metric,
        **_figures(fast, routed, score, metric, threshold),
        "by_conversation": {},
    }
    for conv in sorted({str(r["conversation"]) for r in (*fast, *routed)}):
        out["by_conversation"][conv] = _figures(
            [r for r in fast if r["conversation"] == conv],
            [r for r in routed if r["conversation"] == conv],
            score,
            metric,
            threshold,
        )
    return out


def gated_pipelines(records: Sequence[Record]) -> list[str]:
    """The presets (twin suffix dropped) whose records carry gate scores, in order."""
    names = [str(r["pipeline"]) for r in records if r.get("gate_overall") is not None]
    return list(dict.fromkeys(n.removesuffix(FAST) for n in names))
