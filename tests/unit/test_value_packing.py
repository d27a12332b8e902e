"""Packing by value per token: items in order of expected new evidence per token, no turn
shown twice, neighbours only while joined to their hit and worth their tokens."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from memory_service.bootstrap import packer_model
from memory_service.domain.errors import ConfigurationError
from memory_service.domain.models import SearchHit, SearchQuery
from memory_service.fake_store import FakeStore, FakeUnitOfWork
from memory_service.services.recall import search
from memory_service.services.recall.parts import Parts
from memory_service.services.recall.presets import PRESETS
from policies import value_model
from policies.packing import ValuePacking
from policies.value_features import turn_tokens
from policies.value_model import HIT_FEATURES, NEIGHBOUR_FEATURES, Logistic, ValueModel
from policies.value_packing import line_of, passage_cost, value_passages
from tests.unit.recall.factories import (
    ALICE,
    EMBEDDER,
    NOW,
    T0,
    TENANT,
    add_turns,
    hit,
    make_search,
)
from tests.unit.recall.factories import turn as ctx


def logistic(features: tuple[str, ...], bias: float = 0.0, **weights: float) -> Logistic:
    names = tuple(weights) or features[:1]
    return Logistic(
        features=tuple(n.replace("__", ".") for n in names),
        mean=(0.0,) * len(names),
        scale=(1.0,) * len(names),
        weights=tuple(weights.values()) or (0.0,),
        bias=bias,
    )


FEB = datetime(2024, 2, 10, 9, 0, tzinfo=UTC)
"""A day of the month before ``T0``'s."""

FLAT = ValueModel(logistic(HIT_FEATURES), logistic(NEIGHBOUR_FEATURES))
"""Every hit and every neighbour p = 0.5: the order is by tokens alone."""


def window(n: int, turns: int = 1, text: str | None = None) -> SearchHit:
    around = [ctx(n + p, p) for p in range(-turns, turns + 1) if p != 0 and n + p > 0]
    return replace(
        hit(n, context=around, text=text),
        source_episode_ids=(UUID(int=n), *(t.id for t in around)),
    )


def fact(n: int, *sources: int, text: str | None = None) -> SearchHit:
    return replace(
        hit(n, kind="memory", text=text), source_episode_ids=tuple(UUID(int=s) for s in sources)
    )


def ids(hits: list[SearchHit]) -> list[int]:
    return [h.id.int for h in hits]


def every_turn(hits: list[SearchHit]) -> list[int]:
    return [t.id.int for h in hits if h.kind == "episode" for t in h.passage()]


def test_the_same_chance_goes_to_the_cheapest_first() -> None:
    long = window(10, 0, text="a long turn " * 30)
    short = window(20, 0, text="short")
    out = value_passages([long, short], "q", 5, FLAT)
    assert ids(out) == [20, 10]


def test_a_likelier_hit_goes_first_at_the_same_cost() -> None:
    model = replace(FLAT, hit=logistic(HIT_FEATURES, inv_rank=-8.0))  # later ranks likelier
    out = value_passages([window(10, 0), window(20, 0), window(30, 0)], "q", 5, model)
    assert ids(out) == [30, 20, 10]


def test_a_passage_is_led_by_the_best_ranked_hit_it_shows() -> None:
    model = replace(FLAT, hit=logistic(HIT_FEATURES, inv_rank=-8.0))  # later ranks likelier
    out = value_passages([window(10), window(11)], "q", 5, model)
    # 11's passage (10, 11, 12) goes first, shown as the passage of 10, ranked first
    [passage] = out
    assert passage.id.int == 10
    assert [(t.id.int, t.position) for t in passage.context] == [(11, 1), (12, 2)]
    assert [s.int for s in passage.source_episode_ids] == [10, 11, 12]
    assert [m.int for m in passage.merged] == [11]


def adds_something(out: list[SearchHit]) -> bool:
    """Each item shows a turn no earlier item showed, and an episode none it shows."""
    shown: set[UUID] = set()
    for h in out:
        turns = set(h.source_episode_ids)
        if not turns - shown or (h.kind == "episode" and turns & shown):
            return False
        shown |= turns
    return True


