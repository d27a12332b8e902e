"""Plain factories for the read path's unit tests: rows in a fake unit of work, a
search in flight, hits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

from memory_service.domain.models import (
    ContextTurn,
    Episode,
    HitKind,
    Memory,
    NewEpisode,
    NewMemory,
    Scope,
    SearchHit,
    SearchQuery,
)
from memory_service.domain.search import Budget, Mode
from memory_service.domain.trace import Trace
from memory_service.fake_store import FakeUnitOfWork
from memory_service.ports import Search, SparseEncoder
from memory_service.testing import HashEmbedder

TENANT = UUID("00000000-0000-4000-8000-000000000001")
OTHER_TENANT = UUID("00000000-0000-4000-8000-000000000002")
ALICE = Scope(user_id="alice")
BOB = Scope(user_id="bob")
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
EMBEDDER = HashEmbedder()


async def add_turns(
    uow: FakeUnitOfWork,
    texts: Sequence[str],
    *,
    tenant: UUID = TENANT,
    scope: Scope = ALICE,
    start: datetime = T0,
    speaker: str | None = "Alice",
) -> list[Episode]:
    """One episode a text, a minute apart from ``start``, in order."""
    items = [
        NewEpisode("user", text, speaker=speaker, occurred_at=start + timedelta(minutes=i))
        for i, text in enumerate(texts)
    ]
    vectors = await EMBEDDER.embed([item.embedding_text() for item in items])
    return await uow.episodes.add_many(tenant, scope, items, vectors, NOW)


async def add_fact(
    uow: FakeUnitOfWork,
    text: str,
    *,
    tenant: UUID = TENANT,
    scope: Scope = ALICE,
    valid_from: datetime | None = None,
) -> Memory:
    [vector] = await EMBEDDER.embed([text])
    return await uow.memories.add(tenant, NewMemory(text, scope, valid_from=valid_from), vector)


async def make_search(
    uow: FakeUnitOfWork,
    text: str,
    *,
    tenant: UUID = TENANT,
    scope: Scope = ALICE,
    limit: int = 5,
    mode: Mode = "auto",
    now: datetime | None = NOW,
    budget: Budget | None = None,
    audit: bool = True,
    since: datetime | None = None,
    until: datetime | None = None,
    sparse: SparseEncoder | None = None,
) -> Search:
    """A search of ``text`` with its embedding, and its learned-sparse vector when
    ``sparse`` is given (as the pipeline encodes the query)."""
    [vector] = await EMBEDDER.embed([text])
    [sparse_vector] = await sparse.encode([text]) if sparse is not None else [None]
    return Search(
        uow=uow,
        tenant=tenant,
        query=SearchQuery(text, scope, limit=limit, since=since, until=until),
        vector=vector,
        now=now or NOW,
        asked_now=now,
        mode=mode,
        budget=budget or Budget(),
        trace=Trace(),
        audit=audit,
        sparse=sparse_vector,
    )


def hit(
    n: int,
    *,
    kind: HitKind = "episode",
    score: float = 1.0,
    text: str | None = None,
    context: Sequence[ContextTurn] = (),
    at: datetime | None = T0,
) -> SearchHit:
    """A hit with id ``UUID(int=n)``, occurring ``n`` minutes after ``T0``."""
    return SearchHit(
        kind=kind,
        id=UUID(int=n),
        text=text if text is not None else f"turn {n}",
        occurred_at=at + timedelta(minutes=n) if at is not None else None,
        score=score,
        scores={"given": score},
        source_episode_ids=(UUID(int=n),) if kind == "episode" else (),
        speaker="Alice" if kind == "episode" else None,
        context=tuple(context),
    )


def turn(n: int, position: int) -> ContextTurn:
    """The context turn of episode ``n`` (as :func:`hit` dates it) at ``position``."""
    return ContextTurn(UUID(int=n), "Alice", f"turn {n}", T0 + timedelta(minutes=n), position)
