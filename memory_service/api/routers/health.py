"""Liveness, readiness and Prometheus metrics (no tenant data, so no key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from memory_service.api.deps import ComponentsDep
from memory_service.api.errors import error_response, error_responses
from memory_service.bootstrap import head_revision
from memory_service.db.revision import schema_revision

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses=error_responses(503))
async def readyz(components: ComponentsDep) -> Response:
    """Ready when the database answers and its schema is at the migrations' head."""
    try:
        current = await schema_revision(components.engine)
    except Exception as exc:  # entrypoint: any database failure means "not ready"
        return error_response(503, "NotReady", f"database unreachable: {type(exc).__name__}")
    head = head_revision()
    if current != head:
        return error_response(503, "NotReady", f"schema at {current}, migrations at {head}")
    return JSONResponse({"status": "ready", "revision": head})


@router.get("/metrics", response_class=Response)
async def metrics(request: Request, components: ComponentsDep) -> Response:
    """Prometheus text: request counts and latencies, and jobs by state."""
    async with components.uow() as uow:
        for state, count in (await uow.jobs.counts()).items():
            request.app.state.metrics.jobs.labels(state).set(count)
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
