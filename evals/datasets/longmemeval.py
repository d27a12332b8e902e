"""LongMemEval loader (longmemeval_s / _m / _oracle JSON), evidence ids and judge prompts.

Each item holds a question, its answer, a ``question_date`` and a haystack of
chat sessions (``haystack_session_ids``, ``haystack_dates``, ``haystack_sessions``);
``answer_session_ids`` name the sessions holding the evidence, and evidence turns
carry ``has_answer: true``. Items whose ``question_id`` ends in ``_abs`` are
abstention items: the right response says the question cannot be answered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

__all__ = [
    "QUESTION_TYPES",
    "LMEItem",
    "LMETurn",
    "evidence_sessions",
    "evidence_turns",
    "judge_prompt",
    "judge_verdict",
    "load_longmemeval",
    "parse_lme_date",
]

QUESTION_TYPES: Final = (
    "single-session-user",
    "single-session-assistant",
    "single-session-preference",
    "multi-session",
    "temporal-reasoning",
    "knowledge-update",
)

_DATE: Final = re.compile(
    r"^\s*(\d{4})/(\d{1,2})/(\d{1,2})\s*(?:\([A-Za-z]+\))?\s*(\d{1,2}):(\d{2})\s*$"
)


@dataclass(frozen=True, slots=True)
class LMETurn:
    """One chat turn; ``turn_id`` is ``"{session_id}:{n}"`` with ``n`` 1-based.

    ``occurred_at`` is UTC: the session date plus one second per earlier turn.
    """

    turn_id: str
    session_id: str
    role: str
    content: str
    has_answer: bool
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class LMEItem:
    """One question with its haystack; ``sessions[i]`` has id ``session_ids[i]``."""

    question_id: str
    question_type: str
    question: str
    answer: str
    question_date: datetime
    sessions: tuple[tuple[LMETurn, ...], ...]
    session_ids: tuple[str, ...]
    answer_session_ids: tuple[str, ...]
    is_abstention: bool


def parse_lme_date(text: str) -> datetime:
    """Parse a LongMemEval date such as ``"2023/05/20 (Sat) 02:21"`` as UTC."""
    match = _DATE.match(text)
    if match is None:
        raise ValueError(f"unrecognised LongMemEval date: {text!r}")
    year, month, day, hour, minute = (int(part) for part in match.groups())
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def load_longmemeval(path: Path) -> list[LMEItem]:
    """Load every item of a LongMemEval JSON file, in file order."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a JSON list of LongMemEval items")
    return [_parse_item(item) for item in raw]


def evidence_sessions(item: LMEItem) -> set[str]:
    """Session ids that hold the evidence (``answer_session_ids``)."""
    return set(item.answer_session_ids)


def evidence_turns(item: LMEItem) -> set[str]:
    """Turn ids of user turns marked ``has_answer`` (LongMemEval's turn-level keys)."""
    return {
        turn.turn_id
        for session in item.sessions
        for turn in session
        if turn.role == "user" and turn.has_answer
    }


def _parse_item(raw: Mapping[str, Any]) -> LMEItem:
    question_id = str(raw["question_id"])
    session_ids = tuple(str(s) for s in raw["haystack_session_ids"])
    dates: Sequence[str] = raw["haystack_dates"]
    sessions: Sequence[Sequence[Mapping[str, Any]]] = raw["haystack_sessions"]
    if not len(session_ids) == len(dates) == len(sessions):
        raise ValueError(
            f"{question_id}: haystack ids, dates and sessions differ in length "
            f"({len(session_ids)}, {len(dates)}, {len(sessions)})"
        )
    return LMEItem(
        question_id=question_id,
        question_type=str(raw["question_type"]),
        question=str(raw["question"]),
        answer=str(raw["answer"]),
        question_date=parse_lme_date(str(raw["question_date"])),
        sessions=tuple(
            _parse_session(session_id, parse_lme_date(date), turns)
            for session_id, date, turns in zip(session_ids, dates, sessions, strict=True)
        ),
        session_ids=session_ids,
        answer_session_ids=tuple(str(s) for s in raw.get("answer_session_ids", [])),
        is_abstention=question_id.endswith("_abs"),
    )


