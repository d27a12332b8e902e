"""The turns around a hit, in PostgreSQL as in the fake store: both sides in one round
trip, ties in time broken by arrival, other scopes never shown."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from memory_service.bootstrap import Components
from memory_service.domain.models import NewEpisode, Scope
from memory_service.fake_store import FakeStore, FakeUnitOfWork
from tests.statements import statements_sent

U, OTHER = Scope(user_id="u"), Scope(user_id="v")
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
VECTOR = [1.0] + [0.0] * 383
MINUTES = [0, 1, 2, 2, 2, 3, 5, 8, 9, 9, 12, 13]
"""When each of the scope's turns happened: three, then two, at the same minute."""

Opener = Callable[[], AbstractAsyncContextManager[Any]]
Seen = dict[str, list[tuple[int, str]]]
"""Each anchor's turns as (position, text), the anchor named by its place in the ask."""


async def seed(open_uow: Opener, tenant: UUID) -> tuple[list[UUID], UUID]:
    """The scope's turns (added two at a time, another scope's turn between), and the
    other scope's first turn."""
    ours: list[UUID] = []
    theirs: list[UUID] = []
    async with open_uow() as uow:
        for lo in range(0, len(MINUTES), 2):
            turns = [
                NewEpisode("user", f"turn {i}", occurred_at=T0 + timedelta(minutes=MINUTES[i]))
                for i in range(lo, lo + 2)
            ]
            added = await uow.episodes.add_many(tenant, U, turns, [VECTOR] * 2, T0)
            ours += [e.id for e in added]
            other = NewEpisode("user", f"other {lo}", occurred_at=T0 + timedelta(minutes=lo))
            theirs += [
                e.id for e in await uow.episodes.add_many(tenant, OTHER, [other], [VECTOR], T0)
            ]
    return ours, theirs[0]


async def around(open_uow: Opener, tenant: UUID, window: int) -> Seen:
    ours, theirs = await seed(open_uow, tenant)
    anchors = [ours[0], ours[3], ours[6], ours[-1], theirs, uuid4()]
    async with open_uow() as uow:
        found = await uow.episodes.neighbours(tenant, U, anchors, window)
    # named by position, so that the two stores' answers compare
    names = {a: f"anchor {i}" for i, a in enumerate(anchors)}
    return {names[a]: [(t.position, t.text) for t in turns] for a, turns in found.items()}


@pytest.mark.parametrize("window", [1, 2, 4])
async def test_sql_and_fake_show_the_same_turns_around_each_hit(
    components: Components, window: int
) -> None:
    async with components.uow() as uow:
        tenant = await uow.tenants.create_tenant(f"neighbours-{window}")
    fake = FakeStore(seed=3)

    @asynccontextmanager
    async def fake_uow() -> AsyncIterator[Any]:
        yield FakeUnitOfWork(fake)

    sql = await around(lambda: components.uow(tenant), tenant, window)
    assert sql == await around(fake_uow, UUID(int=1), window)
    assert sql["anchor 0"] == [(i + 1, f"turn {i + 1}") for i in range(window)]
    # turn 3 shares its minute with 2 and 4: they are its nearest, in arrival order
    assert [(o, t) for o, t in sql["anchor 1"] if abs(o) == 1] == [(-1, "turn 2"), (1, "turn 4")]
    assert sql["anchor 3"] == [(i - window, f"turn {11 - window + i}") for i in range(window)]
    # another scope's turn: the scope's turns around its time, none of its own scope's
    assert sql["anchor 4"]
    assert all(t.startswith("turn") for _, t in sql["anchor 4"])
    assert sql["anchor 5"] == []


async def test_both_sides_are_read_in_one_round_trip(components: Components) -> None:
    async with components.uow() as uow:
        tenant = await uow.tenants.create_tenant("neighbours-round-trips")
    ours, _ = await seed(lambda: components.uow(tenant), tenant)
    async with components.uow(tenant) as uow:
        with statements_sent(components.engine) as sent:
            found = await uow.episodes.neighbours(tenant, U, ours[4:8], 2)
    assert len(sent) == 1
    assert [t.text for t in found[ours[5]]] == ["turn 3", "turn 4", "turn 6", "turn 7"]
