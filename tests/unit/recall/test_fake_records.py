"""The fake's logs, feedback, jobs, tenants, idempotency, forgetting and transfer keep
the SQL repositories' contracts."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from memory_service.domain.errors import Conflict
from memory_service.domain.models import Scope, SearchQuery
from memory_service.fake_store import FakeStore, FakeUnitOfWork
from tests.unit.recall.factories import (
    ALICE,
    BOB,
    EMBEDDER,
    NOW,
    OTHER_TENANT,
    TENANT,
    add_fact,
    add_turns,
)

KINDS = ("episode", "memory", "history", "entity", "membership")
"""The kinds of exported records, parents first."""


async def log(uow: FakeUnitOfWork, results: list[tuple[str, UUID]]) -> UUID:
    return await uow.retrievals.record(
        TENANT,
        SearchQuery("q", ALICE),
        request={"limit": 10},
        stages={},
        route="fast",
        results=[{"kind": k, "id": str(i), "score": 1.0} for k, i in results],
    )


async def test_feedback_moves_utility_towards_the_reward_once(uow: FakeUnitOfWork) -> None:
    [turn] = await add_turns(uow, ["t"])
    fact = await add_fact(uow, "f")
    retrieval = await log(uow, [("episode", turn.id), ("memory", fact.id)])
    record = await uow.feedback.retrieval(TENANT, retrieval)
    assert record is not None
    assert record.items == (("episode", turn.id), ("memory", fact.id))
    assert await uow.feedback.retrieval(OTHER_TENANT, retrieval) is None
    assert await uow.feedback.add(TENANT, UUID(int=1), retrieval, 1.0, [turn.id])
    assert not await uow.feedback.add(TENANT, UUID(int=1), retrieval, 1.0, [turn.id])
    items = [("episode", turn.id), ("episode", turn.id), ("memory", fact.id)]
    assert await uow.feedback.update_utilities(TENANT, items, 1.0, 0.5) == {
        fact.id: 0.5,
        turn.id: 0.5,
    }
    assert await uow.feedback.update_utilities(TENANT, items[:1], -1.0, 0.5) == {turn.id: -0.25}
    assert await uow.feedback.update_utilities(OTHER_TENANT, items, 1.0, 0.5) == {}
    [vec] = await EMBEDDER.embed(["t"])
    assert (await uow.episodes.similarities(TENANT, [turn.id], vec))[turn.id][1] == -0.25


async def test_forget_user_deletes_the_user_and_what_cascades(uow: FakeUnitOfWork) -> None:
    [turn] = await add_turns(uow, ["t"])
    fact = await add_fact(uow, "f")
    await uow.memories.add_history(
        TENANT, fact.id, op="ADD", old_text=None, new_text="f", cause="c"
    )
    [vec] = await EMBEDDER.embed(["e"])
    entity = await uow.entities.add(TENANT, ALICE, "E", "other", vec)
    await uow.entities.link(TENANT, entity.id, memory_id=fact.id)
    retrieval = await log(uow, [("episode", turn.id)])
    await uow.feedback.add(TENANT, UUID(int=1), retrieval, 1.0, [])
    await uow.jobs.add(TENANT, ALICE, "consolidate", {})
    await uow.idempotency.claim(TENANT, "k", "h", "alice")
    await add_turns(uow, ["bob's"], scope=BOB)
    await add_turns(uow, ["other tenant's"], tenant=OTHER_TENANT)
    counts = await uow.scopes.forget(TENANT, Scope(user_id="alice"))
    assert counts == {
        "memories": 1,
        "episodes": 1,
        "entities": 1,
        "retrievals": 1,
        "jobs": 1,
        "idempotency_keys": 1,
    }
    db = uow.store
    assert (len(db.history), len(db.members), len(db.feedback)) == (0, 0, 0)
    assert len(db.episodes) == 2  # Bob's, and the other tenant's Alice's


async def test_jobs_run_fail_retry_and_go_stale() -> None:
    store = FakeStore()
    first = FakeUnitOfWork(store, now=NOW)
    job = await first.jobs.add(TENANT, ALICE, "consolidate", {"episodes": ["x"]})
    assert first.jobs.created == [job.id]
    started = await first.jobs.start(job.id, stale_after_s=60)
    assert started is not None
    assert (started.state, started.attempts) == ("running", 1)
    assert await first.jobs.start(job.id, stale_after_s=60) is None  # alive elsewhere
    await first.jobs.fail(job.id, "boom", retry_in_s=30)
    assert await first.jobs.runnable(stale_after_s=60, limit=5) == []  # not due yet
    later = FakeUnitOfWork(store, now=NOW + timedelta(seconds=31))
    assert await later.jobs.runnable(stale_after_s=60, limit=5) == [job.id]
    assert await later.jobs.stale(older_than_s=10, limit=5) == [job.id]
    again = await later.jobs.start(job.id, stale_after_s=60)
    assert again is not None
    assert (again.attempts, again.last_error) == (2, "boom")
    await later.jobs.finish(job.id)
    assert await later.jobs.counts() == {"queued": 0, "running": 0, "done": 1, "failed": 0}
    assert await later.jobs.get(OTHER_TENANT, job.id) is None


async def test_a_scope_lock_waits_for_the_holder_to_close() -> None:
    store = FakeStore()
    order: list[str] = []

    async def work(name: str) -> None:
        async with FakeUnitOfWork(store) as uow:
            await uow.jobs.lock_scope(TENANT, ALICE)
            await uow.jobs.lock_scope(TENANT, ALICE)  # held already: no wait
            order.append(f"{name} in")
            await asyncio.sleep(0)
            order.append(f"{name} out")

    await asyncio.gather(work("a"), work("b"))
    assert order == ["a in", "a out", "b in", "b out"]


async def test_locks_outside_a_transaction_are_let_go_at_once(uow: FakeUnitOfWork) -> None:
    fact = await add_fact(uow, "f")
    for _ in range(2):  # a second unit of work does not wait for the first
        got = await FakeUnitOfWork(uow.store).memories.get(TENANT, fact.id, for_update=True)
        assert got == fact
    async with FakeUnitOfWork(uow.store) as holder:
        await holder.memories.get(TENANT, fact.id, for_update=True)
        waiter = asyncio.ensure_future(
            FakeUnitOfWork(uow.store).memories.get(TENANT, fact.id, for_update=True)
        )
        await asyncio.sleep(0)
        assert not waiter.done()
    assert await asyncio.wait_for(waiter, 1) == fact


async def test_idempotency_and_tenants(uow: FakeUnitOfWork) -> None:
    assert await uow.idempotency.claim(TENANT, "k", "h1", None) is None
    assert await uow.idempotency.claim(TENANT, "k", "h2", None) == ("h1", {})
    await uow.idempotency.store(TENANT, "k", {"ok": True})
    assert await uow.idempotency.claim(TENANT, "k", "h1", None) == ("h1", {"ok": True})
    assert await uow.idempotency.claim(OTHER_TENANT, "k", "h1", None) is None
    assert not await uow.tenants.any_tenant()
    acme = await uow.tenants.create_tenant("acme")
    assert await uow.tenants.tenant_by_name("acme") == acme
    with pytest.raises(Conflict):
        await uow.tenants.create_tenant("acme")
    key = await uow.tenants.create_key(acme, "ci", "mem_abc", "hash")
    assert (key.tenant_name, key.revoked_at) == ("acme", None)
    assert await uow.tenants.key_by_hash("hash") == key
    assert await uow.tenants.revoke_key(key.id)
    assert not await uow.tenants.revoke_key(key.id)
    [revoked] = await uow.tenants.list_keys()
    assert revoked.revoked_at == NOW


async def test_an_export_loads_into_another_store_unchanged(uow: FakeUnitOfWork) -> None:
    [turn] = await add_turns(uow, ["t"])
    fact = await add_fact(uow, "f")
    await uow.memories.add_history(
        TENANT, fact.id, op="ADD", old_text=None, new_text="f", cause="c"
    )
    [vec] = await EMBEDDER.embed(["e"])
    keep = await uow.entities.add(TENANT, ALICE, "E", "other", vec)
    drop = await uow.entities.add(TENANT, ALICE, "F", "other", vec)
    await uow.entities.link(TENANT, keep.id, episode_id=turn.id)
    await uow.entities.merge(TENANT, keep, drop)
    exported = [r async for r in uow.transfer.export(TENANT, ALICE)]
    assert [r["type"] for r in exported] == [
        "episode",
        "memory",
        "history",
        "entity",
        "membership",
        "entity",
    ]
    by_kind: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    for record in exported:
        by_kind[record["type"]].append({k: v for k, v in record.items() if k != "type"})
    merged = {UUID(r["id"]): UUID(r["merged_into"]) for r in by_kind["entity"] if r["merged_into"]}
    assert merged == {drop.id: keep.id}
    copy = FakeUnitOfWork(FakeStore(seed=99), now=NOW + timedelta(days=1))
    for kind, records in by_kind.items():
        rows = [{k: v for k, v in r.items() if k != "merged_into"} for r in records]
        assert await copy.transfer.load(OTHER_TENANT, kind, rows) == len(rows)
        assert await copy.transfer.load(OTHER_TENANT, kind, rows) == 0  # again: skipped
    await copy.transfer.set_merged(OTHER_TENANT, merged)
    assert [r async for r in copy.transfer.export(OTHER_TENANT, ALICE)] == exported
    assert await copy.transfer.existing(OTHER_TENANT, "episode", [turn.id]) == {turn.id}
    assert await copy.transfer.existing(TENANT, "episode", [turn.id]) == set()
