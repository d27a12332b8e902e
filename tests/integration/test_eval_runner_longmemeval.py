"""The evaluation runner on LongMemEval, on a small file in the dataset's exact format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from memory_service.bootstrap import Components
from tests.integration.test_eval_runner import run


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
            "haystack_session_ids": ["s_b", "s_c"],
            "haystack_dates": ["2023/05/21 (Sun) 09:00", "2023/05/22 (Mon) 08:00"],
            "haystack_sessions": [
                session(
                    ("user", "I like jazz music", False), ("assistant", "Jazz is wonderful.", False)
                ),
                session(("user", "I went hiking", False)),
            ],
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
    assert scores["session_recall_any@1"] == 1.0
    assert scores["turn_recall@250tok"] == 1.0  # the evidence turn is the first item
    assert summary["facts"]["items"] == 2
    assert summary["facts"]["abstention"] == 1
    assert summary["facts"]["limit"] == 50
    # the filler session s_b is in both haystacks: its two turns are embedded once
    assert summary["facts"]["embedding_cache"] == {"texts_requested": 7, "texts_embedded": 5}


async def test_every_nth_question(components: Components, tmp_path: Path) -> None:
    out = tmp_path / "lme-every"
    summary = await run(
        components,
        "longmemeval",
        "--data",
        str(lme_file(tmp_path)),
        "--k",
        "1",
        "--every",
        "2",
        "--pipeline",
        "bm25-turns",
        "--out",
        str(out),
    )
    records = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [r["question_id"] for r in records] == ["q1"]  # q1, then q2_abs skipped
    assert summary["facts"]["items"] == 1
