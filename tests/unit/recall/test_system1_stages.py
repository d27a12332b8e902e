"""System 1's stages one by one: fusion, the MemRL reranker, the window of turns
around a hit, and the packers."""

from __future__ import annotations

from uuid import UUID

import pytest

from memory_service.domain.models import Candidate, Episode, HitKind, SearchHit
from memory_service.fake_store import FakeUnitOfWork
from memory_service.ports import Pool
from memory_service.services.recall.parts import Parts
from policies.packing import MergedPassages, TopK
from policies.rerankers import MemRL
from retrievers.fusion import RRF
from retrievers.passages import Window
from tests.unit.recall.factories import BOB, T0, add_turns, hit, make_search, turn


def cand(n: int, score: float, kind: HitKind = "episode") -> Candidate:
    return Candidate(kind=kind, id=UUID(int=n), text=f"c{n}", occurred_at=T0, score=score)


def as_hit(e: Episode) -> SearchHit:
    return SearchHit("episode", e.id, e.text, e.occurred_at, 1.0, {}, (e.id,), e.speaker)


def test_rrf_keeps_what_every_list_said() -> None:
    fused = RRF(k=60).fuse(
        {"episodes.vector": [cand(1, 0.9), cand(2, 0.5)], "episodes.text": [cand(2, 0.75)]}
    )
    assert [h.id.int for h in fused] == [2, 1]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert fused[0].scores == {
        "rrf": pytest.approx(1 / 62 + 1 / 61),
        "episodes.vector": 0.5,
        "episodes.vector_rank": 2.0,
        "episodes.text": 0.75,
        "episodes.text_rank": 1.0,
    }
    assert fused[1].scores == {
        "rrf": pytest.approx(1 / 61),
        "episodes.vector": 0.9,
        "episodes.vector_rank": 1.0,
    }
    assert fused[1].text == "c1"


def test_rrf_tells_kinds_apart_and_is_its_own_spec() -> None:
    stage = RRF(k=10)
    fused = stage.fuse({"a": [cand(1, 1.0, "memory")], "b": [cand(1, 1.0, "episode")]})
    assert [h.kind for h in fused] == ["memory", "episode"]
    assert [h.score for h in fused] == pytest.approx([1 / 11, 1 / 11])
    assert stage.create(Parts()) is stage


POOL = Pool(
    hits=[hit(1), hit(2), hit(3), hit(4)],
    exact={UUID(int=1): (0.9, 0.0), UUID(int=2): (0.8, 1.0), UUID(int=3): (0.1, 1.0)},
)
"""Hit 3 is under the floor (0.2); hit 4 is no longer stored (no exact entry)."""


@pytest.mark.parametrize(("lam", "order"), [(0.0, [1, 2]), (0.75, [2, 1])])
async def test_memrl_orders_by_similarity_and_utility(
    uow: FakeUnitOfWork, lam: float, order: list[int]
) -> None:
    search = await make_search(uow, "anything")
    ranked = await MemRL(lam=lam, floor=0.2).rerank(search, POOL, 5)
    assert [h.id.int for h in ranked.hits] == order
    assert ranked.exact is POOL.exact


async def test_memrl_scores_keep_the_earlier_ones(uow: FakeUnitOfWork) -> None:
    search = await make_search(uow, "anything")
    ranked = await MemRL(lam=0.75, floor=0.2).rerank(search, POOL, 1)
    [best] = ranked.hits
    # z(sim) = -1, z(Q) = +1 within the two-item pool: 0.25 * -1 + 0.75 * 1
    assert best.score == pytest.approx(0.5)
    assert best.scores == {
        "given": 1.0,
        "similarity": 0.8,
        "utility": 1.0,
        "memrl": pytest.approx(0.5),
    }


async def test_window_adds_the_scope_turns_around_episode_hits(uow: FakeUnitOfWork) -> None:
    turns = await add_turns(uow, [f"alice turn {i}" for i in range(6)])
    # Bob spoke between Alice's turns 2 and 3: never part of her passages
    await add_turns(uow, ["bob turn"], scope=BOB, start=turns[2].occurred_at)
    fact = hit(99, kind="memory")
    search = await make_search(uow, "turn")
    built = await Window(1).build(search, [as_hit(turns[2]), fact, as_hit(turns[5])])
    middle, same_fact, last = built
    assert [(t.id, t.position) for t in middle.context] == [(turns[1].id, -1), (turns[3].id, 1)]
    assert middle.source_episode_ids == (turns[2].id, turns[1].id, turns[3].id)
    assert same_fact == fact
    assert [(t.id, t.position) for t in last.context] == [(turns[4].id, -1)]


async def test_window_two_turns_and_none(uow: FakeUnitOfWork) -> None:
    turns = await add_turns(uow, [f"turn {i}" for i in range(4)])
    search = await make_search(uow, "turn")
    [first] = await Window(2).build(search, [as_hit(turns[0])])
    assert [(t.text, t.position) for t in first.context] == [("turn 1", 1), ("turn 2", 2)]
    hits = [as_hit(turns[1])]
    assert await Window(0).build(search, hits) == hits


async def test_window_keeps_to_the_query_period(uow: FakeUnitOfWork) -> None:
    turns = await add_turns(uow, [f"turn {i}" for i in range(5)])
    search = await make_search(uow, "turn", since=turns[1].occurred_at, until=turns[3].occurred_at)
    [middle] = await Window(2).build(search, [as_hit(turns[2])])
    # turns 0 and 3, 4 lie outside [since, until): a filtered search shows none of them
    assert [(t.text, t.position) for t in middle.context] == [("turn 1", -1)]
    assert middle.source_episode_ids == (turns[2].id, turns[1].id)


async def test_top_k_keeps_the_best_limit(uow: FakeUnitOfWork) -> None:
    search = await make_search(uow, "anything", limit=2)
    assert [h.id.int for h in TopK().pack(search, [hit(3), hit(1), hit(2)])] == [3, 1]


async def test_merged_passages_join_overlaps_and_free_a_slot(uow: FakeUnitOfWork) -> None:
    a = hit(10, context=[turn(9, -1), turn(11, 1)])
    b = hit(12, context=[turn(11, -1), turn(13, 1)])  # shares turn 11 with a
    c = hit(20, context=[turn(19, -1)])
    fact = hit(30, kind="memory")
    search = await make_search(uow, "anything", limit=2)
    packed = MergedPassages().pack(search, [a, b, c, fact])
    assert [h.id.int for h in packed] == [10, 20]
    merged = packed[0]
    assert merged.merged == (UUID(int=12),)
    assert [(t.id.int, t.position) for t in merged.context] == [(9, -1), (11, 1), (12, 2), (13, 3)]
    assert {s.int for s in merged.source_episode_ids} == {9, 10, 11, 12, 13}
    assert packed[1] == c
