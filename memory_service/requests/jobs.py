"""Consolidation jobs as a listing, for the transports."""

from __future__ import annotations

from memory_service.domain.models import JobState, Scope
from memory_service.requests.call import Call
from memory_service.requests.outputs import JobPageOut, ScopedJobOut
from memory_service.services import jobs


async def list_jobs(
    call: Call, scope: Scope, *, state: JobState | None, cursor: str | None, limit: int
) -> JobPageOut:
    """The tenant's jobs of ``scope`` (and ``state``), newest first, by pages."""
    call.check_limit(limit)
    items, next_cursor = await jobs.list_jobs(
        call.uow, call.tenant, scope, state=state, cursor=cursor, limit=limit
    )
    return JobPageOut(items=[ScopedJobOut.of(j) for j in items], next_cursor=next_cursor)
