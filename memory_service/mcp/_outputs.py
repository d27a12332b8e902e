"""What the tools answer: short results for a model to read (text, date, id), built from
the request layer's DTOs, and sent as compact JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from memory_service.domain.models import HitKind
from memory_service.requests.outputs import EpisodeOut, MemoryOut, SearchHitOut, SearchOut

Kind = Literal["memory", "episode"]


def result(model: BaseModel) -> CallToolResult:
    """``model`` as the call's structured content, and the same JSON, compact and without
    null fields, as its text (the SDK's default text is indented, about twice as long)."""
    data = model.model_dump(mode="json", exclude_none=True)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def _second(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(microsecond=0)


def same_text(a: str, b: str) -> bool:
    """Equal up to case and runs of whitespace: what an agent would call the same."""
    return _key(a) == _key(b)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


class ItemOut(BaseModel):
    """One item: a memory (a fact, kept current), an episode (a message stored as said,
    dated when it was said) or, in a search only, a fact inferred then (not stored)."""

    id: UUID
    kind: HitKind
    text: str
    date: datetime | None = Field(default=None, description="UTC, to the second")

    @classmethod
    def of_memory(cls, m: MemoryOut) -> ItemOut:
        return cls(id=m.id, kind="memory", text=m.text, date=_second(m.valid_from or m.created_at))

    @classmethod
    def of_episode(cls, e: EpisodeOut) -> ItemOut:
        return cls(id=e.id, kind="episode", text=e.content, date=_second(e.occurred_at))


class DetailOut(ItemOut):
    """An item with its scope, metadata and, for a memory, its status."""

    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    status: str | None = Field(default=None, description="a memory's: active or deleted")
    speaker: str | None = None

    @classmethod
    def of_memory(cls, m: MemoryOut) -> DetailOut:
        return cls(
            **ItemOut.of_memory(m).model_dump(),
            user_id=m.user_id,
            agent_id=m.agent_id,
            session_id=m.session_id,
            metadata=m.metadata,
            status=m.status,
        )

    @classmethod
    def of_episode(cls, e: EpisodeOut) -> DetailOut:
        return cls(
            **ItemOut.of_episode(e).model_dump(),
            user_id=e.user_id,
            agent_id=e.agent_id,
            session_id=e.session_id,
            metadata=e.metadata,
            speaker=e.speaker,
        )


class HitOut(ItemOut):
    """A search hit; the scores only in a verbose search."""

    score: float | None = Field(default=None, description="verbose only: fused rank score")
    scores: dict[str, float] | None = Field(default=None, description="verbose only")
    speaker: str | None = None

    @classmethod
    def of(cls, h: SearchHitOut, *, verbose: bool) -> HitOut:
        date = _second(h.occurred_at)
        if not verbose:
            return cls(id=h.id, kind=h.kind, text=h.text, date=date)
        return cls(
            id=h.id,
            kind=h.kind,
            text=h.text,
            date=date,
            score=h.score,
            scores=h.scores,
            speaker=h.speaker,
        )


class SearchResultOut(BaseModel):
    results: list[HitOut]
    retrieval_id: UUID = Field(description="pass to `feedback` to say what helped")
    route: str | None = Field(default=None, description="verbose only")
    timings_ms: dict[str, float] | None = Field(default=None, description="verbose only")
    cost: dict[str, float] | None = Field(default=None, description="verbose only")

    @classmethod
    def of(cls, found: SearchOut, *, verbose: bool) -> SearchResultOut:
        if verbose:
            return cls(
                results=[HitOut.of(h, verbose=True) for h in found.results],
                retrieval_id=found.retrieval_id,
                route=found.route,
                timings_ms=found.timings_ms,
                cost=found.cost,
            )
        return cls(results=distinct(found.results), retrieval_id=found.retrieval_id)


def distinct(hits: Sequence[SearchHitOut]) -> list[HitOut]:
    """The hits in rank order, one per text: an episode and a memory saying the same thing
    show once, as the memory (the item ``update_memory`` can edit), at the better rank."""
    kept: dict[str, HitOut] = {}
    for h in hits:
        key = _key(h.text)
        if key not in kept:
            kept[key] = HitOut.of(h, verbose=False)
        elif h.kind == "memory" and kept[key].kind == "episode":
            kept[key] = HitOut.of(h, verbose=False)  # replaces in place: dicts keep order
    return list(kept.values())


class PageOut(BaseModel):
    items: list[ItemOut]
    next_cursor: str | None = Field(default=None, description="pass as cursor for more")


class AddedOut(BaseModel):
    id: UUID
    kind: Kind


class DeletedOut(BaseModel):
    deleted: list[UUID] = Field(description="the item, and any episode saying the same thing")


class ForgottenOut(BaseModel):
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    deleted: dict[str, int] = Field(description="rows deleted, per kind")


class ContextBlockOut(BaseModel):
    context: str
    tokens: int
    retrieval_id: UUID | None = Field(default=None, description="pass to `feedback`")


class FeedbackAckOut(BaseModel):
    applied: bool = Field(description="false: this feedback_id was already applied")
    credited: int = Field(description="how many items it credited")
