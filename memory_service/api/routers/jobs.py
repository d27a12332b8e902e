"""GET /v1/jobs/{id}: where a consolidation job stands."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from memory_service.api.deps import TenantDep, UowDep
from memory_service.api.errors import error_responses
from memory_service.api.schemas import JobOut
from memory_service.domain.errors import NotFound

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("/{job_id}", response_model=JobOut, responses=error_responses(401, 404, 422))
async def get_job(job_id: UUID, uow: UowDep, tenant: TenantDep) -> JobOut:
    job = await uow.jobs.get(tenant, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return JobOut(
        id=job.id,
        kind=job.kind,
        state=job.state,
        attempts=job.attempts,
        last_error=job.last_error,
        created_at=job.created_at,
        updated_at=job.updated_at,
    )
