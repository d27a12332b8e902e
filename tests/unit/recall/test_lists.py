"""The candidate lists, each against the fake unit of work: what they propose, scored
how, and never outside the search's tenant and scope."""

from __future__ import annotations

from datetime import timedelta

import pytest

from memory_service.domain.models import Episode, Memory
from memory_service.fake_store import FakeUnitOfWork
from retrievers.lists import EpisodeText, EpisodeVectors, GraphEdges, MemoryText, MemoryVectors
from tests.unit.recall.factories import (
    BOB,
    EMBEDDER,
    OTHER_TENANT,
    T0,
    TENANT,
    add_fact,
    add_turns,
    make_search,
)

ALICE_SAYS = (
    "I adopted a puppy named Rex",
    "We went hiking in the Alps",
    "My sister lives in Paris",
    "Rex loves the beach",
)


@pytest.fixture
async def turns(uow: FakeUnitOfWork) -> list[Episode]:
    """Alice's four turns, plus look-alikes of other owners that must never show."""
    mine = await add_turns(uow, ALICE_SAYS)
    await add_turns(uow, ["I adopted a puppy named Rex"], scope=BOB, speaker="Bob")
    await add_turns(uow, ["I adopted a puppy named Rex"], tenant=OTHER_TENANT)
    return mine


@pytest.fixture
async def facts(uow: FakeUnitOfWork) -> list[Memory]:
    """Two active facts of Alice's, one superseded, one of Bob's."""
    dog = await add_fact(uow, "Alice has a dog called Rex")
    tea = await add_fact(uow, "Alice drinks green tea")
    old = await add_fact(uow, "Alice has a cat called Rex")
    await uow.memories.update(TENANT, old.id, status="superseded")
    await add_fact(uow, "Bob has a dog called Rex", scope=BOB)
    return [dog, tea]


def dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_episode_vectors_rank_by_exact_cosine_within_the_scope(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    search = await make_search(uow, "puppy named Rex")
    found = await EpisodeVectors().retrieve(search, 3)
    assert len(found) == 3
    assert found[0].id == turns[0].id
    assert {c.id for c in found} <= {t.id for t in turns}
    [expected] = await EMBEDDER.embed(["Alice: I adopted a puppy named Rex"])
    assert found[0].score == pytest.approx(dot(list(search.vector), expected))
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)
    assert found[0].source_episode_ids == (turns[0].id,)
    assert found[0].speaker == "Alice"


async def test_episode_vectors_respect_the_period(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    search = await make_search(uow, "puppy named Rex", since=T0 + timedelta(minutes=2))
    found = await EpisodeVectors().retrieve(search, 10)
    assert {c.id for c in found} == {turns[2].id, turns[3].id}


async def test_episode_text_matches_words_not_stems(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    # "where", "does" and "her" are stop words; "live" is not "lives" (no stemming)
    search = await make_search(uow, "Where does her sister live?")
    found = await EpisodeText().retrieve(search, 10)
    assert [(c.id, c.score) for c in found] == [(turns[2].id, 0.5)]


async def test_episode_text_finds_the_speaker_oldest_first_on_ties(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    search = await make_search(uow, "Alice Rex")
    found = await EpisodeText().retrieve(search, 10)
    assert [c.id for c in found] == [turns[0].id, turns[3].id, turns[1].id, turns[2].id]
    assert [c.score for c in found] == [1.0, 1.0, 0.5, 0.5]


async def test_memory_vectors_skip_inactive_and_others_facts(
    uow: FakeUnitOfWork, facts: list[Memory]
) -> None:
    search = await make_search(uow, "dog called Rex")
    found = await MemoryVectors().retrieve(search, 10)
    assert [c.id for c in found] == [facts[0].id, facts[1].id]
    assert found[0].kind == "memory"
    assert found[0].occurred_at == facts[0].created_at


async def test_memory_text_scores_the_share_of_query_terms(
    uow: FakeUnitOfWork, facts: list[Memory]
) -> None:
    search = await make_search(uow, "green tea or coffee")
    found = await MemoryText().retrieve(search, 10)
    assert [c.id for c in found] == [facts[1].id]
    assert found[0].score == pytest.approx(2 / 3)  # "green" and "tea", not "coffee"


async def test_graph_edges_follow_the_entities_the_query_names(
    uow: FakeUnitOfWork, turns: list[Episode], facts: list[Memory]
) -> None:
    [rex_vec, paris_vec] = await EMBEDDER.embed(["Rex", "Paris"])
    rex = await uow.entities.add(TENANT, turns[0].scope, "Rex", "animal", rex_vec)
    paris = await uow.entities.add(TENANT, turns[0].scope, "Paris", "place", paris_vec)
    for edge in (turns[0], turns[3]):
        await uow.entities.link(TENANT, rex.id, episode_id=edge.id)
    await uow.entities.link(TENANT, rex.id, memory_id=facts[0].id)
    await uow.entities.link(TENANT, paris.id, episode_id=turns[2].id)
    search = await make_search(uow, "What does Rex love?")
    found = await GraphEdges().retrieve(search, 10)
    assert {(c.kind, c.id) for c in found} == {
        ("episode", turns[0].id),
        ("episode", turns[3].id),
        ("memory", facts[0].id),
    }
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)


async def test_lists_say_which_kind_they_propose() -> None:
    assert [r.kind for r in (EpisodeVectors(), EpisodeText(), MemoryVectors(), MemoryText())] == [
        "episode",
        "episode",
        "memory",
        "memory",
    ]
    assert GraphEdges().kind is None
    assert EpisodeVectors().name == "episodes.vector"
