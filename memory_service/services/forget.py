"""Forgetting: everything of one user, in one transaction."""

from __future__ import annotations

from uuid import UUID

from memory_service.domain.errors import NotFound
from memory_service.ports import UnitOfWork


async def forget_user(uow: UnitOfWork, tenant: UUID, user_id: str) -> dict[str, int]:
    counts = await uow.scopes.forget_user(tenant, user_id)
    if not any(counts.values()):
        raise NotFound(f"user {user_id} has nothing stored")
    return counts
