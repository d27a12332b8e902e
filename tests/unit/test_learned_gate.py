"""The learned gate: its feature vector, its JSON model, routing by it, and training
with held-out conversations."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime

import pytest

from evals.quality.train_gate import MODELS, Rows, fit, train
from policies.gate import Evidence, GateConfig, GateInput, assess
from policies.gate_features import FEATURES, WH_WORDS, features
from policies.learned_gate import LearnedGate, bundled


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
