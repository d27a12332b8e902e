"""The quality gate stage: when it runs, how it routes, and the LLM audit's cost and
timing in the search's trace."""

from __future__ import annotations

import json
import math
import time
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from memory_service.domain.search import Mode
from memory_service.fake_store import FakeUnitOfWork
from memory_service.ports import Search
from memory_service.services.recall.parts import Parts
from memory_service.services.recall.routing import QualityGate, QualityGateSpec
from memory_service.testing import ScriptedLLM
from policies.gate import GateConfig
from policies.gate_features import FEATURES
from policies.learned_gate import LearnedGate
from tests.unit.recall.factories import EMBEDDER, NOW, T0, TENANT, hit, make_search

PASSING = json.dumps(
    {"answer": "Rex", "relevance": True, "faithfulness": True, "completeness": True}
)
INCOMPLETE = json.dumps(
    {"answer": "", "relevance": True, "faithfulness": True, "completeness": False}
)
HITS = [hit(1, text="Alice adopted a puppy named Rex"), hit(2, text="Rex loves the beach")]
CLOSE = {UUID(int=1): 0.95, UUID(int=2): 0.9}
"""Similar enough that relevance passes; the query names no stored entity or period."""
RELEVANCE = 0.7 * 1.0 + 0.3 * (0.925 - 0.2) / 0.75
"""0.7 x calibrated best (0.95: 1.0) + 0.3 x calibrated mean (0.925), sim_lo 0.2, sim_hi 0.95."""


def gate(routes: bool, llm: ScriptedLLM | None = None) -> QualityGate:
    return QualityGateSpec(routes=routes).create(Parts(llm=llm))


@pytest.mark.parametrize(
    ("routes", "mode", "applies"),
    [
        (False, "auto", False),
        (False, "fast", True),
        (False, "deliberate", True),
        (True, "auto", True),
        (True, "fast", True),
    ],
)
async def test_applies_per_mode_and_routes(
    uow: FakeUnitOfWork, routes: bool, mode: Mode, applies: bool
) -> None:
    search = await make_search(uow, "puppy", mode=mode)
    assert gate(routes).applies(search) is applies


async def routed(
    g: QualityGate, search: Search, similarity: dict[UUID, float] = CLOSE
) -> tuple[str, dict[str, Any]]:
    with search.trace.stage("gate"):
        routing = await g.route(search, HITS, similarity)
    return routing.route, dict(routing.report)


async def test_good_evidence_takes_the_fast_route(uow: FakeUnitOfWork) -> None:
    route, report = await routed(gate(True), await make_search(uow, "the puppy"))
    assert route == "fast"
    assert report["reasons"] == []
    assert report["scores"]["relevance"] == pytest.approx(RELEVANCE)
    assert list(report["features"]) == list(FEATURES)
    assert "audit" not in report


async def test_weak_evidence_and_no_evidence_deliberate(uow: FakeUnitOfWork) -> None:
    search = await make_search(uow, "the puppy")
    route, report = await routed(gate(True), search, {UUID(int=1): 0.1, UUID(int=2): 0.1})
    assert route == "deliberate"
    assert report["reasons"] == ["relevance 0.000 < 0.450"]
    empty = await gate(True).route(search, [], {})
    assert (empty.route, empty.report["reasons"][0]) == ("deliberate", "no evidence")


async def test_an_entity_the_hits_miss_fails_coverage(uow: FakeUnitOfWork) -> None:
    [vec] = await EMBEDDER.embed(["Paris"])
    search = await make_search(uow, "Paris trip")
    await uow.entities.add(TENANT, search.query.scope, "Paris", "place", vec)
    route, report = await routed(gate(True), search)
    assert route == "deliberate"
    assert report["scores"]["coverage"] == 0.0
    assert "coverage 0.000 < 0.500" in report["reasons"]


async def test_a_period_the_hits_miss_fails_temporal_fit(uow: FakeUnitOfWork) -> None:
    # NOW is 2024-03-10: "last week" is Feb 26 - Mar 4; the hits are on Mar 1
    search = await make_search(uow, "puppy last week")
    route, _ = await routed(gate(True), search)
    assert route == "fast"
    later = await make_search(uow, "puppy last week", now=NOW + timedelta(days=14))
    route, report = await routed(gate(True), later)
    assert route == "deliberate"
    assert "temporal_fit 0.000 < 0.500" in report["reasons"]


@pytest.mark.parametrize("mode", ["fast", "deliberate"])
async def test_forced_modes_set_the_route_and_keep_the_scores(
    uow: FakeUnitOfWork, mode: Mode
) -> None:
    llm = ScriptedLLM(default=PASSING)
    route, report = await routed(gate(False, llm), await make_search(uow, "the puppy", mode=mode))
    assert route == mode
    assert report["reasons"] == [f"forced {mode}"]
    assert report["scores"]["relevance"] == pytest.approx(RELEVANCE)
    assert llm.calls == []  # a forced route is not audited


def slow(reply: str, seconds: float) -> ScriptedLLM:
    def answer(prompt: str) -> str:
        time.sleep(seconds)
        return reply

    return ScriptedLLM(default=answer)


