"""The FastAPI app factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from memory_service import __version__
from memory_service.api import errors, openapi
from memory_service.api.body import Utf8BodyMiddleware
from memory_service.api.metrics import (
    BodyLimitMiddleware,
    MetricsMiddleware,
    RequestIdMiddleware,
    RequestMetrics,
)
from memory_service.api.routers import (
    answer,
    episodes,
    feedback,
    graph,
    health,
    instructions,
    jobs,
    memories,
    messages,
    scopes,
    search,
    tenant,
    transfer,
    users,
)
from memory_service.bootstrap import Components, build_components
from memory_service.config import Settings
from memory_service.inspector import mount as mount_inspector
from memory_service.requests.ratelimit import RateLimiter
from workers.wiring import attached_worker, with_chunk_runner


def create_app(
    settings: Settings | None = None,
    *,
    components: Components | None = None,
    background: bool = True,
) -> FastAPI:
    """Build the app. Given ``components``, the caller owns them; else they are
    built at startup from ``settings`` (with the chunk runner the settings ask for)
    and disposed at shutdown. ``background`` attaches the worker: Celery's when a
    broker is configured, else one in process."""
    settings = components.settings if components else (settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            parts = components
            if parts is None:
                parts = with_chunk_runner(build_components(settings))
                stack.push_async_callback(parts.dispose)
                await parts.load_models()  # ready means the models are in memory
            if background:
                parts = await stack.enter_async_context(attached_worker(parts))
            app.state.components = parts
            yield

    app = FastAPIOffline(  # /docs and /redoc with their assets served from a package
        title="memory-service",
        version=__version__,
        description="Persistent memory for LLM agents: episodes, facts, hypergraph, search.",
        lifespan=lifespan,
        generate_unique_id_function=openapi.operation_id,
        static_url=openapi.STATIC_URL,
    )
    if components is not None:
        app.state.components = components
    app.state.metrics = RequestMetrics()
    app.state.rate_limiter = RateLimiter.from_settings(settings)
    errors.install(app)
    routers = (
        health,
        messages,
        episodes,
        memories,
        search,
        answer,
        feedback,
        users,
        scopes,
        jobs,
        graph,
        transfer,
        instructions,
        tenant,
    )
    for module in routers:
        app.include_router(module.router, responses=openapi.router_errors(module.router))
    openapi.install(app)
    mount_inspector(app)  # GET /inspector: the memory inspector page
    # The last added runs first: the body limit, the request id, metrics, the UTF-8
    # check, then the 500 of last resort (inside the request id, whose id it reports).
    app.add_middleware(errors.InternalErrorMiddleware)
    app.add_middleware(Utf8BodyMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        overrides={"/v1/import": settings.max_import_bytes},
    )
    return app
