"""GET /v1/export and POST /v1/import: JSON Lines, idempotent round trips."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from memory_service.api.deps import CallDep, ComponentsDep, TenantDep
from memory_service.api.errors import error_responses
from memory_service.domain.models import Scope
from memory_service.requests import bulk
from memory_service.requests.fields import ScopeId
from memory_service.requests.outputs import ImportOut

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
    lines = bulk.export_lines(components, tenant, Scope(user_id, agent_id, session_id))
    return StreamingResponse(lines, media_type=NDJSON)


@router.post("/import", response_model=ImportOut, responses=error_responses(401, 413, 422))
async def import_(request: Request, call: CallDep) -> ImportOut:
    """Load an export into this tenant. All lines are validated first, each field as the
    rest of the API validates it (scope ids, texts, metadata, times; embeddings of 384
    finite numbers with a direction); the first bad line is a 422 naming its number and
    field, and nothing is stored. Then everything is stored in one transaction. Rows
    already present (same id) are skipped, so importing the same stream twice changes
    nothing."""
    return await bulk.import_lines(call, await request.body())
