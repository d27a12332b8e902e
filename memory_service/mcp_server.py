"""The memory tools over the Model Context Protocol, on stdio or streamable HTTP.

An entrypoint like the REST API: each tool call authenticates an API key, opens one unit
of work under the key's tenant, calls the same service as the matching REST route, and
returns the same DTO. Domain errors become MCP tool errors (``is_error``) whose text
names the error class and its detail; nothing here is allowed to crash the session.

The key: over HTTP, each request's ``Authorization: Bearer`` header (the server's own key
is never used there); over stdio, the key the server was started with.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field, ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from memory_service import __version__
from memory_service.adapters.tokens import count_tokens
from memory_service.api.ratelimit import RateLimiter
from memory_service.api.routers.answer import ContextOut
from memory_service.api.routers.feedback import FeedbackOut
from memory_service.api.routers.messages import check_limits
from memory_service.api.schemas import (
    ForgetOut,
    MessageIn,
    MessagesIn,
    MessagesOut,
    ScopeId,
    SearchHitOut,
    SearchIn,
    SearchOut,
    as_utc,
)
from memory_service.bootstrap import Components
from memory_service.domain.errors import (
    InvalidInput,
    MemoryServiceError,
    RateLimited,
    Unauthorized,
)
from memory_service.domain.models import Scope as MemoryScope
from memory_service.domain.models import SearchQuery
from memory_service.ports import UnitOfWork
from memory_service.services import ingest, recall, tenants
from memory_service.services.context import build_context
from memory_service.services.feedback import give_feedback
from memory_service.services.forget import forget_user
from policies.recipes import PRESETS, RecallConfig

Transport = Literal["stdio", "http"]
MCP_PATH = "/mcp"
_DATABASE_DOWN = (OperationalError, InterfaceError, OSError)

UserId = Annotated[ScopeId | None, Field(description="whose memory (a scope part)")]
AgentId = Annotated[ScopeId | None, Field(description="which agent (a scope part)")]
SessionId = Annotated[ScopeId | None, Field(description="which conversation (a scope part)")]
Moment = Annotated[datetime | None, Field(description="ISO 8601; naive times are UTC")]

INSTRUCTIONS = (
    "Long-term memory. `add` stores conversation messages for a scope (user_id, agent_id "
    "and/or session_id; at least one). `search` finds stored messages and extracted facts; "
    "`context` returns a ready-to-paste block. Send `feedback` with the retrieval_id they "
    "return to reward what helped. `forget` deletes everything stored for a user."
)


class _Access:
    """Resolves the caller of a tool call to a tenant, and rate-limits it per key."""

    def __init__(self, components: Components, api_key: str | None) -> None:
        self._components = components
        self._api_key = api_key
        settings = components.settings
        self._limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)

    async def tenant(self, ctx: Context) -> UUID:
        key_id, tenant = await self.authenticate(self._secret(ctx.headers))
        wait = self._limiter.acquire(key_id)
        if wait is not None:
            raise RateLimited(
                f"rate limit of this API key exceeded; retry in {wait:.1f} s", retry_after_s=wait
            )
        return tenant

    async def authenticate(self, secret: str) -> tuple[UUID, UUID]:
        """(key id, tenant id); Unauthorized for an unknown or revoked key. Checked on
        every call, so revoking a key ends the access of a running server's clients."""
        async with self._components.uow() as uow:
            key = await tenants.authenticate(uow, secret)
        return key.id, key.tenant_id

    def _secret(self, headers: Mapping[str, str] | None) -> str:
        if headers is not None:  # over HTTP: the caller's own key, never the server's
            return bearer(headers)
        if self._api_key is None:
            raise Unauthorized("no API key: start the MCP server with MEMORY_API_KEY set")
        return self._api_key


def bearer(headers: Mapping[str, str]) -> str:
    """The key of an ``Authorization: Bearer <key>`` header (names are case-insensitive)."""
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, secret = value.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("send Authorization: Bearer <API key>")
    return secret.strip()


def describe(exc: MemoryServiceError | ValidationError) -> str:
    """``Class: detail``, with a field-keyed detail flattened to ``field: message; ...``."""
    if isinstance(exc, ValidationError):
        fields = {".".join(map(str, e["loc"])) or "arguments": e["msg"] for e in exc.errors()}
        return describe(InvalidInput(fields))
    detail = exc.detail
    if isinstance(detail, Mapping):
        detail = "; ".join(f"{field}: {message}" for field, message in detail.items())
    return f"{type(exc).__name__}: {detail}"


@contextmanager
def _tool_errors() -> Iterator[None]:
    """Expected failures as tool errors the model can read and act on."""
    try:
        yield
    except (MemoryServiceError, ValidationError) as exc:
        raise ToolError(describe(exc)) from exc
    except _DATABASE_DOWN as exc:
        # Entrypoint: nothing was committed; the caller may retry.
        raise ToolError("UpstreamUnavailable: the database is unavailable; retry shortly") from exc


