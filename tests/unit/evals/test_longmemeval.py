"""LongMemEval loader, evidence ids, retrieval metrics and judge prompts on a tiny file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from evals.datasets.longmemeval import (
    QUESTION_TYPES,
    LMEItem,
    evidence_sessions,
    evidence_turns,
    judge_prompt,
    judge_verdict,
    load_longmemeval,
    parse_lme_date,
)
from evals.quality import metrics

TINY: list[dict[str, Any]] = [
    {
        "question_id": "q1",
        "question_type": "temporal-reasoning",
        "question": "How many days passed between my two trips?",
        "answer": 18,
        "question_date": "2023/05/30 (Tue) 10:00",
        "haystack_session_ids": ["s_a", "answer_1"],
        "haystack_dates": ["2023/05/20 (Sat) 02:21", "2023/05/21 (Sun) 14:05"],
        "haystack_sessions": [
            [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
            ],
            [
                {"role": "user", "content": "I flew to Oslo today.", "has_answer": True},
                {"role": "assistant", "content": "Enjoy Oslo!", "has_answer": True},
                {"role": "user", "content": "Thanks.", "has_answer": False},
            ],
        ],
        "answer_session_ids": ["answer_1"],
    },
    {
        "question_id": "q2_abs",
        "question_type": "single-session-user",
        "question": "What is my cat's name?",
        "answer": "You did not mention a cat; you mentioned a dog.",
        "question_date": "2023/06/01 (Thu) 09:00",
        "haystack_session_ids": ["answer_2"],
        "haystack_dates": ["2023/05/31 (Wed) 23:59"],
        "haystack_sessions": [[{"role": "user", "content": "My dog is Rex.", "has_answer": True}]],
        "answer_session_ids": ["answer_2"],
    },
]


@pytest.fixture
def items(tmp_path: Path) -> list[LMEItem]:
    path = tmp_path / "longmemeval_tiny.json"
    path.write_text(json.dumps(TINY), encoding="utf-8")
    return load_longmemeval(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023/05/20 (Sat) 02:21", datetime(2023, 5, 20, 2, 21, tzinfo=UTC)),
        ("2024/1/2 (Tue) 23:05", datetime(2024, 1, 2, 23, 5, tzinfo=UTC)),
    ],
)
def test_parse_lme_date(text: str, expected: datetime) -> None:
    assert parse_lme_date(text) == expected


@pytest.mark.parametrize("text", ["20-05-2023", "2023/05/20 (Sat)", ""])
def test_parse_lme_date_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="LongMemEval date"):
        parse_lme_date(text)


def test_items(items: list[LMEItem]) -> None:
    first, second = items
    assert (first.question_id, first.question_type, first.answer) == (
        "q1",
        "temporal-reasoning",
        "18",  # integer answer as text
    )
    assert first.question_date == datetime(2023, 5, 30, 10, 0, tzinfo=UTC)
    assert first.session_ids == ("s_a", "answer_1")
    assert first.answer_session_ids == ("answer_1",)
    assert (first.is_abstention, second.is_abstention) == (False, True)
    turns = first.sessions[1]
    assert [t.turn_id for t in turns] == ["answer_1:1", "answer_1:2", "answer_1:3"]
    assert [t.role for t in turns] == ["user", "assistant", "user"]
    assert [t.has_answer for t in turns] == [True, True, False]
    assert [t.occurred_at for t in turns] == [
        datetime(2023, 5, 21, 14, 5, 0, tzinfo=UTC),
        datetime(2023, 5, 21, 14, 5, 1, tzinfo=UTC),  # session date + index seconds
        datetime(2023, 5, 21, 14, 5, 2, tzinfo=UTC),
    ]
    assert first.sessions[0][0].has_answer is False  # has_answer absent


def test_evidence(items: list[LMEItem]) -> None:
    first, second = items
    assert evidence_sessions(first) == {"answer_1"}
    assert evidence_turns(first) == {"answer_1:1"}  # the assistant turn is not a key
    assert evidence_turns(second) == {"answer_2:1"}


@pytest.mark.parametrize(
    ("ranking", "k", "recall_any", "recall_all", "ndcg"),
    [
        (["answer_1", "s_a"], 1, 1.0, 1.0, 1.0),
        # rels [0, 1]: dcg = 0 + 1/log2(2) = 1; ideal [1] = 1
        (["s_a", "answer_1"], 2, 1.0, 1.0, 1.0),
        (["s_a", "answer_1"], 1, 0.0, 0.0, 0.0),
    ],
)
def test_session_retrieval_metrics(
    items: list[LMEItem],
    ranking: list[str],
    k: int,
    recall_any: float,
    recall_all: float,
    ndcg: float,
) -> None:
    evidence = evidence_sessions(items[0])
    assert metrics.recall_any_at_k(ranking, evidence, k) == recall_any
    assert metrics.recall_all_at_k(ranking, evidence, k) == recall_all
    assert metrics.ndcg_any_at_k(ranking, evidence, k) == pytest.approx(ndcg)


def test_turn_retrieval_recall(items: list[LMEItem]) -> None:
    evidence = evidence_turns(items[0])
    ranked = [{"s_a:1"}, {"answer_1:3"}, {"answer_1:1"}]
    assert metrics.evidence_recall_at_k(ranked, evidence, 2) == 0.0
    assert metrics.evidence_recall_at_k(ranked, evidence, 3) == 1.0


def test_mismatched_haystack_is_rejected(tmp_path: Path) -> None:
    broken = dict(TINY[0], haystack_dates=["2023/05/20 (Sat) 02:21"])
    path = tmp_path / "broken.json"
    path.write_text(json.dumps([broken]), encoding="utf-8")
    with pytest.raises(ValueError, match="q1: haystack"):
        load_longmemeval(path)


@pytest.mark.parametrize("question_type", QUESTION_TYPES)
def test_judge_prompt_carries_the_inputs(question_type: str) -> None:
    prompt = judge_prompt(question_type, "Q?", "GOLD", "RESPONSE", abstention=False)
    assert "Question: Q?" in prompt
    assert "GOLD" in prompt
    assert "Model Response: RESPONSE" in prompt
    assert prompt.endswith("Answer yes or no only.")


@pytest.mark.parametrize(
    ("question_type", "abstention", "marker"),
    [
        ("single-session-user", False, "Correct Answer: GOLD"),
        ("temporal-reasoning", False, "off by one"),
        ("knowledge-update", False, "updated answer"),
        ("single-session-preference", False, "Rubric: GOLD"),
        ("multi-session", True, "Explanation: GOLD"),
        ("not-a-type", True, "unanswerable"),  # abstention ignores the type
    ],
)
def test_judge_prompt_rules(question_type: str, abstention: bool, marker: str) -> None:
    assert marker in judge_prompt(question_type, "Q?", "GOLD", "RESPONSE", abstention)


def test_judge_prompt_rejects_unknown_type() -> None:
    with pytest.raises(ValueError, match="question type"):
        judge_prompt("not-a-type", "Q?", "GOLD", "RESPONSE", abstention=False)


@pytest.mark.parametrize(("reply", "expected"), [("Yes.", True), ("no", False), ("No", False)])
def test_judge_verdict(reply: str, expected: bool) -> None:
    assert judge_verdict(reply) is expected
