"""The learned gate as a budget: the quantile table of its probability, and what an
escalation share costs and buys, measured leave-one-conversation-out.

``memory-eval gate-quantiles results.jsonl`` scores the records of a gated preset's
fast twin (default ``gated-window2@fast``, which carry the gate's features) with a gate
model (default the bundled one), writes the probability's quantile table into the
model's JSON (what ``MEMORY_GATE_ESCALATION_SHARE`` reads; ``--dry-run`` writes
nothing), and prints, for each share, the threshold the table gives and two held-out
measurements, each conversation routed by a threshold that never saw it:

- ``threshold_held_out``: the given model's probability against the threshold from
  the other conversations' quantile table (the model itself is in-sample when it was
  fitted on these conversations, as the bundled one was on the development split);
- ``model_held_out``: a logistic model fitted on the other conversations (as
  ``train-gate`` does) against the threshold from its own training rows.

Recall of a routing: a passed question counts its fast result; an escalated one counts
the preset's own (System 2) result when the run escalated it too, else its fast result
as a stand-in (counted in ``no_system2``: then the figure is not a measurement).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from evals.quality.gate_quality import gate_label
from evals.quality.report import read_records
from policies.gate_features import FEATURES
from policies.learned_gate import BUNDLED, LearnedGate, load, quantile_table, share_threshold

METRICS = ("recall@10", "recall@1000tok", "all@10")


@dataclass(frozen=True, slots=True)
class Question:
    """One question of the run: the gate's features and label on the fast result, the
    fast result's scores, and the preset's System 2 scores when the run escalated it."""

    conversation: str
    features: list[float]
    label: bool
    fast: Mapping[str, float]
    system2: Mapping[str, float] | None


def questions(records: Sequence[Mapping[str, Any]], twin: str) -> list[Question]:
    """The ``twin`` (``<preset>@fast``) records with features, each paired with the
    preset's record of the same question (when the run has one)."""
    preset = twin.removesuffix("@fast")
    routed = {
        (r["conversation"], r["question_id"]): r for r in records if r.get("pipeline") == preset
    }
    out = []
    for r in records:
        label, feats = gate_label(r), r.get("gate_features")
        if r.get("pipeline") != twin or label is None or not feats:
            continue
        mine = routed.get((r["conversation"], r["question_id"]))
        escalated = mine is not None and mine.get("route") == "deliberate"
        out.append(
            Question(
                conversation=str(r["conversation"]),
                features=[float(feats[name]) for name in FEATURES],
                label=label,
                fast=r["scores"],
                system2=mine["scores"] if mine is not None and escalated else None,
            )
        )
    return out


def routed_figures(
    qs: Sequence[Question], probabilities: Sequence[float], thresholds: Mapping[str, float]
) -> dict[str, Any]:
    """Share escalated, recall per metric, and the stand-ins, when each question passes
    at or above its conversation's threshold and escalates under it."""
    escalated = [p < thresholds[q.conversation] for q, p in zip(qs, probabilities, strict=True)]
    out: dict[str, Any] = {
        "n": len(qs),
        "escalation_share": sum(escalated) / len(qs),
        "no_system2": sum(e and q.system2 is None for q, e in zip(qs, escalated, strict=True)),
    }
    for metric in METRICS:
        values = [
            float((q.system2 if e and q.system2 is not None else q.fast)[metric])
            for q, e in zip(qs, escalated, strict=True)
        ]
        out[metric] = sum(values) / len(values)
    return out


def _held_out_thresholds(
    qs: Sequence[Question], probabilities: Sequence[float], share: float
) -> dict[str, float]:
    """Each conversation's threshold from the other conversations' quantile table."""
    out = {}
    for conv in sorted({q.conversation for q in qs}):
        rest = [p for q, p in zip(qs, probabilities, strict=True) if q.conversation != conv]
        out[conv] = _at_share(rest, share)
    return out


def _at_share(probabilities: Sequence[float], share: float) -> float:
    return share_threshold(quantile_table(probabilities), share)


