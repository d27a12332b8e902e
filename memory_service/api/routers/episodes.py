"""Episodes: list, read, delete."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, status

from memory_service.api.deps import CallDep
from memory_service.api.errors import error_responses
from memory_service.domain.models import Scope
from memory_service.requests import messages
from memory_service.requests.fields import ScopeId, UtcTime
from memory_service.requests.filters import FILTERS_PARAM, MAX_PARAM_CHARS
from memory_service.requests.outputs import EpisodeOut, EpisodePageOut

router = APIRouter(prefix="/v1/episodes", tags=["episodes"])


@router.get("", response_model=EpisodePageOut, responses=error_responses(401, 422))
async def list_episodes(
    call: CallDep,
    user_id: Annotated[ScopeId | None, Query()] = None,
    agent_id: Annotated[ScopeId | None, Query()] = None,
    session_id: Annotated[ScopeId | None, Query()] = None,
    since: UtcTime | None = None,
    until: UtcTime | None = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1)] = 50,
    order: Literal["asc", "desc"] = "asc",
    filters: Annotated[
        str | None, Query(max_length=MAX_PARAM_CHARS, description=FILTERS_PARAM)
    ] = None,
) -> EpisodePageOut:
    """Episodes of the tenant, filtered by scope, time and metadata, in time order, by
    pages."""
    return await messages.list_episodes(
        call,
        Scope(user_id, agent_id, session_id),
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
        descending=order == "desc",
        filters=filters,
    )


@router.get("/{episode_id}", response_model=EpisodeOut, responses=error_responses(401, 404, 422))
async def get_episode(episode_id: UUID, call: CallDep) -> EpisodeOut:
    return await messages.get_episode(call, episode_id)


@router.delete(
    "/{episode_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 404, 422),
)
async def delete_episode(episode_id: UUID, call: CallDep) -> None:
    """Delete one turn. It leaves the provenance of the facts drawn from it; a fact that
    had no other source is retired (status `deleted`, its history says why)."""
    await messages.delete_episode(call, episode_id)
