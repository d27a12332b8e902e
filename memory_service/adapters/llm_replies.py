"""The chat-model replies the LLM adapters accept, and the one policy for bad ones.

A reply that is not the JSON the prompt asks for is sent back once, with the
validation error quoted; a second bad reply raises ``UpstreamUnavailable`` so the job
system retries later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from memory_service.domain.consolidation import EntityType, UpdateOp
from memory_service.domain.errors import UpstreamUnavailable
from memory_service.domain.models import ChatMessage
from memory_service.domain.replies import json_object
from memory_service.ports import LLM

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

_ENTITY_TYPES: frozenset[str] = frozenset(get_args(EntityType))
_ERROR_CHARS = 1500  # how much of a validation error is quoted back to the model


class MalformedReply(Exception):
    """The model's reply is not the JSON asked for; the message says why."""


@cache
def prompt(name: str) -> str:
    """A prompt template shipped next to this module (read once, on first use)."""
    folder = resources.files("memory_service.adapters").joinpath("prompts")
    return folder.joinpath(name).read_text(encoding="utf-8")


def one_line(text: str) -> str:
    return " ".join(text.split())


# --- reply schemas ---------------------------------------------------------------


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore")


class EntityReply(_Reply):
    name: str
    type: EntityType = "other"

    @field_validator("type", mode="before")
    @classmethod
    def _known_type(cls, value: object) -> str:
        """An entity type outside ``EntityType`` becomes "other" rather than an error."""
        given = value.strip().lower() if isinstance(value, str) else ""
        return given if given in _ENTITY_TYPES else "other"


class FactReply(_Reply):
    text: str
    message_ids: list[int]
    entities: list[EntityReply] = Field(default_factory=list)
    valid_from: datetime | None = None

    @field_validator("valid_from", mode="before")
    @classmethod
    def _iso_or_none(cls, value: object) -> datetime | None:
        """An ISO date (or datetime, or year-month) in UTC; anything unreadable is None."""
        return _parse_when(value) if isinstance(value, str) else None


class MessageReply(_Reply):
    id: int
    entities: list[EntityReply] = Field(default_factory=list)


class ExtractionReply(_Reply):
    facts: list[FactReply]
    messages: list[MessageReply] = Field(default_factory=list)


class DecisionReply(_Reply):
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
        raise MalformedReply(str(exc)) from exc


def validated(schema: type[M], raw: str) -> M:
    data = _json_object(raw)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        )
        raise MalformedReply(f"schema error: {problems}") from exc


def _retry_message(error: MalformedReply) -> str:
    detail = str(error)
    if len(detail) > _ERROR_CHARS:
        detail = detail[:_ERROR_CHARS] + " ..."
    return (
        f"Your reply could not be used: {detail}\n"
        "Reply again with the corrected JSON object only, following the schema, "
        "with no prose and no code fences."
    )


async def ask(
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
    except MalformedReply as exc:
        retry = [
            *messages,
            ChatMessage(role="assistant", content=first.text or "(empty reply)"),
            ChatMessage(role="user", content=_retry_message(exc)),
        ]
    second = await llm.complete(retry, max_tokens=max_tokens, temperature=0.0)
    try:
        return parse(second.text)
    except MalformedReply as exc:
        raise UpstreamUnavailable(
            f"{llm.model} returned malformed {task} JSON twice: {exc}"
        ) from exc
