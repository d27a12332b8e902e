"""The candidate lists a preset can name, each a :class:`~memory_service.ports.Retriever`
over the search's unit of work: vectors and full text over episodes and facts,
learned-sparse vectors over episodes, and the hypergraph."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from memory_service.domain.models import Candidate, HitKind
from memory_service.ports import Encoding, Search
from retrievers.hypergraph import HypergraphRetriever

DENSE: frozenset[Encoding] = frozenset({"dense"})
SPARSE: frozenset[Encoding] = frozenset({"sparse"})
NONE: frozenset[Encoding] = frozenset()


@dataclass(frozen=True, slots=True)
class EpisodeVectors:
    """Episodes nearest the query by cosine (HNSW)."""

    name: str = "episodes.vector"
    kind: HitKind | None = "episode"
    needs: frozenset[Encoding] = DENSE

    async def retrieve(self, search: Search, k: int) -> list[Candidate]:
        return await search.uow.episodes.vector_search(
            search.tenant, search.query, search.vector, k
        )

    def create(self, parts: object) -> Self:
        return self


@dataclass(frozen=True, slots=True)
class EpisodeText:
    """Episodes matching the query's words (PostgreSQL full text, ts_rank_cd)."""

    name: str = "episodes.text"
    kind: HitKind | None = "episode"
    needs: frozenset[Encoding] = NONE

    async def retrieve(self, search: Search, k: int) -> list[Candidate]:
        return await search.uow.episodes.text_search(search.tenant, search.query, k)

    def create(self, parts: object) -> Self:
        return self


@dataclass(frozen=True, slots=True)
class EpisodeSparse:
    """Episodes by the inner product of learned-sparse (SPLADE) vectors: the query's is
    the search's (the pipeline encodes it beside the dense embedding), the episodes' were
    encoded by the consolidation worker. Proposes nothing without a sparse encoder, or
    for episodes not encoded yet (the other lists find them)."""

    name: str = "episodes.sparse"
    kind: HitKind | None = "episode"
    needs: frozenset[Encoding] = SPARSE

    async def retrieve(self, search: Search, k: int) -> list[Candidate]:
        if search.sparse is None:
            return []
        return await search.uow.episodes.sparse_search(
            search.tenant, search.query, search.sparse, k
        )

    def create(self, parts: object) -> Self:
        return self


@dataclass(frozen=True, slots=True)
class MemoryVectors:
    """Active facts nearest the query by cosine (HNSW)."""

    name: str = "memories.vector"
    kind: HitKind | None = "memory"
    needs: frozenset[Encoding] = DENSE

    async def retrieve(self, search: Search, k: int) -> list[Candidate]:
        return await search.uow.memories.vector_search(
            search.tenant, search.query, search.vector, k
        )

    def create(self, parts: object) -> Self:
        return self


@dataclass(frozen=True, slots=True)
class MemoryText:
    """Active facts matching the query's words (PostgreSQL full text, ts_rank_cd)."""

    name: str = "memories.text"
    kind: HitKind | None = "memory"
    needs: frozenset[Encoding] = NONE

    async def retrieve(self, search: Search, k: int) -> list[Candidate]:
        return await search.uow.memories.text_search(search.tenant, search.query, k)

    def create(self, parts: object) -> Self:
        return self


@dataclass(frozen=True, slots=True)
class GraphEdges:
    """Hyperedges (facts and episodes) of the entities the query names, one hop out."""

    name: str = "graph"
    kind: HitKind | None = None
    needs: frozenset[Encoding] = DENSE

    async def retrieve(self, search: Search, k: int) -> list[Candidate]:
        graph = HypergraphRetriever(search.uow.entities)
        return await graph.retrieve(search.tenant, search.query, search.vector, k)

    def create(self, parts: object) -> Self:
        return self
