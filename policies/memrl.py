"""MemRL's two-phase reranker and its utility update (Q-values learned from feedback)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True, slots=True)
class RerankConfig:
    """``lam`` weighs utility against similarity; ``k1_factor`` x limit candidates survive
    phase A when their cosine similarity exceeds ``floor``; z(Q) is clipped to ±``z_clip``."""

    lam: float = 0.5
    k1_factor: int = 5
    floor: float = 0.2
    z_clip: float = 3.0


@dataclass(frozen=True, slots=True)
class Scored:
    id: UUID
    similarity: float
    """Cosine similarity to the query, in [-1, 1]."""
    utility: float
    """The learned utility Q (starts at 0; rewards are in [-1, 1])."""


@dataclass(frozen=True, slots=True)
class Ranked:
    id: UUID
    similarity: float
    utility: float
    z_sim: float
    z_q: float
    score: float
    """``(1 - lam) z_sim + lam z_q``: a z-score mixture, only comparable within one pool."""


def z_scores(values: Sequence[float]) -> list[float]:
    """(x - mean) / population std; all zeros when the values do not vary."""
    if not values:
        return []
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    if std == 0:
        return [0.0] * len(values)
    return [(v - mean) / std for v in values]


def rerank(items: Sequence[Scored], limit: int, config: RerankConfig) -> list[Ranked]:
    """Phase A: the top ``k1_factor * limit`` items by similarity above the floor (none
    above it: nothing is injected). Phase B: order them by the z-score mixture, keep
    ``limit``. Ties: higher similarity, then input order."""
    order = {item.id: i for i, item in enumerate(items)}
    pool = sorted(
        (i for i in items if i.similarity > config.floor),
        key=lambda i: (-i.similarity, order[i.id]),
    )[: config.k1_factor * limit]
    z_sim = z_scores([i.similarity for i in pool])
    z_q = [max(-config.z_clip, min(config.z_clip, z)) for z in z_scores([i.utility for i in pool])]
    ranked = [
        Ranked(i.id, i.similarity, i.utility, zs, zq, (1 - config.lam) * zs + config.lam * zq)
        for i, zs, zq in zip(pool, z_sim, z_q, strict=True)
    ]
    ranked.sort(key=lambda r: (-r.score, -r.similarity, order[r.id]))
    return ranked[:limit]


def update_utility(q: float, reward: float, alpha: float = 0.3) -> float:
    """MemRL's update ``Q <- Q + alpha (r - Q)``: an exponential average of rewards."""
    return q + alpha * (reward - q)
