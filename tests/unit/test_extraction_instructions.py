"""Extraction instructions and prompt files: what the LLM extractor and decider are shown."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from memory_service.adapters.llm_decider import LLMDecider
from memory_service.adapters.llm_extractor import INSTRUCTIONS_HEADING, LLMExtractor
from memory_service.bootstrap import build_components, build_consolidator, prompt_overrides
from memory_service.config import Settings
from memory_service.domain.consolidation import EpisodeText, ExistingMemory, ExtractedFact
from memory_service.domain.errors import ConfigurationError
from memory_service.testing import HashEmbedder, ScriptedLLM
from tests.unit.scripted_replies import reply

EMPTY = reply([], [])
EPISODES = [
    EpisodeText(uuid4(), "I love ramen. Nice weather!", "Ana", datetime(2024, 1, 2, tzinfo=UTC))
]
CUSTOM_EXTRACTION = 'Only food. Reply with {"facts": [{"text", "message_ids"}], "messages": []}.'
CUSTOM_UPDATE = 'Decide. Reply {"op": ..., "id": ..., "text": ..., "reason": ...}.'


async def test_instructions_are_a_delimited_section_of_the_system_prompt() -> None:
    llm = ScriptedLLM(rules=[(r"Conversation:", EMPTY)])

    await LLMExtractor(llm).extract(
        EPISODES, instructions="Remember food preferences; ignore small talk"
    )

    (messages,) = llm.calls
    system = messages[0].content
    assert INSTRUCTIONS_HEADING in system
    section = system.split(INSTRUCTIONS_HEADING, 1)[1]
    assert (
        "<<<INSTRUCTIONS\nRemember food preferences; ignore small talk\nINSTRUCTIONS>>>" in section
    )
    assert '"message_ids"' in system.split(INSTRUCTIONS_HEADING, 1)[0]  # the packaged prompt


@pytest.mark.parametrize("instructions", [None, "  \n"])
async def test_no_instructions_no_section(instructions: str | None) -> None:
    llm = ScriptedLLM(rules=[(r"Conversation:", EMPTY)])

    await LLMExtractor(llm).extract(EPISODES, instructions=instructions)

    assert INSTRUCTIONS_HEADING not in llm.calls[0][0].content


async def test_every_batch_gets_the_instructions() -> None:
    llm = ScriptedLLM(rules=[(r"Conversation:", EMPTY)])
    episodes = [EpisodeText(uuid4(), f"turn {i}", "Ana", EPISODES[0].occurred_at) for i in range(3)]

    await LLMExtractor(llm, max_batch=1).extract(episodes, instructions="only hobbies")

    assert len(llm.calls) == 3
    assert all("only hobbies" in call[0].content for call in llm.calls)


def prompt_settings(tmp_path: Path, extraction: str | None, update: str | None) -> Settings:
    files: dict[str, Path] = {}
    for name, text in (("extraction_prompt_file", extraction), ("update_prompt_file", update)):
        if text is not None:
            files[name] = tmp_path / f"{name}.txt"
            files[name].write_text(text, encoding="utf-8")
    return Settings(embedder="hash", sparse_encoder="none", **files)  # type: ignore[arg-type]


async def test_prompt_files_replace_the_packaged_prompts(tmp_path: Path) -> None:
    settings = prompt_settings(tmp_path, CUSTOM_EXTRACTION, CUSTOM_UPDATE)
    llm = ScriptedLLM(
        rules=[
            (r"New fact:", '{"op": "NOOP", "id": null, "text": "x", "reason": "known"}'),
            (r"Conversation:", EMPTY),
        ]
    )
    parts = build_consolidator(settings, HashEmbedder(dim=8), llm)

    await parts.extractor.extract(EPISODES, instructions="food only")
    fact = ExtractedFact("Ana loves ramen.", (EPISODES[0].id,))
    await parts.decider.decide(fact, [ExistingMemory(uuid4(), "Ana likes ramen.", 0.9)])

    extraction, update = llm.calls
    assert extraction[0].content.startswith(CUSTOM_EXTRACTION)
    assert "food only" in extraction[0].content
    assert update[0].content == CUSTOM_UPDATE


def test_no_prompt_files_keeps_the_packaged_prompts(tmp_path: Path) -> None:
    assert prompt_overrides(prompt_settings(tmp_path, None, None)) == (None, None)


async def test_decider_keeps_its_packaged_prompt_without_a_file() -> None:
    llm = ScriptedLLM(rules=[(r"New fact:", '{"op": "NOOP", "id": null, "text": "x"}')])
    fact = ExtractedFact("Ana loves ramen.", (EPISODES[0].id,))
    await LLMDecider(llm).decide(fact, [ExistingMemory(uuid4(), "Ana likes ramen.", 0.9)])
    assert '"op"' in llm.calls[0][0].content


@pytest.mark.parametrize(
    ("extraction", "update", "message"),
    [
        ("", None, "MEMORY_EXTRACTION_PROMPT_FILE: the prompt file .* is empty"),
        ("Extract facts.", None, 'MEMORY_EXTRACTION_PROMPT_FILE: .* never names "facts"'),
        (CUSTOM_EXTRACTION, 'Reply {"op": 1}', 'MEMORY_UPDATE_PROMPT_FILE: .* never names "id"'),
    ],
    ids=["blank", "no-reply-keys", "update-missing-keys"],
)
def test_bad_prompt_files_fail_at_start(
    tmp_path: Path, extraction: str, update: str | None, message: str
) -> None:
    settings = prompt_settings(tmp_path, extraction, update)
    with pytest.raises(ConfigurationError, match=message):
        build_components(settings)  # before any database is started or reached


def test_missing_prompt_file_fails_at_start(tmp_path: Path) -> None:
    settings = Settings(embedder="hash", extraction_prompt_file=tmp_path / "nope.txt")
    with pytest.raises(ConfigurationError, match="MEMORY_EXTRACTION_PROMPT_FILE: cannot read"):
        build_consolidator(settings, HashEmbedder(dim=8))


def test_prompt_file_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.txt"
    path.write_text(CUSTOM_EXTRACTION, encoding="utf-8")
    monkeypatch.setenv("MEMORY_EXTRACTION_PROMPT_FILE", str(path))
    assert Settings().extraction_prompt_file == path
