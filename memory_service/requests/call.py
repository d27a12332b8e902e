"""Who is calling: an API key resolved to its tenant, and that tenant's unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from memory_service.bootstrap import Components
from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import ApiKey
from memory_service.ports import UnitOfWork
from memory_service.services import tenants


@dataclass(frozen=True, slots=True)
class Call:
    """One request: its unit of work (one transaction, under the tenant's row-level
    security), the caller's tenant, and the parts that live as long as the process."""

    uow: UnitOfWork
    tenant: UUID
    components: Components

    def check_limit(self, limit: int) -> None:
        """InvalidInput when ``limit`` asks for more items than the settings allow."""
        if limit > self.components.settings.max_limit:
            raise InvalidInput({"limit": f"at most {self.components.settings.max_limit}"})


async def authenticate(components: Components, secret: str) -> ApiKey:
    """The key ``secret`` names; Unauthorized for a malformed, unknown or revoked key.
    Checked on every request, so revoking a key cuts off its callers at once: one
    statement, in autocommit."""
    async with components.lookup() as uow:
        return await tenants.authenticate(uow, secret)
