"""Annotated dependencies: components, the caller's key and tenant, and the call
(one unit of work under that tenant) that every operation of ``requests`` takes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from memory_service.bootstrap import Components
from memory_service.db.uow import SqlUnitOfWork
from memory_service.domain.errors import Unauthorized
from memory_service.domain.models import ApiKey
from memory_service.requests.call import Call, authenticate
from memory_service.requests.ratelimit import RateLimiter
from memory_service.requests.retrieval import reading

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer msk_...`")


async def get_components(request: Request) -> Components:
    """The process's parts. ``async`` though it awaits nothing: FastAPI runs a plain
    ``def`` dependency in its thread pool, a thread hop on every request."""
    components: Components = request.app.state.components
    return components


ComponentsDep = Annotated[Components, Depends(get_components)]


async def get_uow(
    components: ComponentsDep, key: Annotated[ApiKey, Depends(get_api_key)]
) -> AsyncIterator[SqlUnitOfWork]:
    """One transaction per request, under row-level security for the caller's tenant:
    committed after the handler, rolled back on error."""
    async with components.uow(tenant=key.tenant_id) as uow:
        yield uow


async def get_api_key(
    request: Request,
    components: ComponentsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    """The caller's key. An address past its failed authentications gets 429 before
    its key is looked at; then the key and its tenant each spend a request."""
    limiter: RateLimiter = request.app.state.rate_limiter
    address = request.client.host if request.client else None
    limiter.check_address(address)
    try:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthorized("send Authorization: Bearer <API key>")
        key = await authenticate(components, credentials.credentials)
    except Unauthorized:
        limiter.failed(address)
        raise
    limiter.admit(key.id, key.tenant_id)
    return key


KeyDep = Annotated[ApiKey, Depends(get_api_key)]
"""The caller's API key, authenticated (and rate limited)."""


async def get_tenant(key: KeyDep) -> UUID:
    return key.tenant_id


TenantDep = Annotated[UUID, Depends(get_tenant)]
UowDep = Annotated[SqlUnitOfWork, Depends(get_uow, scope="function")]
"""Committed when the handler returns, before the response is sent (read-your-writes)."""


async def get_call(uow: UowDep, tenant: TenantDep, components: ComponentsDep) -> Call:
    return Call(uow=uow, tenant=tenant, components=components)


CallDep = Annotated[Call, Depends(get_call)]
"""The request as ``requests`` takes it: its unit of work, tenant and components."""


async def get_read_call(components: ComponentsDep, tenant: TenantDep) -> AsyncIterator[Call]:
    """The call of a read (search, context, answer): on the replica when one is
    configured, its search log written on the primary before the response is sent."""
    async with reading(components, tenant) as call:
        yield call


ReadCallDep = Annotated[Call, Depends(get_read_call, scope="function")]
"""A read's call (``requests.retrieval.reading``)."""
