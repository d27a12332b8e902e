"""Forgetting a whole scope (a user, an agent, a session, or a mix) and resetting the
tenant: the request and answer models, and the calls the REST routes make."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, field_validator

from memory_service.domain.models import Scope
from memory_service.requests.call import Call
from memory_service.requests.fields import Strict
from memory_service.services import forget


class ScopeForgetOut(BaseModel):
    """The scope forgotten (the parts it named) and the rows deleted per table."""

    user_id: str | None
    agent_id: str | None
    session_id: str | None
    deleted: dict[str, int]


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
