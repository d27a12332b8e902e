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
from memory_client._mem0 import Scoped, limit_of, scoped, session_of
from memory_client.models import (
    AddResult,
    Answer,
    Context,
    EpisodePage,
    FeedbackResult,
    ForgetResult,
    ImportResult,
    Instructions,
    Job,
    JobPage,
    JobState,
    Memory,
    MemoryChange,
    MemoryPage,
    Message,
    MessageInput,
    MessagesInput,
    Order,
    Records,
    ResetResult,
    ScopePage,
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


def _filters_param(filters: Mapping[str, Any] | None) -> str | None:
    """A metadata filter as the query parameter carries it: compact JSON."""
    return None if filters is None else json.dumps(_jsonable(filters), separators=(",", ":"))


def _scope_fields(scope: Scoped) -> dict[str, str | None]:
    return {"user_id": scope.user_id, "agent_id": scope.agent_id, "session_id": scope.session_id}


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
    run_id: str | None,
    metadata: Mapping[str, Any] | None,
    infer: bool,
    idempotency_key: str | None,
    instructions: str | None = None,
) -> Call[AddResult]:
    session_id = session_of(session_id, run_id)
    body = _fields(user_id=user_id, agent_id=agent_id, session_id=session_id)
    typed = as_messages(messages, metadata)
    body["messages"] = [m.model_dump(mode="json", exclude_none=True) for m in typed]
    if not infer:
        body["infer"] = False  # the server's default is true: sent only when it differs
    if instructions is not None:
        body["instructions"] = instructions
    # One key per call, reused by every retry: the server stores the batch once.
    headers = {IDEMPOTENCY_HEADER: idempotency_key or f"mc-{uuid4()}"}
    texts = [m.content for m in typed]

    def with_texts(result: AddResult) -> AddResult:
        result._texts = texts  # what Mem0's mapping calls each result's "memory"
        return result

    return Call("POST", "/v1/messages", AddResult, json=body, headers=headers, finish=with_texts)


def add_memory(
    text: str,
    *,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    run_id: str | None,
    metadata: Mapping[str, Any] | None,
    source_episode_ids: Sequence[Id] | None,
    valid_from: datetime | None,
    valid_to: datetime | None,
) -> Call[Memory]:
    body = _fields(
        user_id=user_id,
        agent_id=agent_id,
        session_id=session_of(session_id, run_id),
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
    run_id: str | None,
    filters: Mapping[str, Any] | None,
    limit: int,
    top_k: int | None,
    threshold: float | None,
    preset: str | None,
    mode: SearchMode,
    since: datetime | None,
    until: datetime | None,
    kinds: Sequence[str] | None,
    now: datetime | None,
) -> Call[SearchResult]:
    scope = scoped(
        filters, user_id=user_id, agent_id=agent_id, session_id=session_id, run_id=run_id
    )
    body = _fields(
        **_scope_fields(scope),
        query=query,
        filters=scope.filters,
        limit=limit_of(limit, top_k),
        preset=preset,
        mode=mode,
        since=since,
        until=until,
        kinds=kinds,
        now=now,
    )
    finish = None if threshold is None else (lambda found: found.above(threshold))
    return Call("POST", "/v1/search", SearchResult, json=body, idempotent=True, finish=finish)


def get_all(
    *,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    run_id: str | None,
    filters: Mapping[str, Any] | None,
    limit: int,
    top_k: int | None,
    cursor: str | None,
    include_inactive: bool,
) -> Call[MemoryPage]:
    scope = scoped(
        filters, user_id=user_id, agent_id=agent_id, session_id=session_id, run_id=run_id
    )
    params = _fields(
        **_scope_fields(scope),
        filters=_filters_param(scope.filters),
        limit=limit_of(limit, top_k),
        cursor=cursor,
        include_inactive=include_inactive,
    )
    return Call("GET", "/v1/memories", MemoryPage, params=params)


