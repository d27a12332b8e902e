"""The method table: one pure function per operation, returning the ``Call`` to send.

Both clients call these with every argument spelt out, so defaults live in one place
(the public methods) and the request for an operation is built in one place (here).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID, uuid4

from pydantic import TypeAdapter

from memory_client._base import IDEMPOTENCY_HEADER, Call
from memory_client.models import (
    AddResult,
    Answer,
    Context,
    EpisodePage,
    FeedbackResult,
    ForgetResult,
    ImportResult,
    Job,
    Memory,
    MemoryChange,
    MemoryPage,
    Message,
    MessageInput,
    MessagesInput,
    Order,
    Records,
    SearchMode,
    SearchResult,
)

Id = UUID | str
NDJSON = "application/x-ndjson"


def _jsonable(value: Any) -> Any:
    """``value`` as JSON types: datetimes as ISO 8601, UUIDs as strings, models as dicts."""
    return TypeAdapter(Any).dump_python(value, mode="json")


def _fields(**values: Any) -> dict[str, Any]:
    """JSON-ready values, leaving out the unset (None) ones so the server's defaults hold."""
    return {k: _jsonable(v) for k, v in values.items() if v is not None}


def _path(template: str, *ids: Id) -> str:
    return template.format(*(quote(str(i), safe="") for i in ids))


def as_messages(messages: MessagesInput, metadata: Mapping[str, Any] | None) -> list[Message]:
    """Normalise what ``add`` accepts; ``metadata`` is merged under each message's own."""
    many = [messages] if isinstance(messages, str | Message | Mapping) else messages
    typed = [_message(m) for m in many]
    if not metadata:
        return typed
    return [m.model_copy(update={"metadata": {**metadata, **m.metadata}}) for m in typed]


def _message(message: MessageInput) -> Message:
    if isinstance(message, Message):
        return message
    if isinstance(message, str):
        return Message(content=message)
    return Message.model_validate(message)


def add(
    messages: MessagesInput,
    *,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    metadata: Mapping[str, Any] | None,
    idempotency_key: str | None,
) -> Call[AddResult]:
    body = _fields(user_id=user_id, agent_id=agent_id, session_id=session_id)
    body["messages"] = [
        m.model_dump(mode="json", exclude_none=True) for m in as_messages(messages, metadata)
    ]
    # One key per call, reused by every retry: the server stores the batch once.
    headers = {IDEMPOTENCY_HEADER: idempotency_key or f"mc-{uuid4()}"}
    return Call("POST", "/v1/messages", AddResult, json=body, headers=headers)


def add_memory(
    text: str,
    *,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    metadata: Mapping[str, Any] | None,
    source_episode_ids: Sequence[Id] | None,
    valid_from: datetime | None,
    valid_to: datetime | None,
) -> Call[Memory]:
    body = _fields(
        user_id=user_id,
        agent_id=agent_id,
        session_id=session_id,
        text=text,
        metadata=metadata,
        source_episode_ids=source_episode_ids,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    return Call("POST", "/v1/memories", Memory, json=body)


def search(
    query: str,
    *,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    limit: int,
    preset: str | None,
    mode: SearchMode,
    since: datetime | None,
    until: datetime | None,
    kinds: Sequence[str] | None,
    now: datetime | None,
) -> Call[SearchResult]:
    body = _fields(
        user_id=user_id,
        agent_id=agent_id,
        session_id=session_id,
        query=query,
        limit=limit,
        preset=preset,
        mode=mode,
        since=since,
        until=until,
        kinds=kinds,
        now=now,
    )
    return Call("POST", "/v1/search", SearchResult, json=body, idempotent=True)


def get_all(
    *,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    limit: int,
    cursor: str | None,
    include_inactive: bool,
) -> Call[MemoryPage]:
    params = _fields(
        user_id=user_id,
        agent_id=agent_id,
        session_id=session_id,
        limit=limit,
        cursor=cursor,
        include_inactive=include_inactive,
    )
    return Call("GET", "/v1/memories", MemoryPage, params=params)


def get(memory_id: Id) -> Call[Memory]:
    return Call("GET", _path("/v1/memories/{}", memory_id), Memory)


def update(
    memory_id: Id,
    *,
    text: str | None,
    metadata: Mapping[str, Any] | None,
    valid_to: datetime | None,
) -> Call[Memory]:
    body = _fields(text=text, metadata=metadata, valid_to=valid_to)
    return Call("PATCH", _path("/v1/memories/{}", memory_id), Memory, json=body)


def delete(memory_id: Id) -> Call[Memory]:
    return Call("DELETE", _path("/v1/memories/{}", memory_id), Memory)


def delete_all(*, user_id: str) -> Call[ForgetResult]:
    return Call("DELETE", _path("/v1/users/{}", user_id), ForgetResult)


def history(memory_id: Id) -> Call[list[MemoryChange]]:
    return Call("GET", _path("/v1/memories/{}/history", memory_id), list[MemoryChange])


def answer(
    question: str,
    *,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    limit: int,
    preset: str | None,
    now: datetime | None,
) -> Call[Answer]:
    body = _fields(
        user_id=user_id,
        agent_id=agent_id,
        session_id=session_id,
        question=question,
        limit=limit,
        preset=preset,
        now=now,
    )
    return Call("POST", "/v1/answer", Answer, json=body, idempotent=True)


def context(
    *,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    query: str | None,
    token_budget: int,
    now: datetime | None,
) -> Call[Context]:
    body = _fields(
        user_id=user_id,
        agent_id=agent_id,
        session_id=session_id,
        query=query,
        token_budget=token_budget,
        now=now,
    )
    return Call("POST", "/v1/context", Context, json=body, idempotent=True)


def feedback(
    retrieval_id: Id,
    reward: float,
    *,
    memory_ids: Sequence[Id] | None,
    feedback_id: str | None,
) -> Call[FeedbackResult]:
    body = _fields(
        retrieval_id=retrieval_id, reward=reward, memory_ids=memory_ids, feedback_id=feedback_id
    )
    # The server applies a feedback id (or, without one, an Idempotency-Key) once.
    headers = {} if feedback_id else {IDEMPOTENCY_HEADER: f"mc-{uuid4()}"}
    return Call("POST", "/v1/feedback", FeedbackResult, json=body, headers=headers, idempotent=True)


def episodes(
    *,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
    order: Order,
) -> Call[EpisodePage]:
    params = _fields(
        user_id=user_id,
        agent_id=agent_id,
        session_id=session_id,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
        order=order,
    )
    return Call("GET", "/v1/episodes", EpisodePage, params=params)


def job(job_id: Id) -> Call[Job]:
    return Call("GET", _path("/v1/jobs/{}", job_id), Job)


def export(
    *, user_id: str | None, agent_id: str | None, session_id: str | None
) -> Call[dict[str, Any]]:
    """A JSON Lines stream: each line parses into one record."""
    params = _fields(user_id=user_id, agent_id=agent_id, session_id=session_id)
    return Call("GET", "/v1/export", dict[str, Any], params=params, stream=True)


def import_(records: Records) -> Call[ImportResult]:
    """The whole body is built up front, so a retry can send it again."""
    if isinstance(records, str | os.PathLike):
        content = Path(records).read_bytes()
    else:
        content = b"".join(
            json.dumps(_jsonable(r), separators=(",", ":")).encode() + b"\n" for r in records
        )
    headers = {"Content-Type": NDJSON}
    return Call(
        "POST", "/v1/import", ImportResult, content=content, headers=headers, idempotent=True
    )
