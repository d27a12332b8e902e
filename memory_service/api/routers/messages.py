"""POST /v1/messages: the write path."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from memory_service.api.deps import CallDep
from memory_service.api.errors import error_responses
from memory_service.requests import messages
from memory_service.requests.fields import NulFree
from memory_service.requests.inputs import MessagesIn
from memory_service.requests.outputs import MessagesOut

router = APIRouter(prefix="/v1", tags=["messages"])

IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255), NulFree
]


@router.post(
    "/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=MessagesOut,
    responses=error_responses(401, 409, 413, 422),
)
async def add_messages(
    body: MessagesIn, response: Response, call: CallDep, idempotency_key: IdempotencyKey = None
) -> MessagesOut:
    """Store a batch of messages as episodes and queue their consolidation."""
    added = await messages.add_messages(call, body, idempotency_key=idempotency_key)
    if added.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return added
