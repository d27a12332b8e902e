"""The packer's estimate of how likely a passage's turns hold evidence: two logistic
regressions over named features, one for the ranked hits and one for the turns beside
them (``policies.value_packing`` computes the features).

Trained with torch by ``evals/train_packer.py`` on the LoCoMo development split and
stored as plain JSON (feature names, their means and scales, weights, bias), so scoring
is a few dozen multiply-adds with no torch on the read path.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

BUNDLED = Path(__file__).with_name("value_model.json")
"""The model trained on the LoCoMo development split, shipped with the package."""

LISTS = ("episodes.vector", "episodes.text", "episodes.sparse", "memories.vector", "memories.text")
"""The candidate lists whose ranks a hit's features carry (a list a preset lacks: 0)."""
HIT_FEATURES = (
    "log_rank",
    "inv_rank",
    "rrf",
    "fact",
    "log_tokens",
    "overlap",
    *(f"{name}.{what}" for name in LISTS for what in ("inv_rank", "present")),
    "day_support",
    "fact_support",
    "source_support",
    "names_period",
    "in_period",
)
"""A ranked hit: its fused rank and score, whether it is a fact, its length, the share
of the query's content words it holds, where each list ranked it, the support of
the first hits (on its day; a fact among them drawn from it; its source turn among
them), and whether the question names a period and the hit falls in it."""
NEIGHBOUR_FEATURES = (
    "hit.log_rank",
    "hit.inv_rank",
    "hit.rrf",
    "hit.log_tokens",
    "hit.overlap",
    "hit.day_support",
    "hit.fact_support",
    "after",
    "before",
    "far",
    "log_tokens",
    "overlap",
    "pool.inv_rank",
    "pool.present",
    "fact_support",
    "hit_asks",
    "asks",
    "in_period",
)
"""A turn beside an episode hit: its hit's rank, score, length and overlap, which side
and how far, its own length and overlap with the query, its own fused rank when a list
proposed it too, a fact among the first hits drawn from it, the hit's support, whether
it or the hit is a question, and whether it falls in a period the question names."""


@dataclass(frozen=True, slots=True)
class Logistic:
    """P(evidence) = sigmoid(bias + sum of weight * (value - mean) / scale)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    _terms: tuple[tuple[str, float], ...] = field(init=False, repr=False, compare=False)
    _offset: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.features)
        if not (len(self.mean) == len(self.scale) == len(self.weights) == n):
            raise ValueError("mean, scale and weights need one entry per feature")
        if any(s <= 0 for s in self.scale):
            raise ValueError("scales must be > 0")
        values = (*self.mean, *self.weights, self.bias)
        if not all(math.isfinite(v) for v in values):
            raise ValueError("means, weights and the bias must be finite")
        # w * (x - m) / s = (w / s) * x - w * m / s: scoring is then a multiply-add a feature
        scaled = [w / s for w, s in zip(self.weights, self.scale, strict=True)]
        terms = tuple(zip(self.features, scaled, strict=True))
        offset = self.bias - sum(w * m for w, m in zip(scaled, self.mean, strict=True))
        object.__setattr__(self, "_terms", terms)
        object.__setattr__(self, "_offset", offset)

    def probability(self, values: Mapping[str, float]) -> float:
        """From the named feature ``values`` (a feature the mapping lacks counts as 0)."""
        z = self._offset
        for name, weight in self._terms:
            z += weight * values.get(name, 0.0)
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "weights": list(self.weights),
            "bias": self.bias,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], known: frozenset[str]) -> Logistic:
        unknown = set(data["features"]) - known
        if unknown:
            raise ValueError(f"the model uses features this version lacks: {sorted(unknown)}")
        return cls(
            features=tuple(str(f) for f in data["features"]),
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
            weights=tuple(float(v) for v in data["weights"]),
            bias=float(data["bias"]),
        )


@dataclass(frozen=True, slots=True)
class ValueModel:
    """``hit``: P(a ranked hit's own turn, or a fact's source turn, is evidence);
    ``neighbour``: P(a turn shown beside an episode hit is evidence)."""

    hit: Logistic
    neighbour: Logistic
    info: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "hit": self.hit.to_json(),
            "neighbour": self.neighbour.to_json(),
            "info": dict(self.info or {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ValueModel:
        return cls(
            hit=Logistic.from_json(data["hit"], frozenset(HIT_FEATURES)),
            neighbour=Logistic.from_json(data["neighbour"], frozenset(NEIGHBOUR_FEATURES)),
            info=data.get("info"),
        )


def load(path: Path) -> ValueModel:
    """The model stored at ``path``; a missing or malformed file is a clear error."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no packer model at {path}: train one with `python -m evals.train_packer`"
        ) from None
    try:
        return ValueModel.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path} is not a packer model: {exc}") from exc


@cache
def bundled() -> ValueModel | None:
    """The shipped model, or None when the package carries none."""
    return load(BUNDLED) if BUNDLED.exists() else None
