"""MemRL's utility update as production runs it: ``Q <- Q + alpha (r - Q)`` in SQL
(FeedbackRepository.update_utilities via services.feedback), per item, once per feedback id.

The API tests (tests/api/test_feedback.py) cover the default alpha over HTTP; these cover
the update itself: other learning rates, the bounds, memories and episodes alike, and
exactly which items move.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from sqlalchemy import insert, select

from memory_service.bootstrap import Components
from memory_service.db.models import EpisodeRow, MemoryRow, RetrievalRow
from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import NewEpisode, NewMemory, Scope
from memory_service.services import feedback, memories, tenants

SCOPE = Scope(user_id="u")


async def make_tenant(components: Components, name: str = "alpha") -> UUID:
    async with components.uow() as uow:
        return (await tenants.issue_key(uow, name, "test")).key.tenant_id


async def make_memory(components: Components, tenant: UUID, text: str) -> UUID:
    async with components.uow(tenant) as uow:
        new = NewMemory(text=text, scope=SCOPE)
        return (await memories.add_memory(uow, components.embedder, tenant, new)).id


async def make_episode(components: Components, tenant: UUID, text: str) -> UUID:
    [vector] = await components.embedder.embed([text])
    async with components.uow(tenant) as uow:
        new = NewEpisode(role="user", text=text)
        [episode] = await uow.episodes.add_many(tenant, SCOPE, [new], [vector], datetime.now(UTC))
        return episode.id


async def make_retrieval(
    components: Components, tenant: UUID, items: Sequence[tuple[str, UUID]]
) -> UUID:
    """A logged retrieval that returned ``items`` ((kind, id), in rank order)."""
    retrieval_id = uuid4()
    async with components.uow(tenant) as uow:
        await uow.session.execute(
            insert(RetrievalRow).values(
                id=retrieval_id,
                tenant_id=tenant,
                user_id=SCOPE.user_id,
                query="q",
                request={},
                stages={},
                route="fast",
                results=[{"kind": kind, "id": str(i)} for kind, i in items],
            )
        )
    return retrieval_id


async def give(
    components: Components,
    tenant: UUID,
    retrieval: UUID,
    reward: float,
    *,
    alpha: float = feedback.ALPHA,
    items: Sequence[UUID] | None = None,
    feedback_id: UUID | None = None,
) -> feedback.FeedbackResult:
    async with components.uow(tenant) as uow:
        return await feedback.give_feedback(
            uow,
            tenant,
            retrieval,
            reward,
            feedback_id=feedback_id or uuid4(),
            item_ids=items,
            alpha=alpha,
        )


async def stored_q(components: Components, tenant: UUID, ids: Sequence[UUID]) -> list[float]:
    """Q as stored, for memories and episodes alike, in the order of ``ids``."""
    found: dict[UUID, float] = {}
    async with components.uow(tenant) as uow:
        for table in (MemoryRow, EpisodeRow):
            rows = await uow.session.execute(
                select(table.id, table.utility).where(table.id.in_(ids))
            )
            found.update({row.id: float(row.utility) for row in rows})
    return [found[i] for i in ids]


# (reward, alpha) -> Q afterwards, from Q = 0, each step a new feedback id
STEPS = [
    ((1.0, 0.3), 0.3),  # 0 + 0.3 (1 - 0)
    ((1.0, 0.3), 0.51),  # 0.3 + 0.3 (1 - 0.3)
    ((1.0, 0.3), 0.657),  # 0.51 + 0.3 (1 - 0.51)
    ((0.0, 0.5), 0.3285),  # 0.657 + 0.5 (0 - 0.657): a zero reward pulls Q toward 0
    ((-1.0, 0.5), -0.33575),  # 0.3285 + 0.5 (-1 - 0.3285)
    ((1.0, 0.0), -0.33575),  # alpha 0: nothing learned
    ((-1.0, 1.0), -1.0),  # alpha 1: the last reward
]


async def test_each_feedback_moves_q_toward_the_reward(components: Components) -> None:
    tenant = await make_tenant(components)
    memory = await make_memory(components, tenant, "Pixel is a greyhound")
    episode = await make_episode(components, tenant, "I adopted a greyhound named Pixel")
    retrieval = await make_retrieval(components, tenant, [("memory", memory), ("episode", episode)])
    for (reward, alpha), expected in STEPS:
        result = await give(components, tenant, retrieval, reward, alpha=alpha)
        assert result.applied
        assert result.utilities == {
            memory: pytest.approx(expected),
            episode: pytest.approx(expected),
        }
        assert await stored_q(components, tenant, [memory, episode]) == pytest.approx(
            [expected, expected]
        )


@pytest.mark.parametrize("alpha", [0.3, 0.9, 1.0])
async def test_q_stays_within_the_rewards_bounds(components: Components, alpha: float) -> None:
    tenant = await make_tenant(components)
    memory = await make_memory(components, tenant, "Pixel is a greyhound")
    retrieval = await make_retrieval(components, tenant, [("memory", memory)])
    for reward in [1.0] * 15 + [-1.0] * 15:
        q = (await give(components, tenant, retrieval, reward, alpha=alpha)).utilities[memory]
        assert -1.0 <= q <= 1.0
    # 15 steps of -1 from Q <= 1 leave Q within 2 (1 - alpha)^15 of -1
    assert q == pytest.approx(-1.0, abs=2 * (1 - alpha) ** 15)
    for reward in (1.5, -1.01):
        with pytest.raises(InvalidInput):
            await give(components, tenant, retrieval, reward, alpha=alpha)
    assert await stored_q(components, tenant, [memory]) == [q]  # a refused reward moves nothing


async def test_only_the_credited_items_move(components: Components) -> None:
    tenant = await make_tenant(components)
    m1, m2, m3 = [await make_memory(components, tenant, f"fact {n}") for n in range(3)]
    episode = await make_episode(components, tenant, "a turn")
    retrieval = await make_retrieval(
        components, tenant, [("memory", m1), ("memory", m2), ("episode", episode)]
    )
    chosen = await give(components, tenant, retrieval, 1.0, items=[m1, episode, m1])
    assert chosen.utilities == {m1: pytest.approx(0.3), episode: pytest.approx(0.3)}  # m1 once
    assert await stored_q(components, tenant, [m1, m2, episode, m3]) == pytest.approx(
        [0.3, 0.0, 0.3, 0.0]
    )
    everything = await give(components, tenant, retrieval, 1.0)  # no ids: all it returned
    assert everything.utilities == {
        m1: pytest.approx(0.51),
        m2: pytest.approx(0.3),
        episode: pytest.approx(0.51),
    }
    assert await stored_q(components, tenant, [m3]) == [0.0]  # not returned: never credited
    with pytest.raises(InvalidInput):
        await give(components, tenant, retrieval, 1.0, items=[m3])


async def test_a_feedback_id_applies_once(components: Components) -> None:
    tenant = await make_tenant(components)
    memory = await make_memory(components, tenant, "Pixel is a greyhound")
    retrieval = await make_retrieval(components, tenant, [("memory", memory)])
    fid = feedback.feedback_id_for(tenant, "client-key-1")
    first = await give(components, tenant, retrieval, -1.0, feedback_id=fid)
    again = await give(components, tenant, retrieval, 1.0, feedback_id=fid)
    assert (first.applied, again.applied) == (True, False)
    assert again.utilities == {}
    assert await stored_q(components, tenant, [memory]) == pytest.approx([-0.3])
    other = await give(components, tenant, retrieval, -1.0)  # a new id applies
    assert other.utilities == {memory: pytest.approx(-0.51)}
