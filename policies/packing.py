"""Packers: what of the ranked passages goes into the answer
(``memory_service.ports.Packer``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, Self

from memory_service.domain.errors import ConfigurationError
from memory_service.domain.models import SearchHit
from memory_service.ports import Search
from policies.distinct import distinct_passages
from policies.excerpts import merge_overlapping
from policies.time_refs import time_ranges
from policies.value_model import ValueModel
from policies.value_packing import value_passages


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


class _WithValueModel(Protocol):
    @property
    def value_model(self) -> ValueModel | None: ...


@dataclass(frozen=True, slots=True)
class ValuePacking:
    """Passages by expected evidence per token (:func:`policies.value_packing.
    value_passages`), with the packer model the parts carry; ``join``: the least
    probability per token at which a neighbour joins its hit's passage."""

    join: float = 0.0

    def create(self, parts: _WithValueModel) -> ValuePacker:
        return ValuePacker(parts.value_model, self.join)


@dataclass(frozen=True, slots=True)
class ValuePacker:
    model: ValueModel | None
    join: float = 0.0

    def pack(self, search: Search, passages: Sequence[SearchHit]) -> list[SearchHit]:
        if self.model is None:
            raise ConfigurationError(
                "this preset packs by value per token, and no packer model is installed "
                "(policies/value_model.json, or MEMORY_PACKER_MODEL)"
            )
        query = search.query
        periods = time_ranges(query.text, search.now)
        return value_passages(
            passages, query.text, query.limit, self.model, join=self.join, periods=periods
        )
