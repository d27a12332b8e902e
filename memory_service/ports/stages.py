"""Ports of the read path: the stages one search runs through, in order.

candidate lists (:class:`Retriever`) -> :class:`Fusion` -> :class:`Reranker` (any
number) -> :class:`PassageBuilder` -> :class:`Packer` -> :class:`Gate` ->
:class:`Deliberator` (when the gate escalates) -> passages and packing again.
Each stage reads the search in flight (:class:`Search`) and writes its cost and
notes to the search's trace; the orchestrator times it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol
from uuid import UUID

from memory_service.domain.models import Candidate, HitKind, SearchHit, SearchQuery
from memory_service.domain.search import Budget, Mode, Route
from memory_service.domain.trace import Trace
from memory_service.ports.providers import SparseVector
from memory_service.ports.uow import UnitOfWork

Encoding = Literal["dense", "sparse"]
"""A query encoding a candidate list may need: the dense embedding (``Search.vector``)
or the learned-sparse vector (``Search.sparse``)."""


@dataclass(frozen=True, slots=True)
class Search:
    """One search in flight: what every stage may read."""

    uow: UnitOfWork
    tenant: UUID
    query: SearchQuery
    vector: Sequence[float]
    """The query's embedding (unit length). Empty while it is being computed: the
    candidate lists that do not need it (``Retriever.needs``) run meanwhile."""
    now: datetime
    """What "last week" is resolved against: the request's ``now``, else the clock."""
    asked_now: datetime | None
    """The request's own ``now`` (None: not given), as the auditor is told it."""
    mode: Mode
    budget: Budget
    trace: Trace
    audit: bool = True
    """With an LLM, may the gate audit a passing result's answerability (one call)?"""
    sparse: SparseVector | None = None
    """The query's learned-sparse vector; None without a sparse encoder (or while it is
    being computed, for the lists that do not need it)."""


@dataclass(frozen=True, slots=True)
class Pool:
    """Ranked hits, best first, with each one's exact cosine to the query and its
    learned utility Q (``exact[id] = (cosine, q)``; an item no longer stored is absent)."""

    hits: Sequence[SearchHit]
    exact: Mapping[UUID, tuple[float, float]]

    def similarity(self) -> dict[UUID, float]:
        return {item: cosine for item, (cosine, _) in self.exact.items()}


@dataclass(frozen=True, slots=True)
class Routing:
    """The gate's route and its report (scores, overall, reasons, features, audit)."""

    route: Route
    report: Mapping[str, Any]


class Retriever(Protocol):
    """One ranked candidate list (``name`` keys its scores and its timing)."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> HitKind | None:
        """The kind of item it proposes (skipped when the query excludes it); None: any."""
        ...

    @property
    def needs(self) -> frozenset[Encoding]:
        """The query encodings it reads; a list that needs none runs while they are
        computed."""
        ...

    async def retrieve(self, search: Search, k: int) -> list[Candidate]: ...


class Fusion(Protocol):
    def fuse(self, lists: Mapping[str, Sequence[Candidate]]) -> list[SearchHit]:
        """One ranking from several; each hit's ``scores`` keep what every list said."""
        ...


class Reranker(Protocol):
    async def rerank(self, search: Search, pool: Pool, limit: int) -> Pool:
        """The pool reordered; at most ``limit`` hits."""
        ...


class PassageBuilder(Protocol):
    async def build(self, search: Search, ranked: Sequence[SearchHit]) -> list[SearchHit]:
        """The ranked hits, each as the passage to show (episode hits may gain their
        neighbouring turns as ``context``)."""
        ...


class Packer(Protocol):
    def pack(self, search: Search, passages: Sequence[SearchHit]) -> list[SearchHit]:
        """What goes into the answer: at most ``search.query.limit`` items."""
        ...


class Gate(Protocol):
    def applies(self, search: Search) -> bool:
        """Does this search run the gate (a gated preset, or a forced mode)?"""
        ...

    async def route(
        self, search: Search, hits: Sequence[SearchHit], similarity: Mapping[UUID, float]
    ) -> Routing: ...


class Deliberator(Protocol):
    async def deliberate(
        self, search: Search, fast: Sequence[SearchHit], limit: int
    ) -> list[SearchHit]:
        """System 2: the ranked hits after reading the raw history (at most ``limit``),
        given System 1's ranking ``fast``; cost and notes go to the trace."""
        ...
