"""Fact extraction and Mem0's update rule, asked of any chat model as JSON.

Both adapters share one policy for bad output: a reply that is not the JSON the
prompt asks for is sent back once, with the validation error quoted; a second
bad reply raises ``UpstreamUnavailable`` so the job system retries later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Any, TypeVar, get_args
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from memory_service.domain.consolidation import (
    Decision,
    EntityType,
    EpisodeText,
    ExistingMemory,
    ExtractedEntity,
    ExtractedFact,
    Extraction,
    UpdateOp,
)
from memory_service.domain.errors import UpstreamUnavailable
from memory_service.domain.models import ChatMessage
from memory_service.domain.replies import json_object
from memory_service.ports import LLM

__all__ = ["LLMDecider", "LLMExtractor"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

_ENTITY_TYPES: frozenset[str] = frozenset(get_args(EntityType))
_ERROR_CHARS = 1500  # how much of a validation error is quoted back to the model


class _MalformedReply(Exception):
    """The model's reply is not the JSON asked for; the message says why."""


@cache
def _prompt(name: str) -> str:
    """A prompt template shipped next to this module (read once, on first use)."""
    folder = resources.files("memory_service.adapters").joinpath("prompts")
    return folder.joinpath(name).read_text(encoding="utf-8")


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- reply schemas ---------------------------------------------------------------


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _EntityReply(_Reply):
    name: str
    type: EntityType = "other"

    @field_validator("type", mode="before")
    @classmethod
    def _known_type(cls, value: object) -> str:
        """An entity type outside ``EntityType`` becomes "other" rather than an error."""
        given = value.strip().lower() if isinstance(value, str) else ""
        return given if given in _ENTITY_TYPES else "other"


class _FactReply(_Reply):
    text: str
    message_ids: list[int]
    entities: list[_EntityReply] = Field(default_factory=list)
    valid_from: datetime | None = None

    @field_validator("valid_from", mode="before")
    @classmethod
    def _iso_or_none(cls, value: object) -> datetime | None:
        """An ISO date (or datetime, or year-month) in UTC; anything unreadable is None."""
        return _parse_when(value) if isinstance(value, str) else None


class _MessageReply(_Reply):
    id: int
    entities: list[_EntityReply] = Field(default_factory=list)


class _ExtractionReply(_Reply):
    facts: list[_FactReply]
    messages: list[_MessageReply] = Field(default_factory=list)


class _DecisionReply(_Reply):
    op: UpdateOp
    id: int | None = None
    text: str | None = None
    reason: str | None = None

    @field_validator("op", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


def _parse_when(value: str) -> datetime | None:
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    else:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    for size, suffix in ((10, ""), (7, "-01")):
        try:
            day = date.fromisoformat(text[:size] + suffix)
        except ValueError:
            continue
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return None


# --- the shared ask / validate / retry-once core ---------------------------------


def _json_object(raw: str) -> Any:
    try:
        return json_object(raw)
    except ValueError as exc:
        raise _MalformedReply(str(exc)) from exc


def _validated(schema: type[M], raw: str) -> M:
    data = _json_object(raw)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        )
        raise _MalformedReply(f"schema error: {problems}") from exc


def _retry_message(error: _MalformedReply) -> str:
    detail = str(error)
    if len(detail) > _ERROR_CHARS:
        detail = detail[:_ERROR_CHARS] + " ..."
    return (
        f"Your reply could not be used: {detail}\n"
        "Reply again with the corrected JSON object only, following the schema, "
        "with no prose and no code fences."
    )


async def _ask(
    llm: LLM,
    messages: Sequence[ChatMessage],
    parse: Callable[[str], T],
    *,
    max_tokens: int,
    task: str,
) -> T:
    """Ask, parse; on a malformed reply ask once more quoting the error, then give up."""
    first = await llm.complete(messages, max_tokens=max_tokens, temperature=0.0)
    try:
        return parse(first.text)
    except _MalformedReply as exc:
        retry = [
            *messages,
            ChatMessage(role="assistant", content=first.text or "(empty reply)"),
            ChatMessage(role="user", content=_retry_message(exc)),
        ]
    second = await llm.complete(retry, max_tokens=max_tokens, temperature=0.0)
    try:
        return parse(second.text)
    except _MalformedReply as exc:
        raise UpstreamUnavailable(
            f"{llm.model} returned malformed {task} JSON twice: {exc}"
        ) from exc


# --- extraction ------------------------------------------------------------------


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
        speaker = _one_line(episode.speaker or "") or "unknown"
        lines.append(
            f"[id={number}] [{moment:%Y-%m-%d %H:%M}] {speaker}: {_one_line(episode.text)}"
        )
    return "\n".join(lines)


def _entities(replies: Sequence[_EntityReply]) -> tuple[ExtractedEntity, ...]:
    """Named entities, blank names dropped, duplicates (same name and type) merged."""
    seen: dict[tuple[str, str], ExtractedEntity] = {}
    for reply in replies:
        name = _one_line(reply.name)
        if name:
            seen.setdefault((name.casefold(), reply.type), ExtractedEntity(name, reply.type))
    return tuple(seen.values())


