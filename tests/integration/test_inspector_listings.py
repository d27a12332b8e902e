"""The scope and job listings agree in PostgreSQL and in the fake store: the triples, their
counts, the order, the pages, and the tenant wall."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from memory_service.bootstrap import Components
from memory_service.domain.models import NewEpisode, NewMemory, Scope
from memory_service.fake_store import FakeStore, FakeUnitOfWork

VECTOR = [1.0] + [0.0] * 383
A = Scope(user_id="a")
B = Scope(user_id="a", session_id="s")
C = Scope(agent_id="x")
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

Opener = Callable[[], AbstractAsyncContextManager[Any]]


async def seed(open_uow: Opener, tenant: UUID, other: UUID) -> None:
    """A: two turns, two entities (one merged into the other); B: a turn and a fact
    (and a retired one); C: a fact only; one job each for A and B (B's failed). The
    other tenant holds a scope A of its own."""
    turn = NewEpisode("user", "hello", occurred_at=T0)
    async with open_uow() as uow:
        await uow.episodes.add_many(tenant, A, [turn, turn], [VECTOR] * 2, T0)
        keep = await uow.entities.add(tenant, A, "Pixel", "animal", VECTOR)
        drop = await uow.entities.add(tenant, A, "pixel", "animal", VECTOR)
        await uow.entities.merge(tenant, keep, drop)
        await uow.jobs.add(tenant, A, "consolidate", {})
        await uow.episodes.add_many(other, A, [turn], [VECTOR], T0)
    async with open_uow() as uow:
        await uow.episodes.add_many(tenant, B, [turn], [VECTOR], T0)
        await uow.memories.add(tenant, NewMemory("kept", B), VECTOR)
        gone = await uow.memories.add(tenant, NewMemory("retired", B), VECTOR)
        await uow.memories.update(tenant, gone.id, status="deleted")
        job = await uow.jobs.add(tenant, B, "consolidate", {})
        await uow.jobs.fail(job.id, "boom", retry_in_s=None)
    async with open_uow() as uow:
        await uow.memories.add(tenant, NewMemory("a fact", C), VECTOR)


async def listings(open_uow: Opener, tenant: UUID) -> dict[str, Any]:
    async with open_uow() as uow:
        scopes, cursor = [], None
        while True:
            page, cursor = await uow.scopes.page(tenant, Scope(), cursor=cursor, limit=1)
            scopes += [(s.scope, s.episodes, s.facts, s.entities) for s in page]
            if cursor is None:
                break
        jobs, cursor = [], None
        while True:
            found, cursor = await uow.jobs.page(tenant, Scope(), state=None, cursor=cursor, limit=1)
            jobs += [(j.scope, j.state, j.last_error) for j in found]
            if cursor is None:
                break
        of_a, _ = await uow.scopes.page(tenant, Scope(user_id="a"), cursor=None, limit=10)
        failed, _ = await uow.jobs.page(tenant, Scope(), state="failed", cursor=None, limit=10)
    return {
        "scopes": scopes,
        "jobs": jobs,
        "of_a": [s.scope for s in of_a],
        "failed": [j.scope for j in failed],
    }


EXPECTED = {
    "scopes": [(C, 0, 1, 0), (B, 1, 1, 0), (A, 2, 0, 1)],
    "jobs": [(B, "failed", "boom"), (A, "queued", None)],
    "of_a": [B, A],
    "failed": [B],
}


async def test_sql_listings(components: Components) -> None:
    async with components.uow() as uow:
        tenant = await uow.tenants.create_tenant("listings")
        other = await uow.tenants.create_tenant("listings-other")
    await seed(lambda: components.uow(), tenant, other)
    assert await listings(lambda: components.uow(tenant), tenant) == EXPECTED


async def test_fake_listings() -> None:
    fake = FakeStore(seed=3)

    @asynccontextmanager
    async def fake_uow() -> AsyncIterator[Any]:
        yield FakeUnitOfWork(fake)

    await seed(fake_uow, UUID(int=1), UUID(int=2))
    assert await listings(fake_uow, UUID(int=1)) == EXPECTED
