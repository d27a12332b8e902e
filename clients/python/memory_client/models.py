"""What the client sends (``Message``) and what it returns (everything else).

Response models mirror the server's OpenAPI schemas field for field (a contract test in
the service's repository keeps them aligned). They ignore nothing: fields a newer server
adds are kept as extra attributes, so an older client still parses the answer.

Every response is also a read-only mapping shaped as Mem0 answers: ``res["results"][0]
["memory"]`` works where ``res.results[0].text`` does. The Mem0 keys come first (see
each model's ``_mem0``), then the model's own fields under their own names.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, KeysView, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, TypeAlias
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

SearchMode: TypeAlias = Literal["auto", "fast", "deliberate"]
"""``fast`` skips Full Deliberation, ``deliberate`` forces it, ``auto`` lets the gate decide."""
Order: TypeAlias = Literal["asc", "desc"]
JobState: TypeAlias = Literal["queued", "running", "done", "failed"]


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
    """Base of the models the server returns: typed attributes, and a read-only
    mapping by Mem0's keys and then by field name (``res["results"]``, ``dict(res)``)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    def _mem0(self) -> dict[str, Any]:
        """The keys Mem0 answers with, and their values; the models Mem0 has override it."""
        return {}

    def _view(self) -> dict[str, Any]:
        own = {name: getattr(self, name) for name in type(self).model_fields}
        return {**own, **(self.model_extra or {}), **self._mem0()}

    def __getitem__(self, key: str) -> Any:
        view = self._view()
        if key not in view:
            raise KeyError(key)
        return view[key]

    def __contains__(self, key: object) -> bool:
        return key in self._view()

    def get(self, key: str, default: Any = None) -> Any:
        return self._view().get(key, default)

    def keys(self) -> KeysView[str]:
        """Mem0's keys, then the remaining fields; ``dict(res)`` builds the mapping."""
        mem0 = self._mem0()
        return {**mem0, **{k: v for k, v in self._view().items() if k not in mem0}}.keys()


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


class AddResult(ResponseModel):
    """The stored episodes and the consolidation job that will extract memories.

    As a Mem0 mapping, ``results`` lists each stored turn (``id``, ``memory``: its text,
    ``event``: ``"ADD"``); the memories extracted from them come later, by the job.
    """

    episode_ids: list[UUID]
    job_id: UUID | None
    """None when the turns were added with ``infer=False``: nothing will be extracted."""
    replayed: bool = False
    """True when the server answered from an earlier request with the same key."""
    _texts: list[str] = PrivateAttr(default_factory=list)

    def _mem0(self) -> dict[str, Any]:
        texts: list[str | None] = [*self._texts] or [None] * len(self.episode_ids)
        results = [
            {"id": str(i), "memory": text, "event": "ADD"}
            for i, text in zip(self.episode_ids, texts, strict=False)
        ]
        return {"results": results}


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

    def _mem0(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "memory": self.text,
            "metadata": self.metadata,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "user_id": self.user_id,
            "agent_id": self.agent_id,
            "run_id": self.session_id,
        }


class MemoryPage(ResponseModel):
    """As a Mem0 mapping: ``results``, the memories of this page."""

    items: list[Memory]
    next_cursor: str | None

    def _mem0(self) -> dict[str, Any]:
        return {"results": list(self.items)}


class MemoryChange(ResponseModel):
    """One entry of a memory's history: ``op`` is ADD, UPDATE or DELETE."""

    id: UUID
    memory_id: UUID
    op: str
    old_text: str | None
    new_text: str | None
    cause: str
    created_at: datetime

    def _mem0(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "memory_id": str(self.memory_id),
            "old_memory": self.old_text,
            "new_memory": self.new_text,
            "event": self.op,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.created_at),
            "is_deleted": self.op == "DELETE",
        }


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

    @property
    def similarity(self) -> float | None:
        """The best cosine similarity a vector list gave this hit (in [-1, 1], higher is
        more similar); None when no vector list found it (keyword or graph only).
        ``score`` is a rank fusion, comparable only within one answer."""
        found = [v for k, v in self.scores.items() if k.endswith(".vector")]
        return max(found) if found else None

    def _mem0(self) -> dict[str, Any]:
        metadata = (self.model_extra or {}).get("metadata")
        return {
            "id": str(self.id),
            "memory": self.text,
            "score": self.score,
            "metadata": metadata,
            "created_at": _iso(self.occurred_at),
        }


class SearchResult(ResponseModel):
    """Ranked hits; send ``retrieval_id`` back with ``feedback``."""

    retrieval_id: UUID
    route: str = "fast"
    gate: dict[str, Any] | None = None
    results: list[SearchHit]
    timings_ms: dict[str, float]
    cost: dict[str, float] = Field(default_factory=dict)

    def _mem0(self) -> dict[str, Any]:
        return {"results": list(self.results)}

    def above(self, threshold: float) -> SearchResult:
        """The hits whose ``similarity`` is at least ``threshold`` (Mem0's ``threshold``);
        a hit no vector list found has no similarity and is left out."""
        kept = [h for h in self.results if h.similarity is not None and h.similarity >= threshold]
        return self.model_copy(update={"results": kept})


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
    """The scope forgotten (the ids it named) and the rows deleted per kind."""

    user_id: str | None
    agent_id: str | None
    session_id: str | None
    deleted: dict[str, int]

    def _mem0(self) -> dict[str, Any]:
        return {"message": "Memories deleted successfully!"}


class Instructions(ResponseModel):
    """The tenant's standing extraction instructions (None when none are set)."""

    instructions: str | None


class ResetResult(ResponseModel):
    """Rows deleted per kind when the whole tenant was reset."""

    deleted: dict[str, int]

    def _mem0(self) -> dict[str, Any]:
        return {"message": "Memory store reset successfully!"}


class Job(ResponseModel):
    """A consolidation job: ``state`` is queued, running, done or failed."""

    id: UUID
    kind: str
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class ScopedJob(Job):
    """A job of a listing, with the scope whose episodes it consolidates."""

    user_id: str | None
    agent_id: str | None
    session_id: str | None


class JobPage(ResponseModel):
    items: list[ScopedJob]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; None on the last page."""


class ScopeSummary(ResponseModel):
    """One user/agent/session triple of the tenant with what it holds."""

    user_id: str | None
    agent_id: str | None
    session_id: str | None
    episodes: int
    facts: int
    """Active memories."""
    entities: int
    last_activity: datetime | None


class ScopePage(ResponseModel):
    items: list[ScopeSummary]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; None on the last page."""


class ImportCounts(ResponseModel):
    received: int
    added: int
    skipped: int
    """Already present (same id): importing the same stream twice adds nothing."""


class ImportResult(ResponseModel):
    """Counts per record type (episode, memory, history, entity, membership)."""

    imported: dict[str, ImportCounts]
