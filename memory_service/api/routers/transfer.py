"""GET /v1/export and POST /v1/import: JSON Lines, idempotent round trips."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from memory_service.api.deps import ComponentsDep, TenantDep, UowDep
from memory_service.api.errors import error_responses
from memory_service.api.schemas import ScopeId
from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import Scope
from memory_service.services import transfer

router = APIRouter(prefix="/v1", tags=["export"])
NDJSON = "application/x-ndjson"


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {NDJSON: {}}}, **error_responses(401, 422)},
)
async def export(
    tenant: TenantDep,
    components: ComponentsDep,
    user_id: Annotated[ScopeId | None, Query()] = None,
    agent_id: Annotated[ScopeId | None, Query()] = None,
    session_id: Annotated[ScopeId | None, Query()] = None,
) -> StreamingResponse:
    """The tenant's (or one scope's) episodes, memories with their history, entities and
    hyperedge memberships, one JSON object a line, streamed from one snapshot."""
    scope = Scope(user_id, agent_id, session_id)

    async def lines() -> AsyncIterator[str]:
        async with components.uow(tenant=tenant) as uow:
            async for line in transfer.export_lines(uow.transfer, tenant, scope):
                yield line

    return StreamingResponse(lines(), media_type=NDJSON)


class ImportCounts(BaseModel):
    received: int
    added: int
    skipped: int


class ImportOut(BaseModel):
    imported: dict[str, ImportCounts]


@router.post("/import", response_model=ImportOut, responses=error_responses(401, 413, 422))
async def import_(request: Request, uow: UowDep, tenant: TenantDep) -> ImportOut:
    """Load an export into this tenant. All lines are validated first; then everything is
    stored in one transaction. Rows already present (same id) are skipped, so importing
    the same stream twice changes nothing."""
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput({"body": "not UTF-8 text"}) from exc
    grouped = transfer.parse_lines(text.splitlines())
    if not any(grouped.values()):
        raise InvalidInput({"body": "no records to import"})
    counts = await transfer.import_records(uow.transfer, tenant, grouped)
    return ImportOut(imported={k: ImportCounts(**v) for k, v in counts.items()})
