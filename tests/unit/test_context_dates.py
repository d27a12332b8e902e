"""Context blocks write an episode passage's date once, and again only where the day
changes; facts, and the evidence the auditor reads, keep their dates on every line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from memory_service.domain.models import ContextTurn, SearchHit
from memory_service.services.audit import evidence_text, turn_line
from memory_service.services.context import _lines, pack

EVENING = datetime(2024, 3, 1, 23, 58, tzinfo=UTC)


def words(text: str) -> int:
    return len(text.split())


def turn(n: int, position: int, *, at: datetime, speaker: str | None = "Ann") -> ContextTurn:
    return ContextTurn(UUID(int=n), speaker, f"turn {n}", at, position)


def passage(
    n: int, before: int = 1, after: int = 1, *, start: datetime = EVENING, step_min: int = 1
) -> SearchHit:
    """Episode ``n`` with ``before``/``after`` neighbours, turns ``step_min`` minutes
    apart, the first at ``start``."""
    first = n - before
    at = [start + timedelta(minutes=step_min * i) for i in range(before + after + 1)]
    context = tuple(
        turn(first + i, first + i - n, at=moment) for i, moment in enumerate(at) if first + i != n
    )
    return SearchHit(
        kind="episode",
        id=UUID(int=n),
        text=f"turn {n}",
        occurred_at=at[before],
        score=1.0,
        scores={},
        source_episode_ids=(UUID(int=n),),
        speaker="Ann",
        context=context,
    )


def fact(n: int, at: datetime | None) -> SearchHit:
    return SearchHit("memory", UUID(int=1000 + n), f"fact {n}", at, 1.0, {})


def test_a_same_day_passage_is_dated_once() -> None:
    hit = passage(5, start=datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
    assert _lines(hit) == [
        "- [2024-03-01] Ann: turn 4",
        "- Ann: turn 5",
        "- Ann: turn 6",
    ]


def test_the_date_is_written_again_where_the_day_changes() -> None:
    # 23:58, 23:59 on 1 March, then 00:00 and 00:01 on 2 March
    hit = passage(5, before=1, after=2)
    assert _lines(hit) == [
        "- [2024-03-01] Ann: turn 4",
        "- Ann: turn 5",
        "- [2024-03-02] Ann: turn 6",
        "- Ann: turn 7",
    ]


def test_every_day_of_a_long_passage_is_written() -> None:
    hit = passage(2, before=1, after=2, start=datetime(2024, 1, 30, 12, tzinfo=UTC), step_min=1440)
    assert _lines(hit) == [
        "- [2024-01-30] Ann: turn 1",
        "- [2024-01-31] Ann: turn 2",
        "- [2024-02-01] Ann: turn 3",
        "- [2024-02-02] Ann: turn 4",
    ]


def test_a_single_turn_and_a_turn_without_speaker() -> None:
    lone = passage(3, before=0, after=0, start=datetime(2024, 3, 1, 9, tzinfo=UTC))
    assert _lines(lone) == ["- [2024-03-01] Ann: turn 3"]
    hit = SearchHit(
        kind="episode",
        id=UUID(int=9),
        text="hello",
        occurred_at=datetime(2024, 3, 1, 9, tzinfo=UTC),
        score=1.0,
        scores={},
        context=(turn(10, 1, at=datetime(2024, 3, 1, 9, 1, tzinfo=UTC), speaker=None),),
    )
    assert _lines(hit) == ["- [2024-03-01] hello", "- turn 10"]


def test_each_passage_of_a_block_starts_with_its_date() -> None:
    day = datetime(2024, 3, 1, 9, tzinfo=UTC)
    first = passage(5, start=day)
    second = passage(20, start=day + timedelta(hours=2))
    block = pack([first, second], [], 1000, words)
    assert block.text.splitlines() == [
        "## Conversation excerpts",
        "- [2024-03-01] Ann: turn 4",
        "- Ann: turn 5",
        "- Ann: turn 6",
        "- [2024-03-01] Ann: turn 19",
        "- Ann: turn 20",
        "- Ann: turn 21",
    ]
    assert block.episode_ids == [first.id, second.id]
    assert block.tokens == words(block.text)


def test_facts_keep_their_dates() -> None:
    block = pack(
        [
            passage(5, start=datetime(2024, 3, 1, 9, tzinfo=UTC)),
            fact(1, datetime(2024, 3, 1, tzinfo=UTC)),
            fact(2, None),
        ],
        ["Ann"],
        1000,
        words,
    )
    assert block.text.splitlines() == [
        "## Facts",
        "- fact 1 (since 2024-03-01)",
        "- fact 2 (since undated)",
        "## Conversation excerpts",
        "- [2024-03-01] Ann: turn 4",
        "- Ann: turn 5",
        "- Ann: turn 6",
        "## Entities",
        "Ann",
    ]


def test_a_passage_goes_in_whole_or_not_at_all() -> None:
    day = datetime(2024, 3, 1, 9, tzinfo=UTC)
    hits = [passage(5, start=day), passage(20, start=day)]
    # heading 3 words, each passage 4 + 3 + 3 words: room for one passage only
    block = pack(hits, [], 3 + 10 + 5, words)
    assert block.episode_ids == [hits[0].id]
    assert block.text.splitlines()[1:] == _lines(hits[0])


def test_the_evidence_and_turn_lines_stay_dated() -> None:
    hit = passage(5, start=datetime(2024, 3, 1, 9, tzinfo=UTC))
    assert evidence_text([hit]).splitlines() == [
        "[2024-03-01] Ann: turn 4",
        "[2024-03-01] Ann: turn 5",
        "[2024-03-01] Ann: turn 6",
    ]
    one = turn(1, 0, at=datetime(2024, 3, 1, tzinfo=UTC))
    assert turn_line(one) == "[2024-03-01] Ann: turn 1"
    assert turn_line(one, dated=False) == "Ann: turn 1"


def test_a_larger_budget_asks_for_more_items() -> None:
    from memory_service.services.context import items_for

    assert [items_for(b) for b in (50, 1000, 1250, 2000, 4000, 100_000)] == [
        50,
        50,
        50,
        80,
        160,
        200,
    ]


def test_the_block_takes_what_counting_it_whole_after_each_hit_would() -> None:
    from random import Random

    from memory_service.adapters.tokens import count_tokens
    from memory_service.services.context import TITLES

    rng = Random(7)
    day = datetime(2024, 3, 1, 9, tzinfo=UTC)
    hits = [
        fact(n, day) if rng.random() < 0.4 else passage(n, start=day + timedelta(days=n % 3))
        for n in range(1, 80)
    ]

    def reference(budget: int) -> list[UUID]:
        chosen: list[SearchHit] = []
        for hit in hits:
            trial = [*chosen, hit]
            facts = [line for h in trial if h.kind != "episode" for line in _lines(h)]
            turns = [line for h in trial if h.kind == "episode" for line in _lines(h)]
            text = [
                *([TITLES[0], *facts] if facts else []),
                *([TITLES[1], *turns] if turns else []),
            ]
            if count_tokens("\n".join(text)) <= budget:
                chosen = trial
        return [h.id for h in chosen]

    for budget in (20, 60, 250, 1000, 4000):
        block = pack(hits, [], budget, count_tokens)
        got = block.memory_ids + block.episode_ids
        assert sorted(got) == sorted(reference(budget))
        assert block.tokens <= budget
