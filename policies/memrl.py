"""MemRL's two-phase reranker over utilities Q learned from feedback.

Phase A keeps what is relevant at all (cosine similarity above a floor, the ``k1``
most similar); phase B orders that pool by a mixture of z-scored similarity and
z-scored utility, so that feedback can reorder relevant items but never promote an
irrelevant one. Q itself is updated in SQL when feedback arrives
(``memory_service.services.feedback``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True, slots=True)
class RerankConfig:
    """The reranker's knobs.

    ``lam`` in [0, 1] weighs utility against similarity (0: similarity order, 1:
    utility order within the pool). ``k1_factor`` x limit candidates survive phase A
    when their cosine similarity is strictly above ``floor`` (in [-1, 1]). z(Q) is
    clipped to ±``z_clip`` (> 0) so that one outlier utility cannot dominate the pool.
    """

    lam: float = 0.5
    k1_factor: int = 5
    floor: float = 0.2
    z_clip: float = 3.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.lam <= 1.0:
            raise ValueError(f"lam must be in [0, 1], got {self.lam}")
        if self.k1_factor < 1:
            raise ValueError(f"k1_factor must be >= 1, got {self.k1_factor}")
        if not -1.0 <= self.floor <= 1.0:
            raise ValueError(f"floor is a cosine similarity in [-1, 1], got {self.floor}")
        if not self.z_clip > 0:
            raise ValueError(f"z_clip must be > 0, got {self.z_clip}")


@dataclass(frozen=True, slots=True)
class Scored:
    """One candidate of the fused pool."""

    id: UUID
    similarity: float
    """Cosine similarity to the query, in [-1, 1]; higher is more similar."""
    utility: float
    """The learned utility Q, in [-1, 1] (starts at 0; rewards are in [-1, 1])."""


@dataclass(frozen=True, slots=True)
class Ranked:
    """One survivor of both phases, with the parts of its score (for the retrieval log)."""

    id: UUID
    similarity: float
    """Cosine similarity to the query, as given."""
    utility: float
    """Q, as given."""
    z_sim: float
    """z-score of the similarity within the phase-A pool."""
    z_q: float
    """z-score of Q within the phase-A pool, clipped to ±``z_clip``."""
    score: float
    """``(1 - lam) z_sim + lam z_q``: a z-score mixture, only comparable within one pool."""


def z_scores(values: Sequence[float]) -> list[float]:
    """(x - mean) / population std, in input order; all zeros when the values do not vary
    (no item stands out, so none gains or loses)."""
    if not values:
        return []
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    if std == 0:
        return [0.0] * len(values)
    return [(v - mean) / std for v in values]


def _clip(value: float, bound: float) -> float:
    return max(-bound, min(bound, value))


def rerank(items: Sequence[Scored], limit: int, config: RerankConfig) -> list[Ranked]:
    """At most ``limit`` items, best first.

    Phase A: the ``k1_factor * limit`` most similar items strictly above ``floor``
    (none above it: an empty list, nothing is injected). Phase B: order that pool by
    ``(1 - lam) z(similarity) + lam clip(z(Q), ±z_clip)``, z-scores taken within the
    pool, and keep ``limit``. Ties, in both phases: higher similarity, then input order.
    The result is a subset of ``items``; it does not depend on items below the floor.
    """
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    above = [(pos, item) for pos, item in enumerate(items) if item.similarity > config.floor]
    above.sort(key=lambda p: (-p[1].similarity, p[0]))
    pool = above[: config.k1_factor * limit]
    z_sim = z_scores([item.similarity for _, item in pool])
    z_q = [_clip(z, config.z_clip) for z in z_scores([item.utility for _, item in pool])]
    ranked = [
        (
            pos,
            Ranked(
                id=item.id,
                similarity=item.similarity,
                utility=item.utility,
                z_sim=zs,
                z_q=zq,
                score=(1 - config.lam) * zs + config.lam * zq,
            ),
        )
        for (pos, item), zs, zq in zip(pool, z_sim, z_q, strict=True)
    ]
    ranked.sort(key=lambda p: (-p[1].score, -p[1].similarity, p[0]))
    return [r for _, r in ranked[:limit]]
