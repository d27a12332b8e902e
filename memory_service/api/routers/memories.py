"""Memories: facts added directly, edited, retired, and their history."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from memory_service.api.deps import CallDep
from memory_service.api.errors import error_responses
from memory_service.domain.models import Scope
from memory_service.requests import memories
from memory_service.requests.fields import ScopeId
from memory_service.requests.filters import FILTERS_PARAM, MAX_PARAM_CHARS
from memory_service.requests.inputs import MemoryIn, MemoryPatch
from memory_service.requests.memories import MAX_EPISODE_IDS
from memory_service.requests.outputs import MemoryChangeOut, MemoryOut, MemoryPageOut

router = APIRouter(prefix="/v1/memories", tags=["memories"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MemoryOut,
    responses=error_responses(401, 413, 422),
)
async def add_memory(body: MemoryIn, call: CallDep) -> MemoryOut:
    """Add a fact as given, without extraction."""
    return await memories.add_memory(call, body)


@router.get("", response_model=MemoryPageOut, responses=error_responses(401, 422))
async def list_memories(
    call: CallDep,
    user_id: Annotated[ScopeId | None, Query()] = None,
    agent_id: Annotated[ScopeId | None, Query()] = None,
    session_id: Annotated[ScopeId | None, Query()] = None,
    include_inactive: bool = False,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1)] = 50,
    filters: Annotated[
        str | None, Query(max_length=MAX_PARAM_CHARS, description=FILTERS_PARAM)
    ] = None,
    episode_id: Annotated[
        list[UUID] | None,
        Query(
            description="only the facts drawn from any of these episodes (their provenance); "
            f"repeat the parameter for several, at most {MAX_EPISODE_IDS}"
        ),
    ] = None,
) -> MemoryPageOut:
    return await memories.list_memories(
        call,
        Scope(user_id, agent_id, session_id),
        include_inactive=include_inactive,
        cursor=cursor,
        limit=limit,
        filters=filters,
        episode_ids=episode_id or (),
    )


@router.get("/{memory_id}", response_model=MemoryOut, responses=error_responses(401, 404, 422))
async def get_memory(memory_id: UUID, call: CallDep) -> MemoryOut:
    return await memories.get_memory(call, memory_id)


@router.patch(
    "/{memory_id}", response_model=MemoryOut, responses=error_responses(401, 404, 409, 422)
)
async def update_memory(memory_id: UUID, body: MemoryPatch, call: CallDep) -> MemoryOut:
    return await memories.update_memory(call, memory_id, body)


@router.delete("/{memory_id}", response_model=MemoryOut, responses=error_responses(401, 404, 422))
async def delete_memory(memory_id: UUID, call: CallDep) -> MemoryOut:
    """Retire a fact: it leaves search, its validity closes, its history stays."""
    return await memories.delete_memory(call, memory_id)


@router.get(
    "/{memory_id}/history",
    response_model=list[MemoryChangeOut],
    responses=error_responses(401, 404, 422),
)
async def memory_history(memory_id: UUID, call: CallDep) -> list[MemoryChangeOut]:
    return await memories.memory_history(call, memory_id)
