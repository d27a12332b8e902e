"""What the client sends (``Message``) and what it returns (everything else).

Response models mirror the server's OpenAPI schemas field for field (a contract test in
the service's repository keeps them aligned). They ignore nothing: fields a newer server
adds are kept as extra attributes, so an older client still parses the answer.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, TypeAlias
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

SearchMode: TypeAlias = Literal["auto", "fast", "deliberate"]
"""``fast`` skips Full Deliberation, ``deliberate`` forces it, ``auto`` lets the gate decide."""
Order: TypeAlias = Literal["asc", "desc"]


class Message(BaseModel):
    """One turn of a conversation, stored as an episode. Naive times are taken as UTC."""

    model_config = ConfigDict(extra="forbid")

    role: str = "user"
    content: str
    speaker: str | None = None
    occurred_at: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


MessageInput: TypeAlias = str | Message | Mapping[str, Any]
"""A ``Message``, a dict of its fields, or a string: the content of a user turn."""
MessagesInput: TypeAlias = MessageInput | Sequence[MessageInput]
"""One message or a list of them."""
Records: TypeAlias = Iterable[Mapping[str, Any]] | str | os.PathLike[str]
"""Export records (dicts), or the path of a ``.jsonl`` file holding them."""


class ResponseModel(BaseModel):
    """Base of the models the server returns."""

    model_config = ConfigDict(extra="allow", frozen=True)


class AddResult(ResponseModel):
    """The stored episodes and the consolidation job that will extract memories."""

    episode_ids: list[UUID]
    job_id: UUID
    replayed: bool = False
    """True when the server answered from an earlier request with the same key."""


class Episode(ResponseModel):
    id: UUID
    user_id: str | None
    agent_id: str | None
    session_id: str | None
    role: str
    speaker: str | None
    content: str
    occurred_at: datetime
    created_at: datetime
    metadata: dict[str, Any]
    utility: float


class EpisodePage(ResponseModel):
    items: list[Episode]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; None on the last page."""


class Memory(ResponseModel):
    """A fact. ``status`` is ``"active"`` until it is retired or superseded."""

    id: UUID
    user_id: str | None
    agent_id: str | None
    session_id: str | None
    text: str
    metadata: dict[str, Any]
    source_episode_ids: list[UUID]
    valid_from: datetime | None
    valid_to: datetime | None
    status: str
    utility: float
    created_at: datetime
    updated_at: datetime


class MemoryPage(ResponseModel):
    items: list[Memory]
    next_cursor: str | None


class MemoryChange(ResponseModel):
    """One entry of a memory's history: ``op`` is ADD, UPDATE or DELETE."""

    id: UUID
    memory_id: UUID
    op: str
    old_text: str | None
    new_text: str | None
    cause: str
    created_at: datetime


class ContextTurn(ResponseModel):
    """A turn said just before (``position`` < 0) or after (> 0) an episode hit."""

    id: UUID
    speaker: str | None
    text: str
    occurred_at: datetime
    position: int


class SearchHit(ResponseModel):
    """``kind`` is ``"episode"``, ``"memory"`` or ``"fact"`` (derived at query time);
    ``context`` holds neighbouring turns when the preset asks for a window, and
    ``merged_ids`` the hits merged into this one because their turns overlapped."""

    kind: str
    id: UUID
    text: str
    occurred_at: datetime | None
    speaker: str | None
    score: float
    scores: dict[str, float]
    source_episode_ids: list[UUID]
    context: list[ContextTurn] = []
    merged_ids: list[UUID] = []


class SearchResult(ResponseModel):
    """Ranked hits; send ``retrieval_id`` back with ``feedback``."""

    retrieval_id: UUID
    route: str = "fast"
    gate: dict[str, Any] | None = None
    results: list[SearchHit]
    timings_ms: dict[str, float]
    cost: dict[str, float] = Field(default_factory=dict)


class Answer(ResponseModel):
    answer: str
    route: str
    retrieval_id: UUID
    evidence: list[SearchHit]
    gate: dict[str, Any] | None
    audit: dict[str, Any] | None
    attempts: list[dict[str, Any]]
    cost: dict[str, float]


class Context(ResponseModel):
    """A context block packed to the token budget, and the ids it used."""

    context: str
    tokens: int
    memory_ids: list[UUID]
    episode_ids: list[UUID]
    entities: list[str]
    retrieval_id: UUID | None


class FeedbackResult(ResponseModel):
    """``applied`` is False when this feedback id was already applied."""

    feedback_id: UUID
    applied: bool
    utilities: dict[UUID, float]


class ForgetResult(ResponseModel):
    """Rows deleted per kind when a user was forgotten."""

    user_id: str
    deleted: dict[str, int]


class Job(ResponseModel):
    """A consolidation job: ``state`` is queued, running, done or failed."""

    id: UUID
    kind: str
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class ImportCounts(ResponseModel):
    received: int
    added: int
    skipped: int
    """Already present (same id): importing the same stream twice adds nothing."""


class ImportResult(ResponseModel):
    """Counts per record type (episode, memory, history, entity, membership)."""

    imported: dict[str, ImportCounts]
