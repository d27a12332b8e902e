"""POST /v1/feedback: reward what a retrieval returned (MemRL utilities)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header
from pydantic import Field

from memory_service.api.deps import TenantDep, UowDep
from memory_service.api.errors import error_responses
from memory_service.api.schemas import FeedbackOut, NulFree, Strict
from memory_service.services import feedback

router = APIRouter(prefix="/v1", tags=["feedback"])


class FeedbackIn(Strict):
    retrieval_id: UUID
    reward: float = Field(ge=-1.0, le=1.0, description="-1 (harmful) .. 1 (useful)")
    memory_ids: list[UUID] | None = Field(
        default=None, max_length=1000, description="credit only these returned items"
    )
    feedback_id: str | None = Field(
        default=None, min_length=1, max_length=255, description="idempotency key"
    )


@router.post("/feedback", response_model=FeedbackOut, responses=error_responses(401, 404, 422))
async def give_feedback(
    body: FeedbackIn,
    uow: UowDep,
    tenant: TenantDep,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255), NulFree
    ] = None,
) -> FeedbackOut:
    """``Q <- Q + 0.3 (reward - Q)`` for each credited item, once per feedback id."""
    feedback_id = feedback.feedback_id_for(tenant, body.feedback_id or idempotency_key)
    result = await feedback.give_feedback(
        uow,
        tenant,
        body.retrieval_id,
        body.reward,
        feedback_id=feedback_id,
        item_ids=body.memory_ids,
    )
    return FeedbackOut(
        feedback_id=result.feedback_id, applied=result.applied, utilities=result.utilities
    )
