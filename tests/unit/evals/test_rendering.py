"""An evaluated item's text is what /v1/context's block shows for that hit, token for token."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from evals.quality.harness import SourceTurn
from evals.quality.pipelines import turn_item
from evals.quality.rendering import hit_text, hit_tokens, turn_hit
from memory_service.adapters.tokens import count_tokens
from memory_service.domain.models import ContextTurn, SearchHit
from memory_service.services.context import pack

DAY = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)


def fact(text: str) -> SearchHit:
    return SearchHit(kind="memory", id=uuid4(), text=text, occurred_at=DAY, score=1.0, scores={})


def episode(text: str, speaker: str | None, *context: tuple[int, str]) -> SearchHit:
    turns = tuple(ContextTurn(uuid4(), "Ben", t, DAY, pos) for pos, t in context)
    return SearchHit(
        kind="episode",
        id=uuid4(),
        text=text,
        occurred_at=DAY,
        score=1.0,
        scores={},
        speaker=speaker,
        context=turns,
    )


HITS = [
    fact("Ana adopted a greyhound named Pixel"),
    episode(
        "I made a blue vase in pottery", "Ana", (-1, "How was the pottery class?"), (1, "Wow!")
    ),
    fact("Ana started pottery classes on 9 May 2023 (a Tuesday)"),
    episode("Tomorrow I start pottery classes.", "Ana"),
    episode("an undated speaker-less line", None, (-2, "two before"), (-1, "one before")),
]


def test_items_are_the_context_blocks_lines_and_counts() -> None:
    facts = [h for h in HITS if h.kind != "episode"]
    episodes = [h for h in HITS if h.kind == "episode"]
    block = pack(HITS, [], 100_000, count_tokens)
    ours = [hit_tokens(h) for h in [*facts, *episodes]]
    expected = "\n".join(
        [
            "## Facts",
            *(t for t, _ in ours[:2]),
            "## Conversation excerpts",
            *(t for t, _ in ours[2:]),
        ]
    )
    assert block.text == expected
    for hit, (text, tokens) in zip([*facts, *episodes], ours, strict=True):
        alone = pack([hit], [], 10_000, count_tokens)
        title, _, lines = alone.text.partition("\n")
        assert lines == text
        assert tokens == count_tokens(lines)  # the service's counter on the same text
        assert alone.tokens == count_tokens(f"{title}\n{text}")


def test_an_episode_reads_as_its_passage_in_time_order() -> None:
    text = hit_text(HITS[1])
    assert text.splitlines() == [
        "- [2023-05-08] Ben: How was the pottery class?",
        "- Ana: I made a blue vase in pottery",
        "- Ben: Wow!",
    ]
    assert hit_text(HITS[0]) == "- Ana adopted a greyhound named Pixel (since 2023-05-08)"


def test_a_baseline_turn_is_a_one_line_passage() -> None:
    turn = SourceTurn("D1:1", "S1", "Ana", "user", "I adopted a greyhound named Pixel", DAY)
    item = turn_item(turn, score=2.5)
    assert item.text == "- [2023-05-08] Ana: I adopted a greyhound named Pixel"
    assert item.tokens == count_tokens(item.text)
    assert item.covers == frozenset({"D1:1"})
    hit = turn_hit(turn.label, turn.speaker, turn.text, turn.occurred_at)
    assert pack([hit], [], 1_000, count_tokens).text == "## Conversation excerpts\n" + item.text
