"""The packer's training script end to end on a tiny sample of the development split:
held-out figures for both packers, one model per fold that the runner packs with, and
a model the service loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals import runner
from evals.train_packer import parser, run
from memory_service.bootstrap import Components
from policies import value_model

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "locomo" / "locomo-dev.json"
pytestmark = pytest.mark.skipif(not DATA.is_file(), reason="no LoCoMo development split here")


async def test_tiny_training_writes_fold_models_the_runner_packs_with(
    components: Components, tmp_path: Path
) -> None:
    folds, out, pools = tmp_path / "folds", tmp_path / "model.json", tmp_path / "pools.pkl"
    argv = ["--tiny", "--data", str(DATA), "--folds", str(folds), "--out", str(out)]
    summary = await run(parser().parse_args([*argv, "--pools", str(pools)]), components)
    assert summary["trained_on"] == {"conv-26": 6, "conv-41": 6}
    for packer in ("value", "focus"):
        figures = summary["held_out"][packer]
        assert 0.0 <= figures["overall@1000"] <= figures["overall@4000"] <= 1.0
    model = value_model.load(out)
    assert model.info is not None
    assert model.info["trained_on"] == summary["trained_on"]
    held_out = {conv: value_model.load(folds / f"{conv}.json") for conv in ("conv-26", "conv-41")}
    assert held_out["conv-26"].info == {"held_out": "conv-26"}
    assert held_out["conv-26"] != held_out["conv-41"]

    # the pools file makes a second run skip the database, with the same figures
    again = await run(parser().parse_args([*argv, "--pools", str(pools)]), components)
    assert again["held_out"] == summary["held_out"]

    report = tmp_path / "eval"
    sample = ["--data", str(DATA), "--conversations", "conv-26,conv-41", "--max-questions", "2"]
    packing = ["--pipeline", "sparse-value2", "--packer-folds", str(folds)]
    args = runner.parser().parse_args(["locomo", *sample, *packing, "--out", str(report)])
    result = await runner.run(args, components)
    assert result["pipelines"]["sparse-value2"]["overall"]["n"] == 4
    lines = [json.loads(line) for line in (report / "results.jsonl").read_text().splitlines()]
    assert {r["conversation"] for r in lines} == {"conv-26", "conv-41"}


async def test_the_runner_stops_without_a_fold_model(
    components: Components, tmp_path: Path
) -> None:
    sample = ["--data", str(DATA), "--conversations", "conv-26", "--max-questions", "1"]
    folds = ["--packer-folds", str(tmp_path), "--out", str(tmp_path)]
    args = runner.parser().parse_args(["locomo", *sample, "--pipeline", "sparse-value2", *folds])
    with pytest.raises(SystemExit, match="no packer model"):
        await runner.run(args, components)
