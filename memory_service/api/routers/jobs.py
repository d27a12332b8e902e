"""GET /v1/jobs: the consolidation jobs of the tenant; GET /v1/jobs/{id}: where one
stands."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from memory_service.api.deps import CallDep
from memory_service.api.errors import error_responses
from memory_service.domain.models import JobState, Scope
from memory_service.requests import jobs, messages
from memory_service.requests.fields import ScopeId
from memory_service.requests.outputs import JobOut, JobPageOut

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("", response_model=JobPageOut, responses=error_responses(401, 422))
async def list_jobs(
    call: CallDep,
    user_id: Annotated[ScopeId | None, Query()] = None,
    agent_id: Annotated[ScopeId | None, Query()] = None,
    session_id: Annotated[ScopeId | None, Query()] = None,
    state: Annotated[JobState | None, Query(description="only the jobs in this state")] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1)] = 50,
) -> JobPageOut:
    """The tenant's consolidation jobs, filtered by scope and state, newest first, by
    pages: each with its state, attempts and last error."""
    return await jobs.list_jobs(
        call, Scope(user_id, agent_id, session_id), state=state, cursor=cursor, limit=limit
    )


@router.get("/{job_id}", response_model=JobOut, responses=error_responses(401, 404, 422))
async def get_job(job_id: UUID, call: CallDep) -> JobOut:
    return await messages.get_job(call, job_id)