async def test_the_audit_is_charged_and_timed_apart_from_the_gate(uow: FakeUnitOfWork) -> None:
    llm = slow(PASSING, 0.2)
    search = await make_search(uow, "the puppy")
    started = time.perf_counter()
    route, report = await routed(gate(True, llm), search)
    wall_ms = (time.perf_counter() - started) * 1000
    assert route == "fast"
    assert report["audit"]["answer"] == "Rex"
    assert report["scores"]["audit"] == 1.0
    [[prompt]] = llm.calls
    assert "Question: the puppy" in prompt.content
    assert "[2024-03-01] Alice: Alice adopted a puppy named Rex" in prompt.content
    assert "(Today is 2024-03-10.)" in prompt.content
    cost = search.trace.cost
    assert cost["llm_calls"] == 1
    assert cost["input_tokens"] == len(prompt.content.split())
    assert cost["output_tokens"] == len(PASSING.split())
    timings = search.trace.timings_ms
    assert timings["audit"] >= 200
    assert timings["gate"] < timings["audit"]
    assert timings["gate"] + timings["audit"] <= wall_ms


async def test_a_failed_audit_deliberates(uow: FakeUnitOfWork) -> None:
    route, report = await routed(
        gate(True, ScriptedLLM(default=INCOMPLETE)), await make_search(uow, "the puppy")
    )
    assert route == "deliberate"
    assert report["reasons"] == ["audit 0.667 < 0.670"]
    assert report["audit"]["completeness"] is False


async def test_an_unreadable_audit_counts_as_failed(uow: FakeUnitOfWork) -> None:
    search = await make_search(uow, "the puppy")
    route, report = await routed(gate(True, ScriptedLLM(default="no idea")), search)
    assert route == "deliberate"
    assert report["audit"] == {"unreadable": "no idea"}
    assert search.trace.cost["llm_calls"] == 1


@pytest.mark.parametrize("where", ["search", "parts"])
async def test_audit_can_be_switched_off(uow: FakeUnitOfWork, where: str) -> None:
    llm = ScriptedLLM(default=INCOMPLETE)
    g = QualityGateSpec(routes=True).create(Parts(llm=llm, audit=where != "parts"))
    search = await make_search(uow, "the puppy", audit=where != "search")
    route, report = await routed(g, search)
    assert (route, llm.calls, "audit" in report) == ("fast", [], False)
    assert search.trace.cost["llm_calls"] == 0
    assert "audit" not in search.trace.timings_ms


def test_hits_are_dated_from_t0() -> None:
    assert HITS[0].occurred_at == T0 + timedelta(minutes=1)


def tiny_model(threshold: float = 0.5, quantiles: tuple[float, ...] = ()) -> LearnedGate:
    """A logistic model over sim_best alone (weight 4, bias -2: p = 0.5 at 0.5)."""
    n = len(FEATURES)
    row = tuple(4.0 if name == "sim_best" else 0.0 for name in FEATURES)
    return LearnedGate(
        FEATURES, (0.0,) * n, (1.0,) * n, (((row,), (-2.0,)),), threshold, quantiles=quantiles
    )


async def test_the_report_says_the_hand_set_dimensions_route(uow: FakeUnitOfWork) -> None:
    _, report = await routed(gate(True), await make_search(uow, "the puppy"))
    assert report["routing"] == {"score": "dimensions", "thresholds": GateConfig().thresholds}


async def test_the_report_says_the_learned_probability_routes(uow: FakeUnitOfWork) -> None:
    g = QualityGateSpec(routes=True).create(Parts(gate_model=tiny_model(0.99)))
    route, report = await routed(g, await make_search(uow, "the puppy"))
    assert report["routing"] == {"score": "learned", "threshold": 0.99, "escalation_share": None}
    assert route == "deliberate"  # sim_best 0.95: p = 0.86 < 0.99
    assert report["reasons"] == [f"learned {report['scores']['learned']:.3f} < 0.990"]


async def test_an_escalation_share_sets_the_learned_pass_mark(uow: FakeUnitOfWork) -> None:
    # the calibration sample's probabilities run evenly from 0.8 to 0.9: a share of 0.5
    # puts the mark at 0.85, under this result's p = 1 / (1 + e^-1.8) = 0.858
    model = tiny_model(quantiles=tuple(0.8 + 0.001 * i for i in range(101))).with_share(0.5)
    g = QualityGateSpec(routes=True).create(Parts(gate_model=model))
    route, report = await routed(g, await make_search(uow, "the puppy"))
    assert report["routing"] == {
        "score": "learned",
        "threshold": pytest.approx(0.85),
        "escalation_share": 0.5,
    }
    assert report["scores"]["learned"] == pytest.approx(1 / (1 + math.exp(-1.8)))
    assert route == "fast"
    strict = QualityGateSpec(routes=True).create(Parts(gate_model=model.with_share(0.9)))
    route, report = await routed(strict, await make_search(uow, "the puppy"))
    assert (route, report["routing"]["threshold"]) == ("deliberate", pytest.approx(0.89))
