"""Learned-sparse vectors of episodes in PostgreSQL (``sparsevec``): stored, searched by
exact inner product within the tenant, scope and period, listed while unencoded, and
walled off by row-level security; the fake store keeps the same contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select, text

from memory_service.bootstrap import Components
from memory_service.db.models import EpisodeRow
from memory_service.domain.models import Episode, NewEpisode, Scope, SearchQuery
from memory_service.fake_store import FakeStore, FakeUnitOfWork

U = Scope(user_id="u")
V = Scope(user_id="v")
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
QUERY = {1: 1.0, 2: 1.0}
VECTORS: list[dict[int, float] | None] = [
    {1: 1.0, 2: 2.0},  # 0: 3.0
    {2: 0.5, 30521: 4.0},  # 1: 0.5 (the last index of the vocabulary)
    {3: 1.0},  # 2: 0.0, never proposed
    None,  # 3: unencoded, never proposed
    {1: 2.0, 2: 1.0},  # 4: 3.0, a tie with 0, newer
    {},  # 5: encoded as nothing
    {1: 0.25},  # 6: 0.25
]


async def add(uow: Any, tenant: UUID, scope: Scope, texts: list[str]) -> list[Episode]:
    """Episodes a minute apart from T0, each with a trivial dense vector."""
    items = [
        NewEpisode("user", t, speaker="Ann", occurred_at=T0 + timedelta(minutes=i))
        for i, t in enumerate(texts)
    ]
    vectors = [[1.0] + [0.0] * 383 for _ in items]
    added: list[Episode] = await uow.episodes.add_many(tenant, scope, items, vectors, T0)
    return added


async def seed(uow: Any, tenant: UUID, scope: Scope = U) -> list[Episode]:
    episodes = await add(uow, tenant, scope, [f"episode {i}" for i in range(len(VECTORS))])
    await uow.episodes.set_sparse(
        tenant, {e.id: v for e, v in zip(episodes, VECTORS, strict=True) if v is not None}
    )
    return episodes


async def tenants(components: Components, *names: str) -> list[UUID]:
    async with components.uow() as uow:
        return [await uow.tenants.create_tenant(n) for n in names]


def q(scope: Scope = U, **period: datetime) -> SearchQuery:
    return SearchQuery("anything", scope, **period)  # type: ignore[arg-type]


async def test_sparse_search_orders_by_inner_product(components: Components) -> None:
    [a] = await tenants(components, "sparse-a")
    async with components.uow(a) as uow:
        eps = await seed(uow, a)
    async with components.uow(a) as uow:
        found = await uow.episodes.sparse_search(a, q(), QUERY, 10)
        top2 = await uow.episodes.sparse_search(a, q(), QUERY, 2)
        none = await uow.episodes.sparse_search(a, q(), {}, 10)
        miss = await uow.episodes.sparse_search(a, q(), {999: 1.0}, 10)
        far = await uow.episodes.sparse_search(a, q(), {30521: 0.5}, 10)
    # only products above zero, highest first, ties oldest first
    assert [c.id for c in found] == [eps[0].id, eps[4].id, eps[1].id, eps[6].id]
    assert [c.score for c in found] == pytest.approx([3.0, 3.0, 0.5, 0.25])
    assert [c.id for c in top2] == [eps[0].id, eps[4].id]
    assert none == []
    assert miss == []
    assert [c.id for c in far] == [eps[1].id]
    assert far[0].score == pytest.approx(2.0)
    best = found[0]
    assert (best.kind, best.text, best.speaker) == ("episode", "episode 0", "Ann")
    assert best.source_episode_ids == (eps[0].id,)
    assert best.occurred_at == T0


async def test_sparse_search_respects_the_period_and_the_scope(components: Components) -> None:
    [a] = await tenants(components, "sparse-b")
    async with components.uow(a) as uow:
        eps = await seed(uow, a)
        others = await seed(uow, a, V)
    async with components.uow(a) as uow:
        since = await uow.episodes.sparse_search(a, q(since=T0 + timedelta(minutes=1)), QUERY, 10)
        until = await uow.episodes.sparse_search(a, q(until=T0 + timedelta(minutes=4)), QUERY, 10)
        theirs = await uow.episodes.sparse_search(a, q(V), QUERY, 10)
        session = await uow.episodes.sparse_search(
            a, q(Scope(user_id="u", session_id="nope")), QUERY, 10
        )
    assert [c.id for c in since] == [eps[4].id, eps[1].id, eps[6].id]
    assert [c.id for c in until] == [eps[0].id, eps[1].id]  # until is exclusive
    assert [c.id for c in theirs] == [others[0].id, others[4].id, others[1].id, others[6].id]
    assert session == []


async def test_sparse_search_reads_only_the_most_recent_encoded_episodes(
    components: Components,
) -> None:
    """``MEMORY_SPARSE_SCAN_LIMIT``: exact over the scope's newest encoded episodes only,
    so the work stays bounded however long the history grows."""
    from memory_service.db.filters import SearchTuning
    from memory_service.db.uow import transaction

    [a] = await tenants(components, "sparse-scan")
    async with components.uow(a) as uow:
        eps = await seed(uow, a)
    few = SearchTuning(sparse_scan=3)
    async with transaction(components.sessions, tenant=a, tuning=few) as uow:
        recent = await uow.episodes.sparse_search(a, q(), QUERY, 10)
    # the three newest encoded are 6, 5 (empty) and 4; 3 is not encoded
    assert [c.id for c in recent] == [eps[4].id, eps[6].id]


async def test_unencoded_lists_only_episodes_without_a_vector(components: Components) -> None:
    [a] = await tenants(components, "sparse-c")
    async with components.uow(a) as uow:
        eps = await seed(uow, a)
        later = await add(uow, a, U, ["later 1", "later 2"])
        await seed(uow, a, V)
    async with components.uow(a) as uow:
        pending = await uow.episodes.unencoded(a, U, 10)
        first = await uow.episodes.unencoded(a, U, 1)
        theirs = await uow.episodes.unencoded(a, V, 10)
    # the empty vector counts as encoded; oldest first (later ones were added at T0+0, +1)
    assert [e.id for e in pending] == [later[0].id, later[1].id, eps[3].id]
    assert [e.id for e in first] == [later[0].id]
    assert [e.text for e in theirs] == ["episode 3"]
    async with components.uow(a) as uow:
        await uow.episodes.set_sparse(a, {e.id: {7: 1.0} for e in pending})
        assert await uow.episodes.unencoded(a, U, 10) == []
        await uow.episodes.set_sparse(a, {})  # nothing to store is fine


def as_dict(vector: Any) -> dict[int, float]:
    return dict(zip(vector.indices(), vector.values(), strict=True))


async def test_vectors_are_stored_as_given(components: Components) -> None:
    [a] = await tenants(components, "sparse-d")
    async with components.uow(a) as uow:
        eps = await seed(uow, a)
        await uow.episodes.set_sparse(a, {eps[2].id: {5: 0.75, 30521: 1.5}})  # overwritten
    async with components.uow() as uow:
        found = await uow.session.execute(select(EpisodeRow.id, EpisodeRow.sparse))
        rows: dict[UUID, Any] = dict(found.tuples().all())
    assert rows[eps[3].id] is None
    assert as_dict(rows[eps[5].id]) == {}
    assert as_dict(rows[eps[0].id]) == {1: 1.0, 2: 2.0}
    assert as_dict(rows[eps[2].id]) == {5: 0.75, 30521: 1.5}
    assert rows[eps[2].id].dimensions() == 30522


async def test_another_tenant_sees_and_changes_nothing(components: Components) -> None:
    a, b = await tenants(components, "sparse-e", "sparse-f")
    async with components.uow(a) as uow:
        eps = await seed(uow, a)
    async with components.uow(b) as uow:
        await seed(uow, b)
        # B asks with A's id: row-level security hides A's rows all the same
        assert await uow.episodes.sparse_search(a, q(), QUERY, 10) == []
        assert await uow.episodes.unencoded(a, U, 10) == []
        await uow.episodes.set_sparse(a, {eps[3].id: {1: 9.0}})
        await uow.episodes.set_sparse(b, {eps[0].id: {}})  # A's row, under B's id
        mine = await uow.episodes.sparse_search(b, q(), QUERY, 10)
    assert len(mine) == 4
    assert not {c.id for c in mine} & {e.id for e in eps}
    async with components.uow(a) as uow:
        found = await uow.episodes.sparse_search(a, q(), QUERY, 10)
        pending = await uow.episodes.unencoded(a, U, 10)
    assert [c.id for c in found] == [eps[0].id, eps[4].id, eps[1].id, eps[6].id]
    assert [e.id for e in pending] == [eps[3].id]


async def test_the_column_is_a_sparsevec_of_the_vocabulary(components: Components) -> None:
    async with components.uow() as uow:
        kind = (
            await uow.session.execute(
                text(
                    "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                    "WHERE attrelid = 'episodes'::regclass AND attname = 'sparse'"
                )
            )
        ).scalar()
    assert kind == "sparsevec(30522)"


async def test_the_fake_store_keeps_the_same_contract(components: Components) -> None:
    [a] = await tenants(components, "sparse-g")
    async with components.uow(a) as uow:
        real = await seed(uow, a)
    async with components.uow(a) as uow:
        sql = await uow.episodes.sparse_search(a, q(), QUERY, 10)
        sql_pending = await uow.episodes.unencoded(a, U, 10)
    fake_uow = FakeUnitOfWork(FakeStore(seed=1, clock=lambda: T0))
    fake = await seed(fake_uow, a)
    found = await fake_uow.episodes.sparse_search(a, q(), QUERY, 10)
    pending = await fake_uow.episodes.unencoded(a, U, 10)

    def positions(ids: list[UUID], episodes: list[Episode]) -> list[int]:
        return [[e.id for e in episodes].index(i) for i in ids]

    assert positions([c.id for c in found], fake) == positions([c.id for c in sql], real)
    assert [c.score for c in found] == pytest.approx([c.score for c in sql])
    assert positions([e.id for e in pending], fake) == positions([e.id for e in sql_pending], real)
