"""The search's trace: stage self-times add up to the whole, costs add up."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from memory_service.domain import trace as trace_module
from memory_service.domain.models import Completion
from memory_service.domain.trace import Trace


class Clock:
    """A perf_counter that moves only when told (seconds)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(trace_module, "time", SimpleNamespace(perf_counter=c))
    return c


def test_nested_stages_count_their_own_time_once(clock: Clock) -> None:
    t = Trace()
    with t.stage("gate"):
        clock.now += 1.0
        with t.stage("audit"):
            clock.now += 3.0
        clock.now += 0.5
    assert t.timings_ms == {"gate": 1500.0, "audit": 3000.0}
    assert t.total_ms() == 4500.0


def test_three_levels_and_siblings_add_up(clock: Clock) -> None:
    t = Trace()
    with t.stage("outer"):
        with t.stage("a"):
            clock.now += 1.0
            with t.stage("deep"):
                clock.now += 2.0
        with t.stage("b"):
            clock.now += 4.0
        clock.now += 0.25
    assert t.timings_ms == {"outer": 250.0, "a": 1000.0, "deep": 2000.0, "b": 4000.0}
    assert t.total_ms() == 7250.0


def test_a_stage_run_twice_adds_up_even_when_it_raises(clock: Clock) -> None:
    t = Trace()
    with t.stage("context"):
        clock.now += 0.1

    def failing() -> None:
        with t.stage("context"):
            clock.now += 0.2
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing()
    assert t.timings_ms == {"context": pytest.approx(300.0)}


def test_charge_and_add() -> None:
    t = Trace()
    t.charge(Completion("x", input_tokens=10, output_tokens=3, model="m"))
    t.charge(Completion("y", input_tokens=5, output_tokens=2, model="m"))
    t.add(chunks_read=2, input_tokens=1)
    t.add(chunks_read=1)
    assert t.cost == {"llm_calls": 2, "input_tokens": 16, "output_tokens": 5, "chunks_read": 3}
    assert t.notes == {}


def test_work_recorded_beside_the_stages_adds_to_its_name_not_to_the_whole(clock: Clock) -> None:
    t = Trace()
    with t.stage("episodes.text"):
        clock.now += 0.02  # the query was embedded meanwhile, in a thread
    t.record("embed", 15.0)
    t.record("embed", 1.0)
    assert t.timings_ms == {"episodes.text": 20.0, "embed": 16.0}
    assert t.total_ms() == 20.0  # the whole is the time since the trace began
