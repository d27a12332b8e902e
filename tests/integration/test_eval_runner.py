"""The evaluation runner end to end, on small files in the datasets' exact formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals import runner
from evals.quality.output import RunOutput
from memory_service.bootstrap import Components

LOCOMO = [
    {
        "sample_id": "conv-x",
        "conversation": {
            "speaker_a": "Ana",
            "speaker_b": "Ben",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                {"speaker": "Ana", "dia_id": "D1:1", "text": "I adopted a greyhound named Pixel"},
                {"speaker": "Ben", "dia_id": "D1:2", "text": "Lovely! Greyhounds are calm dogs."},
                {"speaker": "Ana", "dia_id": "D1:3", "text": "Tomorrow I start pottery classes"},
            ],
            "session_2_date_time": "10:00 am on 20 May, 2023",
            "session_2": [
                {"speaker": "Ben", "dia_id": "D2:1", "text": "How was the pottery class?"},
                {"speaker": "Ana", "dia_id": "D2:2", "text": "I made a blue vase in pottery"},
            ],
            "session_3_date_time": "9:00 am on 1 June, 2023",
        },
        "qa": [
            {
                "question": "What is the name of Ana's greyhound?",
                "answer": "Pixel",
                "evidence": ["D1:1"],
                "category": 4,
            },
            {
                "question": "What did Ana make in pottery class?",
                "answer": "a blue vase",
                "evidence": ["D2:2; D1:3"],
                "category": 1,
            },
            {
                "question": "When did Ana start pottery?",
                "answer": 2023,
                "evidence": [],
                "category": 2,
            },
            {
                "question": "What is Ben's cat called?",
                "adversarial_answer": "Pixel",
                "evidence": ["D1:1"],
                "category": 5,
            },
        ],
        "observation": {"must": "not be read"},
    }
]


def locomo_file(tmp_path: Path) -> Path:
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps(LOCOMO))
    return path


async def run(components: Components, *argv: str) -> dict[str, Any]:
    args = runner.parser().parse_args(list(argv))
    return await runner.run(args, components)


async def test_locomo_retrieval_writes_every_output(components: Components, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = await run(
        components, "locomo", "--data", str(locomo_file(tmp_path)), "--k", "1,3", "--out", str(out)
    )
    assert not summary["partial"]
    assert summary["facts"]["skipped_no_evidence"] == 1
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 3 * 3  # 3 questions with evidence x 3 pipelines
    for name in ("summary.json", "report.md", "recall_at_k.png", "latency.png"):
        assert (out / name).stat().st_size > 0
    bm25 = summary["pipelines"]["bm25-turns"]
    # "greyhound" and "pottery" are in the evidence turns: BM25 finds them at rank 1.
    assert bm25["groups"]["4"]["recall@1"] == 1.0
    assert bm25["groups"]["1"]["recall@3"] == 1.0
    assert set(bm25) == {"overall", "groups", "overall_without_5"}
    assert bm25["overall_without_5"]["n"] == 2
    report = (out / "report.md").read_text()
    assert "| pipeline | recall@1 | recall@3 |" in report
    assert "DRAGON" in report
    assert summary["config"]["embedder"] == "hash"
    assert summary["git_commit"]


async def test_locomo_qa_with_the_scripted_llm(components: Components, tmp_path: Path) -> None:
    out = tmp_path / "qa"
    summary = await run(
        components,
        "locomo",
        "--data",
        str(locomo_file(tmp_path)),
        "--mode",
        "qa",
        "--llm",
        "scripted",
        "--judge",
        "scripted",
        "--judge-seeds",
        "3",
        "--pipeline",
        "full-context,bm25-turns",
        "--out",
        str(out),
    )
    records = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 4 * 2
    assert all("prediction" in r and len(r["judge"]) == 3 for r in records)
    full = summary["pipelines"]["full-context"]["overall"]
    assert (
        full["context_tokens_per_query"]
        > summary["pipelines"]["bm25-turns"]["overall"]["context_tokens_per_query"]
    )
    assert full["judge_accuracy"] == 1.0  # the scripted judge always says CORRECT
    assert full["judge_seeds"] == 3
    assert 0.0 <= full["f1"] <= 1.0
    assert "## Prompt: judge" in (out / "report.md").read_text()


async def test_interrupt_leaves_a_valid_partial_report(
    components: Components, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = RunOutput.write
    calls = {"n": 0}

    def write_then_interrupt(self: RunOutput, record: dict[str, Any]) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        real_write(self, record)

    monkeypatch.setattr(RunOutput, "write", write_then_interrupt)
    out = tmp_path / "partial"
    summary = await run(
        components, "locomo", "--data", str(locomo_file(tmp_path)), "--out", str(out)
    )
    assert summary["partial"] is True
    assert len((out / "results.jsonl").read_text().splitlines()) == 3
    assert "PARTIAL" in (out / "report.md").read_text()
    assert json.loads((out / "summary.json").read_text())["partial"] is True


def lme_file(tmp_path: Path) -> Path:
    def session(*turns: tuple[str, str, bool]) -> list[dict[str, Any]]:
        return [{"role": r, "content": c, "has_answer": a} for r, c, a in turns]

    items = [
        {
            "question_id": "q1",
            "question_type": "single-session-user",
            "question": "What breed is my dog?",
            "answer": "a beagle",
            "question_date": "2023/06/01 (Thu) 10:00",
            "haystack_session_ids": ["s_a", "s_b"],
            "haystack_dates": ["2023/05/20 (Sat) 02:21", "2023/05/21 (Sun) 09:00"],
            "haystack_sessions": [
                session(
                    ("user", "My dog is a beagle named Rex", True),
                    ("assistant", "Beagles are great!", False),
                ),
                session(
                    ("user", "I like jazz music", False), ("assistant", "Jazz is wonderful.", False)
                ),
            ],
            "answer_session_ids": ["s_a"],
        },
        {
            "question_id": "q2_abs",
            "question_type": "single-session-user",
            "question": "What breed is my cat?",
            "answer": "You never mentioned a cat.",
            "question_date": "2023/06/01 (Thu) 10:00",
            "haystack_session_ids": ["s_c"],
            "haystack_dates": ["2023/05/22 (Mon) 08:00"],
            "haystack_sessions": [session(("user", "I went hiking", False))],
            "answer_session_ids": [],
        },
    ]
    path = tmp_path / "longmemeval_s.json"
    path.write_text(json.dumps(items))
    return path


async def test_longmemeval_retrieval_and_qa(components: Components, tmp_path: Path) -> None:
    out = tmp_path / "lme"
    summary = await run(
        components,
        "longmemeval",
        "--data",
        str(lme_file(tmp_path)),
        "--k",
        "1,5",
        "--mode",
        "qa",
        "--llm",
        "scripted",
        "--judge",
        "scripted",
        "--pipeline",
        "bm25-turns",
        "--out",
        str(out),
    )
    records = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    by_id = {r["question_id"]: r for r in records}
    assert "scores" not in by_id["q2_abs"]  # abstention items are not scored for retrieval
    scores = by_id["q1"]["scores"]
    assert scores["session_recall_all@1"] == 1.0
    assert scores["turn_recall_all@1"] == 1.0
    assert scores["session_ndcg_any@5"] == 1.0
    overall = summary["pipelines"]["bm25-turns"]["overall"]
    assert overall["session_recall_all@5"] == 1.0
    assert "judge_accuracy" in overall
    assert summary["facts"] == {"items": 2, "abstention": 1}


DEV_SPLIT = runner.DEFAULT_LOCOMO


@pytest.mark.skipif(not DEV_SPLIT.exists(), reason=f"LoCoMo development split not at {DEV_SPLIT}")
async def test_dev_split_smoke(components: Components, tmp_path: Path) -> None:
    summary = await run(
        components,
        "locomo",
        "--conversations",
        "conv-26",
        "--max-questions",
        "5",
        "--pipeline",
        "bm25-turns",
        "--out",
        str(tmp_path / "dev"),
    )
    assert summary["pipelines"]["bm25-turns"]["overall"]["n"] == 5


async def run_small(
    components: Components, tmp_path: Path, pipelines: str, out: Path
) -> dict[str, Any]:
    """The small LoCoMo file at k = 1, 3 through ``pipelines``, written to ``out``."""
    data = str(locomo_file(tmp_path))
    return await run(
        components,
        "locomo",
        "--data",
        data,
        "--k",
        "1,3",
        "--pipeline",
        pipelines,
        "--out",
        str(out),
    )


async def test_gated_pipelines_report_routes_and_gate_quality(
    components: Components, tmp_path: Path
) -> None:
    out = tmp_path / "gated"
    summary = await run_small(components, tmp_path, "fast,gated", out)
    fast = summary["pipelines"]["fast"]["overall"]
    gated = summary["pipelines"]["gated"]["overall"]
    assert fast["deliberate_share"] == 0.0  # mode fast: the gate scores, never routes
    assert 0.0 <= gated["deliberate_share"] <= 1.0
    records = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert all("gate_overall" in r for r in records)
    from evals.quality.calibrate import calibrate

    thresholds = calibrate(records, "fast")
    assert set(thresholds) == {"relevance", "coverage", "temporal_fit", "consistency"}


async def test_a_presets_fast_result_with_gate_features_feeds_train_gate(
    components: Components, tmp_path: Path
) -> None:
    out = tmp_path / "features"
    summary = await run_small(components, tmp_path, "gated-window@fast", out)
    assert summary["pipelines"]["gated-window@fast"]["overall"]["deliberate_share"] == 0.0
    records = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    from evals.quality.train_gate import rows
    from policies.gate_features import FEATURES

    assert all(set(r["gate_features"]) == set(FEATURES) for r in records)
    assert all("learned" in r["gate_scores"] for r in records)  # the bundled model scored
    data = rows(records, "gated-window@fast")
    assert len(data.x) == len(records)
    assert all(len(x) == len(FEATURES) for x in data.x)
