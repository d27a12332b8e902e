"""Overlapping passages merge into one, and the freed slots go to the next hits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from memory_service.domain.models import ContextTurn, SearchHit
from memory_service.services.audit import evidence_text
from policies.excerpts import merge_overlapping

T0 = datetime(2024, 1, 1, tzinfo=UTC)
TURNS = [UUID(int=i + 1) for i in range(20)]


def passage(n: int, window: int = 1, score: float = 1.0) -> SearchHit:
    """The episode hit at turn ``n`` of TURNS with ``window`` turns on each side."""
    around = range(max(0, n - window), min(len(TURNS), n + window + 1))
    context = tuple(
        ContextTurn(TURNS[i], "a", f"turn {i}", T0 + timedelta(seconds=i), i - n)
        for i in around
        if i != n
    )
    return SearchHit(
        kind="episode",
        id=TURNS[n],
        text=f"turn {n}",
        occurred_at=T0 + timedelta(seconds=n),
        score=score,
        scores={},
        source_episode_ids=(TURNS[n], *(t.id for t in context)),
        speaker="a",
        context=context,
    )


def fact(i: int) -> SearchHit:
    return SearchHit(
        kind="memory",
        id=UUID(int=1000 + i),
        text=f"fact {i}",
        occurred_at=None,
        score=0.5,
        scores={},
        source_episode_ids=(TURNS[3],),
    )


def shown(hit: SearchHit) -> list[tuple[str, int]]:
    return [(t.text, t.position) for t in hit.context]


def test_disjoint_passages_are_kept_as_they_are() -> None:
    hits = [passage(2), passage(8), passage(14)]
    assert merge_overlapping(hits, 10) == hits


def test_an_overlapping_hit_extends_the_better_passage_and_frees_its_slot() -> None:
    out = merge_overlapping([passage(5), passage(6), passage(12), passage(16)], 2)
    best, second = out
    assert best.id == TURNS[5]
    assert best.merged == (TURNS[6],)
    assert shown(best) == [("turn 4", -1), ("turn 6", 1), ("turn 7", 2)]
    assert set(best.source_episode_ids) == {TURNS[i] for i in (4, 5, 6, 7)}
    assert best.source_episode_ids[0] == TURNS[5]  # the hit's own provenance first
    assert second.id == TURNS[12]  # the slot the merge freed goes to the next hit


def test_an_earlier_turn_merged_in_gets_a_negative_position() -> None:
    [hit] = merge_overlapping([passage(6), passage(4)], 1)
    assert shown(hit) == [("turn 3", -3), ("turn 4", -2), ("turn 5", -1), ("turn 7", 1)]
    assert hit.text == "turn 6"
    assert hit.merged == (TURNS[4],)


def test_no_turn_is_shown_twice() -> None:
    out = merge_overlapping([passage(n, window=2) for n in (3, 5, 10, 4, 12, 17)], 10)
    seen = [t.id for h in out for t in h.context] + [h.id for h in out]
    assert len(seen) == len(set(seen))
    assert [h.id for h in out] == [TURNS[3], TURNS[10], TURNS[17]]
    assert [t.position for t in out[1].context] == [-2, -1, 1, 2, 3, 4]


def test_a_hit_that_joins_two_passages_merges_them_into_the_better() -> None:
    out = merge_overlapping([passage(4), passage(8), passage(6), passage(15)], 3)
    assert [h.id for h in out] == [TURNS[4], TURNS[15]]
    [joined, _] = out
    assert joined.merged == (TURNS[6], TURNS[8])
    assert [p for _, p in shown(joined)] == [-1, 1, 2, 3, 4, 5]


def test_candidates_past_the_last_slot_only_extend_passages() -> None:
    out = merge_overlapping([passage(2), passage(10), passage(3), passage(18)], 1)
    [hit] = out
    assert hit.merged == (TURNS[3],)
    assert shown(hit)[-1] == ("turn 4", 2)


def test_facts_are_never_merged() -> None:
    hits = [passage(3), fact(1), passage(4), fact(2)]
    out = merge_overlapping(hits, 10)
    assert [h.kind for h in out] == ["episode", "memory", "memory"]
    assert out[1] == hits[1]
    assert out[2] == hits[3]


def test_the_limit_holds() -> None:
    hits = [passage(n, window=0) for n in range(0, 20, 2)]
    assert len(merge_overlapping(hits, 3)) == 3
    assert merge_overlapping([], 3) == []


def test_a_passage_reads_in_time_order_with_the_hit_among_its_turns() -> None:
    [merged] = merge_overlapping([passage(6), passage(4)], 1)
    assert [t.text for t in merged.passage()] == [f"turn {i}" for i in (3, 4, 5, 6, 7)]
    assert fact(1).passage() == []
    # what the auditor and the answerer read: every turn of the passage, then the fact
    assert evidence_text([merged, fact(1)]).splitlines() == [
        *(f"[2024-01-01] a: turn {i}" for i in (3, 4, 5, 6, 7)),
        "[undated] fact 1",
    ]
