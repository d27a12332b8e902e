"""DELETE /v1/users/{user_id}: forget a user entirely."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from memory_service.api.deps import CallDep
from memory_service.api.errors import error_responses
from memory_service.requests import bulk
from memory_service.requests.fields import ScopeId
from memory_service.requests.outputs import ForgetOut

router = APIRouter(prefix="/v1/users", tags=["users"])


@router.delete("/{user_id}", response_model=ForgetOut, responses=error_responses(401, 404, 422))
async def forget_user(user_id: Annotated[ScopeId, Path()], call: CallDep) -> ForgetOut:
    """Delete every episode, memory, entity, log and job of ``user_id``, atomically."""
    return await bulk.forget_user(call, user_id)
