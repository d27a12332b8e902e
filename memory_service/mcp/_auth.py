"""API keys for MCP: the caller of each tool call, and a 401 gate in front of HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from mcp.server.mcpserver import Context
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from memory_service.bootstrap import Components
from memory_service.domain.errors import DatabaseUnavailable, RateLimited, Unauthorized
from memory_service.requests.call import authenticate
from memory_service.requests.ratelimit import RateLimiter, retry_after_header


def bearer(headers: Mapping[str, str]) -> str:
    """The key of an ``Authorization: Bearer <key>`` header (names are case-insensitive)."""
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, secret = value.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("send Authorization: Bearer <API key>")
    return secret.strip()


class Access:
    """Resolves the caller of a tool call to a tenant, and rate-limits it as the REST
    API does (token buckets per key, per tenant and, for failed authentications over
    HTTP, per client address; in this process)."""

    def __init__(self, components: Components, api_key: str | None) -> None:
        self._components = components
        self._api_key = api_key
        self.limiter = RateLimiter.from_settings(components.settings)

    async def tenant(self, ctx: Context) -> UUID:
        key_id, tenant = await self.authenticate(self._secret(ctx.headers))
        self.limiter.admit(key_id, tenant)
        return tenant

    async def authenticate(self, secret: str) -> tuple[UUID, UUID]:
        """(key id, tenant id); Unauthorized for a malformed, unknown or revoked key.
        Checked on every call, so revoking a key cuts off a running server's clients."""
        key = await authenticate(self._components, secret)
        return key.id, key.tenant_id

    def _secret(self, headers: Mapping[str, str] | None) -> str:
        if headers is not None:  # over HTTP: the caller's own key, never the server's
            return bearer(headers)
        if self._api_key is None:
            raise Unauthorized("no API key: start the MCP server with MEMORY_SERVICE_API_KEY set")
        return self._api_key


class BearerGuard:
    """Answers 401 before the MCP transport to an HTTP request whose key is missing,
    unknown or revoked, so a client learns at connect time; tool calls check again.
    An address past its failed authentications gets 429 before its key is looked at."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self._app = app
        self._access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            refusal = await self._refusal(Headers(scope=scope), client[0] if client else None)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self._app(scope, receive, send)

    async def _refusal(self, headers: Headers, address: str | None) -> JSONResponse | None:
        limiter = self._access.limiter
        try:
            limiter.check_address(address)
            await self._access.authenticate(bearer(headers))
        except RateLimited as exc:
            body = {"error": "RateLimited", "detail": exc.detail}
            retry = retry_after_header(exc.retry_after_s)
            return JSONResponse(body, status_code=429, headers={"Retry-After": retry})
        except Unauthorized as exc:
            limiter.failed(address)
            body = {"error": "Unauthorized", "detail": exc.detail}
            return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        except DatabaseUnavailable:
            body = {"error": "Unavailable", "detail": "the database is unavailable; retry shortly"}
            return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})
        return None
