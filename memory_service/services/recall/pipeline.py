"""The read path as one pipeline of stages, built once per preset.

embed -> candidate lists -> fusion -> rerankers -> passages -> packing -> gate ->
(System 2 -> passages -> packing, when the gate escalates). Each stage is timed into
the search's :class:`~memory_service.domain.trace.Trace`.

The query's encodings (the dense embedding, and the learned-sparse vector when a list
reads it) are computed at once by the encoders' query side (``recall.queries``), each
in a worker thread on one torch thread (``adapters.threads``), while the lists that
need neither (full text) run: on two cores the models and PostgreSQL work at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from memory_service.domain.models import Candidate, SearchHit, SearchQuery
from memory_service.domain.search import Budget, Mode, Route, finite_or_zero
from memory_service.domain.trace import Trace
from memory_service.ports import (
    Deliberator,
    Embedder,
    Encoding,
    Fusion,
    Gate,
    Packer,
    PassageBuilder,
    Pool,
    Reranker,
    Retriever,
    Search,
    SparseEncoder,
    SparseVector,
    UnitOfWork,
    metrics,
)
from memory_service.services.recall.queries import embed_query, encode_query
from memory_service.services.spaces import require_space


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one run of the pipeline found, and how."""

    hits: list[SearchHit]
    route: Route
    gate: dict[str, Any] | None
    candidates: int
    """How many candidates fusion proposed."""
    trace: Trace


@dataclass(frozen=True, slots=True)
class RecallPipeline:
    name: str
    embedder: Embedder
    lists: tuple[Retriever, ...]
    fusion: Fusion
    pool: int
    """How many candidates each list proposes."""
    rerankers: tuple[Reranker, ...]
    passages: PassageBuilder
    packer: Packer
    deliberated: Packer
    """Packs System 2's ranking, in its order."""
    depth: int
    """Ranked candidates kept per requested item (more than 1 when passages merge and
    freed slots go to the next ones)."""
    gate: Gate
    deliberator: Deliberator
    sparse: SparseEncoder | None = None
    """Encodes the query for the lists that need its learned-sparse vector (None: those
    lists propose nothing)."""

    async def run(
        self,
        uow: UnitOfWork,
        tenant: UUID,
        query: SearchQuery,
        *,
        mode: Mode = "auto",
        now: datetime | None = None,
        budget: Budget | None = None,
        audit: bool = True,
    ) -> Outcome:
        """The best ``query.limit`` items of the scope, with the route taken."""
        trace = Trace()
        await require_space(uow, tenant, self.embedder, write=False)
        lists = [s for s in self.lists if s.kind is None or s.kind in query.kinds]
        encodings = _Encodings(trace)
        text, sparse = [query.text], self.sparse
        encodings.start("dense", "embed", lambda: embed_query(self.embedder, text))
        if sparse is not None and any("sparse" in s.needs for s in lists):
            # beside the embedding: a query's call runs on one thread (adapters.threads)
            encodings.start("sparse", "sparse_embed", lambda: encode_query(sparse, text))
        search = Search(
            uow=uow,
            tenant=tenant,
            query=query,
            vector=(),
            now=now or datetime.now(UTC),
            asked_now=now,
            mode=mode,
            budget=budget or Budget(),
            trace=trace,
            audit=audit,
        )
        try:
            fused, search = await self._candidates(search, lists, encodings)
        finally:
            encodings.cancel()
        limit = query.limit * self.depth
        with trace.stage("rerank"):
            pool = await self._rerank(search, fused, limit)
        hits = await self._pack(search, pool.hits[:limit], self.packer)
        route: Route = "deliberate" if mode == "deliberate" else "fast"
        gate = None
        if self.gate.applies(search):
            with trace.stage("gate"), metrics.purpose("gate"):
                routing = await self.gate.route(search, hits, pool.similarity())
            route, gate = routing.route, dict(routing.report)
        if route == "deliberate":
            with trace.stage("deliberation"), metrics.purpose("deliberation"):
                ranked = await self.deliberator.deliberate(search, pool.hits[:limit], limit)
            hits = await self._pack(search, ranked, self.deliberated)
        metrics.search_route(route)
        return Outcome(hits, route, gate, len(fused), trace)

    async def _candidates(
        self, search: Search, lists: Sequence[Retriever], encodings: _Encodings
    ) -> tuple[list[SearchHit], Search]:
        """The lists' candidates fused, and the search with its encodings.

        The lists read at once, each lane a connection (the search's own, and those its
        unit of work can spare: ``UnitOfWork.beside``), each lane taking the next list
        whose encodings are ready (those that need none first), else the next one. With
        no connection to spare they run one after another on the search's own. Fused in
        the preset's order, whatever order they ran in."""
        found: dict[str, Sequence[Candidate]] = {}
        waiting = sorted(lists, key=lambda s: bool(s.needs))  # stable: the preset's order

        async def lane(uow: UnitOfWork) -> None:
            while waiting:
                source = next((s for s in waiting if encodings.ready(s.needs)), waiting[0])
                waiting.remove(source)
                ready = await encodings.into(replace(search, uow=uow), source.needs)
                found[source.name] = await self._retrieve(source, ready)

        working: set[asyncio.Task[None] | None] = set()

        async def borrowed() -> None:
            async with search.uow.beside() as other:
                if other is not None and waiting:
                    working.add(asyncio.current_task())
                    await lane(other)

        lanes = [asyncio.ensure_future(borrowed()) for _ in range(len(lists) - 1)]
        try:
            await lane(search.uow)
            for task in lanes:
                if task not in working:
                    task.cancel()  # still connecting, and nothing is left for it
            await asyncio.gather(*(t for t in lanes if t in working))
        finally:
            for task in lanes:
                task.cancel()  # a list failed: the others stop (no-op for those done)
            await asyncio.gather(*lanes, return_exceptions=True)
        search = await encodings.into(search, encodings.started)
        return self.fusion.fuse({s.name: found[s.name] for s in lists}), search

    async def _retrieve(self, source: Retriever, search: Search) -> list[Candidate]:
        """One list's candidates, timed by itself (lists run beside each other)."""
        started = time.perf_counter()
        found = await source.retrieve(search, self.pool)
        search.trace.record(source.name, (time.perf_counter() - started) * 1000)
        return [_finite(c) for c in found]

    async def _rerank(self, search: Search, fused: Sequence[SearchHit], limit: int) -> Pool:
        """The rerankers in order, over the fused pool with each item's exact cosine
        and utility (which the gate reads too)."""
        uow, tenant, vector = search.uow, search.tenant, search.vector
        exact = await uow.episodes.similarities(
            tenant, [h.id for h in fused if h.kind == "episode"], vector
        )
        exact |= await uow.memories.similarities(
            tenant, [h.id for h in fused if h.kind == "memory"], vector
        )
        exact = {item: (finite_or_zero(cos), finite_or_zero(q)) for item, (cos, q) in exact.items()}
        pool = Pool(list(fused), exact)
        for reranker in self.rerankers:
            pool = await reranker.rerank(search, pool, limit)
        return pool

    async def _pack(
        self, search: Search, ranked: Sequence[SearchHit], packer: Packer
    ) -> list[SearchHit]:
        with search.trace.stage("context"):
            return packer.pack(search, await self.passages.build(search, ranked))


