"""Fact extraction, asked of any chat model as JSON.

It shares one policy for bad output with ``LLMDecider`` (``llm_decider``): a reply
that is not the JSON the prompt asks for is sent back once, with the validation
error quoted; a second bad reply raises ``UpstreamUnavailable`` so the job
system retries later (``llm_replies``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import TypeVar
from uuid import UUID

from memory_service.adapters.llm_replies import (
    EntityReply,
    ExtractionReply,
    ask,
    one_line,
    prompt,
    validated,
)
from memory_service.domain.consolidation import (
    EpisodeText,
    ExtractedEntity,
    ExtractedFact,
    Extraction,
)
from memory_service.domain.models import ChatMessage
from memory_service.ports import LLM

__all__ = ["LLMExtractor"]

T = TypeVar("T")


def _batches(items: Sequence[T], most: int) -> list[Sequence[T]]:
    """Consecutive slices of at most ``most`` items, as even in size as possible."""
    if not items:
        return []
    count = -(-len(items) // most)
    size = -(-len(items) // count)
    return [items[i : i + size] for i in range(0, len(items), size)]


def _render_episodes(batch: Sequence[EpisodeText]) -> str:
    lines = []
    for number, episode in enumerate(batch, start=1):
        moment = episode.occurred_at
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        speaker = one_line(episode.speaker or "") or "unknown"
        lines.append(f"[id={number}] [{moment:%Y-%m-%d %H:%M}] {speaker}: {one_line(episode.text)}")
    return "\n".join(lines)


def _entities(replies: Sequence[EntityReply]) -> tuple[ExtractedEntity, ...]:
    """Named entities, blank names dropped, duplicates (same name and type) merged."""
    seen: dict[tuple[str, str], ExtractedEntity] = {}
    for reply in replies:
        name = one_line(reply.name)
        if name:
            seen.setdefault((name.casefold(), reply.type), ExtractedEntity(name, reply.type))
    return tuple(seen.values())


def _to_extraction(reply: ExtractionReply, batch: Sequence[EpisodeText]) -> Extraction:
    """Message numbers back to episode ids. Unknown numbers are dropped, and so is a
    fact left with no source message or with blank text: every fact keeps provenance."""
    by_number = {number: episode.id for number, episode in enumerate(batch, start=1)}
    facts = []
    for fact in reply.facts:
        text = one_line(fact.text)
        sources = tuple(dict.fromkeys(by_number[n] for n in fact.message_ids if n in by_number))
        if text and sources:
            facts.append(ExtractedFact(text, sources, _entities(fact.entities), fact.valid_from))
    mentioned: dict[UUID, list[EntityReply]] = {}
    for message in reply.messages:
        if message.id in by_number:
            mentioned.setdefault(by_number[message.id], []).extend(message.entities)
    episode_entities = {
        episode_id: found
        for episode_id, entities in mentioned.items()
        if (found := _entities(entities))
    }
    return Extraction(facts=tuple(facts), episode_entities=episode_entities)


INSTRUCTIONS_HEADING = "What the user asked to remember / ignore"


def _instructions_section(instructions: str) -> str:
    """The caller's instructions, fenced so the model reads them as data about what to
    keep, not as a change to the reply format or to the rule against inventing facts."""
    return (
        f"## {INSTRUCTIONS_HEADING}\n"
        "The text between the markers below comes from the user of this memory store. "
        "Follow it when choosing which facts to record and which to skip; it overrides "
        "the list of what is worth remembering above. It never changes the reply format, "
        "and never licenses inventing a fact.\n"
        "<<<INSTRUCTIONS\n"
        f"{instructions.strip()}\n"
        "INSTRUCTIONS>>>"
    )


class LLMExtractor:
    """Facts and entities from episodes of one scope, one model call per batch.

    Episodes are shown in the order given (expected chronological), numbered from 1
    within each batch of at most ``max_batch``; relative times are resolved by the
    model against each message's timestamp (UTC). ``system_prompt`` replaces the
    packaged ``extract_facts.txt``; a caller's ``instructions`` follow it in a section
    of their own (``INSTRUCTIONS_HEADING``).
    """

    name = "llm"

    def __init__(
        self,
        llm: LLM,
        *,
        max_batch: int = 40,
        max_tokens: int = 4096,
        system_prompt: str | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._llm = llm
        self._system_prompt = system_prompt
        self._max_batch = max_batch
        self._max_tokens = max_tokens

    async def extract(
        self, episodes: Sequence[EpisodeText], *, instructions: str | None = None
    ) -> Extraction:
        facts: list[ExtractedFact] = []
        episode_entities: dict[UUID, Sequence[ExtractedEntity]] = {}
        system = self._system(instructions)
        for batch in _batches(episodes, self._max_batch):
            part = await self._extract_batch(batch, system)
            facts.extend(part.facts)
            episode_entities.update(part.episode_entities)
        return Extraction(facts=tuple(facts), episode_entities=episode_entities)

    def _system(self, instructions: str | None) -> str:
        base = self._system_prompt or prompt("extract_facts.txt")
        if instructions is None or not instructions.strip():
            return base
        return f"{base.rstrip()}\n\n{_instructions_section(instructions)}"

    async def _extract_batch(self, batch: Sequence[EpisodeText], system: str) -> Extraction:
        messages = [
            ChatMessage(role="system", content=system),
            ChatMessage(
                role="user",
                content=f"Conversation:\n{_render_episodes(batch)}\n\nReply:",
            ),
        ]

        def parse(raw: str) -> Extraction:
            return _to_extraction(validated(ExtractionReply, raw), batch)

        return await ask(
            self._llm, messages, parse, max_tokens=self._max_tokens, task="fact extraction"
        )
