"""Reading and deleting raw episodes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from memory_service.domain.errors import InvalidInput, NotFound
from memory_service.domain.filters import MetadataFilter
from memory_service.domain.models import Episode, EpisodePage, Scope
from memory_service.ports import UnitOfWork


async def get_episode(uow: UnitOfWork, tenant: UUID, episode_id: UUID) -> Episode:
    episode = await uow.episodes.get(tenant, episode_id)
    if episode is None:
        raise NotFound(f"episode {episode_id} not found")
    return episode


async def list_episodes(
    uow: UnitOfWork,
    tenant: UUID,
    scope: Scope,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
    descending: bool = False,
    where: MetadataFilter | None = None,
) -> EpisodePage:
    if since is not None and until is not None and until <= since:
        raise InvalidInput({"until": "until must be after since"})
    return await uow.episodes.page(
        tenant,
        scope,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
        descending=descending,
        where=where,
    )


async def delete_episode(uow: UnitOfWork, tenant: UUID, episode_id: UUID) -> None:
    if not await uow.episodes.delete(tenant, episode_id):
        raise NotFound(f"episode {episode_id} not found")
