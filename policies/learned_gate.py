"""The learned quality gate: a small model over ``policies.gate_features`` that predicts
whether a fast result already holds all the evidence a question needs.

The model is trained with torch by ``memory-eval train-gate`` (a logistic regression
or a one-hidden-layer MLP, chosen by held-out AUC) and stored as plain JSON: feature
names, their means and scales, and the layers' weights. Scoring needs no torch, so the
hot path stays a few dozen multiply-adds.

A model may also carry a quantile table of its probability over a calibration sample
(its training rows: ``memory-eval train-gate`` writes it, ``memory-eval
gate-quantiles`` adds it to an existing model). With it, the pass mark can be set as a
budget: the escalation share ``s`` gives the threshold ``q(s)``, under which that share
of the sample falls (``MEMORY_GATE_ESCALATION_SHARE``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from policies.gate_features import FEATURES

BUNDLED = Path(__file__).with_name("gate_model.json")
"""The model trained on the LoCoMo development split, shipped with the package."""


@dataclass(frozen=True, slots=True)
class LearnedGate:
    """``layers``: (weights, biases) per layer, weights[out][in]; ReLU between layers and
    a sigmoid at the end. ``threshold``: the probability at or above which the fast
    result passes. ``quantiles``: the probability at evenly spaced levels 0..1 of a
    calibration sample (non-decreasing; empty: none). ``escalation_share``: the budget
    that set ``threshold`` (None: the model's or the settings' own mark)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    layers: tuple[tuple[tuple[tuple[float, ...], ...], tuple[float, ...]], ...]
    threshold: float = 0.5
    info: dict[str, Any] | None = None
    quantiles: tuple[float, ...] = ()
    escalation_share: float | None = None

    def __post_init__(self) -> None:
        n = len(self.features)
        if len(self.mean) != n or len(self.scale) != n:
            raise ValueError("mean and scale need one entry per feature")
        if any(s <= 0 for s in self.scale):
            raise ValueError("scales must be > 0")
        width = n
        for weights, biases in self.layers:
            if len(weights) != len(biases) or any(len(row) != width for row in weights):
                raise ValueError("layer shapes do not chain")
            width = len(weights)
        if width != 1:
            raise ValueError("the last layer must have one output")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        q = self.quantiles
        if q and (len(q) < 2 or any(not 0.0 <= v <= 1.0 for v in q)):
            raise ValueError("quantiles need >= 2 probabilities, each in [0, 1]")
        if any(b < a for a, b in pairwise(q)):
            raise ValueError("quantiles must not decrease")

    def threshold_at_share(self, share: float) -> float:
        """The pass mark that sends ``share`` of the calibration sample to System 2
        (:func:`share_threshold` over the model's quantile table)."""
        if not self.quantiles:
            raise ValueError("the model carries no quantile table (memory-eval gate-quantiles)")
        return share_threshold(self.quantiles, share)

    def with_share(self, share: float) -> LearnedGate:
        """This model with its pass mark set by the escalation budget ``share``."""
        return replace(self, threshold=self.threshold_at_share(share), escalation_share=share)

    def probability(self, values: Sequence[float]) -> float:
        """P(the fast result holds all the evidence), from the ``FEATURES`` vector."""
        if len(values) != len(FEATURES):
            raise ValueError(f"expected {len(FEATURES)} features, got {len(values)}")
        named = dict(zip(FEATURES, values, strict=True))
        x = [
            (named[f] - m) / s for f, m, s in zip(self.features, self.mean, self.scale, strict=True)
        ]
        for i, (weights, biases) in enumerate(self.layers):
            x = [
                sum(w * v for w, v in zip(row, x, strict=True)) + b
                for row, b in zip(weights, biases, strict=True)
            ]
            if i < len(self.layers) - 1:
                x = [max(0.0, v) for v in x]
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x[0]))))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "layers": [
                {"weights": [list(r) for r in w], "biases": list(b)} for w, b in self.layers
            ],
            "threshold": self.threshold,
            "info": self.info or {},
            **({"quantiles": list(self.quantiles)} if self.quantiles else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LearnedGate:
        unknown = set(data["features"]) - set(FEATURES)
        if unknown:
            raise ValueError(f"the model uses features this version lacks: {sorted(unknown)}")
        return cls(
            features=tuple(data["features"]),
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
            layers=tuple(
                (
                    tuple(tuple(float(v) for v in row) for row in layer["weights"]),
                    tuple(float(v) for v in layer["biases"]),
                )
                for layer in data["layers"]
            ),
            threshold=float(data.get("threshold", 0.5)),
            info=data.get("info"),
            quantiles=tuple(float(v) for v in data.get("quantiles", ())),
        )


QUANTILE_POINTS = 101
"""Levels of a quantile table: 0, 0.01, ..., 1."""


def _interpolate(values: Sequence[float], level: float) -> float:
    """The value at ``level`` in [0, 1] of ``values`` (sorted, evenly spaced levels)."""
    pos = level * (len(values) - 1)
    i = min(int(pos), len(values) - 2)
    return values[i] + (pos - i) * (values[i + 1] - values[i])


def share_threshold(quantiles: Sequence[float], share: float) -> float:
    """The pass mark under which ``share`` (in (0, 1]) of a sample falls: the quantile
    of the probability at that level, linearly interpolated in the table (a quantile
    table's values at evenly spaced levels 0..1); 1.0 for a share of 1 (every
    probability under 1.0 escalates)."""
    if len(quantiles) < 2:
        raise ValueError("a quantile table needs >= 2 points")
    if not 0.0 < share <= 1.0:
        raise ValueError(f"the escalation share must be in (0, 1], got {share}")
    if share == 1.0:
        return 1.0
    return _interpolate(quantiles, share)


def quantile_table(
    probabilities: Sequence[float], points: int = QUANTILE_POINTS
) -> tuple[float, ...]:
    """The probability at ``points`` evenly spaced levels 0..1 of the sample (linear
    interpolation between order statistics, as numpy's default)."""
    if not probabilities:
        raise ValueError("a quantile table needs at least one probability")
    if points < 2:
        raise ValueError(f"a quantile table needs >= 2 points, got {points}")
    ordered = sorted(probabilities)
    if len(ordered) == 1:
        return (ordered[0],) * points
    return tuple(_interpolate(ordered, i / (points - 1)) for i in range(points))


def load(path: Path) -> LearnedGate:
    return LearnedGate.from_json(json.loads(path.read_text()))


@cache
def bundled() -> LearnedGate | None:
    """The shipped model, or None when the package carries none."""
    return load(BUNDLED) if BUNDLED.exists() else None
