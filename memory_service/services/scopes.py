"""The tenant's scopes as a listing: each exact user/agent/session triple with its counts."""

from __future__ import annotations

from uuid import UUID

from memory_service.domain.models import Scope, ScopeSummary
from memory_service.ports import UnitOfWork


async def list_scopes(
    uow: UnitOfWork, tenant: UUID, scope: Scope, *, cursor: str | None, limit: int
) -> tuple[list[ScopeSummary], str | None]:
    """The triples inside ``scope`` (an empty scope: all of the tenant's), most recently
    active first, by pages."""
    return await uow.scopes.page(tenant, scope, cursor=cursor, limit=limit)