def test_no_turn_is_shown_twice_and_a_fact_of_shown_turns_is_dropped() -> None:
    hits = [window(5), window(6), fact(100, 5), fact(101, 5, 40), window(12), fact(102, 6)]
    out = value_passages(hits, "q", 10, FLAT)
    assert adds_something(out)
    turns = every_turn(out)
    assert len(turns) == len(set(turns))
    assert {5, 6, 12, 40} <= {*turns, *(s.int for h in out for s in h.source_episode_ids)}


def test_a_fact_that_shows_a_turn_first_keeps_the_turn_out_of_later_passages() -> None:
    short_fact = fact(100, 5, text="Alice has a dog")
    out = value_passages([window(5, 0, text="a long turn " * 20), short_fact], "q", 5, FLAT)
    assert ids(out) == [100]  # the fact is cheaper; the turn it comes from adds nothing


def test_a_neighbour_stops_at_a_shown_turn() -> None:
    # 8's window is 6..10; 7 is shown by the first item (the short fact of turn 7)
    model = replace(FLAT, hit=logistic(HIT_FEATURES, bias=0.0, fact=4.0))
    hits = [fact(100, 7, text="x"), window(8, 2)]
    out = value_passages(hits, "q", 5, model)
    assert ids(out) == [100, 8]
    assert [(t.id.int, t.position) for t in out[1].context] == [(9, 1), (10, 2)]
    assert out[1].source_episode_ids == (UUID(int=8), UUID(int=9), UUID(int=10))


def test_a_neighbour_joins_only_when_worth_its_tokens() -> None:
    unlikely_before = replace(FLAT, neighbour=logistic(NEIGHBOUR_FEATURES, bias=0.0, before=-9.0))
    out = value_passages([window(8, 1)], "q", 5, unlikely_before, join=0.01)
    assert [t.position for t in out[0].context] == [1]
    out = value_passages([window(8, 1)], "q", 5, unlikely_before, join=0.0)
    assert [t.position for t in out[0].context] == [-1, 1]


def test_a_passage_grows_only_while_it_stays_short() -> None:
    long_after = ctx(9, 1)
    long_after = replace(long_after, text="a long answer " * 100)
    hit8 = replace(window(8, 2), context=(ctx(6, -2), ctx(7, -1), long_after, ctx(10, 2)))
    out = value_passages([hit8], "q", 5, FLAT)
    assert [t.position for t in out[0].context] == [-2, -1]  # the long turn closes its side
    out = value_passages([hit8], "q", 5, FLAT, max_tokens=None)
    assert [t.position for t in out[0].context] == [-2, -1, 1, 2]
    alone = value_passages([window(8, 1, text="a long turn " * 100)], "q", 5, FLAT)
    assert alone[0].context == ()


def test_only_the_first_hits_keep_neighbours_and_the_limit_holds() -> None:
    hits = [window(10 * n, 1) for n in range(1, 8)]
    out = value_passages(hits, "q", 3, FLAT, neighbours_of=2)
    assert len(out) == 3
    assert all(not h.context for h in out if h.id.int > 20)


def test_the_order_is_deterministic() -> None:
    hits = [window(5), window(6), fact(100, 5), window(12), fact(101, 40), window(30, 2)]
    assert value_passages(hits, "q", 10, FLAT) == value_passages(list(hits), "q", 10, FLAT)


def test_a_passage_costs_its_lines_with_each_days_date_once() -> None:
    one_day = window(8, 1)
    lines = [turn_tokens("Alice", f"turn {n}", dated=n == 7) for n in (7, 8, 9)]
    own = replace(ctx(8, 0), text=one_day.text)
    passage = [line_of(t, 0.5) for t in (one_day.context[0], own, one_day.context[1])]
    assert passage_cost(passage) == sum(lines)


