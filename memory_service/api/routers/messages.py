"""POST /v1/messages: the write path."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from memory_service.api.deps import ComponentsDep, TenantDep, UowDep, utcnow
from memory_service.api.errors import error_responses
from memory_service.api.schemas import MessagesIn, MessagesOut, NulFree, check_limits
from memory_service.services import ingest

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
    body: MessagesIn,
    response: Response,
    uow: UowDep,
    tenant: TenantDep,
    components: ComponentsDep,
    idempotency_key: IdempotencyKey = None,
) -> MessagesOut:
    """Store a batch of messages as episodes and queue their consolidation."""
    check_limits(body, components.settings)
    result = await ingest.add_messages(
        uow,
        components.embedder,
        tenant,
        body.scope(),
        [m.to_domain() for m in body.messages],
        now=utcnow(),
        idempotency_key=idempotency_key,
        request_hash=ingest.fingerprint(body.model_dump(mode="json")),
    )
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return MessagesOut(
        episode_ids=list(result.episode_ids), job_id=result.job_id, replayed=result.replayed
    )
