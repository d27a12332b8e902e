"""API keys for MCP: the caller of each tool call, and a 401 gate in front of HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from mcp.server.mcpserver import Context
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from memory_service.bootstrap import Components
from memory_service.domain.errors import DatabaseUnavailable, Unauthorized
from memory_service.requests.call import authenticate
from memory_service.requests.ratelimit import RateLimiter


def bearer(headers: Mapping[str, str]) -> str:
    """The key of an ``Authorization: Bearer <key>`` header (names are case-insensitive)."""
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, secret = value.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("send Authorization: Bearer <API key>")
    return secret.strip()


class Access:
    """Resolves the caller of a tool call to a tenant, and rate-limits it per key as the
    REST API does (a token bucket per key, in this process)."""

    def __init__(self, components: Components, api_key: str | None) -> None:
        self._components = components
        self._api_key = api_key
        settings = components.settings
        self._limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)

    async def tenant(self, ctx: Context) -> UUID:
        key_id, tenant = await self.authenticate(self._secret(ctx.headers))
        self._limiter.admit(key_id)
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
            raise Unauthorized("no API key: start the MCP server with MEMORY_API_KEY set")
        return self._api_key


class BearerGuard:
    """Answers 401 before the MCP transport to an HTTP request whose key is missing,
    unknown or revoked, so a client learns at connect time; tool calls check again."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self._app = app
        self._access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = await self._refusal(Headers(scope=scope))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self._app(scope, receive, send)

    async def _refusal(self, headers: Headers) -> JSONResponse | None:
        try:
            await self._access.authenticate(bearer(headers))
        except Unauthorized as exc:
            body = {"error": "Unauthorized", "detail": exc.detail}
            return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        except DatabaseUnavailable:
            body = {"error": "Unavailable", "detail": "the database is unavailable; retry shortly"}
            return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})
        return None
