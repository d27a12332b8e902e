"""GET /v1/export and POST /v1/import: JSON Lines, idempotent round trips."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, RootModel

from memory_service.api.deps import CallDep, ComponentsDep, TenantDep
from memory_service.api.errors import error_responses
from memory_service.domain.models import Scope
from memory_service.requests import bulk
from memory_service.requests.fields import ScopeId
from memory_service.requests.imports import (
    EntityRecord,
    EpisodeRecord,
    HistoryRecord,
    MembershipRecord,
    MemoryRecord,
)
from memory_service.requests.outputs import ImportOut

router = APIRouter(prefix="/v1", tags=["export"])
NDJSON = "application/x-ndjson"


class NDJSONResponse(StreamingResponse):
    media_type = NDJSON


class ExportHeader(BaseModel):
    """The first line of every export."""

    type: Literal["header"]
    format: Literal["memory-service/export"]
    version: Literal[1]
    scope: dict[str, str | None] = Field(description="user_id, agent_id, session_id exported")


class ExportLine(
    RootModel[
        Annotated[
            ExportHeader
            | EpisodeRecord
            | MemoryRecord
            | HistoryRecord
            | EntityRecord
            | MembershipRecord,
            Field(discriminator="type"),
        ]
    ]
):
    """One line of an export (the body is one such JSON object a line): the header, then
    episodes, memories, memory history, entities and memberships; ``/v1/import`` takes
    the same lines."""


@router.get(
    "/export",
    response_class=NDJSONResponse,
    responses={
        200: {"model": ExportLine, "description": "JSON Lines: each line one ExportLine"},
        **error_responses(401, 422),
    },
)
async def export(
    tenant: TenantDep,
    components: ComponentsDep,
    user_id: Annotated[ScopeId | None, Query(description="export this user's records only")] = None,
    agent_id: Annotated[
        ScopeId | None, Query(description="export this agent's records only")
    ] = None,
    session_id: Annotated[
        ScopeId | None, Query(description="export this session's records only")
    ] = None,
) -> StreamingResponse:
    """The tenant's (or one scope's) episodes, memories with their history, entities and
    hyperedge memberships, one JSON object a line, streamed from one snapshot."""
    lines = bulk.export_lines(components, tenant, Scope(user_id, agent_id, session_id))
    return NDJSONResponse(lines, media_type=NDJSON)


@router.post("/import", response_model=ImportOut, responses=error_responses(401, 413, 422))
async def import_(request: Request, call: CallDep) -> ImportOut:
    """Load an export into this tenant. All lines are validated first, each field as the
    rest of the API validates it (scope ids, texts, metadata, times; embeddings as wide
    as the service's embedder, of finite numbers with a direction); the first bad line
    is a 422 naming its number and field, and nothing is stored. Then everything is
    stored in one transaction. Rows already present (same id) are skipped, so
    importing the same stream twice changes nothing."""
    return await bulk.import_lines(call, await request.body())
