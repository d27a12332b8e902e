"""The quality gate's dimensions and routing, table-driven, hand-computed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from policies.gate import (
    Evidence,
    GateConfig,
    GateInput,
    assess,
    audit_score,
    consistency,
    coverage,
    relevance,
    similarity_baseline,
    temporal_fit,
)

CFG = GateConfig(sim_lo=0.2, sim_hi=0.7)
"""A calibration with round numbers: relevance value = (cosine - 0.2) / 0.5, clipped."""
MAY = (datetime(2023, 5, 1, tzinfo=UTC), datetime(2023, 6, 1, tzinfo=UTC))
JULY = (datetime(2023, 7, 1, tzinfo=UTC), datetime(2023, 8, 1, tzinfo=UTC))


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2023, month, day, hour, tzinfo=UTC)


def ev(
    text: str = "x",
    sim: float = 0.8,
    when: datetime | None = None,
    entities: Sequence[str] = (),
    conflicts_with: Sequence[str] = (),
) -> Evidence:
    return Evidence(text, sim, when, entities, "memory", conflicts_with)


def inp(
    *evidence: Evidence,
    entities: Sequence[str] = (),
    times: Sequence[tuple[datetime, datetime]] = (),
) -> GateInput:
    return GateInput("q", entities, times, evidence)


@pytest.mark.parametrize(
    ("sims", "expected"),
    [
        ([0.7], 1.0),  # best and mean at sim_hi
        ([0.9], 1.0),  # clipped above
        ([0.2], 0.0),  # at sim_lo
        ([-0.4], 0.0),  # clipped below
        ([0.45, 0.2], 0.7 * 0.5 + 0.3 * 0.25),  # best .45 -> .5; mean .325 -> .25: 0.425
        ([0.2, 0.45], 0.425),  # order does not matter
        ([0.7, 0.7, 0.7, 0.7, 0.7, 0.2], 1.0),  # only the top 5 count
        ([], 0.0),
    ],
)
def test_relevance(sims: list[float], expected: float) -> None:
    assert relevance([ev(sim=s) for s in sims], CFG) == pytest.approx(expected)


def test_relevance_default_calibration_and_weights() -> None:
    # default sim_lo 0.2, sim_hi 0.95: 0.575 -> 0.375 / 0.75 = 0.5
    assert relevance([ev(sim=0.575)], GateConfig()) == pytest.approx(0.5)
    # best 0.7 -> 1.0, mean 0.45 -> 0.5: 0.5 x 1 + 0.5 x 0.5
    mixed = GateConfig(sim_lo=0.2, sim_hi=0.7, best_weight=0.5)
    assert relevance([ev(sim=0.7), ev(sim=0.2)], mixed) == pytest.approx(0.75)
    # top 1: only the best
    assert relevance([ev(sim=0.7), ev(sim=0.2)], GateConfig(sim_hi=0.7, top=1)) == 1.0


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (inp(ev("Caroline went out")), 1.0),  # the query names nothing
        (inp(entities=("Caroline",)), 0.0),  # names something, no evidence
        (inp(ev("Caroline went out"), entities=("Caroline", "Melanie")), 0.5),
        (inp(ev("CAROLINE went out"), entities=("caroline",)), 1.0),  # case-insensitive
        (inp(ev("Caroline's dog"), entities=("Caroline",)), 1.0),  # possessive
        (inp(ev("Melanie went out"), entities=("Mel",)), 0.0),  # tokens, not substrings
        (inp(ev("moved to new york"), entities=("New York",)), 1.0),  # every word
        (inp(ev("moved to York"), entities=("New York",)), 0.0),
        (inp(ev("she went out", entities=("Melanie",)), entities=("melanie",)), 1.0),
        # two entities in two items: each covered by one of them
        (inp(ev("Caroline"), ev("Melanie"), entities=("Caroline", "Melanie")), 1.0),
        # Caroline and May covered, Mel not: 2 of 3
        (
            inp(ev("Caroline went", when=at(5, 3)), entities=("Caroline", "Mel"), times=(MAY,)),
            2 / 3,
        ),
        # Caroline covered, the period not: 1 of 2
        (inp(ev("Caroline went out", when=at(6, 3)), entities=("Caroline",), times=(MAY,)), 0.5),
    ],
)
def test_coverage(case: GateInput, expected: float) -> None:
    assert coverage(case) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (inp(ev(when=at(5, 3))), 1.0),  # no time reference
        (inp(ev(when=at(5, 3)), times=(MAY,)), 1.0),
        (inp(ev(when=at(5, 1)), times=(MAY,)), 1.0),  # the start is inside
        (inp(ev(when=at(6, 1)), times=(MAY,)), 0.0),  # the end is not
        (inp(ev(when=at(4, 30, 23)), times=(MAY,)), 0.0),
        (inp(ev(when=None), times=(MAY,)), 0.0),  # unknown time covers nothing
        (inp(times=(MAY,)), 0.0),
        (inp(ev(when=at(5, 3)), times=(MAY, JULY)), 0.5),
        (inp(ev(when=at(5, 3)), ev(when=at(7, 9)), times=(MAY, JULY)), 1.0),
    ],
)
def test_temporal_fit(case: GateInput, expected: float) -> None:
    assert temporal_fit(case) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        ([], 1.0),
        ([ev(), ev()], 1.0),
        ([ev(conflicts_with=("b",)), ev(), ev(), ev()], 0.75),
        ([ev(conflicts_with=("b",)), ev(conflicts_with=("a",))], 0.0),
    ],
)
def test_consistency(evidence: list[Evidence], expected: float) -> None:
    assert consistency(evidence) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("audit", "expected"),
    [
        ({"relevance": True, "faithfulness": True, "completeness": True}, 1.0),
        ({"relevance": True, "faithfulness": False, "completeness": True}, 2 / 3),
        ({"relevance": False, "faithfulness": False, "completeness": False}, 0.0),
        ({}, 0.0),  # no verdict: nothing was shown to pass
    ],
)
def test_audit_score(audit: dict[str, bool], expected: float) -> None:
    assert audit_score(audit) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("case", "route", "reasons"),
    [
        (inp(ev("Caroline likes tea", 0.8)), "fast", []),
        # relevance (0.25 - 0.2) / 0.5 = 0.1
        (inp(ev("x", 0.25)), "deliberate", ["relevance 0.100 < 0.450"]),
        # exactly at a pass mark passes: coverage 1 of 2 = 0.5
        (inp(ev("Caroline", 0.8), entities=("Caroline", "Melanie")), "fast", []),
        (
            inp(ev("Caroline", 0.8, when=at(6, 2)), entities=("Melanie",), times=(MAY,)),
            "deliberate",
            ["coverage 0.000 < 0.500", "temporal_fit 0.000 < 0.500"],
        ),
        (
            inp(ev("a", 0.8, conflicts_with=("b",)), ev("b", 0.8, conflicts_with=("a",))),
            "deliberate",
            ["consistency 0.000 < 0.500"],
        ),
        # one of two in conflict: 0.5 passes
        (inp(ev("a", 0.8, conflicts_with=("c",)), ev("b", 0.8)), "fast", []),
        (inp(), "deliberate", ["no evidence", "relevance 0.000 < 0.450"]),
    ],
)
def test_routes_and_reasons(case: GateInput, route: str, reasons: list[str]) -> None:
    result = assess(case, CFG)
    assert result.route == route
    assert result.reasons == reasons


def test_scores_and_overall() -> None:
    # relevance 1, coverage 0.5, temporal_fit 1, consistency 1
    case = inp(ev("Caroline", 0.7), entities=("Caroline", "Melanie"))
    result = assess(case, CFG)
    assert result.scores == pytest.approx(
        {"relevance": 1.0, "coverage": 0.5, "temporal_fit": 1.0, "consistency": 1.0}
    )
    # default weights 2, 1, 1, 0.5: (2 + 0.5 + 1 + 0.5) / 4.5
    assert result.overall == pytest.approx(4 / 4.5)
    audited = assess(case, CFG, audit={"relevance": True, "faithfulness": True})
    assert audited.scores["audit"] == 1.0
    assert audited.overall == pytest.approx((4 + 2) / 6.5)  # audit weighs 2
    # a dimension missing from the weights weighs 1: (1 + 0.5 + 1 + 1) / 4
    only_rel = GateConfig(sim_lo=0.2, sim_hi=0.7, weights={"relevance": 1.0})
    assert assess(case, only_rel).overall == pytest.approx(0.875)
    zero = GateConfig(sim_lo=0.2, sim_hi=0.7, weights=dict.fromkeys(CFG.thresholds, 0.0))
    assert assess(case, zero).overall == 0.0


def test_audit_under_its_mark_routes_to_deliberation() -> None:
    audit = {"relevance": True, "faithfulness": False, "completeness": True}
    result = assess(inp(ev("x", 0.8)), CFG, audit=audit)
    assert result.scores["audit"] == pytest.approx(2 / 3)
    assert result.route == "deliberate"  # 0.6667 < 0.67
    assert result.reasons == ["audit 0.667 < 0.670"]
    assert "audit" not in assess(inp(ev("x", 0.8)), CFG).scores


@pytest.mark.parametrize(
    ("case", "mode", "reasons"),
    [
        (inp(ev("x", 0.8)), "deliberate", ["forced deliberate"]),
        (inp(ev("x", 0.8)), "fast", ["forced fast"]),
        (inp(), "fast", ["forced fast", "no evidence", "relevance 0.000 < 0.450"]),
        (inp(ev("x", 0.25)), "deliberate", ["forced deliberate", "relevance 0.100 < 0.450"]),
    ],
)
def test_forced_modes_keep_scores(case: GateInput, mode: Any, reasons: list[str]) -> None:
    forced = assess(case, CFG, mode=mode)
    auto = assess(case, CFG)
    assert forced.route == mode
    assert forced.reasons == reasons
    assert forced.scores == auto.scores
    assert forced.overall == auto.overall


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"relevance": 1.5}, "relevance"),
        ({"audit": -0.1}, "audit"),
        ({"sim_lo": 0.7, "sim_hi": 0.7}, "sim_lo"),
        ({"sim_hi": 1.5}, "sim_hi"),
        ({"best_weight": 2.0}, "best_weight"),
        ({"top": 0}, "top"),
        ({"weights": {"relevance": -1.0}}, "weights"),
    ],
)
def test_config_is_validated(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        GateConfig(**kwargs)


def test_default_pass_marks() -> None:
    assert GateConfig().thresholds == {
        "relevance": 0.45,
        "coverage": 0.5,
        "temporal_fit": 0.5,
        "consistency": 0.5,
        "audit": 0.67,
    }


@pytest.mark.parametrize(
    ("sims", "expected"),
    [([0.3, 0.6], 0.6), ([-0.2, -0.5], -0.2), ([], -1.0)],
)
def test_similarity_baseline(sims: list[float], expected: float) -> None:
    assert similarity_baseline([ev(sim=s) for s in sims]) == expected