def test_the_model_round_trips_and_refuses_unknown_features(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(FLAT.to_json()))
    assert value_model.load(path) == replace(FLAT, info={})
    data = FLAT.to_json()
    data["hit"]["features"] = ["no_such_feature"]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="no_such_feature"):
        value_model.load(path)
    with pytest.raises(FileNotFoundError, match="train_packer"):
        value_model.load(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="one entry per feature"):
        Logistic(("a", "b"), (0.0,), (1.0,), (1.0,), 0.0)


def test_a_bad_packer_model_setting_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"MEMORY_PACKER_MODEL.*train_packer"):
        packer_model(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ConfigurationError, match="not a packer model"):
        packer_model(tmp_path / "bad.json")


def test_the_bundled_model_loads() -> None:
    model = value_model.bundled()
    assert model is not None
    assert set(model.hit.features) <= set(HIT_FEATURES)
    assert set(model.neighbour.features) <= set(NEIGHBOUR_FEATURES)


async def test_without_a_model_the_preset_refuses_with_a_clear_error() -> None:
    packer = ValuePacking().create(Parts(value_model=None))
    uow = FakeUnitOfWork(FakeStore())
    s = await make_search(uow, "dog")
    with pytest.raises(ConfigurationError, match="packer model"):
        packer.pack(s, [hit(1)])


async def test_the_preset_end_to_end_shows_each_turn_once() -> None:
    store = FakeStore()
    async with FakeUnitOfWork(store) as uow:
        await add_turns(uow, [f"my dog {n} likes the park" for n in range(12)])
    pipeline = PRESETS["sparse-value2"].build(EMBEDDER, Parts(value_model=FLAT))

    async with FakeUnitOfWork(store) as uow:
        result = await search(
            uow, pipeline, TENANT, SearchQuery("dog park", ALICE, limit=4), now=NOW, log=False
        )
    assert 0 < len(result.hits) <= 4
    assert adds_something(list(result.hits))


async def test_system_2s_ranking_is_packed_in_its_own_order() -> None:
    store = FakeStore()
    async with FakeUnitOfWork(store) as uow:
        await add_turns(uow, [f"my dog {n} likes the park" for n in range(12)])
    backwards = replace(FLAT, hit=logistic(HIT_FEATURES, inv_rank=-8.0))
    value = PRESETS["sparse-value2"].build(EMBEDDER, Parts(value_model=backwards))
    focus = PRESETS["sparse-focus2"].build(EMBEDDER, Parts())
    found = []
    for pipeline in (value, focus):
        async with FakeUnitOfWork(store) as uow:
            result = await search(
                uow,
                pipeline,
                TENANT,
                SearchQuery("dog park", ALICE, limit=4),
                mode="deliberate",
                now=NOW,
                log=False,
            )
        assert result.route == "deliberate"
        found.append([(h.id, [t.id for t in h.context]) for h in result.hits])
    assert found[0] == found[1]


async def test_the_preset_reads_the_period_a_question_names_against_its_now() -> None:
    """ "Last month" is resolved against the search's ``now``: a model that values a
    turn in the period puts February's turns first in March, and in the next year's
    May, when no turn is in the period, March's, which the lists rank higher."""
    store = FakeStore()
    async with FakeUnitOfWork(store) as uow:
        await add_turns(uow, [f"my cat {n} likes the park" for n in range(3)], start=FEB)
        await add_turns(uow, [f"my dog {n} likes the park" for n in range(3)])
    in_period = replace(FLAT, hit=logistic(HIT_FEATURES, in_period=8.0, inv_rank=4.0))
    pipeline = PRESETS["sparse-value2"].build(EMBEDDER, Parts(value_model=in_period))
    query = SearchQuery("what did my dog like last month", ALICE, limit=3)
    months = []
    for now in (NOW, NOW.replace(year=NOW.year + 1, month=5)):
        async with FakeUnitOfWork(store) as uow:
            result = await search(uow, pipeline, TENANT, query, now=now, log=False)
        first = result.hits[0].occurred_at
        assert first is not None
        months.append(first.month)
    assert months == [FEB.month, T0.month]
