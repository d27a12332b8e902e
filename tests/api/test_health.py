"""Liveness, readiness and metrics."""

from __future__ import annotations

from httpx import ASGITransport, AsyncClient

from memory_service.bootstrap import head_revision


async def test_health_ready_metrics(client: AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "revision": head_revision()}
    await client.get("/v1/episodes")
    await client.get("/v1/episodes/not-a-uuid")
    text = (await client.get("/metrics")).text
    assert 'memory_http_requests_total{method="GET",route="/v1/episodes",status="200"} 1.0' in text
    assert 'route="/v1/episodes/{episode_id}",status="422"' in text
    assert "memory_http_request_seconds_bucket" in text


async def test_unknown_route_has_the_error_body(client: AsyncClient) -> None:
    r = await client.get("/v1/nothing-here")
    assert r.status_code == 404
    assert r.json() == {"error": "NotFound", "detail": "Not Found"}
    r = await client.put("/v1/search", json={})
    assert r.status_code == 405
    assert r.json()["error"] == "MethodNotAllowed"


async def test_readyz_fails_when_the_database_is_unreachable(components: object) -> None:
    from dataclasses import replace

    from memory_service.api.app import create_app
    from memory_service.db.session import make_engine

    dead = make_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", pool=False)
    app = create_app(components=replace(components, engine=dead))  # type: ignore[type-var]
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/readyz")
    assert r.status_code == 503
    assert r.json()["error"] == "NotReady"
    await dead.dispose()


async def test_every_response_has_a_request_id(client: AsyncClient) -> None:
    r = await client.get("/healthz")
    assert len(r.headers["x-request-id"]) == 32
    r = await client.get("/v1/nothing", headers={"x-request-id": "trace-123"})
    assert r.headers["x-request-id"] == "trace-123"
