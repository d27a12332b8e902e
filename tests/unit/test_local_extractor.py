"""LocalExtractor on LoCoMo-like turns, with the real spaCy model (shipped in a package)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest

from memory_service.adapters.local_extractor import (
    MAX_FACTS_PER_EPISODE,
    MAX_READ_CHARS,
    LocalExtractor,
    readable,
)
from memory_service.domain.consolidation import EpisodeText, ExtractedEntity, Extraction
from memory_service.ports import Extractor

MONDAY = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)  # "1:56 pm on 8 May, 2023"
THURSDAY = datetime(2023, 5, 25, 13, 14, tzinfo=UTC)


def turn(
    text: str, speaker: str | None = "Caroline", at: datetime = MONDAY, id: UUID | None = None
) -> EpisodeText:
    return EpisodeText(id=id or uuid4(), text=text, speaker=speaker, occurred_at=at)


@pytest.fixture(scope="module")
def extractor() -> LocalExtractor:
    return LocalExtractor()


def only_fact_text(extraction: Extraction) -> str:
    assert len(extraction.facts) == 1, [f.text for f in extraction.facts]
    return extraction.facts[0].text


def test_is_an_extractor() -> None:
    extractor: Extractor = LocalExtractor()
    assert extractor.name == "local"


@pytest.mark.parametrize(
    ("speaker", "text", "expected"),
    [
        (
            "Caroline",
            "My friend Jessica and I moved from Sweden to New York four years ago.",
            {
                ("Caroline", "person"),
                ("Jessica", "person"),
                ("Sweden", "place"),
                ("New York", "place"),
                ("four years ago", "date"),
            },
        ),
        (
            "Melanie",
            "I work as a nurse at Mercy Hospital in Boston with my colleague Dave.",
            {
                ("Melanie", "person"),
                ("Mercy Hospital", "organization"),
                ("Boston", "place"),
                ("Dave", "person"),
            },
        ),
        (
            "Caroline",
            "I joined the Trevor Project as a volunteer last month.",
            {
                ("Caroline", "person"),
                ("the Trevor Project", "organization"),
                ("last month", "date"),
            },
        ),
        (
            "Caroline",
            "I read a book by Michelle Obama during the World Cup.",
            {("Caroline", "person"), ("Michelle Obama", "person"), ("the World Cup", "event")},
        ),
    ],
)
def test_entities(
    extractor: LocalExtractor, speaker: str, text: str, expected: set[tuple[str, str]]
) -> None:
    episode = turn(text, speaker)
    result = extractor.extract_sync([episode])
    found = {(e.name, e.type) for e in result.episode_entities[episode.id]}
    assert expected <= found
    assert result.episode_entities[episode.id][0] == ExtractedEntity(speaker, "person")
    assert {(e.name, e.type) for e in result.facts[0].entities} == found


def test_entities_deduplicated_case_insensitively(extractor: LocalExtractor) -> None:
    episode = turn("Caroline and I both love Boston. I moved to BOSTON in 2019, said Caroline.")
    names = [
        e.name.casefold() for e in extractor.extract_sync([episode]).episode_entities[episode.id]
    ]
    assert len(names) == len(set(names))
    assert names.count("caroline") == 1


def test_speaker_is_a_person_even_without_ner(extractor: LocalExtractor) -> None:
    episode = turn("I painted a lake sunrise and hung it in the kitchen.", "Melanie")
    result = extractor.extract_sync([episode])
    assert result.episode_entities[episode.id] == (ExtractedEntity("Melanie", "person"),)
    assert result.facts[0].entities == (ExtractedEntity("Melanie", "person"),)


@pytest.mark.parametrize(
    ("speaker", "text", "expected"),
    [
        ("Melanie", "I painted that lake sunrise.", "Melanie painted that lake sunrise."),
        (
            "Melanie",
            "My kids love pottery and I'm so proud of them.",
            "Melanie's kids love pottery and Melanie is so proud of them.",
        ),
        (
            "Melanie",
            "I have two kids and I love camping and go hiking with them.",
            "Melanie has two kids and Melanie loves camping and goes hiking with them.",
        ),
        (
            "Melanie",
            "I don't eat meat at home anymore.",
            "Melanie doesn't eat meat at home anymore.",
        ),
        (
            "Caroline",
            "I've been painting for ten years.",
            "Caroline has been painting for ten years.",
        ),
        (
            "Caroline",
            "I'd love to adopt a child with my partner.",
            "Caroline would love to adopt a child with Caroline's partner.",
        ),
        (
            "Caroline",
            "The support group made me feel accepted.",
            "The support group made Caroline feel accepted.",
        ),
        (
            "Caroline",
            "Yeah, the transgender stories were so inspiring!",
            "Caroline: The transgender stories were so inspiring!",
        ),
        (
            "Caroline",
            "Hey Mel, I started a new painting class.",
            "Caroline started a new painting class.",
        ),
        (
            None,
            "The museum in Paris opens at nine every morning.",
            "The museum in Paris opens at nine every morning.",
        ),
    ],
)
def test_facts_are_self_contained(
    extractor: LocalExtractor, speaker: str | None, text: str, expected: str
) -> None:
    assert only_fact_text(extractor.extract_sync([turn(text, speaker)])) == expected


@pytest.mark.parametrize(
    ("text", "at", "valid_from", "phrase"),
    [
        (
            "I went to a LGBTQ support group yesterday.",
            MONDAY,
            datetime(2023, 5, 7),
            "(on 7 May 2023)",
        ),
        (
            "I ran a charity race last Saturday.",
            THURSDAY,
            datetime(2023, 5, 20),
            "(on 20 May 2023)",
        ),
        (
            "I adopted a dog two weeks ago.",
            MONDAY,
            datetime(2023, 4, 24),
            "(in the week of 24 April 2023)",
        ),
        ("We are going camping next month.", MONDAY, datetime(2023, 6, 1), "(in June 2023)"),
        ("I painted that lake sunrise last year.", MONDAY, datetime(2022, 1, 1), "(in 2022)"),
        (
            "I took my kids to the beach last weekend.",
            MONDAY,
            datetime(2023, 5, 6),
            "(the weekend of 6 May 2023)",
        ),
        (
            "I'm going to a concert on Friday with friends.",
            MONDAY,
            datetime(2023, 5, 12),
            "(on 12 May 2023)",
        ),
        # 01:00 at UTC+5 is still 7 May in UTC, so "yesterday" is the 6th.
        (
            "I went to a LGBTQ support group yesterday.",
            datetime(2023, 5, 8, 1, tzinfo=timezone(timedelta(hours=5))),
            datetime(2023, 5, 6),
            "(on 6 May 2023)",
        ),
    ],
)
def test_relative_dates_resolved(
    extractor: LocalExtractor, text: str, at: datetime, valid_from: datetime, phrase: str
) -> None:
    fact = extractor.extract_sync([turn(text, at=at)]).facts[0]
    assert fact.valid_from == valid_from.replace(tzinfo=UTC)
    assert phrase in fact.text


def test_yesterday_keeps_the_sentence_and_adds_the_date(extractor: LocalExtractor) -> None:
    text = "I went to a LGBTQ support group yesterday and it was so powerful."
    assert only_fact_text(extractor.extract_sync([turn(text)])) == (
        "Caroline went to a LGBTQ support group yesterday (on 7 May 2023) and it was so powerful."
    )


@pytest.mark.parametrize(
    ("text", "valid_from"),
    [
        ("I painted that lake sunrise in May 2022.", datetime(2022, 5, 1, tzinfo=UTC)),
        ("I have been vegetarian since 2019.", datetime(2019, 1, 1, tzinfo=UTC)),
        ("I have known these friends for 4 years.", None),  # a duration, not a date
        ("I love painting landscapes with my kids.", None),
    ],
)
def test_absolute_dates_and_durations(
    extractor: LocalExtractor, text: str, valid_from: datetime | None
) -> None:
    fact = extractor.extract_sync([turn(text)]).facts[0]
    assert fact.valid_from == valid_from
    assert "(" not in fact.text  # nothing appended when the text is already absolute


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Hey Mel! Good to see you! How have you been?", []),
        ("Wow, that's so cool, Melanie! Thanks!", []),
        ("What kinda jobs are you thinking of?", []),
        ("That's really cool.", []),
        ("Take care, talk to you soon!", []),
        (
            "Wow! I adopted a dog named Pixel. Isn't that great?",
            ["Caroline adopted a dog named Pixel."],
        ),
        (
            "Thanks, Melanie! I'm keen on counseling. Did you hear about it?",
            ["Caroline is keen on counseling."],
        ),
    ],
)
def test_fillers_and_questions_dropped(
    extractor: LocalExtractor, text: str, kept: list[str]
) -> None:
    assert [f.text for f in extractor.extract_sync([turn(text)]).facts] == kept


async def test_order_provenance_and_determinism(extractor: LocalExtractor) -> None:
    episodes = [
        turn("I went hiking in the Rockies. I saw a bear there.", "Caroline"),
        turn("Cool! Did you take pictures?", "Melanie"),
        turn("I started pottery classes. My first bowl cracked in the kiln.", "Melanie"),
    ]
    first = await extractor.extract(episodes)
    assert [f.text for f in first.facts] == [
        "Caroline went hiking in the Rockies.",
        "Caroline saw a bear there.",
        "Melanie started pottery classes.",
        "Melanie's first bowl cracked in the kiln.",
    ]
    assert [f.source_episode_ids for f in first.facts] == [
        (episodes[0].id,),
        (episodes[0].id,),
        (episodes[2].id,),
        (episodes[2].id,),
    ]
    assert list(first.episode_entities) == [e.id for e in episodes]
    assert await extractor.extract(episodes) == first
    assert extractor.extract_sync(episodes) == first


async def test_empty_batch(extractor: LocalExtractor) -> None:
    assert (await extractor.extract([])).facts == ()


def test_a_long_episode_gives_at_most_its_first_facts(extractor: LocalExtractor) -> None:
    # a pasted document: its cost in consolidation is bounded (the episode stays whole)
    sentences = [f"I visited museum number {i} in Paris with my sister." for i in range(60)]
    facts = extractor.extract_sync([turn(" ".join(sentences))]).facts
    assert len(facts) == MAX_FACTS_PER_EPISODE
    assert "museum number 0 " in facts[0].text
    assert f"museum number {MAX_FACTS_PER_EPISODE - 1} " in facts[-1].text


def test_spacy_reads_a_bounded_head_of_a_long_episode(extractor: LocalExtractor) -> None:
    words = "lorem ipsum dolor sit amet " * 2000  # 54,000 characters
    head = readable(words)
    assert len(head) <= MAX_READ_CHARS
    assert words.startswith(head)
    assert not head.endswith(" ")
    assert readable("short text") == "short text"
    late = turn(words + " Caroline met Melanie in Boston.")
    found = extractor.extract_sync([late]).episode_entities.get(late.id, ())
    assert not any(e.name == "Boston" for e in found)
