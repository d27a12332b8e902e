"""Tenants and their API keys (only hashes are stored)."""

from __future__ import annotations

import functools
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Select, bindparam, exists, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.db.models import ApiKeyRow, EmbeddingSpaceRow, Tenant
from memory_service.db.session import SETUP_LOCK
from memory_service.domain.errors import NotFound
from memory_service.domain.models import ApiKey
from memory_service.domain.spaces import EmbeddingSpace


def _key(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        tenant_id=row.tenant_id,
        tenant_name=row.tenant_name,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


_KEY_COLUMNS = (
    ApiKeyRow.id,
    ApiKeyRow.tenant_id,
    Tenant.name.label("tenant_name"),
    ApiKeyRow.name,
    ApiKeyRow.prefix,
    ApiKeyRow.created_at,
    ApiKeyRow.revoked_at,
)


class SqlTenants:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def create_tenant(self, name: str) -> UUID:
        tenant_id = uuid4()
        await self._s.execute(insert(Tenant).values(id=tenant_id, name=name))
        return tenant_id

    async def tenant_by_name(self, name: str) -> UUID | None:
        return (
            await self._s.execute(select(Tenant.id).where(Tenant.name == name))
        ).scalar_one_or_none()

    async def instructions(self, tenant: UUID) -> str | None:
        stmt = select(Tenant.instructions).where(Tenant.id == tenant)
        return (await self._s.execute(stmt)).scalar_one_or_none()

    async def set_instructions(self, tenant: UUID, instructions: str | None) -> None:
        stmt = update(Tenant).where(Tenant.id == tenant).values(instructions=instructions)
        if (await self._s.execute(stmt.returning(Tenant.id))).first() is None:
            raise NotFound(f"tenant {tenant} not found")

    async def embedding_space(self, tenant: UUID, *, lock: bool = False) -> EmbeddingSpace | None:
        """The space of the tenant's vectors (None: none recorded yet). ``lock``: hold the
        tenant's row in share mode to the end of the transaction, so that a reembed's
        switch (which updates it) waits for this writer, or this writer for it."""
        row = (await self._s.execute(_space(lock), {"tenant": tenant})).first()
        if row is None or row.model is None:
            return None
        return EmbeddingSpace(row.model, row.dim)

    async def claim_space(self, tenant: UUID, space: EmbeddingSpace) -> EmbeddingSpace | None:
        """Record ``space`` as the tenant's if it has none; the tenant's space after
        (another's, when a concurrent writer or a reembed recorded one first)."""
        await self._s.execute(
            pg_insert(EmbeddingSpaceRow)
            .values(model=space.model, dim=space.dim)
            .on_conflict_do_nothing(constraint="uq_embedding_spaces_model_dim")
        )
        space_id = (
            select(EmbeddingSpaceRow.id)
            .where(EmbeddingSpaceRow.model == space.model, EmbeddingSpaceRow.dim == space.dim)
            .scalar_subquery()
        )
        await self._s.execute(
            update(Tenant)
            .where(Tenant.id == tenant, Tenant.space_id.is_(None))
            .values(space_id=space_id)
        )
        return await self.embedding_space(tenant, lock=True)

    async def vector_width(self) -> int | None:
        """The declared width of ``episodes.embedding`` (every vector column has it)."""
        width = (
            await self._s.execute(
                text(
                    "SELECT atttypmod FROM pg_attribute WHERE attrelid = 'episodes'::regclass "
                    "AND attname = 'embedding' AND NOT attisdropped"
                )
            )
        ).scalar_one_or_none()
        return int(width) if width is not None and width > 0 else None

    async def any_tenant(self) -> bool:
        """Whether a tenant exists, asked under the setup lock (held to the end of the
        transaction): processes starting together on an empty database create the
        default tenant once, the others then see it."""
        await self._s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SETUP_LOCK})
        return bool((await self._s.execute(select(exists().select_from(Tenant)))).scalar())

    async def create_key(self, tenant: UUID, name: str, prefix: str, key_hash: str) -> ApiKey:
        key_id = uuid4()
        await self._s.execute(
            insert(ApiKeyRow).values(
                id=key_id, tenant_id=tenant, name=name, prefix=prefix, key_hash=key_hash
            )
        )
        found = await self._select(ApiKeyRow.id == key_id)
        assert found is not None
        return found[0]

    async def key_by_hash(self, key_hash: str) -> ApiKey | None:
        rows = (await self._s.execute(_key_by_hash(), {"key_hash": key_hash})).all()
        return _key(rows[0]) if rows else None

    async def list_keys(self) -> list[ApiKey]:
        return await self._select()

    async def revoke_key(self, key_id: UUID) -> bool:
        result = await self._s.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
            .values(revoked_at=func.now())
            .returning(ApiKeyRow.id)
        )
        return result.first() is not None

    async def _select(self, *where: Any) -> list[ApiKey]:
        return [_key(r) for r in (await self._s.execute(_keys(*where))).all()]


def _keys(*where: Any) -> Select[*tuple[Any, ...]]:
    return (
        select(*_KEY_COLUMNS)
        .join(Tenant, Tenant.id == ApiKeyRow.tenant_id)
        .where(*where)
        .order_by(ApiKeyRow.created_at)
    )


@functools.cache
def _key_by_hash() -> Select[*tuple[Any, ...]]:
    """Binds ``key_hash``. Every request asks it: built once."""
    return _keys(ApiKeyRow.key_hash == bindparam("key_hash"))


@functools.cache
def _space(lock: bool) -> Select[str, int]:
    """Binds ``tenant``. Every search and write asks it: built once."""
    stmt = (
        select(EmbeddingSpaceRow.model, EmbeddingSpaceRow.dim)
        .select_from(Tenant)
        .outerjoin(EmbeddingSpaceRow, EmbeddingSpaceRow.id == Tenant.space_id)
        .where(Tenant.id == bindparam("tenant"))
    )
    return stmt.with_for_update(read=True, of=Tenant) if lock else stmt
