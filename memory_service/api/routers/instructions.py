"""GET/PUT /v1/instructions: the tenant's standing extraction instructions."""

from __future__ import annotations

from fastapi import APIRouter

from memory_service.api.deps import CallDep
from memory_service.api.errors import error_responses
from memory_service.requests import instructions
from memory_service.requests.instructions import InstructionsIn, InstructionsOut

router = APIRouter(prefix="/v1/instructions", tags=["memories"])


@router.get("", response_model=InstructionsOut, responses=error_responses(401))
async def get_instructions(call: CallDep) -> InstructionsOut:
    """The tenant's standing extraction instructions (null when none are set)."""
    return await instructions.get_instructions(call)


@router.put("", response_model=InstructionsOut, responses=error_responses(401, 422))
async def set_instructions(body: InstructionsIn, call: CallDep) -> InstructionsOut:
    """Set (or, with null, clear) what every consolidation of the tenant should remember
    and ignore. They apply to jobs that run from now on, queued ones included; a
    request's own `instructions` (on `POST /v1/messages`) follow them and win where the
    two disagree."""
    return await instructions.set_instructions(call, body)
