"""The fake's ``scopes.forget`` keeps the SQL contract: rows matching every id the scope
gives, in one tenant; an empty scope is the whole tenant; idempotency keys, which record
only a user, go only with a user-only (or empty) scope."""

from __future__ import annotations

from memory_service.domain.models import Scope
from memory_service.fake_store import FakeUnitOfWork
from tests.unit.recall.factories import OTHER_TENANT, TENANT, add_fact, add_turns

BOT_ALICE = Scope(user_id="alice", agent_id="bot", session_id="s1")
BOT_BOB = Scope(user_id="bob", agent_id="bot", session_id="s2")
ALICE_S2 = Scope(user_id="alice", session_id="s2")


async def seed(uow: FakeUnitOfWork) -> None:
    await add_turns(uow, ["a"], scope=BOT_ALICE)
    await add_turns(uow, ["b"], scope=BOT_BOB)
    await add_turns(uow, ["c"], scope=ALICE_S2)
    await add_fact(uow, "bot fact", scope=BOT_ALICE)
    await add_turns(uow, ["other tenant"], tenant=OTHER_TENANT, scope=BOT_ALICE)
    await uow.jobs.add(TENANT, BOT_BOB, "consolidate", {})
    await uow.idempotency.claim(TENANT, "k", "h", "bob")


def texts(uow: FakeUnitOfWork) -> list[str]:
    return sorted(r.episode.text for r in uow.store.episodes.values())


async def test_forget_an_agent(uow: FakeUnitOfWork) -> None:
    await seed(uow)
    counts = await uow.scopes.forget(TENANT, Scope(agent_id="bot"))
    assert counts == {
        "memories": 1,
        "episodes": 2,
        "entities": 0,
        "retrievals": 0,
        "jobs": 1,
        "idempotency_keys": 0,
    }
    assert texts(uow) == ["c", "other tenant"]


async def test_forget_a_session_of_a_user(uow: FakeUnitOfWork) -> None:
    await seed(uow)
    counts = await uow.scopes.forget(TENANT, Scope(user_id="alice", session_id="s2"))
    assert counts["episodes"] == 1
    assert texts(uow) == ["a", "b", "other tenant"]


async def test_forget_a_user_takes_their_idempotency_keys(uow: FakeUnitOfWork) -> None:
    await seed(uow)
    assert (await uow.scopes.forget(TENANT, Scope(user_id="bob")))["idempotency_keys"] == 1


async def test_an_empty_scope_is_the_whole_tenant(uow: FakeUnitOfWork) -> None:
    await seed(uow)
    counts = await uow.scopes.forget(TENANT, Scope())
    assert (counts["episodes"], counts["memories"], counts["idempotency_keys"]) == (3, 1, 1)
    assert texts(uow) == ["other tenant"]
    assert not any((await uow.scopes.forget(TENANT, Scope())).values())
