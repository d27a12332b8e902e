"""GET /v1/jobs/{id}: where a consolidation job stands."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from memory_service.api.deps import CallDep
from memory_service.api.errors import error_responses
from memory_service.requests import messages
from memory_service.requests.outputs import JobOut

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("/{job_id}", response_model=JobOut, responses=error_responses(401, 404, 422))
async def get_job(job_id: UUID, call: CallDep) -> JobOut:
    return await messages.get_job(call, job_id)
