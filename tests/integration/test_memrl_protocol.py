"""``memory-eval memrl`` end to end on a small file in LoCoMo's exact format: ingest with
consolidation, feedback on one half through the service's feedback path, both halves
measured before and after."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals import runner
from evals.datasets.locomo import load_locomo
from evals.quality import memrl_protocol
from memory_service.bootstrap import Components

TURNS = [
    ("Ana", "I adopted a greyhound named Pixel"),
    ("Ben", "Pixel is a lovely name for a greyhound"),
    ("Ana", "Tomorrow I start pottery classes downtown"),
    ("Ben", "I play the violin in a small orchestra"),
    ("Ana", "My sister Clara lives in Lisbon"),
    ("Ben", "My favourite food is mushroom risotto"),
]
QUESTIONS = [
    ("What is the name of Ana's greyhound?", "D1:1"),
    ("What kind of dog did Ana adopt?", "D1:1"),
    ("Where are Ana's pottery classes?", "D1:3"),
    ("Which instrument does Ben play?", "D1:4"),
    ("Where does Ana's sister Clara live?", "D1:5"),
    ("What is Ben's favourite food?", "D1:6"),
    ("What does Ben play in the orchestra?", "D1:4"),
]


def locomo_file(tmp_path: Path) -> Path:
    session = [
        {"speaker": who, "dia_id": f"D1:{i}", "text": text}
        for i, (who, text) in enumerate(TURNS, start=1)
    ]
    data = [
        {
            "sample_id": "conv-m",
            "conversation": {
                "speaker_a": "Ana",
                "speaker_b": "Ben",
                "session_1_date_time": "1:56 pm on 8 May, 2023",
                "session_1": session,
            },
            "qa": [
                {"question": q, "answer": "x", "evidence": [e], "category": 4} for q, e in QUESTIONS
            ]
            + [{"question": "Anything else?", "answer": "no", "evidence": [], "category": 2}],
        }
    ]
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps(data))
    return path


def test_the_halves_are_a_seeded_split(tmp_path: Path) -> None:
    [conv] = load_locomo(locomo_file(tmp_path), None)
    train, test = memrl_protocol.split(conv.questions, 0, "conv-m")
    assert (len(train), len(test)) == (4, 4)
    assert {q.question_id for q in train} | {q.question_id for q in test} == {
        q.question_id for q in conv.questions
    }
    assert memrl_protocol.split(conv.questions, 0, "conv-m") == (train, test)
    others = [memrl_protocol.split(conv.questions, s, "conv-m")[0] for s in range(1, 6)]
    assert any(o != train for o in others)


async def test_memrl_protocol_end_to_end(components: Components, tmp_path: Path) -> None:
    out = tmp_path / "memrl"
    argv = ["memrl", "--data", str(locomo_file(tmp_path)), "--out", str(out), "--seed", "1"]
    args = runner.parser().parse_args(argv)
    cfg = memrl_protocol.config_of(args)
    assert (cfg.preset, cfg.consolidate, cfg.k, cfg.limit) == ("fast", True, 10, 50)
    summary: dict[str, Any] = await memrl_protocol.run_protocol(cfg, components)

    conv = summary["conversations"]["conv-m"]
    assert (conv["train"]["n"], conv["test"]["n"]) == (3, 4)  # 7 with evidence; odd one to test
    fb = conv["feedback"]
    assert fb["retrievals"] == 3
    assert 3 <= fb["events"] <= 6  # one event per sign present in each retrieval
    assert fb["rewarded"] >= 1  # some returned item held its question's evidence
    assert fb["rewarded"] + fb["penalised"] <= 3 * 10
    assert summary["overall"]["feedback"] == fb
    for half in ("train", "test"):
        figures = conv[half]["recall@10"]
        assert 0.0 <= figures["before"] <= 1.0
        assert figures["delta"] == pytest.approx(figures["after"] - figures["before"])
        assert set(conv[half]) == {"n", "recall@10", "recall@1000tok", "all@10"}
    assert summary["verdict"].endswith(")")
    assert "unseen questions" in summary["verdict"]

    records = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 7 * 2  # each question before and after
    assert {(r["half"], r["phase"]) for r in records} == {
        (h, p) for h in ("train", "test") for p in ("before", "after")
    }
    assert json.loads((out / "summary.json").read_text())["verdict"] == summary["verdict"]
    report = (out / "report.md").read_text()
    assert summary["verdict"] in report
    assert "| conv-m |" in report
    assert "| overall |" in report
    assert summary["config"]["embedder"] == "hash"


async def test_without_a_penalty_only_evidence_is_rewarded(
    components: Components, tmp_path: Path
) -> None:
    data, out = str(locomo_file(tmp_path)), str(tmp_path / "plain")
    argv = ["memrl", "--data", data, "--out", out, "--penalty", "0", "--no-consolidate"]
    cfg = memrl_protocol.config_of(runner.parser().parse_args(argv))
    assert (cfg.penalty, cfg.consolidate) == (0.0, False)
    summary = await memrl_protocol.run_protocol(cfg, components)
    fb = summary["overall"]["feedback"]
    assert fb["penalised"] == 0
    assert 1 <= fb["events"] <= fb["retrievals"] == 3  # one +1 event where evidence came back
    with pytest.raises(SystemExit):
        runner.parser().parse_args(["memrl", "--penalty", "2"])
