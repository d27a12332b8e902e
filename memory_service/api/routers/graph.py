"""GET /v1/graph/export: the scope's hypergraph as JSON."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from memory_service.api.deps import CallDep
from memory_service.api.errors import error_responses
from memory_service.domain.models import Scope
from memory_service.requests import bulk
from memory_service.requests.fields import ScopeId

router = APIRouter(prefix="/v1/graph", tags=["graph"])


class GraphEntity(BaseModel):
    """A vertex: a person, place, thing or idea named in the scope's memories."""

    id: UUID
    name: str
    type: str = Field(description="person, place, organization, ... or other")
    aliases: list[str] = Field(description="other names merged into this entity")


class EdgeMember(BaseModel):
    entity_id: UUID
    role: str = Field(description="how the entity takes part: mention, subject, ...")


class Hyperedge(BaseModel):
    """A memory or an episode, joining every entity it names."""

    kind: Literal["memory", "episode"]
    id: UUID = Field(description="the memory's or the episode's id")
    text: str | None = Field(description="its text (null if it was deleted meanwhile)")
    members: list[EdgeMember]


class GraphOut(BaseModel):
    entities: list[GraphEntity]
    hyperedges: list[Hyperedge]
    components: list[list[UUID]] = Field(
        description="connected components: groups of entity ids joined through the "
        "hyperedges returned"
    )
    truncated: bool = Field(
        default=False, description="true when max_edges left some hyperedges out"
    )


@router.get("/export", response_model=GraphOut, responses=error_responses(401, 422))
async def export_graph(
    call: CallDep,
    user_id: Annotated[ScopeId | None, Query(description="the user whose graph this is")] = None,
    agent_id: Annotated[ScopeId | None, Query(description="the agent whose graph this is")] = None,
    session_id: Annotated[
        ScopeId | None, Query(description="the session whose graph this is")
    ] = None,
    kinds: Annotated[
        Literal["memory", "episode", "all"],
        Query(description="which hyperedges: memories, episodes, or all"),
    ] = "all",
    max_edges: Annotated[
        int | None,
        Query(
            ge=1,
            description="at most this many hyperedges (memories first); "
            "truncated is then true if some were left out",
        ),
    ] = None,
) -> dict[str, Any]:
    """Entities (vertices), hyperedges (memories and episodes with their members) and
    connected components of one scope (give at least one of its ids)."""
    return await bulk.export_graph(
        call, Scope(user_id, agent_id, session_id), kinds=kinds, max_edges=max_edges
    )
