"""POST /v1/feedback: reward what a retrieval returned (MemRL utilities)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from memory_service.api.deps import CallDep
from memory_service.api.errors import error_responses
from memory_service.requests import retrieval
from memory_service.requests.fields import NulFree
from memory_service.requests.inputs import FeedbackIn
from memory_service.requests.outputs import FeedbackOut

router = APIRouter(prefix="/v1", tags=["feedback"])


@router.post("/feedback", response_model=FeedbackOut, responses=error_responses(401, 404, 422))
async def give_feedback(
    body: FeedbackIn,
    call: CallDep,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255), NulFree
    ] = None,
) -> FeedbackOut:
    """``Q <- Q + 0.3 (reward - Q)`` for each credited item, once per feedback id."""
    return await retrieval.give_feedback(call, body, idempotency_key=idempotency_key)
