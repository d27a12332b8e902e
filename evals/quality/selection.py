"""Choosing the preset without looking at the answer: leave one conversation out.

Picking the best of several presets on the development split is tuning, so its
in-sample figure flatters. Here each conversation is held out in turn, the preset
with the best mean ``criterion`` on the others is chosen, and the held-out
conversation's questions are scored with that choice; the figures pooled over the
held-out conversations are what the choice is worth on a conversation nobody
tuned on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

CRITERION = ("recall@1000tok", "recall@2000tok")
"""What the choice maximises: the mean of these scores (the issue's two goals)."""


def _value(record: Mapping[str, Any], keys: Sequence[str]) -> float | None:
    scores = record.get("scores") or {}
    if any(k not in scores for k in keys):
        return None
    return sum(float(scores[k]) for k in keys) / len(keys)


def leave_one_out(
    records: Sequence[Mapping[str, Any]],
    *,
    group: str = "conversation",
    criterion: Sequence[str] = CRITERION,
    report: Sequence[str] = ("recall@1000tok", "recall@2000tok"),
) -> dict[str, Any]:
    """Per held-out ``group``: the preset chosen on the rest and its scores there;
    ``pooled``: the mean of ``report`` over every held-out question, each scored by
    the preset chosen without it. Empty with fewer than two groups or presets."""
    by: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for r in records:
        if _value(r, criterion) is not None:
            by[(str(r[group]), str(r["pipeline"]))].append(r)
    groups = sorted({g for g, _ in by})
    presets = sorted({p for _, p in by})
    if len(groups) < 2 or len(presets) < 2:
        return {}
    folds: dict[str, Any] = {}
    pooled: dict[str, list[float]] = defaultdict(list)
    for held in groups:

        def train_score(preset: str, held: str = held) -> float:
            rows = [r for g in groups if g != held for r in by[(g, preset)]]
            values = [_value(r, criterion) or 0.0 for r in rows]
            return sum(values) / len(values) if values else float("-inf")

        chosen = max(presets, key=lambda p: (train_score(p), p))
        rows = by[(held, chosen)]
        fold = {"chosen": chosen, "questions": len(rows)}
        for key in report:
            values = [float(r["scores"][key]) for r in rows if key in r["scores"]]
            fold[key] = sum(values) / len(values) if values else None
            pooled[key] += values
        folds[held] = fold
    return {
        "criterion": list(criterion),
        "folds": folds,
        "pooled": {k: sum(v) / len(v) for k, v in pooled.items() if v},
    }