def _preset(name: str | None, default: str) -> RecallConfig:
    chosen = name or default
    if chosen not in PRESETS:
        raise InvalidInput({"preset": f"unknown preset; known: {sorted(PRESETS)}"})
    return PRESETS[chosen]


def _scope(user_id: str | None, agent_id: str | None, session_id: str | None) -> MemoryScope:
    scope = MemoryScope(user_id, agent_id, session_id)
    if scope.is_empty():
        raise InvalidInput({"scope": "give at least one of user_id, agent_id, session_id"})
    return scope


class _Tools:
    """One method per tool; each is one unit of work, like one REST request."""

    def __init__(self, components: Components, access: _Access) -> None:
        self._components = components
        self._access = access

    @asynccontextmanager
    async def _call(self, ctx: Context) -> AsyncIterator[tuple[UnitOfWork, UUID]]:
        with _tool_errors():
            tenant = await self._access.tenant(ctx)
            async with self._components.uow(tenant=tenant) as uow:
                yield uow, tenant

    async def add(
        self,
        ctx: Context,
        messages: Annotated[list[MessageIn], Field(min_length=1)],
        user_id: UserId = None,
        agent_id: AgentId = None,
        session_id: SessionId = None,
        idempotency_key: Annotated[str | None, Field(min_length=1, max_length=255)] = None,
    ) -> MessagesOut:
        """Store conversation messages for a scope; facts are extracted from them in the
        background. Retrying with the same idempotency_key stores nothing twice."""
        async with self._call(ctx) as (uow, tenant):
            body = MessagesIn(
                user_id=user_id, agent_id=agent_id, session_id=session_id, messages=messages
            )
            check_limits(body, self._components.settings)
            result = await ingest.add_messages(
                uow,
                self._components.embedder,
                tenant,
                _scope(user_id, agent_id, session_id),
                [m.to_domain() for m in body.messages],
                now=datetime.now(UTC),
                idempotency_key=idempotency_key,
                request_hash=ingest.fingerprint(body.model_dump(mode="json")),
            )
        return MessagesOut(
            episode_ids=list(result.episode_ids), job_id=result.job_id, replayed=result.replayed
        )

    async def search(
        self,
        ctx: Context,
        query: Annotated[str, Field(min_length=1, description="what to look for")],
        user_id: UserId = None,
        agent_id: AgentId = None,
        session_id: SessionId = None,
        limit: Annotated[int, Field(ge=1)] = 10,
        since: Moment = None,
        until: Moment = None,
        kinds: list[Literal["episode", "memory"]] | None = None,
        preset: Annotated[str | None, Field(description=f"one of {sorted(PRESETS)}")] = None,
        mode: Literal["auto", "fast", "deliberate"] = "auto",
        now: Annotated[datetime | None, Field(description="resolve 'last week' against")] = None,
    ) -> SearchOut:
        """Hybrid search over stored messages (episodes) and facts (memories) of a scope.
        Returns hits with scores and a retrieval_id for feedback."""
        settings = self._components.settings
        async with self._call(ctx) as (uow, tenant):
            body = SearchIn(
                query=query,
                user_id=user_id,
                agent_id=agent_id,
                session_id=session_id,
                limit=limit,
                since=since,
                until=until,
                kinds=kinds or ["episode", "memory"],
                preset=preset,
                mode=mode,
                now=now,
            )
            if body.limit > settings.max_limit:
                raise InvalidInput({"limit": f"at most {settings.max_limit}"})
            if body.since and body.until and body.until <= body.since:
                raise InvalidInput({"until": "until must be after since"})
            search_query = SearchQuery(
                text=body.query,
                scope=_scope(user_id, agent_id, session_id),
                limit=body.limit,
                since=body.since,
                until=body.until,
                kinds=tuple(dict.fromkeys(body.kinds)),
            )
            config = _preset(body.preset, settings.default_preset)
            options = self._components.recall_options(mode=body.mode, now=body.now)
            result = await recall.search(
                uow, self._components.embedder, tenant, search_query, config, options=options
            )
        return SearchOut(
            retrieval_id=result.retrieval_id,
            route="deliberate" if result.route == "deliberate" else "fast",
            gate=dict(result.gate) if result.gate else None,
            results=[SearchHitOut.of(h) for h in result.hits],
            timings_ms=dict(result.timings_ms),
            cost=dict(result.cost),
        )

    async def context(
        self,
        ctx: Context,
        user_id: UserId = None,
        agent_id: AgentId = None,
        session_id: SessionId = None,
        query: Annotated[
            str | None, Field(max_length=8000, description="focus; none: the most useful facts")
        ] = None,
        token_budget: Annotated[int, Field(ge=50, le=100_000)] = 1000,
        now: Moment = None,
    ) -> ContextOut:
        """A ready-to-paste context block for a scope (facts, dated conversation excerpts,
        entities), packed to token_budget (cl100k_base tokens) in rank order."""
        async with self._call(ctx) as (uow, tenant):
            built = await build_context(
                uow,
                self._components.embedder,
                tenant,
                _scope(user_id, agent_id, session_id),
                query=query if query and query.strip() else None,
                token_budget=token_budget,
                config=_preset(None, self._components.settings.default_preset),
                count=count_tokens,
                now=as_utc(now) or datetime.now(UTC),
            )
        return ContextOut(
            context=built.text,
            tokens=built.tokens,
            memory_ids=built.memory_ids,
            episode_ids=built.episode_ids,
            entities=built.entities,
            retrieval_id=built.retrieval_id,
        )

    async def feedback(
        self,
        ctx: Context,
        retrieval_id: UUID,
        reward: Annotated[float, Field(ge=-1.0, le=1.0, description="-1 harmful .. 1 useful")],
        memory_ids: Annotated[
            list[UUID] | None, Field(max_length=1000, description="credit only these hits")
        ] = None,
        feedback_id: Annotated[
            str | None, Field(min_length=1, max_length=255, description="idempotency key")
        ] = None,
    ) -> FeedbackOut:
        """Reward what a search or context call returned: each credited item's utility
        moves toward the reward (Q <- Q + 0.3 (reward - Q)), once per feedback_id."""
        async with self._call(ctx) as (uow, tenant):
            # The same id derivation as the REST route: one feedback id, one application.
            fid = uuid5(NAMESPACE_URL, f"memory-feedback:{tenant}:{feedback_id}")
            result = await give_feedback(
                uow,
                tenant,
                retrieval_id,
                reward,
                feedback_id=fid if feedback_id else uuid4(),
                item_ids=memory_ids,
            )
        return FeedbackOut(
            feedback_id=result.feedback_id, applied=result.applied, utilities=result.utilities
        )

    async def forget(self, ctx: Context, user_id: ScopeId) -> ForgetOut:
        """Delete every message, fact, entity, log and job of user_id, atomically. Cannot
        be undone."""
        async with self._call(ctx) as (uow, tenant):
            deleted = await forget_user(uow, tenant, user_id)
        return ForgetOut(user_id=user_id, deleted=deleted)


