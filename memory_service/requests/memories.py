"""Memories: facts added as given, edited, retired, listed, and their history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import NewMemory, Scope
from memory_service.requests.call import Call
from memory_service.requests.filters import from_param
from memory_service.requests.inputs import MemoryIn, MemoryPatch
from memory_service.requests.outputs import MemoryChangeOut, MemoryOut, MemoryPageOut
from memory_service.services import memories

MAX_EPISODE_IDS = 100
"""The most episodes one listing of memories may ask the provenance of."""


def _check_length(call: Call, text: str | None) -> None:
    most = call.components.settings.max_text_chars
    if text is not None and len(text) > most:
        raise InvalidInput({"text": f"longer than {most} characters"})


async def add_memory(call: Call, body: MemoryIn) -> MemoryOut:
    """Add a fact as given, without extraction; its scope must name an owner."""
    _check_length(call, body.text)
    new = NewMemory(
        text=body.text,
        scope=body.scope(),
        metadata=body.metadata,
        source_episode_ids=body.source_episode_ids,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
    )
    return MemoryOut.of(
        await memories.add_memory(call.uow, call.components.embedder, call.tenant, new)
    )


async def list_memories(
    call: Call,
    scope: Scope,
    *,
    include_inactive: bool,
    cursor: str | None,
    limit: int,
    filters: str | None = None,
    episode_ids: Sequence[UUID] = (),
) -> MemoryPageOut:
    """Facts of the tenant (an empty scope: all of them), by pages; ``filters``: a
    metadata filter as JSON (its scope keys narrow ``scope``); ``episode_ids``: only the
    facts drawn from any of these episodes (at most ``MAX_EPISODE_IDS``)."""
    call.check_limit(limit)
    if len(episode_ids) > MAX_EPISODE_IDS:
        raise InvalidInput({"episode_id": f"at most {MAX_EPISODE_IDS} episode ids"})
    parsed = from_param(filters)
    items, next_cursor = await memories.list_memories(
        call.uow,
        call.tenant,
        parsed.scope_within(scope),
        include_inactive=include_inactive,
        cursor=cursor,
        limit=limit,
        where=parsed.where,
        episode_ids=episode_ids,
    )
    return MemoryPageOut(items=[MemoryOut.of(m) for m in items], next_cursor=next_cursor)


async def get_memory(call: Call, memory_id: UUID) -> MemoryOut:
    return MemoryOut.of(await memories.get_memory(call.uow, call.tenant, memory_id))


async def update_memory(call: Call, memory_id: UUID, body: MemoryPatch) -> MemoryOut:
    _check_length(call, body.text)
    updated = await memories.update_memory(
        call.uow,
        call.components.embedder,
        call.tenant,
        memory_id,
        text=body.text,
        metadata=body.metadata,
        valid_to=body.valid_to,
    )
    return MemoryOut.of(updated)


async def delete_memory(call: Call, memory_id: UUID) -> MemoryOut:
    """Retire a fact: it leaves search, its validity closes, its history stays."""
    now = datetime.now(UTC)
    return MemoryOut.of(await memories.delete_memory(call.uow, call.tenant, memory_id, now=now))


async def memory_history(call: Call, memory_id: UUID) -> list[MemoryChangeOut]:
    changes = await memories.memory_history(call.uow, call.tenant, memory_id)
    return [MemoryChangeOut.of(c) for c in changes]
