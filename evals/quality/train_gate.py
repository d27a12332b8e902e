"""Train the learned quality gate on a run's results.jsonl, and measure it on held-out
conversations.

Each record of the chosen pipeline (one scored with the gate but not routed by it,
e.g. ``gated-window2@fast``) gives the gate's feature vector and the label "the fast
result already held all the evidence" (all@10). Leave-one-conversation-out: for each
conversation, models are trained on the others and score it; the pooled held-out
ROC AUC of each model is set against the best-similarity baseline and the hand-set
gate's overall score on the same rows. The model with the best held-out AUC is then
fitted on every row and written as JSON (``policies/gate_model.json`` by default),
with its threshold (Youden's J on the held-out scores), the figures, and the quantile
table of its probability on the training rows (what ``MEMORY_GATE_ESCALATION_SHARE``
reads; ``share_thresholds`` shows the marks a few shares give).
"""

from __future__ import annotations

import argparse
import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.quality.calibrate import best_threshold
from evals.quality.gate_quality import gate_label
from evals.quality.metrics import roc_auc
from evals.quality.report import read_records
from policies.gate_features import FEATURES
from policies.learned_gate import BUNDLED, LearnedGate, quantile_table

SHARES = (0.15, 0.2, 0.25)
"""Escalation shares whose thresholds a training run reports."""


@dataclass(frozen=True, slots=True)
class Rows:
    x: list[list[float]]
    y: list[bool]
    group: list[str]
    similarity: list[float]
    overall: list[float]


def rows(records: Sequence[Mapping[str, Any]], pipeline: str) -> Rows:
    out = Rows([], [], [], [], [])
    for r in records:
        label = gate_label(r)
        feats = r.get("gate_features")
        if r.get("pipeline") != pipeline or label is None or not feats:
            continue
        out.x.append([float(feats[name]) for name in FEATURES])
        out.y.append(label)
        out.group.append(str(r["conversation"]))
        out.similarity.append(float(r.get("best_similarity") or feats["sim_best"]))
        out.overall.append(float(r.get("gate_overall", 0.0)))
    return out


def fit(
    x: Sequence[Sequence[float]], y: Sequence[bool], hidden: int, *, seed: int = 0
) -> LearnedGate:
    """A logistic regression (``hidden=0``) or a one-hidden-layer MLP, trained with
    AdamW on standardised features, weight decay and class-balanced loss."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead
    xs = torch.tensor(x, dtype=torch.float32)
    ys = torch.tensor([float(v) for v in y], dtype=torch.float32)
    mean = xs.mean(0)
    scale = xs.std(0).clamp_min(1e-6)
    z = (xs - mean) / scale
    n = len(FEATURES)
    model: torch.nn.Module
    if hidden:
        model = torch.nn.Sequential(
            torch.nn.Linear(n, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
        )
    else:
        model = torch.nn.Sequential(torch.nn.Linear(n, 1))
    positives = float(ys.sum())
    weight = torch.tensor((len(ys) - positives) / max(positives, 1.0))
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=weight)
    opt = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.01 if hidden else 0.001)
    for _ in range(400 if hidden else 300):
        opt.zero_grad()
        loss = loss_fn(model(z).squeeze(-1), ys)
        loss.backward()
        opt.step()
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    layers = tuple(
        (
            tuple(tuple(float(v) for v in row) for row in lin.weight.detach().tolist()),
            tuple(float(v) for v in lin.bias.detach().tolist()),
        )
        for lin in linears
    )
    return LearnedGate(
        features=FEATURES,
        mean=tuple(float(v) for v in mean.tolist()),
        scale=tuple(float(v) for v in scale.tolist()),
        layers=layers,
    )


def held_out(data: Rows, hidden: int) -> list[float]:
    """Each row's probability from a model trained without its conversation."""
    scores = [0.0] * len(data.y)
    for group in sorted(set(data.group)):
        train = [i for i, g in enumerate(data.group) if g != group]
        model = fit([data.x[i] for i in train], [data.y[i] for i in train], hidden)
        for i, g in enumerate(data.group):
            if g == group:
                scores[i] = model.probability(data.x[i])
    return scores


def per_group_auc(scores: Sequence[float], data: Rows) -> dict[str, float]:
    out = {}
    for group in sorted(set(data.group)):
        idx = [i for i, g in enumerate(data.group) if g == group]
        labels = [data.y[i] for i in idx]
        if any(labels) and not all(labels):
            out[group] = round(roc_auc([scores[i] for i in idx], labels), 3)
    return out


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def train(data: Rows, models: Mapping[str, int]) -> tuple[LearnedGate, dict[str, Any]]:
    figures: dict[str, Any] = {
        "rows": len(data.y),
        "positives": sum(data.y),
        "conversations": sorted(set(data.group)),
        "similarity_auc": round(roc_auc(data.similarity, data.y), 4),
        "hand_set_auc": round(roc_auc(data.overall, data.y), 4),
        "held_out_auc": {},
        "held_out_auc_by_conversation": {},
    }
    best_name, best_auc, best_scores = "", -1.0, [0.0]
    for name, hidden in models.items():
        scores = held_out(data, hidden)
        auc = roc_auc(scores, data.y)
        figures["held_out_auc"][name] = round(auc, 4)
        figures["held_out_auc_by_conversation"][name] = per_group_auc(scores, data)
        if auc > best_auc:
            best_name, best_auc, best_scores = name, auc, scores
    figures["similarity_auc_by_conversation"] = per_group_auc(data.similarity, data)
    threshold, j = best_threshold(best_scores, data.y)
    final = fit(data.x, data.y, models[best_name])
    quantiles = quantile_table([final.probability(x) for x in data.x])
    figures.update(model=best_name, threshold=round(threshold, 4), held_out_youden_j=round(j, 4))
    figures["share_thresholds"] = {
        str(share): round(replace(final, quantiles=quantiles).threshold_at_share(share), 4)
        for share in SHARES
    }
    info = {
        **figures,
        "trained": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
    }
    gate = LearnedGate(
        features=final.features,
        mean=final.mean,
        scale=final.scale,
        layers=final.layers,
        threshold=threshold,
        info=info,
        quantiles=quantiles,
    )
    return gate, figures


MODELS = {"logistic": 0, "mlp16": 16}


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="memory-eval train-gate", description=__doc__)
    parser.add_argument("results", type=Path, help="results.jsonl holding gate features")
    parser.add_argument("--pipeline", default="gated-window2@fast")
    parser.add_argument("--out", type=Path, default=BUNDLED, help="where to write the model")
    parser.add_argument("--dry-run", action="store_true", help="measure only; write nothing")
    args = parser.parse_args(argv)
    data = rows(read_records(args.results), args.pipeline)
    if len(set(data.group)) < 2 or all(data.y) or not any(data.y):
        parser.error(f"need both labels over >= 2 conversations in {args.pipeline!r} records")
    gate, figures = train(data, MODELS)
    gate = replace(gate, info={**(gate.info or {}), "pipeline": args.pipeline})
    print(json.dumps(figures, indent=2))
    if not args.dry_run:
        args.out.write_text(json.dumps(gate.to_json(), indent=1) + "\n")
        print(f"wrote {args.out}")
    return 0
