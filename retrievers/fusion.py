"""Reciprocal rank fusion (Cormack et al., 2009) as a pure function."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Self
from uuid import UUID

from memory_service.domain.models import Candidate, SearchHit


@dataclass(slots=True)
class Fused:
    """A candidate with its fused score and what each list said of it."""

    candidate: Candidate
    score: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)


def reciprocal_rank_fusion(
    lists: Mapping[str, Sequence[Candidate]],
    *,
    k: int = 60,
    weights: Mapping[str, float] | None = None,
) -> list[Fused]:
    """Fuse ranked lists: ``score = sum over lists of w / (k + rank)``, rank from 1,
    ``w`` the list's weight (1 unless ``weights`` names it).

    Each list's own score and rank are kept in ``parts`` under ``name`` and
    ``name_rank``. Ties are broken by the best single rank, then by list order,
    so the result is deterministic.
    """
    fused: dict[tuple[str, UUID], Fused] = {}
    best_rank: dict[tuple[str, UUID], int] = {}
    weights = weights or {}
    for name, ranked in lists.items():
        weight = weights.get(name, 1.0)
        for rank, cand in enumerate(ranked, start=1):
            key = (cand.kind, cand.id)
            entry = fused.setdefault(key, Fused(candidate=cand))
            if f"{name}_rank" in entry.parts:
                continue  # a list naming the same item twice counts it once
            entry.score += weight / (k + rank)
            entry.parts[name] = cand.score
            entry.parts[f"{name}_rank"] = float(rank)
            best_rank[key] = min(best_rank.get(key, rank), rank)
    order = list(fused)
    order.sort(key=lambda key: (-fused[key].score, best_rank[key]))
    return [fused[key] for key in order]


@dataclass(frozen=True, slots=True)
class RRF:
    """The fusion stage: reciprocal rank fusion with constant ``k`` and a weight per
    list name (``weights``, unnamed lists weigh 1); each hit's scores are ``rrf`` and
    what every list said of it (``<list>`` and ``<list>_rank``)."""

    k: int = 60
    weights: tuple[tuple[str, float], ...] = ()

    def fuse(self, lists: Mapping[str, Sequence[Candidate]]) -> list[SearchHit]:
        return [
            hit_of(f.candidate, {"rrf": f.score, **f.parts}, f.score)
            for f in reciprocal_rank_fusion(lists, k=self.k, weights=dict(self.weights))
        ]

    def create(self, parts: object) -> Self:
        return self


def hit_of(cand: Candidate, scores: dict[str, float], score: float | None = None) -> SearchHit:
    """A candidate as a search hit with ``scores`` (``score``: its own, unless given)."""
    return SearchHit(
        kind=cand.kind,
        id=cand.id,
        text=cand.text,
        occurred_at=cand.occurred_at,
        score=cand.score if score is None else score,
        scores=scores,
        source_episode_ids=cand.source_episode_ids,
        speaker=cand.speaker,
    )


def candidate_of(hit: SearchHit) -> Candidate:
    return Candidate(
        kind=hit.kind,
        id=hit.id,
        text=hit.text,
        occurred_at=hit.occurred_at,
        score=hit.score,
        source_episode_ids=hit.source_episode_ids,
        speaker=hit.speaker,
    )
