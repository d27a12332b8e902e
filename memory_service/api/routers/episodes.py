"""Episodes: list, read, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, status

from memory_service.api.deps import ComponentsDep, TenantDep, UowDep
from memory_service.api.errors import error_responses
from memory_service.api.schemas import EpisodeOut, EpisodePageOut, ScopeId, as_utc
from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import Scope
from memory_service.services import episodes

router = APIRouter(prefix="/v1/episodes", tags=["episodes"])


@router.get("", response_model=EpisodePageOut, responses=error_responses(401, 422))
async def list_episodes(
    uow: UowDep,
    tenant: TenantDep,
    components: ComponentsDep,
    user_id: Annotated[ScopeId | None, Query()] = None,
    agent_id: Annotated[ScopeId | None, Query()] = None,
    session_id: Annotated[ScopeId | None, Query()] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1)] = 50,
    order: Literal["asc", "desc"] = "asc",
) -> EpisodePageOut:
    """Episodes of the tenant, filtered by scope and time, in time order, by pages."""
    if limit > components.settings.max_limit:
        raise InvalidInput({"limit": f"at most {components.settings.max_limit}"})
    page = await episodes.list_episodes(
        uow,
        tenant,
        Scope(user_id, agent_id, session_id),
        since=as_utc(since),
        until=as_utc(until),
        cursor=cursor,
        limit=limit,
        descending=order == "desc",
    )
    return EpisodePageOut(
        items=[EpisodeOut.of(e) for e in page.items], next_cursor=page.next_cursor
    )


@router.get("/{episode_id}", response_model=EpisodeOut, responses=error_responses(401, 404, 422))
async def get_episode(episode_id: UUID, uow: UowDep, tenant: TenantDep) -> EpisodeOut:
    return EpisodeOut.of(await episodes.get_episode(uow, tenant, episode_id))


@router.delete(
    "/{episode_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 404, 422),
)
async def delete_episode(episode_id: UUID, uow: UowDep, tenant: TenantDep) -> None:
    await episodes.delete_episode(uow, tenant, episode_id)
