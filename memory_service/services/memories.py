"""Facts added, edited and retired directly; every change writes a history row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from memory_service.domain.errors import Conflict, InvalidInput, NotFound
from memory_service.domain.filters import MetadataFilter
from memory_service.domain.models import Memory, MemoryChange, NewMemory, Scope
from memory_service.ports import Embedder, UnitOfWork
from memory_service.services.spaces import require_space


async def add_memory(
    uow: UnitOfWork, embedder: Embedder, tenant: UUID, new: NewMemory, *, cause: str = "api"
) -> Memory:
    _check_interval(new.valid_from, new.valid_to)
    # first: the tenant's record before any vector table (the order a reembed's switch
    # takes them in, so neither waits on the other in a cycle)
    await require_space(uow, tenant, embedder, write=True)
    for episode_id in new.source_episode_ids:
        if await uow.episodes.get(tenant, episode_id) is None:
            raise InvalidInput({"source_episode_ids": f"unknown episode {episode_id}"})
    [vector] = await embedder.embed([new.text])
    memory = await uow.memories.add(tenant, new, vector)
    await uow.memories.add_history(
        tenant, memory.id, op="ADD", old_text=None, new_text=new.text, cause=cause
    )
    return memory


async def get_memory(uow: UnitOfWork, tenant: UUID, memory_id: UUID) -> Memory:
    memory = await uow.memories.get(tenant, memory_id)
    if memory is None:
        raise NotFound(f"memory {memory_id} not found")
    return memory


async def list_memories(
    uow: UnitOfWork,
    tenant: UUID,
    scope: Scope,
    *,
    include_inactive: bool = False,
    cursor: str | None = None,
    limit: int = 50,
    where: MetadataFilter | None = None,
    episode_ids: Sequence[UUID] = (),
) -> tuple[list[Memory], str | None]:
    """Facts of ``scope``; with ``episode_ids``, only those drawn from any of them."""
    return await uow.memories.page(
        tenant,
        scope,
        include_inactive=include_inactive,
        cursor=cursor,
        limit=limit,
        where=where,
        episode_ids=episode_ids,
    )


async def update_memory(
    uow: UnitOfWork,
    embedder: Embedder,
    tenant: UUID,
    memory_id: UUID,
    *,
    text: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    valid_to: datetime | None = None,
    cause: str = "api",
) -> Memory:
    if text is not None:  # before the row lock: see add_memory
        await require_space(uow, tenant, embedder, write=True)
    current = await uow.memories.get(tenant, memory_id, for_update=True)
    if current is None:
        raise NotFound(f"memory {memory_id} not found")
    if current.status == "deleted":
        raise Conflict(f"memory {memory_id} is deleted")
    if text is None and metadata is None and valid_to is None:
        raise InvalidInput({"body": "nothing to update: give text, metadata or valid_to"})
    _check_interval(current.valid_from, valid_to)
    vector = (await embedder.embed([text]))[0] if text is not None else None
    updated = await uow.memories.update(
        tenant, memory_id, text=text, vector=vector, metadata=metadata, valid_to=valid_to
    )
    await uow.memories.add_history(
        tenant, memory_id, op="UPDATE", old_text=current.text, new_text=updated.text, cause=cause
    )
    return updated


async def delete_memory(
    uow: UnitOfWork, tenant: UUID, memory_id: UUID, *, now: datetime, cause: str = "api"
) -> Memory:
    """Retire a fact: its validity closes and it leaves search; history keeps it."""
    current = await uow.memories.get(tenant, memory_id, for_update=True)
    if current is None or current.status == "deleted":
        raise NotFound(f"memory {memory_id} not found")
    deleted = await uow.memories.update(
        tenant, memory_id, status="deleted", valid_to=current.valid_to or now
    )
    await uow.memories.add_history(
        tenant, memory_id, op="DELETE", old_text=current.text, new_text=None, cause=cause
    )
    return deleted


async def memory_history(uow: UnitOfWork, tenant: UUID, memory_id: UUID) -> list[MemoryChange]:
    await get_memory(uow, tenant, memory_id)
    return await uow.memories.history(tenant, memory_id)


def _check_interval(valid_from: datetime | None, valid_to: datetime | None) -> None:
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        raise InvalidInput({"valid_to": "valid_to is before valid_from"})