class _Encodings:
    """The query's encodings, each computed in a task of its own beside the lists; its
    time is the task's, recorded when it completes."""

    def __init__(self, trace: Trace) -> None:
        self._trace = trace
        self._tasks: dict[Encoding, asyncio.Task[Any]] = {}

    @property
    def started(self) -> frozenset[Encoding]:
        return frozenset(self._tasks)

    def start(
        self, encoding: Encoding, stage: str, encode: Callable[[], Awaitable[Sequence[Any]]]
    ) -> None:
        """Encode the query (``encode()`` returns one encoding per text, of one text)."""
        self._tasks[encoding] = asyncio.ensure_future(self._timed(stage, encode))

    async def _timed(self, stage: str, encode: Callable[[], Awaitable[Sequence[Any]]]) -> Any:
        started = time.perf_counter()
        [encoded] = await encode()
        self._trace.record(stage, (time.perf_counter() - started) * 1000)
        return encoded

    def ready(self, needs: frozenset[Encoding]) -> bool:
        return all(self._tasks[e].done() for e in needs if e in self._tasks)

    async def into(self, search: Search, needs: frozenset[Encoding]) -> Search:
        """``search`` with the encodings in ``needs`` filled in (awaited); one never
        started (no sparse encoder) stays unset."""
        if "dense" in needs and not search.vector and "dense" in self._tasks:
            vector: list[float] = await self._tasks["dense"]
            search = replace(search, vector=vector)
        if "sparse" in needs and search.sparse is None and "sparse" in self._tasks:
            sparse: SparseVector = await self._tasks["sparse"]
            search = replace(search, sparse=sparse)
        return search

    def cancel(self) -> None:
        """Stop what is still running (a list failed); nothing is left unawaited."""
        for task in self._tasks.values():
            if not task.done():
                task.cancel()
            elif not task.cancelled():
                task.exception()  # retrieved: no "exception was never retrieved" warning


def _finite(candidate: Candidate) -> Candidate:
    """``candidate``, its score 0.0 when not finite (a zero vector's cosine is NaN)."""
    score = finite_or_zero(candidate.score)
    return candidate if score == candidate.score else replace(candidate, score=score)
