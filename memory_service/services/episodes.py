"""Reading and deleting raw episodes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from memory_service.domain.errors import InvalidInput, NotFound
from memory_service.domain.filters import MetadataFilter
from memory_service.domain.models import Episode, EpisodePage, Scope
from memory_service.ports import UnitOfWork
from memory_service.services.memories import delete_memory


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


async def delete_episode(
    uow: UnitOfWork, tenant: UUID, episode_id: UUID, *, now: datetime
) -> list[UUID]:
    """Delete a turn and what rests on it alone: it leaves the provenance of every fact
    drawn from it, and an active fact left with no source is retired (its validity
    closes; history records the cause). The ids of the retired facts."""
    if not await uow.episodes.delete(tenant, episode_id):
        raise NotFound(f"episode {episode_id} not found")
    retired = []
    for memory in await uow.memories.drop_source(tenant, episode_id):
        if memory.status == "active" and not memory.source_episode_ids:
            await delete_memory(
                uow, tenant, memory.id, now=now, cause=f"source episode {episode_id} deleted"
            )
            retired.append(memory.id)
    return retired
