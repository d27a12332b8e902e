"""The query-side bench runs end to end on a few questions and prints its figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.bench import query_int8


def test_the_bench_prints_the_three_forwards_of_both_models(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "locomo.json"
    asked = ["When did Caroline go to the support group?", "What did Melanie paint?"]
    data.write_text(json.dumps([{"qa": [{"question": q} for q in asked]}]))
    out = tmp_path / "rows.json"
    query_int8.main(["--data", str(data), "--questions", "2", "--reps", "1", "--out", str(out)])
    rows = json.loads(out.read_text())
    assert [(r["model"], r["forward"]) for r in rows] == [
        ("MiniLM", "fp32"),
        ("MiniLM", "int8"),
        ("MiniLM", "onnx"),
        ("SPLADE", "fp32"),
        ("SPLADE", "int8"),
        ("SPLADE", "onnx"),
    ]
    assert all(r["calls"] == 2 and r["p50_ms"] > 0 for r in rows)
    assert all(0.9 < r["cosine_mean"] < 1.0 for r in rows if r["forward"] == "int8")
    assert all(r["cosine_min"] > 0.99999 for r in rows if r["forward"] == "onnx")
    printed = capsys.readouterr().out
    assert "MiniLM  int8" in printed
    assert "cosine to fp32" in printed
