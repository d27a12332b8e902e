"""When a sample's questions are asked: what the runner resolves "last year" against."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from evals.quality.harness import ScopeRun, SourceTurn
from memory_service.domain.models import Scope

MAY = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)


def turn(n: int, at: datetime) -> SourceTurn:
    return SourceTurn(f"D1:{n}", "S1", "Caroline", "user", f"turn {n}", at)


def test_questions_are_asked_after_the_last_turn_unless_a_date_is_given() -> None:
    turns = [turn(2, MAY + timedelta(days=30)), turn(1, MAY)]
    run = ScopeRun(uuid4(), Scope(user_id="conv"), turns)
    assert run.present == MAY + timedelta(days=30)
    run.asked_at = MAY + timedelta(days=90)  # LongMemEval's question_date
    assert run.present == MAY + timedelta(days=90)


def test_a_sample_without_turns_is_asked_now() -> None:
    before = datetime.now(UTC)
    assert ScopeRun(uuid4(), Scope(user_id="empty"), []).present >= before
