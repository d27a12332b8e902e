"""LLMExtractor against a scripted model: parsing, provenance, retry."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from memory_service.adapters.llm_decider import LLMDecider
from memory_service.adapters.llm_extractor import LLMExtractor
from memory_service.domain.consolidation import EpisodeText, ExtractedEntity
from memory_service.domain.errors import UpstreamUnavailable
from memory_service.ports import Extractor, UpdateDecider
from memory_service.testing import ScriptedLLM
from tests.unit.scripted_replies import RETRY, reply

START = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)


def make_episodes(n: int) -> list[EpisodeText]:
    speakers = ("Caroline", "Melanie")
    return [
        EpisodeText(
            id=uuid4(),
            text=f"message number {i}",
            speaker=speakers[i % 2],
            occurred_at=START + timedelta(minutes=i),
        )
        for i in range(n)
    ]


GOOD = reply(
    [
        {
            "text": "Caroline attended an LGBTQ support group on 7 May 2023.",
            "message_ids": [1],
            "entities": [
                {"name": "Caroline", "type": "person"},
                {"name": "LGBTQ support group", "type": "organization"},
            ],
            "valid_from": "2023-05-07",
        },
        {
            "text": "Melanie and Caroline are friends.",
            "message_ids": [2, 1],
            "entities": [{"name": "Melanie", "type": "person"}],
            "valid_from": None,
        },
    ],
    [
        {"id": 1, "entities": [{"name": "Caroline", "type": "person"}]},
        {"id": 2, "entities": [{"name": "Melanie", "type": "person"}]},
    ],
)


def test_adapters_satisfy_the_ports() -> None:
    llm = ScriptedLLM()
    extractor: Extractor = LLMExtractor(llm)
    decider: UpdateDecider = LLMDecider(llm)
    assert (extractor.name, decider.name) == ("llm", "llm")


async def test_good_reply_maps_numbers_to_episode_ids() -> None:
    episodes = make_episodes(3)
    llm = ScriptedLLM(rules=[(r"Conversation:", GOOD)])

    result = await LLMExtractor(llm).extract(episodes)

    first, second = result.facts
    assert first.text == "Caroline attended an LGBTQ support group on 7 May 2023."
    assert first.source_episode_ids == (episodes[0].id,)
    assert first.entities == (
        ExtractedEntity("Caroline", "person"),
        ExtractedEntity("LGBTQ support group", "organization"),
    )
    assert first.valid_from == datetime(2023, 5, 7, tzinfo=UTC)
    assert second.source_episode_ids == (episodes[1].id, episodes[0].id)
    assert second.valid_from is None
    assert result.episode_entities == {
        episodes[0].id: (ExtractedEntity("Caroline", "person"),),
        episodes[1].id: (ExtractedEntity("Melanie", "person"),),
    }
    assert len(llm.calls) == 1


async def test_prompt_shows_numbered_timestamped_messages() -> None:
    episodes = make_episodes(2)
    llm = ScriptedLLM(rules=[(r"Conversation:", GOOD)])

    await LLMExtractor(llm).extract(episodes)

    (messages,) = llm.calls
    assert messages[0].role == "system"
    assert '"message_ids"' in messages[0].content
    assert "[id=1] [2023-05-08 13:56] Caroline: message number 0" in messages[-1].content
    assert "[id=2] [2023-05-08 13:57] Melanie: message number 1" in messages[-1].content


@pytest.mark.parametrize(
    "wrapped",
    [
        f"```json\n{GOOD}\n```",
        f"Sure! Here are the facts I found:\n\n{GOOD}\n\nLet me know if you need more.",
        f"Here you go:\n```\n{GOOD}\n```",
    ],
    ids=["fenced", "leading-prose", "bare-fence"],
)
async def test_json_is_found_inside_fences_and_prose(wrapped: str) -> None:
    llm = ScriptedLLM(rules=[(r"Conversation:", wrapped)])

    result = await LLMExtractor(llm).extract(make_episodes(2))

    assert len(result.facts) == 2
    assert len(llm.calls) == 1


async def test_unknown_entity_type_becomes_other() -> None:
    text = reply(
        [
            {
                "text": "Caroline owns a guitar.",
                "message_ids": [1],
                "entities": [{"name": "guitar", "type": "Musical Instrument"}],
            }
        ],
        [{"id": 1, "entities": [{"name": "guitar", "type": "instrument"}]}],
    )
    episodes = make_episodes(1)
    llm = ScriptedLLM(rules=[(r"Conversation:", text)])

    result = await LLMExtractor(llm).extract(episodes)

    assert result.facts[0].entities == (ExtractedEntity("guitar", "other"),)
    assert result.episode_entities[episodes[0].id] == (ExtractedEntity("guitar", "other"),)


async def test_bad_message_numbers_and_blank_facts_are_dropped() -> None:
    text = reply(
        [
            {"text": "Caroline likes hiking.", "message_ids": [2, 99, 0]},
            {"text": "Invented from nowhere.", "message_ids": [42]},
            {"text": "   ", "message_ids": [1]},
        ],
        [{"id": 7, "entities": [{"name": "Ghost", "type": "person"}]}],
    )
    episodes = make_episodes(2)
    llm = ScriptedLLM(rules=[(r"Conversation:", text)])

    result = await LLMExtractor(llm).extract(episodes)

    assert [f.text for f in result.facts] == ["Caroline likes hiking."]
    assert result.facts[0].source_episode_ids == (episodes[1].id,)
    assert result.episode_entities == {}


async def test_malformed_then_good_reply_retries_once_quoting_the_error() -> None:
    missing_ids = reply([{"text": "Caroline likes hiking."}])
    llm = ScriptedLLM(rules=[(RETRY, GOOD), (r"Conversation:", missing_ids)])

    result = await LLMExtractor(llm).extract(make_episodes(2))

    assert len(result.facts) == 2
    assert len(llm.calls) == 2
    retry = llm.calls[1]
    assert retry[:2] == llm.calls[0]
    assert (retry[2].role, retry[2].content) == ("assistant", missing_ids)
    assert retry[3].role == "user"
    assert "facts.0.message_ids: Field required" in retry[3].content
    assert "JSON object only" in retry[3].content


async def test_invalid_json_retry_quotes_the_decode_error() -> None:
    llm = ScriptedLLM(rules=[(RETRY, GOOD), (r"Conversation:", '{"facts": [')])

    await LLMExtractor(llm).extract(make_episodes(2))

    assert len(llm.calls) == 2
    assert "invalid JSON" in llm.calls[1][-1].content


async def test_malformed_twice_raises_upstream_unavailable() -> None:
    llm = ScriptedLLM(rules=[(r".*", "I could not find any facts, sorry.")])

    with pytest.raises(UpstreamUnavailable, match="malformed fact extraction JSON twice"):
        await LLMExtractor(llm).extract(make_episodes(2))

    assert len(llm.calls) == 2


def echo_one_fact_per_message(prompt: str) -> str:
    numbers = [int(n) for n in re.findall(r"^\[id=(\d+)\]", prompt, flags=re.MULTILINE)]
    return reply([{"text": f"fact {n}", "message_ids": [n]} for n in numbers])


async def test_large_batches_are_split_and_provenance_kept() -> None:
    episodes = make_episodes(90)
    llm = ScriptedLLM(rules=[(r"Conversation:", echo_one_fact_per_message)])

    result = await LLMExtractor(llm).extract(episodes)

    assert len(llm.calls) == 3
    assert all(len(re.findall(r"\[id=\d+\]", c[-1].content)) == 30 for c in llm.calls)
    assert [f.source_episode_ids for f in result.facts] == [(e.id,) for e in episodes]


async def test_no_episodes_no_call() -> None:
    llm = ScriptedLLM()

    result = await LLMExtractor(llm).extract([])

    assert (list(result.facts), llm.calls) == ([], [])


async def test_nul_in_a_reply_is_dropped_from_facts_and_entities() -> None:
    text = reply(
        [
            {
                "text": "Caroline\u0000 paints.",
                "message_ids": [1],
                "entities": [{"name": "Caro\u0000line", "type": "person"}],
            }
        ]
    )
    llm = ScriptedLLM(rules=[(r"Conversation:", text)])
    [fact] = (await LLMExtractor(llm).extract(make_episodes(1))).facts
    assert fact.text == "Caroline paints."
    assert fact.entities == (ExtractedEntity("Caroline", "person"),)
