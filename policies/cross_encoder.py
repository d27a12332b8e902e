"""The cross-encoder stage: a model reads the question with each of the fused pool's
first candidates, and its order is mixed with the incoming one.

The mixing rule is fixed, not tuned: reciprocal-rank fusion of the incoming order and
the model's order, ``1 / (k + rank_in) + 1 / (k + rank_model)`` (ranks from 1), over
the first ``top`` hits; ties keep the incoming order and the rest of the pool follows
unchanged. Each reranked hit's scores gain ``cross_encoder`` (the model's logit, higher
is more relevant) and ``cross_encoder_rrf`` (the mixed score, which becomes its score).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from memory_service.domain.errors import InvalidInput
from memory_service.ports import Pool, Search
from memory_service.ports.providers import PairScorer


def pair_text(speaker: str | None, text: str) -> str:
    """A candidate as the model reads it, in training and at search time alike."""
    return f"{speaker}: {text}" if speaker else text


def mixed_scores(model_scores: Sequence[float], k: float) -> list[float]:
    """Per position ``i`` of the incoming order, ``1 / (k + i + 1) + 1 / (k + r)`` where
    ``r`` is its rank (from 1) by ``model_scores`` (higher first, ties by position)."""
    by_model = sorted(range(len(model_scores)), key=lambda i: (-model_scores[i], i))
    model_rank = {i: rank for rank, i in enumerate(by_model, start=1)}
    return [1.0 / (k + i + 1) + 1.0 / (k + model_rank[i]) for i in range(len(model_scores))]


@dataclass(frozen=True, slots=True)
class CrossEncoderRerank:
    """The stage bound to its model; see the module docstring."""

    scorer: PairScorer
    top: int = 30
    k: float = 60.0

    async def rerank(self, search: Search, pool: Pool, limit: int) -> Pool:
        head, tail = list(pool.hits[: self.top]), list(pool.hits[self.top :])
        if not head:
            return pool
        with search.trace.stage("cross_encoder"):
            logits = await self.scorer.score(
                search.query.text, [pair_text(h.speaker, h.text) for h in head]
            )
        mixed = mixed_scores(logits, self.k)
        order = sorted(range(len(head)), key=lambda i: (-mixed[i], i))
        reranked = [
            replace(
                head[i],
                score=mixed[i],
                scores={
                    **head[i].scores,
                    "cross_encoder": logits[i],
                    "cross_encoder_rrf": mixed[i],
                },
            )
            for i in order
        ]
        return Pool([*reranked, *tail][: max(limit, len(reranked))], pool.exact)


class _WithReranker(Protocol):
    @property
    def reranker(self) -> PairScorer | None: ...


@dataclass(frozen=True, slots=True)
class CrossEncoder:
    """The stage as a preset names it. It needs the model ``MEMORY_RERANKER_PATH``
    names: a search with it and no model is the caller's mistake (422), never a silent
    pass-through."""

    top: int = 30
    k: float = 60.0

    def create(self, parts: _WithReranker) -> CrossEncoderRerank | Unavailable:
        if parts.reranker is None:
            return Unavailable()
        return CrossEncoderRerank(parts.reranker, self.top, self.k)


@dataclass(frozen=True, slots=True)
class Unavailable:
    """The stage of a process without a reranker model: refuses the search."""

    async def rerank(self, search: Search, pool: Pool, limit: int) -> Pool:
        raise InvalidInput(
            {"preset": "this preset reranks with a cross-encoder: set MEMORY_RERANKER_PATH"}
        )
