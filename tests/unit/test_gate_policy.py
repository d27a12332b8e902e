"""The quality gate's dimensions, routing and ROC AUC, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from policies.gate import (
    Evidence,
    GateConfig,
    GateInput,
    assess,
    coverage,
    relevance,
    roc_auc,
    similarity_baseline,
    temporal_fit,
)

CFG = GateConfig(sim_lo=0.2, sim_hi=0.7)
"""A calibration with round numbers for hand computation."""
MAY = (datetime(2023, 5, 1, tzinfo=UTC), datetime(2023, 6, 1, tzinfo=UTC))


def ev(text: str, sim: float, day: int | None = None, **kw: object) -> Evidence:
    at = datetime(2023, 5, day, tzinfo=UTC) if day else None
    return Evidence(text, sim, at, **kw)  # type: ignore[arg-type]


def inp(*evidence: Evidence, entities: tuple[str, ...] = (), times: tuple = ()) -> GateInput:  # type: ignore[type-arg]
    return GateInput("q", entities, times, evidence)


@pytest.mark.parametrize(
    ("sims", "expected"),
    [
        ([0.7], 1.0),  # best and mean at sim_hi
        ([0.2], 0.0),  # at sim_lo
        ([0.45, 0.2], 0.7 * 0.5 + 0.3 * 0.25),  # best .45 -> .5; mean .325 -> .25
        ([], 0.0),
    ],
)
def test_relevance(sims: list[float], expected: float) -> None:
    assert relevance([ev("x", s) for s in sims], CFG) == pytest.approx(expected)


def test_coverage_and_temporal_fit() -> None:
    assert coverage(inp(ev("Caroline went out", 0.5))) == 1.0  # names nothing
    both = inp(ev("Caroline went out", 0.5, 3), entities=("Caroline", "Melanie"), times=(MAY,))
    assert coverage(both) == pytest.approx(2 / 3)  # Caroline and May covered, Melanie not
    assert temporal_fit(both) == 1.0
    june = inp(ev("x", 0.5, None), times=(MAY,))
    assert temporal_fit(june) == 0.0
    by_entity = inp(ev("she went out", 0.5, entities=("Melanie",)), entities=("melanie",))
    assert coverage(by_entity) == 1.0


def test_routes_and_reasons() -> None:
    good = assess(inp(ev("Caroline likes tea", 0.8)), CFG)
    assert good.route == "fast"
    assert good.reasons == []
    weak = assess(inp(ev("x", 0.25)), CFG)
    assert weak.route == "deliberate"
    assert weak.reasons[0].startswith("relevance 0.")
    empty = assess(inp(), CFG)
    assert empty.route == "deliberate"
    assert empty.reasons[0] == "no evidence"
    conflict = assess(
        inp(ev("a", 0.8, conflicts_with=("b",)), ev("b", 0.8, conflicts_with=("a",))),
        CFG,
    )
    assert conflict.scores["consistency"] == 0.0
    assert conflict.route == "deliberate"


def test_forced_modes_keep_scores() -> None:
    forced = assess(inp(ev("x", 0.8)), CFG, mode="deliberate")
    assert forced.route == "deliberate"
    assert forced.reasons == ["forced deliberate"]
    assert forced.scores["relevance"] == 1.0
    audited = assess(inp(ev("x", 0.8)), CFG, audit={"a": True, "b": False, "c": True})
    assert audited.scores["audit"] == pytest.approx(2 / 3)
    assert audited.route == "deliberate"  # 0.667 < 0.67


@pytest.mark.parametrize(
    ("scores", "labels", "expected"),
    [
        ([0.9, 0.8, 0.2, 0.1], [True, True, False, False], 1.0),
        ([0.1, 0.2, 0.8, 0.9], [True, True, False, False], 0.0),
        ([0.5, 0.5], [True, False], 0.5),
        ([0.9, 0.3, 0.5], [True, False, True], 1.0),
    ],
)
def test_roc_auc(scores: list[float], labels: list[bool], expected: float) -> None:
    assert roc_auc(scores, labels) == pytest.approx(expected)


def test_roc_auc_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both classes"):
        roc_auc([0.1], [True])


def test_similarity_baseline() -> None:
    assert similarity_baseline([ev("a", 0.3), ev("b", 0.6)]) == 0.6