def _to_extraction(reply: _ExtractionReply, batch: Sequence[EpisodeText]) -> Extraction:
    """Message numbers back to episode ids. Unknown numbers are dropped, and so is a
    fact left with no source message or with blank text: every fact keeps provenance."""
    by_number = {number: episode.id for number, episode in enumerate(batch, start=1)}
    facts = []
    for fact in reply.facts:
        text = _one_line(fact.text)
        sources = tuple(dict.fromkeys(by_number[n] for n in fact.message_ids if n in by_number))
        if text and sources:
            facts.append(ExtractedFact(text, sources, _entities(fact.entities), fact.valid_from))
    mentioned: dict[UUID, list[_EntityReply]] = {}
    for message in reply.messages:
        if message.id in by_number:
            mentioned.setdefault(by_number[message.id], []).extend(message.entities)
    episode_entities = {
        episode_id: found
        for episode_id, entities in mentioned.items()
        if (found := _entities(entities))
    }
    return Extraction(facts=tuple(facts), episode_entities=episode_entities)


class LLMExtractor:
    """Facts and entities from episodes of one scope, one model call per batch.

    Episodes are shown in the order given (expected chronological), numbered from 1
    within each batch of at most ``max_batch``; relative times are resolved by the
    model against each message's timestamp (UTC).
    """

    name = "llm"

    def __init__(self, llm: LLM, *, max_batch: int = 40, max_tokens: int = 4096) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._llm = llm
        self._max_batch = max_batch
        self._max_tokens = max_tokens

    async def extract(self, episodes: Sequence[EpisodeText]) -> Extraction:
        facts: list[ExtractedFact] = []
        episode_entities: dict[UUID, Sequence[ExtractedEntity]] = {}
        for batch in _batches(episodes, self._max_batch):
            part = await self._extract_batch(batch)
            facts.extend(part.facts)
            episode_entities.update(part.episode_entities)
        return Extraction(facts=tuple(facts), episode_entities=episode_entities)

    async def _extract_batch(self, batch: Sequence[EpisodeText]) -> Extraction:
        messages = [
            ChatMessage(role="system", content=_prompt("extract_facts.txt")),
            ChatMessage(
                role="user",
                content=f"Conversation:\n{_render_episodes(batch)}\n\nReply:",
            ),
        ]

        def parse(raw: str) -> Extraction:
            return _to_extraction(_validated(_ExtractionReply, raw), batch)

        return await _ask(
            self._llm, messages, parse, max_tokens=self._max_tokens, task="fact extraction"
        )


# --- update decision -------------------------------------------------------------


def _to_decision(
    reply: _DecisionReply, fact: ExtractedFact, shown: Mapping[int, ExistingMemory]
) -> Decision:
    """The model's short id back to a memory id; UPDATE and DELETE must name a shown id."""
    text = _one_line(reply.text or "")
    reason = _one_line(reply.reason or "")
    if reply.op in ("ADD", "NOOP"):
        return Decision(op=reply.op, text=text or fact.text, reason=reason)
    target = shown.get(reply.id) if reply.id is not None else None
    if target is None:
        raise _MalformedReply(
            f'"op": "{reply.op}" needs an "id" among {sorted(shown)}, got {reply.id!r}'
        )
    if reply.op == "UPDATE" and not text:
        raise _MalformedReply('"op": "UPDATE" needs the complete new memory text in "text"')
    return Decision(op=reply.op, text=text or target.text, target_id=target.id, reason=reason)


class LLMDecider:
    """Mem0's update rule: the model picks ADD, UPDATE, DELETE or NOOP for a new fact.

    Similar memories are shown to the model with ids 1..n, never their UUIDs. With no
    similar memory the answer is ADD and no model is called.
    """

    name = "llm"

    def __init__(self, llm: LLM, *, max_tokens: int = 512) -> None:
        self._llm = llm
        self._max_tokens = max_tokens

    async def decide(self, fact: ExtractedFact, similar: Sequence[ExistingMemory]) -> Decision:
        if not similar:
            return Decision(op="ADD", text=fact.text, reason="no similar memory")
        shown = dict(enumerate(similar, start=1))
        listing = "\n".join(f"[id={n}] {_one_line(m.text)}" for n, m in shown.items())
        messages = [
            ChatMessage(role="system", content=_prompt("update_memory.txt")),
            ChatMessage(
                role="user",
                content=(
                    f"Existing memories:\n{listing}\n\nNew fact: {_one_line(fact.text)}\n\nReply:"
                ),
            ),
        ]

        def parse(raw: str) -> Decision:
            return _to_decision(_validated(_DecisionReply, raw), fact, shown)

        return await _ask(
            self._llm, messages, parse, max_tokens=self._max_tokens, task="memory update"
        )
