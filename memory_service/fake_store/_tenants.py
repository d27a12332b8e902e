"""Tenants and their API keys in memory, with the contracts of ``memory_service.db.tenants``."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from uuid import UUID

from memory_service.domain.errors import Conflict, NotFound
from memory_service.domain.models import ApiKey
from memory_service.domain.spaces import EmbeddingSpace
from memory_service.fake_store._tables import FakeStore, KeyRow


class FakeTenants:
    """Unique names and key hashes are enforced: a duplicate is a Conflict (where
    PostgreSQL raises an IntegrityError)."""

    def __init__(self, store: FakeStore, now: datetime) -> None:
        self._db = store
        self._now = now

    def _key(self, row: KeyRow) -> ApiKey:
        return replace(row.key, tenant_name=self._db.tenants[row.key.tenant_id])

    async def create_tenant(self, name: str) -> UUID:
        if name in self._db.tenants.values():
            raise Conflict(f"tenant {name!r} exists")
        tenant_id = self._db.new_id()
        self._db.tenants[tenant_id] = name
        return tenant_id

    async def tenant_by_name(self, name: str) -> UUID | None:
        return next((i for i, n in self._db.tenants.items() if n == name), None)

    async def any_tenant(self) -> bool:
        return bool(self._db.tenants)

    async def instructions(self, tenant: UUID) -> str | None:
        return self._db.instructions.get(tenant)

    async def set_instructions(self, tenant: UUID, instructions: str | None) -> None:
        if tenant not in self._db.tenants:
            raise NotFound(f"tenant {tenant} not found")
        if instructions is None:
            self._db.instructions.pop(tenant, None)
        else:
            self._db.instructions[tenant] = instructions

    async def embedding_space(self, tenant: UUID, *, lock: bool = False) -> EmbeddingSpace | None:
        return self._db.spaces.get(tenant)

    async def claim_space(self, tenant: UUID, space: EmbeddingSpace) -> EmbeddingSpace | None:
        return self._db.spaces.setdefault(tenant, space)

    async def vector_width(self) -> int | None:
        return None

    async def create_key(self, tenant: UUID, name: str, prefix: str, key_hash: str) -> ApiKey:
        if tenant not in self._db.tenants:
            raise NotFound(f"tenant {tenant} not found")
        if any(r.key_hash == key_hash for r in self._db.keys.values()):
            raise Conflict("an API key with this hash exists")
        key = ApiKey(self._db.new_id(), tenant, "", name, prefix, self._now, None)
        row = KeyRow(self._db.next_seq(), key, key_hash)
        self._db.keys[key.id] = row
        return self._key(row)

    async def key_by_hash(self, key_hash: str) -> ApiKey | None:
        row = next((r for r in self._db.keys.values() if r.key_hash == key_hash), None)
        return self._key(row) if row is not None else None

    async def list_keys(self) -> list[ApiKey]:
        rows = sorted(self._db.keys.values(), key=lambda r: (r.key.created_at, r.seq))
        return [self._key(r) for r in rows]

    async def revoke_key(self, key_id: UUID) -> bool:
        """Revoke a key once; False when it is unknown or revoked already."""
        row = self._db.keys.get(key_id)
        if row is None or row.key.revoked_at is not None:
            return False
        row.key = replace(row.key, revoked_at=self._now)
        return True
