"""Memories: facts added directly, edited, retired, and their history."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from memory_service.api.deps import ComponentsDep, TenantDep, UowDep, utcnow
from memory_service.api.errors import error_responses
from memory_service.api.schemas import (
    MemoryChangeOut,
    MemoryIn,
    MemoryOut,
    MemoryPageOut,
    MemoryPatch,
    ScopeId,
)
from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import NewMemory, Scope
from memory_service.services import memories

router = APIRouter(prefix="/v1/memories", tags=["memories"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MemoryOut,
    responses=error_responses(401, 413, 422),
)
async def add_memory(
    body: MemoryIn, uow: UowDep, tenant: TenantDep, components: ComponentsDep
) -> MemoryOut:
    """Add a fact as given, without extraction."""
    if len(body.text) > components.settings.max_text_chars:
        raise InvalidInput({"text": f"longer than {components.settings.max_text_chars} characters"})
    new = NewMemory(
        text=body.text,
        scope=body.scope(),
        metadata=body.metadata,
        source_episode_ids=body.source_episode_ids,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
    )
    return MemoryOut.of(await memories.add_memory(uow, components.embedder, tenant, new))


@router.get("", response_model=MemoryPageOut, responses=error_responses(401, 422))
async def list_memories(
    uow: UowDep,
    tenant: TenantDep,
    components: ComponentsDep,
    user_id: Annotated[ScopeId | None, Query()] = None,
    agent_id: Annotated[ScopeId | None, Query()] = None,
    session_id: Annotated[ScopeId | None, Query()] = None,
    include_inactive: bool = False,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1)] = 50,
) -> MemoryPageOut:
    if limit > components.settings.max_limit:
        raise InvalidInput({"limit": f"at most {components.settings.max_limit}"})
    items, next_cursor = await memories.list_memories(
        uow,
        tenant,
        Scope(user_id, agent_id, session_id),
        include_inactive=include_inactive,
        cursor=cursor,
        limit=limit,
    )
    return MemoryPageOut(items=[MemoryOut.of(m) for m in items], next_cursor=next_cursor)


@router.get("/{memory_id}", response_model=MemoryOut, responses=error_responses(401, 404, 422))
async def get_memory(memory_id: UUID, uow: UowDep, tenant: TenantDep) -> MemoryOut:
    return MemoryOut.of(await memories.get_memory(uow, tenant, memory_id))


@router.patch(
    "/{memory_id}", response_model=MemoryOut, responses=error_responses(401, 404, 409, 422)
)
async def update_memory(
    memory_id: UUID,
    body: MemoryPatch,
    uow: UowDep,
    tenant: TenantDep,
    components: ComponentsDep,
) -> MemoryOut:
    if body.text is not None and len(body.text) > components.settings.max_text_chars:
        raise InvalidInput({"text": f"longer than {components.settings.max_text_chars} characters"})
    updated = await memories.update_memory(
        uow,
        components.embedder,
        tenant,
        memory_id,
        text=body.text,
        metadata=body.metadata,
        valid_to=body.valid_to,
    )
    return MemoryOut.of(updated)


@router.delete("/{memory_id}", response_model=MemoryOut, responses=error_responses(401, 404, 422))
async def delete_memory(memory_id: UUID, uow: UowDep, tenant: TenantDep) -> MemoryOut:
    """Retire a fact: it leaves search, its validity closes, its history stays."""
    return MemoryOut.of(await memories.delete_memory(uow, tenant, memory_id, now=utcnow()))


@router.get(
    "/{memory_id}/history",
    response_model=list[MemoryChangeOut],
    responses=error_responses(401, 404, 422),
)
async def memory_history(memory_id: UUID, uow: UowDep, tenant: TenantDep) -> list[MemoryChangeOut]:
    return [MemoryChangeOut.of(c) for c in await memories.memory_history(uow, tenant, memory_id)]
