"""DELETE /v1/users/{user_id}: forget a user entirely."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from memory_service.api.deps import TenantDep, UowDep
from memory_service.api.errors import error_responses
from memory_service.api.schemas import ForgetOut, ScopeId
from memory_service.services import forget

router = APIRouter(prefix="/v1/users", tags=["users"])


@router.delete("/{user_id}", response_model=ForgetOut, responses=error_responses(401, 404, 422))
async def forget_user(
    user_id: Annotated[ScopeId, Path()], uow: UowDep, tenant: TenantDep
) -> ForgetOut:
    """Delete every episode, memory, entity, log and job of ``user_id``, atomically."""
    return ForgetOut(user_id=user_id, deleted=await forget.forget_user(uow, tenant, user_id))
