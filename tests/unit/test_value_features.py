"""What the packer's model reads: the support the first hits lend each other."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import UUID

import pytest

from memory_service.domain.models import SearchHit
from policies.value_features import SUPPORT_OF, Ranked
from tests.unit.recall.factories import T0, hit
from tests.unit.recall.factories import turn as ctx


def on_day(n: int, day: int) -> SearchHit:
    return hit(n, at=T0 + timedelta(days=day))


def fact(n: int, *sources: int) -> SearchHit:
    return replace(hit(n, kind="memory"), source_episode_ids=tuple(UUID(int=s) for s in sources))


def test_a_hit_is_supported_by_the_other_first_hits_of_its_day() -> None:
    ranked = Ranked.of([on_day(1, 0), on_day(2, 0), on_day(3, 1), on_day(4, 0)], "q")
    assert ranked.hit(0)["day_support"] == pytest.approx(1 / 2 + 1 / 4)
    assert ranked.hit(1)["day_support"] == pytest.approx(1 + 1 / 4)
    assert ranked.hit(2)["day_support"] == 0.0


def test_only_the_first_hits_lend_support() -> None:
    late = [on_day(n, 1) for n in range(1, SUPPORT_OF + 1)]
    ranked = Ranked.of([*late, on_day(99, 0), on_day(98, 0)], "q")
    assert ranked.hit(SUPPORT_OF)["day_support"] == 0.0
    # one past the first hits still reads the support of its day
    assert Ranked.of([*late, on_day(97, 1)], "q").hit(SUPPORT_OF)["day_support"] > 0


def test_a_fact_and_the_turn_it_is_drawn_from_support_each_other() -> None:
    hits = [fact(50, 7), hit(3), hit(7, context=[ctx(6, -1)]), fact(51, 6)]
    ranked = Ranked.of(hits, "q")
    assert ranked.hit(2)["fact_support"] == pytest.approx(1.0)  # fact 50, first
    assert ranked.hit(1)["fact_support"] == 0.0
    assert ranked.hit(0)["source_support"] == pytest.approx(1 / 3)  # turn 7, third
    assert ranked.hit(3)["source_support"] == 0.0  # turn 6 is only beside a hit
    own = ranked.hit(2)
    beside = ranked.neighbour(2, own, ctx(6, -1))
    assert beside["fact_support"] == pytest.approx(1 / 4)  # fact 51, fourth
    assert beside["hit.fact_support"] == pytest.approx(1.0)
    assert beside["before"] == 1.0


def test_a_hit_and_a_turn_in_a_period_the_question_names_say_so() -> None:
    july = (T0 + timedelta(days=1), T0 + timedelta(days=2))
    hits = [on_day(1, 0), on_day(2, 1), hit(3, context=[ctx(4, 1)])]
    ranked = Ranked.of(hits, "q", periods=[july])
    assert [ranked.hit(r)["in_period"] for r in range(3)] == [0.0, 1.0, 0.0]
    assert all(ranked.hit(r)["names_period"] == 1.0 for r in range(3))
    own = ranked.hit(2)
    assert ranked.neighbour(2, own, ctx(4, 1))["in_period"] == 0.0
    later = replace(ctx(4, 1), occurred_at=T0 + timedelta(days=1, hours=3))
    assert ranked.neighbour(2, own, later)["in_period"] == 1.0
    # the end of a period is outside it; a question naming none reads 0 everywhere
    assert Ranked.of([on_day(5, 2)], "q", periods=[july]).hit(0)["in_period"] == 0.0
    plain = Ranked.of(hits, "q")
    assert plain.hit(1)["in_period"] == plain.hit(1)["names_period"] == 0.0
