"""Distinct passages: no turn shown twice, each passage one stretch of conversation
around its own hit, and items that would add nothing give their slot to the next."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from memory_service.domain.models import SearchHit, SearchQuery
from memory_service.fake_store import FakeStore, FakeUnitOfWork
from memory_service.services.recall import search
from memory_service.services.recall.parts import Parts
from memory_service.services.recall.presets import PRESETS
from policies.distinct import distinct_passages
from policies.packing import DistinctPassages
from tests.unit.recall.factories import ALICE, EMBEDDER, NOW, TENANT, add_turns, hit, make_search
from tests.unit.recall.factories import turn as ctx


def window(n: int, turns: int = 1) -> SearchHit:
    """The episode hit ``n`` with ``turns`` neighbours a side (episodes n-turns..n+turns)."""
    around = [ctx(n + p, p) for p in range(-turns, turns + 1) if p != 0 and n + p > 0]
    return replace(
        hit(n, context=around),
        source_episode_ids=(UUID(int=n), *(t.id for t in around)),
    )


def fact(n: int, *sources: int) -> SearchHit:
    return replace(hit(n, kind="memory"), source_episode_ids=tuple(UUID(int=s) for s in sources))


def shown(h: SearchHit) -> list[tuple[int, int]]:
    return [(t.id.int, t.position) for t in h.context]


def every_turn(hits: list[SearchHit]) -> list[int]:
    return [t.id.int for h in hits if h.kind == "episode" for t in h.passage()]


def test_disjoint_passages_keep_their_windows() -> None:
    hits = [window(5), window(10), window(20)]
    out = distinct_passages(hits, 10)
    assert [h.id.int for h in out] == [5, 10, 20]
    assert [shown(h) for h in out] == [[(4, -1), (6, 1)], [(9, -1), (11, 1)], [(19, -1), (21, 1)]]
    assert [h.context for h in out] == [h.context for h in hits]


def test_no_turn_is_shown_twice() -> None:
    out = distinct_passages([window(5), window(7), window(6, 2), window(3, 2), window(12)], 10)
    turns = every_turn(out)
    assert len(turns) == len(set(turns))
    # 6 was shown by 5's window (skipped); 3's window keeps 1 and 2 (4 is 5's)
    assert [h.id.int for h in out] == [5, 7, 3, 12]
    assert shown(out[1]) == [(8, 1)]  # 6 is 5's
    assert shown(out[2]) == [(1, -2), (2, -1)]


def test_a_passage_stays_contiguous_with_its_hit() -> None:
    # 8's window is 6..10; 7 was shown by 5's window 3..7, so 6 (unshown) is cut off
    out = distinct_passages([window(5, 2), window(8, 2)], 10)
    assert shown(out[1]) == [(9, 1), (10, 2)]
    # and on the right: 4's window is 2..6; 5 was shown alone, so 6 (unshown) is cut off
    out = distinct_passages([window(5, 0), window(4, 2)], 10)
    assert shown(out[1]) == [(2, -2), (3, -1)]


def test_passage_provenance_is_the_hit_and_the_turns_it_shows() -> None:
    [_, second] = distinct_passages([window(5), window(7)], 10)
    assert [s.int for s in second.source_episode_ids] == [7, 8]
    assert [t.id.int for t in second.passage()] == [7, 8]


def test_an_already_shown_hit_frees_its_slot() -> None:
    out = distinct_passages([window(5), window(6), window(4), window(20)], 2)
    assert [h.id.int for h in out] == [5, 20]


def test_a_fact_whose_sources_are_all_shown_is_skipped() -> None:
    out = distinct_passages([window(5), fact(100, 4, 5), fact(101, 6), window(20)], 2)
    assert [h.id.int for h in out] == [5, 20]


def test_a_fact_with_an_unshown_source_is_kept_as_it_is() -> None:
    partly = fact(100, 5, 30)
    alone = fact(101)  # no sources: nothing says it was shown
    out = distinct_passages([window(5), partly, alone], 10)
    assert out[1:] == [partly, alone]


def test_a_fact_shows_no_turn() -> None:
    # a fact ranked first does not keep the episodes it came from out of the passages
    first = fact(100, 5)
    out = distinct_passages([first, window(5), fact(101, 5)], 10)
    assert [h.id.int for h in out] == [100, 5]
    assert shown(out[1]) == [(4, -1), (6, 1)]


def test_the_limit_holds() -> None:
    hits = [window(n, 0) for n in range(2, 40, 4)]
    assert len(distinct_passages(hits, 3)) == 3
    assert [h.id.int for h in distinct_passages(hits, 3)] == [2, 6, 10]
    assert distinct_passages(hits, 0) == []
    assert distinct_passages([], 5) == []


def test_hits_are_not_changed_in_place() -> None:
    second = window(7)
    distinct_passages([window(5), second], 10)
    assert shown(second) == [(6, -1), (8, 1)]


async def test_the_packer_takes_the_search_limit() -> None:
    uow = FakeUnitOfWork(FakeStore(seed=1, clock=lambda: NOW))
    packer = DistinctPassages()
    hits = [window(5), window(6), window(10), window(20), window(30)]
    two = await make_search(uow, "anything", limit=2)
    assert [h.id.int for h in packer.pack(two, hits)] == [5, 10]
    three = await make_search(uow, "anything", limit=3)
    assert [h.id.int for h in packer.pack(three, hits)] == [5, 10, 20]
    assert packer.create(Parts()) is packer


def test_distinct_presets_use_the_packer_with_their_window() -> None:
    for name, turns in (("distinct-window2", 2), ("sparse-distinct2", 2), ("focus-window2", 2)):
        preset = PRESETS[name]
        assert isinstance(preset.packer, DistinctPassages)
        assert preset.passages.turns == turns  # type: ignore[attr-defined]
        assert preset.depth == 2


async def test_distinct_window_preset_end_to_end_over_the_fake_store() -> None:
    uow = FakeUnitOfWork(FakeStore(seed=1, clock=lambda: NOW))
    said = [
        "Rex the puppy barked",
        "the puppy Rex slept",
        "weather talk",
        "more weather",
        "Rex the puppy ate",
        "bye",
    ]
    turns = await add_turns(uow, said)
    pipeline = PRESETS["distinct-window2"].build(EMBEDDER, Parts())
    result = await search(
        uow, pipeline, TENANT, SearchQuery("puppy Rex", ALICE, limit=3), now=NOW, log=False
    )
    ids = [t.id for h in result.hits for t in h.passage()]
    assert len(ids) == len(set(ids)), "a turn shows twice"
    assert len(result.hits) <= 3
    assert {turns[0].id, turns[1].id, turns[4].id} <= set(ids)


def test_a_token_bound_keeps_the_nearest_neighbours_the_next_turn_first() -> None:
    # "turn N" is 6 characters: 1 approximate token each
    h = window(10, turns=2)
    assert shown(distinct_passages([h], 1, max_tokens=None)[0]) == [
        (8, -2),
        (9, -1),
        (11, 1),
        (12, 2),
    ]
    assert shown(distinct_passages([h], 1, max_tokens=2)[0]) == [(11, 1)]
    assert shown(distinct_passages([h], 1, max_tokens=3)[0]) == [(9, -1), (11, 1)]
    assert shown(distinct_passages([h], 1, max_tokens=4)[0]) == [(9, -1), (11, 1), (12, 2)]
    assert distinct_passages([h], 1, max_tokens=1)[0].context == ()


def test_a_long_neighbour_stops_its_side_but_not_the_other() -> None:
    long = replace(ctx(11, 1), text="x" * 400)  # 100 tokens
    h = replace(hit(10, context=[ctx(9, -1), long, ctx(12, 2)]))
    [out] = distinct_passages([h], 1, max_tokens=50)
    assert shown(out) == [(9, -1)]  # 11 does not fit, so 12 (beyond it) is not joined
    assert out.source_episode_ids == (UUID(int=10), UUID(int=9))


def test_the_packer_bounds_passages_by_default() -> None:
    assert DistinctPassages().max_tokens == 256
    assert DistinctPassages(max_tokens=None).max_tokens is None


def test_only_the_first_wide_items_keep_their_neighbours() -> None:
    hits = [window(5), fact(50, 40), window(10), window(20)]
    out = distinct_passages(hits, 10, wide=2)
    assert [h.id.int for h in out] == [5, 50, 10, 20]
    assert [shown(h) for h in out] == [[(4, -1), (6, 1)], [], [], []]
    assert out[2].source_episode_ids == (UUID(int=10),)
    assert distinct_passages(hits, 10, wide=None) == distinct_passages(hits, 10)
