"""Packers: what of the ranked passages goes into the answer
(``memory_service.ports.Packer``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

from memory_service.domain.models import SearchHit
from memory_service.ports import Search
from policies.distinct import distinct_passages
from policies.excerpts import merge_overlapping


@dataclass(frozen=True, slots=True)
class TopK:
    """The best ``limit`` passages, as ranked."""

    def pack(self, search: Search, passages: Sequence[SearchHit]) -> list[SearchHit]:
        return list(passages[: search.query.limit])

    def create(self, parts: object) -> Self:
        return self


@dataclass(frozen=True, slots=True)
class MergedPassages:
    """The best ``limit`` passages, overlapping ones merged into one and the freed
    slots given to the next (:func:`policies.excerpts.merge_overlapping`)."""

    def pack(self, search: Search, passages: Sequence[SearchHit]) -> list[SearchHit]:
        return merge_overlapping(passages, search.query.limit)

    def create(self, parts: object) -> Self:
        return self


@dataclass(frozen=True, slots=True)
class DistinctPassages:
    """The best ``limit`` passages, no turn shown twice, none grown past its window or
    past ``max_tokens`` (approximate; None: no bound) (:func:`policies.distinct.
    distinct_passages`): a hit already shown, or a fact whose source turns all are,
    gives its slot to the next."""

    max_tokens: int | None = 256
    wide: int | None = None
    """Items that keep their neighbours (None: all); the rest show their hit alone."""

    def pack(self, search: Search, passages: Sequence[SearchHit]) -> list[SearchHit]:
        return distinct_passages(
            passages, search.query.limit, max_tokens=self.max_tokens, wide=self.wide
        )

    def create(self, parts: object) -> Self:
        return self
