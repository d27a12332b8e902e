"""Tenants and API keys: keys are shown once and stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from uuid import UUID

from memory_service.domain.errors import Conflict, NotFound, Unauthorized
from memory_service.domain.models import ApiKey
from memory_service.ports import UnitOfWork

KEY_PREFIX = "msk_"
DEFAULT_TENANT = "default"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: ApiKey
    secret: str


def hash_key(secret: str) -> str:
    """SHA-256 is enough: keys carry 256 random bits, so no stretching is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def issue_key(uow: UnitOfWork, tenant_name: str, key_name: str) -> IssuedKey:
    """Create a key for ``tenant_name``, creating the tenant when it is new."""
    tenant = await uow.tenants.tenant_by_name(tenant_name)
    if tenant is None:
        tenant = await uow.tenants.create_tenant(tenant_name)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = await uow.tenants.create_key(tenant, key_name, secret[:12], hash_key(secret))
    return IssuedKey(key=key, secret=secret)


async def ensure_default_tenant(uow: UnitOfWork) -> IssuedKey | None:
    """On first start: a default tenant and its first key; later starts do nothing."""
    if await uow.tenants.any_tenant():
        return None
    return await issue_key(uow, DEFAULT_TENANT, "default")


async def authenticate(uow: UnitOfWork, secret: str) -> ApiKey:
    if not secret.startswith(KEY_PREFIX):
        raise Unauthorized("malformed API key")
    # Looked up by SHA-256: nothing compares the secret byte by byte, so response
    # times tell an attacker nothing about how close a guess was.
    key = await uow.tenants.key_by_hash(hash_key(secret))
    if key is None:
        raise Unauthorized("unknown API key")
    if key.revoked_at is not None:
        raise Unauthorized("this API key was revoked")
    return key


async def revoke_key(uow: UnitOfWork, key_id: UUID) -> None:
    if not await uow.tenants.revoke_key(key_id):
        keys = {k.id for k in await uow.tenants.list_keys()}
        raise (
            Conflict(f"key {key_id} is already revoked")
            if key_id in keys
            else NotFound(f"key {key_id} not found")
        )
