"""``memories.drop_source``: PostgreSQL and the fake store agree on which memories an
episode leaves and what provenance remains, within one tenant only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from uuid import UUID, uuid4

from memory_service.bootstrap import Components
from memory_service.domain.models import NewMemory, Scope
from memory_service.fake_store import FakeStore, FakeUnitOfWork

U = Scope(user_id="u")
VECTOR = [1.0] + [0.0] * 383
Opener = Callable[[], AbstractAsyncContextManager[Any]]


async def check(open_uow: Opener, tenant: UUID, other: UUID) -> None:
    gone, kept = uuid4(), uuid4()
    async with open_uow() as uow:
        only = await uow.memories.add(tenant, NewMemory("a", U, source_episode_ids=[gone]), VECTOR)
        both = await uow.memories.add(
            tenant, NewMemory("b", U, source_episode_ids=[kept, gone]), VECTOR
        )
        untouched = await uow.memories.add(
            tenant, NewMemory("c", U, source_episode_ids=[kept]), VECTOR
        )
        theirs = await uow.memories.add(other, NewMemory("d", U, source_episode_ids=[gone]), VECTOR)
    async with open_uow() as uow:
        changed = await uow.memories.drop_source(tenant, gone)
        assert {m.id: list(m.source_episode_ids) for m in changed} == {
            only.id: [],
            both.id: [kept],
        }
        assert [m.id for m in changed] == sorted(m.id for m in changed)
        assert await uow.memories.drop_source(tenant, gone) == []
        still = await uow.memories.get(tenant, untouched.id)
        assert list(still.source_episode_ids) == [kept]
        assert list((await uow.memories.get(other, theirs.id)).source_episode_ids) == [gone]


async def test_sql(components: Components) -> None:
    async with components.uow() as uow:
        tenant = await uow.tenants.create_tenant(f"drop-{uuid4()}")
        other = await uow.tenants.create_tenant(f"drop-{uuid4()}")

    @asynccontextmanager
    async def open_uow() -> AsyncIterator[Any]:
        async with components.uow() as uow:  # no tenant bound: both are reachable
            yield uow

    await check(open_uow, tenant, other)


async def test_fake() -> None:
    fake = FakeStore(seed=3)

    @asynccontextmanager
    async def open_uow() -> AsyncIterator[Any]:
        yield FakeUnitOfWork(fake)

    async with open_uow() as uow:
        tenant = await uow.tenants.create_tenant("t")
        other = await uow.tenants.create_tenant("o")
    await check(open_uow, tenant, other)
