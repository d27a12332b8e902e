"""Every candidate list honours a metadata filter, in PostgreSQL and in the fake store:
dense and full-text lists of episodes and memories, the learned-sparse list, the graph
list, Full Deliberation's scan, context turns and listings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from memory_service.bootstrap import Components
from memory_service.domain.filters import parse_filters
from memory_service.domain.models import NewEpisode, NewMemory, Scope, SearchQuery
from memory_service.fake_store import FakeStore, FakeUnitOfWork

U = Scope(user_id="u")
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
VECTOR = [1.0] + [0.0] * 383
WHERE = parse_filters({"AND": [{"keep": True}, {"rank": {"lt": 8}}]}).where
N = 10

Opener = Callable[[], AbstractAsyncContextManager[Any]]


def meta(i: int) -> dict[str, Any]:
    """Even items are kept (below rank 8); odd ones, and 8, are not."""
    return {"keep": i % 2 == 0, "rank": i}


KEPT = {i for i in range(N) if i % 2 == 0 and i < 8}


async def seed(open_uow: Opener, tenant: UUID) -> tuple[list[UUID], list[UUID]]:
    """N episodes and N memories ("apple note i"), linked to one entity; sparse vectors."""
    async with open_uow() as uow:
        items = [
            NewEpisode(
                "user",
                f"apple note {i}",
                occurred_at=T0 + timedelta(minutes=i),
                metadata=meta(i),
            )
            for i in range(N)
        ]
        episodes = await uow.episodes.add_many(tenant, U, items, [VECTOR] * N, T0)
        await uow.episodes.set_sparse(tenant, {e.id: {1: 1.0} for e in episodes})
        memories = [
            await uow.memories.add(
                tenant, NewMemory(f"apple fact {i}", U, metadata=meta(i)), VECTOR
            )
            for i in range(N)
        ]
        entity = await uow.entities.add(tenant, U, "apple", "object", VECTOR)
        for e, m in zip(episodes, memories, strict=True):
            await uow.entities.link(tenant, entity.id, episode_id=e.id)
            await uow.entities.link(tenant, entity.id, memory_id=m.id)
    return [e.id for e in episodes], [m.id for m in memories] + [entity.id]


async def test_every_sql_list_honours_the_filter(components: Components) -> None:
    async with components.uow() as uow:
        tenant = await uow.tenants.create_tenant("filters")
    await check_lists(lambda: components.uow(tenant), tenant)


async def test_every_fake_list_honours_the_filter() -> None:
    fake = FakeStore(seed=5)

    @asynccontextmanager
    async def fake_uow() -> AsyncIterator[Any]:
        yield FakeUnitOfWork(fake)

    await check_lists(fake_uow, UUID(int=1))


async def check_lists(open_uow: Opener, tenant: UUID) -> None:
    episode_ids, memory_ids = await seed(open_uow, tenant)
    entity_id = memory_ids.pop()
    kept = {episode_ids[i] for i in KEPT} | {memory_ids[i] for i in KEPT}
    query = SearchQuery("apple note fact", U, limit=N, filters=WHERE)
    async with open_uow() as uow:
        lists = {
            "episode vectors": await uow.episodes.vector_search(tenant, query, VECTOR, 3),
            "episode text": await uow.episodes.text_search(tenant, query, 3),
            "episode sparse": await uow.episodes.sparse_search(tenant, query, {1: 1.0}, 3),
            "memory vectors": await uow.memories.vector_search(tenant, query, VECTOR, 3),
            "memory text": await uow.memories.text_search(tenant, query, 3),
            "graph": [
                c
                for c, _ in await uow.entities.edges_near(
                    tenant, U, [entity_id], VECTOR, 2 * N, WHERE
                )
            ],
        }
        scanned, _ = await uow.episodes.scan(tenant, U, VECTOR, limit=100, where=WHERE)
        around = await uow.episodes.neighbours(tenant, U, [episode_ids[4]], 1, WHERE)
        page = await uow.episodes.page(
            tenant, U, since=None, until=None, cursor=None, limit=100, where=WHERE
        )
        facts, _ = await uow.memories.page(
            tenant, U, include_inactive=False, cursor=None, limit=100, where=WHERE
        )
    for name, found in lists.items():
        assert found, name
        assert {c.id for c in found} <= kept, name
    assert len(lists["episode text"]) == 3  # the function was asked for more
    assert {c.id for c in lists["graph"]} == kept
    assert {t.id for t, _ in scanned} == {episode_ids[i] for i in KEPT}
    # episode 4's neighbours a minute before and after (3, 5) fail: the next kept ones
    assert [t.id for t in around[episode_ids[4]]] == [episode_ids[2], episode_ids[6]]
    assert {e.id for e in page.items} == {episode_ids[i] for i in KEPT}
    assert {m.id for m in facts} == {memory_ids[i] for i in KEPT}