def get(memory_id: Id) -> Call[Memory]:
    return Call("GET", _path("/v1/memories/{}", memory_id), Memory)


def update(
    memory_id: Id,
    data: str | None,
    *,
    text: str | None,
    metadata: Mapping[str, Any] | None,
    valid_to: datetime | None,
) -> Call[Memory]:
    """``data`` is Mem0's open-source name for the new text (``text`` its platform's)."""
    if data is not None and text is not None and data != text:
        raise ValueError("give the new text once: as data or as text")
    body = _fields(text=text if text is not None else data, metadata=metadata, valid_to=valid_to)
    return Call("PATCH", _path("/v1/memories/{}", memory_id), Memory, json=body)


def delete(memory_id: Id) -> Call[Memory]:
    return Call("DELETE", _path("/v1/memories/{}", memory_id), Memory)


def delete_all(
    *, user_id: str | None, agent_id: str | None, session_id: str | None, run_id: str | None
) -> Call[ForgetResult]:
    params = _fields(user_id=user_id, agent_id=agent_id, session_id=session_of(session_id, run_id))
    if not params:
        raise ValueError("delete_all needs user_id, agent_id or run_id (reset() forgets all)")
    return Call("DELETE", "/v1/scopes", ForgetResult, params=params)


def reset() -> Call[ResetResult]:
    # Safe to repeat: a second reset finds nothing left to delete.
    return Call("POST", "/v1/reset", ResetResult, json={"confirm": True}, idempotent=True)


def instructions() -> Call[Instructions]:
    return Call("GET", "/v1/instructions", Instructions)


def set_instructions(text: str | None) -> Call[Instructions]:
    return Call("PUT", "/v1/instructions", Instructions, json={"instructions": text})


def history(memory_id: Id) -> Call[list[MemoryChange]]:
    return Call("GET", _path("/v1/memories/{}/history", memory_id), list[MemoryChange])


def answer(
    question: str,
    *,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    run_id: str | None,
    filters: Mapping[str, Any] | None,
    limit: int,
    preset: str | None,
    now: datetime | None,
) -> Call[Answer]:
    scope = scoped(
        filters, user_id=user_id, agent_id=agent_id, session_id=session_id, run_id=run_id
    )
    body = _fields(
        **_scope_fields(scope),
        filters=scope.filters,
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
    run_id: str | None,
    filters: Mapping[str, Any] | None,
    query: str | None,
    token_budget: int,
    now: datetime | None,
) -> Call[Context]:
    scope = scoped(
        filters, user_id=user_id, agent_id=agent_id, session_id=session_id, run_id=run_id
    )
    body = _fields(
        **_scope_fields(scope),
        filters=scope.filters,
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
    run_id: str | None,
    filters: Mapping[str, Any] | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
    order: Order,
) -> Call[EpisodePage]:
    scope = scoped(
        filters, user_id=user_id, agent_id=agent_id, session_id=session_id, run_id=run_id
    )
    params = _fields(
        **_scope_fields(scope),
        filters=_filters_param(scope.filters),
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
        order=order,
    )
    return Call("GET", "/v1/episodes", EpisodePage, params=params)


def job(job_id: Id) -> Call[Job]:
    return Call("GET", _path("/v1/jobs/{}", job_id), Job)


def jobs(
    *,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    state: JobState | None,
    cursor: str | None,
    limit: int,
) -> Call[JobPage]:
    params = _fields(
        user_id=user_id,
        agent_id=agent_id,
        session_id=session_id,
        state=state,
        cursor=cursor,
        limit=limit,
    )
    return Call("GET", "/v1/jobs", JobPage, params=params)


def scopes(
    *,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    cursor: str | None,
    limit: int,
) -> Call[ScopePage]:
    params = _fields(
        user_id=user_id, agent_id=agent_id, session_id=session_id, cursor=cursor, limit=limit
    )
    return Call("GET", "/v1/scopes", ScopePage, params=params)


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
