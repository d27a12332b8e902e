"""GET /v1/scopes: the tenant's users, agents and sessions with their counts;
DELETE /v1/scopes: forget a user, an agent or a session; POST /v1/reset: forget
everything of the tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from memory_service.api.deps import CallDep
from memory_service.api.errors import error_responses
from memory_service.domain.models import Scope
from memory_service.requests import scopes
from memory_service.requests.fields import ScopeId
from memory_service.requests.scopes import ResetIn, ResetOut, ScopeForgetOut, ScopePageOut

router = APIRouter(prefix="/v1", tags=["users"])


@router.get("/scopes", response_model=ScopePageOut, responses=error_responses(401, 422))
async def list_scopes(
    call: CallDep,
    user_id: Annotated[ScopeId | None, Query(description="only the scopes of this user")] = None,
    agent_id: Annotated[ScopeId | None, Query(description="only the scopes of this agent")] = None,
    session_id: Annotated[
        ScopeId | None, Query(description="only the scopes of this session")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1)] = 50,
) -> ScopePageOut:
    """Every exact ``(user_id, agent_id, session_id)`` triple found on the tenant's
    episodes or memories, with its counts of episodes, active facts and entities, most
    recently active first (then by ids), by pages. The ids given narrow the listing:
    ``?user_id=alice`` lists alice's agent and session triples."""
    return await scopes.list_scopes(
        call, Scope(user_id, agent_id, session_id), cursor=cursor, limit=limit
    )


@router.delete("/scopes", response_model=ScopeForgetOut, responses=error_responses(401, 422))
async def forget_scope(
    call: CallDep,
    user_id: Annotated[ScopeId | None, Query()] = None,
    agent_id: Annotated[ScopeId | None, Query()] = None,
    session_id: Annotated[ScopeId | None, Query()] = None,
) -> ScopeForgetOut:
    """Delete everything stored under the rows matching every id given (at least one):
    episodes, memories with their history, entities and memberships, retrieval logs and
    jobs, atomically. ``?agent_id=a`` forgets agent ``a`` across all users and sessions;
    ``?user_id=u&session_id=s`` forgets one session of one user. Idempotent: when nothing
    matches, the counts are zero (``DELETE /v1/users/{user_id}`` answers 404 instead).
    """
    return await scopes.forget_scope(call, Scope(user_id, agent_id, session_id))


@router.post("/reset", response_model=ResetOut, responses=error_responses(401, 422))
async def reset(body: ResetIn, call: CallDep) -> ResetOut:
    """Delete everything the tenant stored (every scope), atomically; the API keys stay.
    The body must be ``{"confirm": true}``."""
    return await scopes.reset(call)
