"""The Full Deliberation stage (D-Mem's System 2): read the scope's raw history.

Both readers see the scope's most recent episodes that fit the token budget, in time
order (``truncated`` when older ones are left out). With an LLM, chunks are read by
the chunk runner (Celery workers) or in process; without one, every turn is scored
exhaustively and, in ``auto`` mode, the result widens System 1's rather than
replacing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from memory_service.domain.models import Candidate, SearchHit, Turn
from memory_service.domain.search import finite_or_zero
from memory_service.ports import LLM, ChunkRunner, Deliberator, Search, SparseEncoder
from memory_service.services.recall.parts import Parts
from memory_service.services.recall.queries import encode_query
from retrievers.chunk_reading import InProcessChunkRunner, LLMDeliberation
from retrievers.deliberation import Deliberation, local_deliberation
from retrievers.fusion import candidate_of, hit_of, reciprocal_rank_fusion

MAX_EPISODES = 200_000
"""A hard cap on one scan; the token budget normally stops reading long before."""


@dataclass(frozen=True, slots=True)
class FullDeliberation:
    """The LLM reader when the service has an LLM, else the local one."""

    def create(self, parts: Parts) -> Deliberator:
        if parts.llm is None:
            return LocalReader(parts.sparse)
        return LLMReader(parts.llm, parts.chunks)


@dataclass(frozen=True, slots=True)
class LocalReader:
    """Every turn within the budget scored exhaustively (exact cosine smoothed over
    neighbours, BM25 and, with an encoder, the learned-sparse product, fused); fused
    with System 1 in ``auto`` mode."""

    sparse: SparseEncoder | None = None

    async def deliberate(
        self, search: Search, fast: Sequence[SearchHit], limit: int
    ) -> list[SearchHit]:
        scanned, older_left = await _scan(search)
        extra = {"sparse": await self._sparse(search, scanned, limit)} if self.sparse else {}
        found = local_deliberation(scanned, search.query.text, limit, search.budget, extra=extra)
        found.truncated = found.truncated or older_left
        slow = _record(search, found)
        return widen(fast, slow, limit) if search.mode == "auto" else slow

    async def _sparse(
        self, search: Search, scanned: Sequence[tuple[Turn, float]], limit: int
    ) -> list[Candidate]:
        """The scanned turns best by the learned-sparse product (exact over the scope,
        kept to what was read)."""
        assert self.sparse is not None
        vector = search.sparse
        if vector is None:  # the fast lists did not need it
            [vector] = await encode_query(self.sparse, [search.query.text])
        read = {turn.id for turn, _ in scanned}
        found = await search.uow.episodes.sparse_search(
            search.tenant, search.query, vector, limit * 4
        )
        return [c for c in found if c.id in read]


@dataclass(frozen=True, slots=True)
class LLMReader:
    """The scope read in chunks by an LLM, which extracts the relevant facts; the
    chunks go to ``chunks`` (Celery workers) when given, falling back to this process
    when it cannot start."""

    llm: LLM
    chunks: ChunkRunner | None = None

    async def deliberate(
        self, search: Search, fast: Sequence[SearchHit], limit: int
    ) -> list[SearchHit]:
        scanned, older_left = await _scan(search)
        here = InProcessChunkRunner(self.llm)
        reader = (
            LLMDeliberation(self.chunks, fallback=here) if self.chunks else LLMDeliberation(here)
        )
        turns = [turn for turn, _ in scanned]
        found = await reader.deliberate(turns, search.query.text, limit, search.budget)
        found.truncated = found.truncated or older_left
        return _record(search, found)


async def _scan(search: Search) -> tuple[list[tuple[Turn, float]], bool]:
    """The turns read, each with its cosine to the query (0.0 for a zero vector's NaN)."""
    turns, older_left = await search.uow.episodes.scan(
        search.tenant,
        search.query.scope,
        search.vector,
        limit=MAX_EPISODES,
        max_tokens=search.budget.max_tokens,
        where=search.query.filters,
    )
    return [(turn, finite_or_zero(cosine)) for turn, cosine in turns], older_left


def _record(search: Search, found: Deliberation) -> list[SearchHit]:
    """``found``'s cost and notes into the trace; its candidates as hits."""
    search.trace.add(
        llm_calls=found.llm_calls,
        input_tokens=found.input_tokens,
        output_tokens=found.output_tokens,
        chunks_read=found.chunks_read,
        chunks_total=found.chunks_total,
        truncated=float(found.truncated),
        deliberation_errors=len(found.errors),
    )
    search.trace.notes["deliberation"] = {
        "runner": found.runner,
        "truncated": found.truncated,
        "errors": found.errors,
    }
    return [hit_of(c, {"deliberation": c.score}) for c in found.candidates]


def widen(fast: Sequence[SearchHit], slow: Sequence[SearchHit], limit: int) -> list[SearchHit]:
    """The two lists fused by RRF (best ``limit``); each hit keeps its own scores."""
    by_key = {(h.kind, h.id): h for h in (*fast, *slow)}
    fused = reciprocal_rank_fusion(
        {"fast": [candidate_of(h) for h in fast], "deliberation": [candidate_of(h) for h in slow]}
    )
    out = []
    for f in fused[:limit]:
        hit = by_key[(f.candidate.kind, f.candidate.id)]
        out.append(replace(hit, score=f.score, scores={**hit.scores, "fused": f.score}))
    return out
