"""The learned gate: its feature vector, its JSON model, routing by it, and training
with held-out conversations."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from evals.quality.train_gate import MODELS, Rows, fit, train
from memory_service.bootstrap import learned_gate
from memory_service.config import Settings
from memory_service.domain.errors import ConfigurationError
from policies.gate import Evidence, GateConfig, GateInput, assess
from policies.gate_features import FEATURES, WH_WORDS, features
from policies.learned_gate import (
    QUANTILE_POINTS,
    LearnedGate,
    bundled,
    quantile_table,
    share_threshold,
)


def at(day: int) -> datetime:
    return datetime(2023, 5, day, tzinfo=UTC)


def named(values: list[float]) -> dict[str, float]:
    return dict(zip(FEATURES, values, strict=True))


def test_features_by_hand() -> None:
    inp = GateInput(
        "When did Caroline and Melanie go camping?",
        ("Caroline",),
        (),
        (
            Evidence("Caroline went camping with Melanie", 0.8, at(1), ("Caroline",)),
            Evidence("We saw the lake", 0.4, at(11), kind="memory"),
        ),
    )
    f = named(features(inp))
    assert len(FEATURES) == len(set(FEATURES)) == 20 + len(WH_WORDS)
    assert f["sim_best"] == 0.8
    assert f["sim_second"] == 0.4
    assert f["sim_gap12"] == pytest.approx(0.4)
    assert f["sim_mean5"] == pytest.approx(0.6)
    assert f["sim_std10"] == pytest.approx(0.2)
    assert f["coverage"] == 1.0
    assert f["query_entities"] == 1.0
    assert f["query_terms_covered"] == 0.75  # caroline, melanie, camping; not "go" (went)
    assert f["query_terms_best_item"] == 0.75
    assert f["facts_share"] == 0.5
    assert f["days_spread"] == pytest.approx(math.log1p(10))
    assert f["distinct_days"] == 2.0
    assert f["conjunction"] == 1.0
    assert f["wh_when"] == 1.0
    assert f["wh_what"] == 0.0
    assert f["query_words"] == pytest.approx(math.log1p(7))


def test_features_without_evidence() -> None:
    f = named(features(GateInput("what?", (), (), ())))
    assert f["sim_best"] == -1.0
    assert f["relevance"] == 0.0
    assert f["query_terms_covered"] == 1.0
    assert f["days_spread"] == 0.0
    assert f["facts_share"] == 0.0


def tiny(weight: float, bias: float, threshold: float = 0.5) -> LearnedGate:
    """A logistic model over sim_best alone (mean 0, scale 1)."""
    n = len(FEATURES)
    row = tuple(weight if name == "sim_best" else 0.0 for name in FEATURES)
    return LearnedGate(FEATURES, (0.0,) * n, (1.0,) * n, (((row,), (bias,)),), threshold)


def test_probability_and_json_round_trip() -> None:
    model = tiny(4.0, -2.0)
    x = [0.0] * len(FEATURES)
    x[FEATURES.index("sim_best")] = 0.5
    assert model.probability(x) == pytest.approx(0.5)
    x[FEATURES.index("sim_best")] = 1.0
    assert model.probability(x) == pytest.approx(1 / (1 + math.exp(-2)))
    again = LearnedGate.from_json(json.loads(json.dumps(model.to_json())))
    assert again.probability(x) == model.probability(x)
    with pytest.raises(ValueError, match="expected"):
        model.probability([0.0])


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"scale": (0.0,) * len(FEATURES)}, "scales"),
        ({"mean": (0.0,)}, "one entry per feature"),
        ({"threshold": 1.5}, "threshold"),
        ({"layers": (((((0.0,) * len(FEATURES)),) * 2, (0.0, 0.0)),)}, "one output"),
    ],
)
def test_model_is_validated(change: dict[str, object], match: str) -> None:
    base = tiny(1.0, 0.0).to_json()
    data = {**base, **{k: list(v) if isinstance(v, tuple) else v for k, v in change.items()}}
    if "layers" in change:
        data["layers"] = [
            {"weights": [list(r) for r in change["layers"][0][0]], "biases": [0.0, 0.0]}
        ]  # type: ignore[index]
    with pytest.raises(ValueError, match=match):
        LearnedGate.from_json(data)


def test_unknown_features_are_refused() -> None:
    data = tiny(1.0, 0.0).to_json()
    data["features"][0] = "no_such_feature"
    with pytest.raises(ValueError, match="lacks"):
        LearnedGate.from_json(data)


def test_learned_probability_routes_and_the_audit_still_vetoes() -> None:
    weak = GateInput("q", (), (), (Evidence("x", 0.1, None),))  # fails relevance by hand
    fast = assess(weak, GateConfig(), learned=(0.9, 0.5))
    assert fast.route == "fast"
    assert fast.scores["learned"] == 0.9
    assert fast.overall == assess(weak, GateConfig()).overall  # overall stays hand-set
    slow = assess(weak, GateConfig(), learned=(0.2, 0.5))
    assert slow.route == "deliberate"
    assert slow.reasons == ["learned 0.200 < 0.500"]
    vetoed = assess(weak, GateConfig(), learned=(0.9, 0.5), audit={"relevance": False})
    assert vetoed.route == "deliberate"
    assert vetoed.reasons == ["audit 0.000 < 0.670"]


def synthetic(seed: int = 0, n: int = 300) -> Rows:
    """Labels that depend on sim_best and query_terms_covered, plus noise, in 3 groups."""
    rng = random.Random(seed)
    data = Rows([], [], [], [], [])
    for i in range(n):
        x = [rng.gauss(0, 1) for _ in FEATURES]
        signal = 2 * x[FEATURES.index("sim_best")] + x[FEATURES.index("query_terms_covered")]
        data.x.append(x)
        data.y.append(signal + rng.gauss(0, 1) > 0)
        data.group.append(f"conv-{i % 3}")
        data.similarity.append(x[FEATURES.index("sim_best")])
        data.overall.append(rng.random())
    return data


def test_training_learns_and_measures_on_held_out_groups() -> None:
    data = synthetic()
    gate, figures = train(data, MODELS)
    assert figures["model"] in MODELS
    assert 0.0 <= gate.threshold <= 1.0
    assert min(figures["held_out_auc"].values()) > 0.8  # signal recovered on unseen groups
    assert figures["held_out_auc"][figures["model"]] > figures["similarity_auc"]
    assert figures["hand_set_auc"] == pytest.approx(0.5, abs=0.1)  # random scores
    assert set(figures["held_out_auc_by_conversation"]["logistic"]) == {
        "conv-0",
        "conv-1",
        "conv-2",
    }
    assert gate.info
    assert gate.info["rows"] == 300


def test_fit_is_deterministic() -> None:
    data = synthetic(1, 120)
    a, b = fit(data.x, data.y, 0), fit(data.x, data.y, 0)
    assert a.layers == b.layers


def test_the_bundled_model_loads_and_scores() -> None:
    model = bundled()
    assert model is not None, "policies/gate_model.json ships with the package"
    assert model.features == FEATURES
    p = model.probability(features(GateInput("what?", (), (), (Evidence("x", 0.5, at(2)),))))
    assert 0.0 <= p <= 1.0
    assert model.info
    assert model.info["held_out_auc"]


def test_a_quantile_table_and_the_mark_a_share_gives() -> None:
    table = quantile_table([0.1 * i for i in range(11)])  # 0.0, 0.1, ..., 1.0
    assert len(table) == QUANTILE_POINTS
    assert table[0] == 0.0
    assert table[-1] == pytest.approx(1.0)
    assert table[25] == pytest.approx(0.25)
    assert share_threshold(table, 0.2) == pytest.approx(0.2)
    assert share_threshold(table, 0.255) == pytest.approx(0.255)
    assert share_threshold(table, 1.0) == 1.0  # every probability under 1 escalates
    assert quantile_table([0.3]) == (0.3,) * QUANTILE_POINTS
    with pytest.raises(ValueError, match="share"):
        share_threshold(table, 0.0)
    with pytest.raises(ValueError, match="at least one"):
        quantile_table([])


def test_a_share_routes_that_share_of_the_calibration_sample() -> None:
    rng = random.Random(3)
    sample = [rng.random() ** 2 for _ in range(2000)]
    model = replace(tiny(1.0, 0.0), quantiles=quantile_table(sample))
    for share in (0.15, 0.2, 0.25):
        budgeted = model.with_share(share)
        assert budgeted.escalation_share == share
        escalated = sum(p < budgeted.threshold for p in sample) / len(sample)
        assert escalated == pytest.approx(share, abs=0.002)
    assert model.threshold == 0.5  # the model's own mark is untouched


def test_quantiles_round_trip_and_are_validated() -> None:
    model = replace(tiny(1.0, 0.0), quantiles=(0.1, 0.4, 0.9))
    data = json.loads(json.dumps(model.to_json()))
    assert data["quantiles"] == [0.1, 0.4, 0.9]
    assert LearnedGate.from_json(data).quantiles == (0.1, 0.4, 0.9)
    assert "quantiles" not in tiny(1.0, 0.0).to_json()  # a model without keeps its JSON
    with pytest.raises(ValueError, match="decrease"):
        LearnedGate.from_json({**data, "quantiles": [0.5, 0.4]})
    with pytest.raises(ValueError, match="quantiles need"):
        LearnedGate.from_json({**data, "quantiles": [0.5]})
    with pytest.raises(ValueError, match="no quantile table"):
        tiny(1.0, 0.0).with_share(0.2)


def test_training_ships_the_quantile_table_of_its_probability() -> None:
    data = synthetic(2, 150)
    gate, figures = train(data, {"logistic": 0})
    assert len(gate.quantiles) == QUANTILE_POINTS
    probabilities = sorted(gate.probability(x) for x in data.x)
    assert gate.quantiles[0] == pytest.approx(probabilities[0])
    assert gate.quantiles[-1] == pytest.approx(probabilities[-1])
    assert set(figures["share_thresholds"]) == {"0.15", "0.2", "0.25"}
    assert figures["share_thresholds"]["0.2"] == pytest.approx(gate.threshold_at_share(0.2), 1e-3)


def test_settings_turn_a_share_into_the_learned_pass_mark(tmp_path: Path) -> None:
    path = tmp_path / "gate.json"
    table = tuple(i / 100 for i in range(101))
    path.write_text(json.dumps(replace(tiny(1.0, 0.0), quantiles=table).to_json()))
    model = learned_gate(Settings(gate_model=path, gate_escalation_share=0.2))
    assert model is not None
    assert (model.threshold, model.escalation_share) == (pytest.approx(0.2), 0.2)
    default = learned_gate(Settings(gate_model=path))
    assert default is not None
    # unset: a quarter of the searches escalate
    assert (default.threshold, default.escalation_share) == (pytest.approx(0.25), 0.25)
    fixed = learned_gate(Settings(gate_model=path, gate_learned_threshold=0.4))
    assert fixed is not None
    assert (fixed.threshold, fixed.escalation_share) == (0.4, None)  # a pass mark replaces it
    assert Settings(gate_learned_threshold=0.4).gate_escalation_share is None
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(tiny(1.0, 0.0).to_json()))
    own = learned_gate(Settings(gate_model=bare))  # no table: its own pass mark, as before
    assert own is not None
    assert (own.threshold, own.escalation_share) == (0.5, None)
    with pytest.raises(ConfigurationError, match="quantile table"):
        learned_gate(Settings(gate_model=bare, gate_escalation_share=0.2))
    bundled = learned_gate(Settings())
    assert bundled is not None
    assert bundled.escalation_share == 0.25
    with pytest.raises(ValidationError, match="not both"):
        Settings(gate_escalation_share=0.2, gate_learned_threshold=0.4)
    with pytest.raises(ValidationError):
        Settings(gate_escalation_share=0.0)