def _parse_session(
    session_id: str, start: datetime, turns: Sequence[Mapping[str, Any]]
) -> tuple[LMETurn, ...]:
    return tuple(
        LMETurn(
            turn_id=f"{session_id}:{i + 1}",
            session_id=session_id,
            role=str(turn["role"]),
            content=str(turn["content"]),
            has_answer=bool(turn.get("has_answer", False)),
            occurred_at=start + timedelta(seconds=i),
        )
        for i, turn in enumerate(turns)
    )


# Judge prompts: our own wording of the per-type rules in LongMemEval's evaluate_qa.py.
_QUESTION_BLOCK: Final = (
    "\n\nQuestion: {question}\n\n{label}: {answer}\n\nModel Response: {response}"
)
_VERDICT: Final = "\n\nIs the model response correct? Answer yes or no only."
_ANSWER_RULES: Final = (
    "I will show you a question, the correct answer and a model's response. Answer yes "
    "if the response contains the correct answer, and no otherwise. Also answer yes if "
    "the response is equivalent to the correct answer, or if it contains every "
    "intermediate step needed to reach it. If the response gives only part of the "
    "information the answer requires, answer no."
)
_EXTRA_RULES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "single-session-user": "",
        "single-session-assistant": "",
        "multi-session": "",
        "temporal-reasoning": (
            " Do not penalise off-by-one errors in a number of days: when the question asks "
            "how many days, weeks, months and so on, a response that is off by one (for "
            "example 19 days where the answer is 18) is still correct."
        ),
        "knowledge-update": (
            " If the response also mentions earlier, outdated information, it is still "
            "correct as long as the updated answer it gives is the required answer."
        ),
    }
)
_PREFERENCE_RULES: Final = (
    "I will show you a question, a rubric describing the desired personalised response, "
    "and a model's response. Answer yes if the response satisfies the desired response, "
    "and no otherwise. The response need not reflect every point of the rubric: it is "
    "correct as long as it recalls and uses the user's personal information correctly."
)
_ABSTENTION_RULES: Final = (
    "I will show you a question that cannot be answered from the conversation history, "
    "an explanation of why, and a model's response. Answer yes if the model correctly "
    "identifies the question as unanswerable; for example, it may say the information "
    "is incomplete, or that related information was given but not the information asked "
    "for. Answer no if the model answers the question as if it were answerable."
)
_ABSTENTION_VERDICT: Final = (
    "\n\nDoes the model correctly identify the question as unanswerable? Answer yes or no only."
)


def judge_prompt(
    question_type: str, question: str, answer: str, response: str, abstention: bool
) -> str:
    """Build the yes/no LLM-judge prompt for one LongMemEval response.

    Abstention items use one prompt whatever their type; otherwise an unknown
    ``question_type`` raises ``ValueError``.
    """
    if abstention:
        rules, label, verdict = _ABSTENTION_RULES, "Explanation", _ABSTENTION_VERDICT
    elif question_type == "single-session-preference":
        rules, label, verdict = _PREFERENCE_RULES, "Rubric", _VERDICT
    elif question_type in _EXTRA_RULES:
        rules, label = _ANSWER_RULES + _EXTRA_RULES[question_type], "Correct Answer"
        verdict = _VERDICT
    else:
        raise ValueError(f"unknown LongMemEval question type: {question_type!r}")
    block = _QUESTION_BLOCK.format(question=question, label=label, answer=answer, response=response)
    return rules + block + verdict


def judge_verdict(reply: str) -> bool:
    """Read a judge reply as LongMemEval does: correct when it contains "yes"."""
    return "yes" in reply.lower()