def _fold_scores(qs: Sequence[Question], share: float) -> tuple[list[float], dict[str, float]]:
    """Each question's probability from a logistic model fitted without its
    conversation, and each conversation's threshold from that model's training rows."""
    from evals.quality.train_gate import fit

    probabilities = [0.0] * len(qs)
    thresholds = {}
    for conv in sorted({q.conversation for q in qs}):
        train = [q for q in qs if q.conversation != conv]
        model = fit([q.features for q in train], [q.label for q in train], 0)
        thresholds[conv] = _at_share([model.probability(q.features) for q in train], share)
        for i, q in enumerate(qs):
            if q.conversation == conv:
                probabilities[i] = model.probability(q.features)
    return probabilities, thresholds


def study(qs: Sequence[Question], model: LearnedGate, shares: Sequence[float]) -> dict[str, Any]:
    """Thresholds and held-out routings per share, beside the run's own routing."""
    probabilities = [model.probability(q.features) for q in qs]
    convs = sorted({q.conversation for q in qs})
    out: dict[str, Any] = {
        "rows": len(qs),
        "conversations": convs,
        "never_escalate": routed_figures(qs, probabilities, dict.fromkeys(convs, 0.0)),
        "as_run": _as_run(qs),
        "shares": {},
    }
    folds = {share: _fold_scores(qs, share) for share in shares}
    for share in shares:
        held = _held_out_thresholds(qs, probabilities, share)
        fold_p, fold_t = folds[share]
        out["shares"][str(share)] = {
            "threshold": _at_share(probabilities, share),
            "threshold_held_out": {
                **routed_figures(qs, probabilities, held),
                "thresholds": held,
                "by_conversation": _per_conversation(qs, probabilities, held),
            },
            "model_held_out": {
                **routed_figures(qs, fold_p, fold_t),
                "thresholds": fold_t,
                "by_conversation": _per_conversation(qs, fold_p, fold_t),
            },
        }
    return out


def _per_conversation(
    qs: Sequence[Question], probabilities: Sequence[float], thresholds: Mapping[str, float]
) -> dict[str, Any]:
    out = {}
    for conv in thresholds:
        idx = [i for i, q in enumerate(qs) if q.conversation == conv]
        out[conv] = routed_figures(
            [qs[i] for i in idx], [probabilities[i] for i in idx], thresholds
        )
    return out


def _as_run(qs: Sequence[Question]) -> dict[str, Any]:
    """The run's own routing (escalated: the questions with a System 2 result)."""
    out: dict[str, Any] = {
        "n": len(qs),
        "escalation_share": sum(q.system2 is not None for q in qs) / len(qs),
    }
    for metric in METRICS:
        values = [float((q.system2 or q.fast)[metric]) for q in qs]
        out[metric] = sum(values) / len(values)
    return out


def with_quantiles(model: LearnedGate, qs: Sequence[Question], source: str) -> LearnedGate:
    """``model`` with the quantile table of its probability over ``qs``."""
    table = quantile_table([model.probability(q.features) for q in qs])
    info = {**(model.info or {}), "quantiles": {"rows": len(qs), "source": source}}
    return replace(model, quantiles=table, info=info)


def _shares(text: str) -> list[float]:
    values = [float(x) for x in text.split(",") if x.strip()]
    if not values or any(not 0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError("give shares in (0, 1], e.g. 0.15,0.2,0.25")
    return values


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="memory-eval gate-quantiles", description=__doc__)
    parser.add_argument("results", type=Path, help="results.jsonl with the twin's features")
    parser.add_argument("--pipeline", default="gated-window2@fast", help="the fast twin")
    parser.add_argument("--model", type=Path, default=BUNDLED, help="the gate model (JSON)")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: --model)")
    parser.add_argument("--shares", type=_shares, default=[0.15, 0.2, 0.25])
    parser.add_argument("--dry-run", action="store_true", help="measure only; write nothing")
    args = parser.parse_args(argv)
    qs = questions(read_records(args.results), args.pipeline)
    if len({q.conversation for q in qs}) < 2:
        parser.error(f"need {args.pipeline!r} records with gate features over >= 2 conversations")
    model = with_quantiles(load(args.model), qs, f"{args.results.name}:{args.pipeline}")
    print(json.dumps(study(qs, model, args.shares), indent=2))
    if not args.dry_run:
        out = args.out or args.model
        out.write_text(json.dumps(model.to_json(), indent=1) + "\n")
        print(f"wrote {out}")
    return 0
