"""Listing the tenant's scopes, forgetting a whole scope (a user, an agent, a session, or
a mix) and resetting the tenant: the request and answer models, and the calls the REST
routes make."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from memory_service.domain.models import Scope, ScopeSummary
from memory_service.requests.call import Call
from memory_service.requests.fields import Strict
from memory_service.services import forget, scopes


class ScopeForgetOut(BaseModel):
    """The scope forgotten (the parts it named) and the rows deleted per table."""

    user_id: str | None
    agent_id: str | None
    session_id: str | None
    deleted: dict[str, int]


class ScopeOut(BaseModel):
    """One exact user/agent/session triple of the tenant and what it holds."""

    user_id: str | None
    agent_id: str | None
    session_id: str | None
    episodes: int = Field(description="episodes stored under exactly this triple")
    facts: int = Field(description="active memories of exactly this triple")
    entities: int = Field(description="live (unmerged) entities of exactly this triple")
    last_activity: datetime | None = Field(
        description="when an episode was last stored or a memory last written here"
    )

    @classmethod
    def of(cls, s: ScopeSummary) -> ScopeOut:
        return cls(
            user_id=s.scope.user_id,
            agent_id=s.scope.agent_id,
            session_id=s.scope.session_id,
            episodes=s.episodes,
            facts=s.facts,
            entities=s.entities,
            last_activity=s.last_activity,
        )


class ScopePageOut(BaseModel):
    items: list[ScopeOut]
    next_cursor: str | None


class ResetIn(Strict):
    confirm: Literal[True]
    """Must be ``true`` (the JSON boolean): a reset deletes everything the tenant stored."""

    @field_validator("confirm", mode="before")
    @classmethod
    def _confirmed(cls, value: object) -> object:
        if value is not True:  # not 1, not "true": an explicit boolean only
            raise ValueError("a reset deletes everything: send confirm: true")
        return value


class ResetOut(BaseModel):
    deleted: dict[str, int]


async def list_scopes(call: Call, scope: Scope, *, cursor: str | None, limit: int) -> ScopePageOut:
    """The tenant's triples inside ``scope`` (each part given must match), most recently
    active first, by pages."""
    call.check_limit(limit)
    items, next_cursor = await scopes.list_scopes(
        call.uow, call.tenant, scope, cursor=cursor, limit=limit
    )
    return ScopePageOut(items=[ScopeOut.of(s) for s in items], next_cursor=next_cursor)


async def forget_scope(call: Call, scope: Scope) -> ScopeForgetOut:
    """Delete every episode, memory, entity, log and job of ``scope``, atomically."""
    deleted = await forget.forget_scope(call.uow, call.tenant, scope)
    return ScopeForgetOut(
        user_id=scope.user_id,
        agent_id=scope.agent_id,
        session_id=scope.session_id,
        deleted=deleted,
    )


async def reset(call: Call) -> ResetOut:
    """Delete everything the tenant stored, atomically; its API keys stay."""
    return ResetOut(deleted=await forget.reset(call.uow, call.tenant))
