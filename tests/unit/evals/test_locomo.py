"""LoCoMo loader on a tiny hand-written file, and on the development split when present."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from evals.datasets.locomo import (
    CATEGORY_NAMES,
    load_locomo,
    normalise_evidence,
    parse_session_date,
)

REPO_ROOT = Path(__file__).resolve().parents[3]  # tests/unit/evals/<file> -> repo root
DEV_SPLIT_CANDIDATES = [
    REPO_ROOT.parent / "shared" / "data" / "locomo" / "locomo-dev.json",
    REPO_ROOT / "shared" / "data" / "locomo" / "locomo-dev.json",
]

TINY: list[dict[str, Any]] = [
    {
        "sample_id": "conv-x",
        "conversation": {
            "speaker_a": "Alice",
            "speaker_b": "Bob",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                {"speaker": "Alice", "dia_id": "D1:1", "text": "Hi Bob!"},
                {
                    "speaker": "Bob",
                    "img_url": ["https://example.invalid/dog.jpg"],
                    "blip_caption": "a photo of a dog",
                    "query": "dog",
                    "dia_id": "D1:2",
                    "text": "Look at this.",
                },
            ],
            "session_2_date_time": "9:05 am on 12 May, 2023",
            "session_2": [{"speaker": "Alice", "dia_id": "D2:1", "text": "Nice dog."}],
            "session_3_date_time": "12:10 am on 1 June, 2023",
            "session_3": [],
            "session_4_date_time": "12:30 pm on 2 July, 2023",
            "session_10_date_time": "3:00 pm on 3 August, 2023",
            "session_10": [{"speaker": "Bob", "dia_id": "D10:1", "text": "Long time."}],
        },
        "qa": [
            {"question": "When?", "answer": 2022, "evidence": ["D1:2"], "category": 2},
            {
                "question": "Where?",
                "answer": "Paris, Rome",
                "evidence": ["D8:6; D9:17", "D:11:26"],
                "category": 1,
            },
            {
                "question": "What did Alice share?",
                "adversarial_answer": "a dog",
                "evidence": ["D1:2"],
                "category": 5,
            },
            {"question": "Who?", "answer": "Bob", "evidence": [], "category": 4},
            {
                "question": "Is it Bob's dog?",
                "adversarial_answer": "Yes",
                "answer": "No",
                "evidence": ["D1:2"],
                "category": 5,
            },
        ],
        "observation": {"session_1_observation": "must not be read"},
        "session_summary": {"session_1_summary": "must not be read"},
        "event_summary": {"events_session_1": "must not be read"},
    },
    {
        "sample_id": "conv-y",
        "conversation": {
            "speaker_a": "Carol",
            "speaker_b": "Dan",
            "session_1_date_time": "10:04 am on 19 December, 2023",
            "session_1": [{"speaker": "Dan", "dia_id": "D1:1", "text": "Hello."}],
        },
        "qa": [],
    },
]


@pytest.fixture
def tiny_path(tmp_path: Path) -> Path:
    path = tmp_path / "locomo-tiny.json"
    path.write_text(json.dumps(TINY), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1:56 pm on 8 May, 2023", datetime(2023, 5, 8, 13, 56, tzinfo=UTC)),
        ("12:10 am on 1 June, 2023", datetime(2023, 6, 1, 0, 10, tzinfo=UTC)),
        ("12:30 pm on 2 July, 2023", datetime(2023, 7, 2, 12, 30, tzinfo=UTC)),
        ("10:04 am on 19 December, 2023", datetime(2023, 12, 19, 10, 4, tzinfo=UTC)),
    ],
)
def test_parse_session_date(text: str, expected: datetime) -> None:
    assert parse_session_date(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "1:56 pm on 8 Smarch, 2023", ""])
def test_parse_session_date_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="session date"):
        parse_session_date(text)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["D1:3"], (("D1:3",), 0)),
        (["D8:6; D9:17"], (("D8:6", "D9:17"), 0)),
        (["D9:1 D4:4 D4:6"], (("D9:1", "D4:4", "D4:6"), 0)),
        (["D:11:26"], ((), 1)),
        (["D1:1,D1:2", "D1:1"], (("D1:1", "D1:2"), 0)),  # duplicates kept once
        ([], ((), 0)),
    ],
)
def test_normalise_evidence(raw: list[str], expected: tuple[tuple[str, ...], int]) -> None:
    assert normalise_evidence(raw) == expected


def test_turns(tiny_path: Path) -> None:
    conversation = load_locomo(tiny_path)[0]
    assert (conversation.sample_id, conversation.speaker_a, conversation.speaker_b) == (
        "conv-x",
        "Alice",
        "Bob",
    )
    # empty session 3 and date-only session 4 are skipped; session 10 sorts after 2
    assert [(t.dia_id, t.session, t.index) for t in conversation.turns] == [
        ("D1:1", 1, 0),
        ("D1:2", 1, 1),
        ("D2:1", 2, 0),
        ("D10:1", 10, 0),
    ]
    assert [t.occurred_at for t in conversation.turns] == [
        datetime(2023, 5, 8, 13, 56, 0, tzinfo=UTC),
        datetime(2023, 5, 8, 13, 56, 1, tzinfo=UTC),  # session time + index seconds
        datetime(2023, 5, 12, 9, 5, tzinfo=UTC),
        datetime(2023, 8, 3, 15, 0, tzinfo=UTC),
    ]
    assert conversation.turns[1].speaker == "Bob"
    assert conversation.turns[1].text == "Look at this. [shares image: a photo of a dog]"
    assert conversation.turns[0].text == "Hi Bob!"


@pytest.mark.parametrize(
    ("i", "answer", "category", "evidence", "malformed"),
    [
        (0, "2022", 2, ("D1:2",), 0),  # integer answer
        (1, "Paris, Rome", 1, ("D8:6", "D9:17"), 1),  # split entry; "D:11:26" dropped
        (2, "a dog", 5, ("D1:2",), 0),  # no answer: adversarial_answer
        (3, "Bob", 4, (), 0),  # no evidence
        (4, "No", 5, ("D1:2",), 0),  # answer wins over adversarial_answer
    ],
)
def test_questions(
    tiny_path: Path,
    i: int,
    answer: str,
    category: int,
    evidence: tuple[str, ...],
    malformed: int,
) -> None:
    question = load_locomo(tiny_path)[0].questions[i]
    assert question.question_id == f"conv-x:q{i}"
    assert (question.answer, question.category) == (answer, category)
    assert (question.evidence, question.malformed_evidence) == (evidence, malformed)


def test_filter_conversations(tiny_path: Path) -> None:
    assert [c.sample_id for c in load_locomo(tiny_path, ["conv-y"])] == ["conv-y"]
    assert [c.sample_id for c in load_locomo(tiny_path, "conv-y")] == ["conv-y"]
    assert len(load_locomo(tiny_path, [])) == 0


def test_unknown_conversation_ids_are_named(tiny_path: Path) -> None:
    with pytest.raises(ValueError, match="conv-nope, conv-zzz"):
        load_locomo(tiny_path, ["conv-x", "conv-zzz", "conv-nope"])


def test_category_names() -> None:
    assert CATEGORY_NAMES[1] == "multi-hop"
    assert CATEGORY_NAMES[4] == "single-hop"
    assert sorted(CATEGORY_NAMES) == [1, 2, 3, 4, 5]


def _dev_split() -> Path:
    for candidate in DEV_SPLIT_CANDIDATES:
        if candidate.exists():
            return candidate
    pytest.skip(
        "LoCoMo development split not found at " + " or ".join(str(c) for c in DEV_SPLIT_CANDIDATES)
    )


def test_dev_split() -> None:
    conversations = load_locomo(_dev_split())
    assert [c.sample_id for c in conversations] == [
        "conv-26",
        "conv-41",
        "conv-43",
        "conv-47",
        "conv-49",
    ]
    questions = [q for c in conversations for q in c.questions]
    assert len(questions) == 1020
    assert Counter(q.category for q in questions) == {4: 419, 5: 232, 2: 157, 1: 151, 3: 61}
    assert sum(q.malformed_evidence for q in questions) == 1  # "D:11:26"
    assert all(q.answer for q in questions)
    assert sum(len(c.turns) for c in conversations) == 2960
    for conversation in conversations:
        times = [t.occurred_at for t in conversation.turns]
        assert times == sorted(times)
        assert len(set(times)) == len(times)
