"""Forgetting: everything of one scope (a user, an agent, a session) or of the whole
tenant, in one transaction."""

from __future__ import annotations

from uuid import UUID

from memory_service.domain.errors import NotFound
from memory_service.domain.models import Scope
from memory_service.ports import UnitOfWork


async def forget_user(uow: UnitOfWork, tenant: UUID, user_id: str) -> dict[str, int]:
    """Delete everything of ``user_id``; NotFound when there was nothing."""
    counts = await forget_scope(uow, tenant, Scope(user_id=user_id))
    if not any(counts.values()):
        raise NotFound(f"user {user_id} has nothing stored")
    return counts


async def forget_scope(uow: UnitOfWork, tenant: UUID, scope: Scope) -> dict[str, int]:
    """Delete every row whose scope matches each part ``scope`` gives: episodes,
    memories with their history, entities and memberships, retrieval logs, jobs.
    Idempotent: nothing to delete is zero counts, not an error. An empty scope is
    refused (InvalidInput); forgetting the whole tenant is ``reset``."""
    return await uow.scopes.forget(tenant, scope.require())


async def reset(uow: UnitOfWork, tenant: UUID) -> dict[str, int]:
    """Delete everything the tenant stored (its API keys stay); an empty tenant
    deletes nothing."""
    return await uow.scopes.forget(tenant, Scope())