def build_server(components: Components, *, api_key: str | None) -> MCPServer:
    """The MCP server with the tools ``add``, ``search``, ``context``, ``feedback`` and
    ``forget``. ``api_key`` is used for calls that carry no HTTP headers (stdio)."""
    server: MCPServer = MCPServer("memory-service", version=__version__, instructions=INSTRUCTIONS)
    tools = _Tools(components, _Access(components, api_key))
    server.add_tool(tools.add, name="add")
    server.add_tool(tools.search, name="search")
    server.add_tool(tools.context, name="context")
    server.add_tool(tools.feedback, name="feedback")
    server.add_tool(
        tools.forget,
        name="forget",
        annotations=ToolAnnotations(destructive_hint=True, idempotent_hint=False),
    )
    return server


class _BearerGuard:
    """Answers 401 before the MCP transport to a request whose key is missing, unknown or
    revoked, so an HTTP client learns at connect time; tool calls check again."""

    def __init__(self, app: ASGIApp, access: _Access) -> None:
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
        except _DATABASE_DOWN:
            body = {"error": "Unavailable", "detail": "the database is unavailable; retry shortly"}
            return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})
        return None


def http_app(components: Components, *, host: str = "127.0.0.1") -> ASGIApp:
    """The streamable HTTP app, serving MCP at ``/mcp``. Stateless: every request carries
    its own key, and any process behind a load balancer can answer it. Bound to a
    loopback ``host``, requests naming another Host or Origin are refused (DNS
    rebinding)."""
    server = build_server(components, api_key=None)
    app = server.streamable_http_app(streamable_http_path=MCP_PATH, stateless_http=True, host=host)
    return _BearerGuard(app, _Access(components, None))


async def serve(
    components: Components,
    *,
    transport: Transport,
    host: str = "127.0.0.1",
    port: int = 8081,
    api_key: str | None = None,
) -> None:
    """Serve until stdin closes (stdio) or a signal stops uvicorn (http), running the
    consolidation worker in process when no broker is configured. Over stdio, a bad
    ``api_key`` is refused (Unauthorized) before anything is served."""
    if transport == "stdio":
        if api_key is None:
            raise Unauthorized("set MEMORY_API_KEY to serve MCP over stdio")
        await _Access(components, api_key).authenticate(api_key)
    worker = await components.start_worker()
    try:
        if transport == "stdio":
            await build_server(components, api_key=api_key).run_stdio_async()
        else:
            import uvicorn

            app = http_app(components, host=host)
            level = components.settings.log_level.lower()
            await uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=level)).serve()
    finally:
        if worker is not None:
            await worker.stop()


def run(
    components: Components,
    *,
    transport: Transport,
    host: str = "127.0.0.1",
    port: int = 8081,
    api_key: str | None = None,
) -> None:
    """``serve`` in a new event loop, disposing ``components`` (the engine) in it."""

    async def main() -> None:
        try:
            await serve(components, transport=transport, host=host, port=port, api_key=api_key)
        finally:
            await components.dispose()

    asyncio.run(main())


__all__ = ["MCP_PATH", "Transport", "build_server", "http_app", "run", "serve"]
