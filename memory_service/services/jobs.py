"""Consolidation jobs as a listing: where each stands, newest first."""

from __future__ import annotations

from uuid import UUID

from memory_service.domain.models import Job, JobState, Scope
from memory_service.ports import UnitOfWork


async def list_jobs(
    uow: UnitOfWork,
    tenant: UUID,
    scope: Scope,
    *,
    state: JobState | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Job], str | None]:
    """The jobs of ``scope`` (an empty scope: all of the tenant's), in ``state`` when
    given, newest first, by pages."""
    return await uow.jobs.page(tenant, scope, state=state, cursor=cursor, limit=limit)
