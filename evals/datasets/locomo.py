"""LoCoMo loader: conversations, timestamped turns and normalised QA items.

Format (snap-research/LoCoMo ``data/locomo10.json``): a list of samples, each with
``sample_id``, ``conversation`` (``speaker_a``, ``speaker_b``, ``session_N`` turn lists
and ``session_N_date_time`` strings) and ``qa``. The annotations ``observation``,
``session_summary`` and ``event_summary`` are never read: a memory system under
test must build its memory from the turns alone.
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
    "CATEGORY_NAMES",
    "Conversation",
    "Question",
    "Turn",
    "load_locomo",
    "normalise_evidence",
    "parse_session_date",
]

CATEGORY_NAMES: Final[Mapping[int, str]] = MappingProxyType(
    {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
)
"""The dataset's own category numbering (its evaluation code), not a relabelled one."""

_DIA_ID: Final = re.compile(r"^D\d+:\d+$")
_EVIDENCE_SEPARATORS: Final = re.compile(r"[;,\s]+")
_SESSION_KEY: Final = re.compile(r"^session_(\d+)$")
_SESSION_DATE: Final = re.compile(
    r"^\s*(\d{1,2}):(\d{2})\s*([ap]m)\s+on\s+(\d{1,2})\s+([a-z]+),?\s+(\d{4})\s*$",
    re.IGNORECASE,
)
# Spelled out rather than taken from `calendar`, whose names follow the locale.
_MONTHS: Final[Mapping[str, int]] = MappingProxyType(
    {
        name: number
        for number, name in enumerate(
            (
                "january",
                "february",
                "march",
                "april",
                "may",
                "june",
                "july",
                "august",
                "september",
                "october",
                "november",
                "december",
            ),
            start=1,
        )
    }
)


@dataclass(frozen=True, slots=True)
class Turn:
    """One utterance. ``occurred_at`` is UTC: the session time plus ``index`` seconds."""

    dia_id: str
    speaker: str
    text: str
    occurred_at: datetime
    session: int
    index: int
    """0-based position within the session."""


@dataclass(frozen=True, slots=True)
class Question:
    """One QA item; ``evidence`` holds well-formed ``D<session>:<turn>`` ids only."""

    question_id: str
    question: str
    answer: str
    category: int
    evidence: tuple[str, ...]
    malformed_evidence: int
    """How many evidence tokens were dropped because they were not ``D<n>:<n>`` ids."""


@dataclass(frozen=True, slots=True)
class Conversation:
    """A two-speaker conversation; turns are in session order, then turn order."""

    sample_id: str
    speaker_a: str
    speaker_b: str
    turns: tuple[Turn, ...]
    questions: tuple[Question, ...]


def parse_session_date(text: str) -> datetime:
    """Parse a LoCoMo session date such as ``"1:56 pm on 8 May, 2023"`` as UTC."""
    match = _SESSION_DATE.match(text)
    month = _MONTHS.get(match.group(5).lower()) if match else None
    if match is None or month is None:
        raise ValueError(f"unrecognised LoCoMo session date: {text!r}")
    hour = int(match.group(1)) % 12 + (12 if match.group(3).lower() == "pm" else 0)
    return datetime(
        int(match.group(6)), month, int(match.group(4)), hour, int(match.group(2)), tzinfo=UTC
    )


def normalise_evidence(raw: Sequence[object]) -> tuple[tuple[str, ...], int]:
    """Split entries such as ``"D8:6; D9:17"`` and keep well-formed ids.

    Returns the ids (first occurrence order, no duplicates) and the number of
    non-empty tokens dropped as malformed (e.g. ``"D:11:26"``).
    """
    kept: dict[str, None] = {}
    dropped = 0
    for entry in raw:
        for token in _EVIDENCE_SEPARATORS.split(str(entry)):
            if not token:
                continue
            if _DIA_ID.match(token):
                kept[token] = None
            else:
                dropped += 1
    return tuple(kept), dropped


def load_locomo(path: Path, conversations: Sequence[str] | None = None) -> list[Conversation]:
    """Load LoCoMo conversations, in file order, optionally only those named.

    Raises ``ValueError`` naming any requested ``sample_id`` absent from the file.
    """
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a JSON list of LoCoMo samples")
    if conversations is not None:
        wanted = {conversations} if isinstance(conversations, str) else set(conversations)
        missing = sorted(wanted - {str(sample["sample_id"]) for sample in raw})
        if missing:
            raise ValueError(f"unknown LoCoMo conversation ids: {', '.join(missing)}")
        raw = [sample for sample in raw if sample["sample_id"] in wanted]
    return [_parse_conversation(sample) for sample in raw]


def _parse_conversation(sample: Mapping[str, Any]) -> Conversation:
    sample_id = str(sample["sample_id"])
    conversation: Mapping[str, Any] = sample["conversation"]
    return Conversation(
        sample_id=sample_id,
        speaker_a=str(conversation["speaker_a"]),
        speaker_b=str(conversation["speaker_b"]),
        turns=_parse_turns(sample_id, conversation),
        questions=tuple(
            _parse_question(sample_id, i, item) for i, item in enumerate(sample.get("qa", []))
        ),
    )


def _parse_turns(sample_id: str, conversation: Mapping[str, Any]) -> tuple[Turn, ...]:
    numbers = sorted(
        int(match.group(1)) for key in conversation if (match := _SESSION_KEY.match(key))
    )
    turns: list[Turn] = []
    for number in numbers:
        raw_turns: Sequence[Mapping[str, Any]] = conversation[f"session_{number}"] or []
        if not raw_turns:
            continue  # a session with a date but no turns
        date = conversation.get(f"session_{number}_date_time")
        if not isinstance(date, str):
            raise ValueError(f"{sample_id}: session_{number} has turns but no date")
        start = parse_session_date(date)
        turns.extend(_parse_turn(raw, number, i, start) for i, raw in enumerate(raw_turns))
    return tuple(turns)


def _parse_turn(raw: Mapping[str, Any], session: int, index: int, start: datetime) -> Turn:
    text = str(raw.get("text", ""))
    caption = raw.get("blip_caption")
    if caption:
        text = f"{text} [shares image: {caption}]".lstrip()
    return Turn(
        dia_id=str(raw["dia_id"]),
        speaker=str(raw["speaker"]),
        text=text,
        # One second per turn keeps the order of turns that share a session time.
        occurred_at=start + timedelta(seconds=index),
        session=session,
        index=index,
    )


def _parse_question(sample_id: str, i: int, raw: Mapping[str, Any]) -> Question:
    category = int(raw["category"])
    answer = raw.get("answer")
    if answer is None and category == 5:
        answer = raw.get("adversarial_answer")
    evidence, malformed = normalise_evidence(raw.get("evidence") or [])
    return Question(
        question_id=f"{sample_id}:q{i}",
        question=str(raw["question"]),
        answer="" if answer is None else str(answer),
        category=category,
        evidence=evidence,
        malformed_evidence=malformed,
    )
