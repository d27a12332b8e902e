"""The fake unit of work keeps the SQL repositories' contracts: tenant and scope
filters, the scan's token budget, neighbours, cursors, entities."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from memory_service.domain.errors import InvalidInput, NotFound
from memory_service.domain.models import Scope
from memory_service.fake_store import FakeStore, FakeUnitOfWork
from memory_service.ports import UnitOfWork
from tests.unit.recall.factories import (
    ALICE,
    BOB,
    EMBEDDER,
    NOW,
    OTHER_TENANT,
    T0,
    TENANT,
    add_fact,
    add_turns,
)


def test_it_is_a_unit_of_work_with_seeded_ids() -> None:
    uow: UnitOfWork = FakeUnitOfWork(FakeStore(seed=3))
    assert isinstance(uow, FakeUnitOfWork)
    assert FakeStore(seed=3).new_id() == FakeStore(seed=3).new_id() != FakeStore(seed=4).new_id()
    assert FakeStore(seed=3).new_id().version == 4


async def test_absent_scope_parts_do_not_filter(uow: FakeUnitOfWork) -> None:
    s1, s2 = Scope("alice", session_id="s1"), Scope("alice", session_id="s2")
    [a] = await add_turns(uow, ["red apple"], scope=s1)
    [b] = await add_turns(uow, ["red apple"], scope=s2, start=T0 + timedelta(hours=1))
    [vec] = await EMBEDDER.embed(["red apple"])
    pages = [
        await uow.episodes.page(TENANT, scope, since=None, until=None, cursor=None, limit=10)
        for scope in (ALICE, s1, Scope(agent_id="x"), Scope())
    ]
    assert [[e.id for e in p.items] for p in pages] == [[a.id, b.id], [a.id], [], [a.id, b.id]]
    assert await uow.episodes.get(OTHER_TENANT, a.id) is None
    assert await uow.episodes.similarities(OTHER_TENANT, [a.id], vec) == {}
    [own] = await EMBEDDER.embed(["Alice: red apple"])  # what add_turns embedded
    cosine, utility = (await uow.episodes.similarities(TENANT, [a.id], vec))[a.id]
    assert cosine == pytest.approx(sum(x * y for x, y in zip(own, vec, strict=True)))
    assert utility == 0.0
    assert [e.id for e in await uow.episodes.get_many(TENANT, [b.id, a.id, UUID(int=5)])] == [
        a.id,
        b.id,
    ]


async def test_scan_reads_the_newest_turns_that_fit_in_time_order(uow: FakeUnitOfWork) -> None:
    turns = await add_turns(uow, ["a" * 40, "b" * 40, "c" * 40, "d" * 8])  # 10, 10, 10, 2 tokens
    [vec] = await EMBEDDER.embed(["x"])
    read, older_left = await uow.episodes.scan(TENANT, ALICE, vec, limit=10, max_tokens=21)
    assert ([t.id for t, _ in read], older_left) == ([turns[2].id, turns[3].id], True)
    read, older_left = await uow.episodes.scan(TENANT, ALICE, vec, limit=3)
    assert ([t.id for t, _ in read], older_left) == ([t.id for t in turns[1:]], True)
    read, older_left = await uow.episodes.scan(TENANT, ALICE, vec, limit=4, max_tokens=32)
    assert (len(read), older_left) == (4, False)
    assert await uow.episodes.scan(TENANT, BOB, vec, limit=4) == ([], False)


async def test_neighbours_stay_in_scope_and_number_positions(uow: FakeUnitOfWork) -> None:
    turns = await add_turns(uow, ["t0", "t1", "t2"])
    await add_turns(uow, ["bob"], scope=BOB, start=T0)
    around = await uow.episodes.neighbours(TENANT, ALICE, [turns[0].id, UUID(int=9)], 2)
    assert [(t.text, t.position) for t in around[turns[0].id]] == [("t1", 1), ("t2", 2)]
    assert around[UUID(int=9)] == []
    assert await uow.episodes.neighbours(TENANT, ALICE, [turns[0].id], 0) == {}


@pytest.mark.parametrize("descending", [False, True])
async def test_episode_pages_follow_their_cursor(uow: FakeUnitOfWork, descending: bool) -> None:
    turns = await add_turns(uow, [f"t{i}" for i in range(5)])
    seen, cursor = [], None
    while True:
        page = await uow.episodes.page(
            TENANT, ALICE, since=None, until=None, cursor=cursor, limit=2, descending=descending
        )
        seen += [e.id for e in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    expected = [t.id for t in turns]
    assert seen == (expected[::-1] if descending else expected)
    with pytest.raises(InvalidInput):
        await uow.episodes.page(TENANT, ALICE, since=None, until=None, cursor="??", limit=2)


async def test_memories_update_history_and_sources(uow: FakeUnitOfWork) -> None:
    fact = await add_fact(uow, "Alice likes tea")
    later = FakeUnitOfWork(uow.store, now=NOW + timedelta(hours=1))
    changed = await later.memories.update(TENANT, fact.id, text="Alice likes coffee")
    assert (changed.text, changed.updated_at, changed.created_at) == (
        "Alice likes coffee",
        NOW + timedelta(hours=1),
        NOW,
    )
    await uow.memories.add_sources(TENANT, fact.id, [UUID(int=2), UUID(int=1), UUID(int=2)])
    await uow.memories.add_sources(TENANT, fact.id, [UUID(int=1), UUID(int=3)])
    stored = await uow.memories.get(TENANT, fact.id)
    assert stored is not None
    assert stored.source_episode_ids == (UUID(int=2), UUID(int=1), UUID(int=3))
    for op in ("ADD", "UPDATE"):
        await uow.memories.add_history(
            TENANT, fact.id, op=op, old_text=None, new_text="x", cause="t"
        )
    assert [c.op for c in await uow.memories.history(TENANT, fact.id)] == ["ADD", "UPDATE"]
    assert await uow.memories.history(OTHER_TENANT, fact.id) == []
    with pytest.raises(NotFound):
        await uow.memories.update(OTHER_TENANT, fact.id, status="deleted")
    page, cursor = await uow.memories.page(
        TENANT, ALICE, include_inactive=False, cursor=None, limit=5
    )
    assert ([m.id for m in page], cursor) == ([fact.id], None)


async def test_entities_merge_and_are_found_by_alias(uow: FakeUnitOfWork) -> None:
    [turn] = await add_turns(uow, ["Caroline met Carrie"])
    [vec] = await EMBEDDER.embed(["Caroline"])
    keep = await uow.entities.add(TENANT, ALICE, "Caroline", "person", vec)
    drop = await uow.entities.add(TENANT, ALICE, "Carrie", "person", vec)
    await uow.entities.link(TENANT, drop.id, episode_id=turn.id)
    await uow.entities.link(TENANT, drop.id, episode_id=turn.id)  # twice: no change
    await uow.entities.merge(TENANT, keep, drop)
    [found] = await uow.entities.by_names(TENANT, ALICE, ["CARRIE"])
    assert (found.id, found.aliases) == (keep.id, ("caroline", "carrie"))
    entities, members = await uow.entities.graph(TENANT, ALICE)
    assert [e.id for e in entities] == [keep.id]
    assert [(m.entity_id, m.edge_kind, m.edge_id) for m in members] == [
        (keep.id, "episode", turn.id)
    ]
    assert await uow.entities.names(TENANT, [drop.id]) == {drop.id: "Carrie"}
    near = await uow.entities.edges_near(TENANT, ALICE, [keep.id], vec, 5)
    assert [(c.id, joined) for c, joined in near] == [(turn.id, 1)]
    assert await uow.entities.edges_near(TENANT, BOB, [keep.id], vec, 5) == []
    assert [e.id for e, _ in await uow.entities.nearest(TENANT, ALICE, vec, 5)] == [keep.id]
