"""GET /v1/graph/export: the scope's hypergraph as JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from memory_service.api.deps import CallDep
from memory_service.api.errors import error_responses
from memory_service.domain.models import Scope
from memory_service.requests import bulk
from memory_service.requests.fields import ScopeId

router = APIRouter(prefix="/v1/graph", tags=["graph"])


@router.get("/export", responses=error_responses(401, 422))
async def export(
    call: CallDep,
    user_id: Annotated[ScopeId | None, Query()] = None,
    agent_id: Annotated[ScopeId | None, Query()] = None,
    session_id: Annotated[ScopeId | None, Query()] = None,
) -> dict[str, Any]:
    """Entities (vertices), hyperedges (memories and episodes with their members) and
    connected components of one scope."""
    return await bulk.export_graph(call, Scope(user_id, agent_id, session_id))
