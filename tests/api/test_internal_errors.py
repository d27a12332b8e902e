"""An error nothing handles is a 500 with the JSON error body and the request id, logged
with its traceback, and the keep-alive connection stays usable.

Before, Starlette's last resort answered plain-text ``Internal Server Error`` and
re-raised, and uvicorn then closed the connection. The app here is the real one with
test-only routes added; it runs under a real uvicorn (in a thread, without its lifespan:
these routes need no database).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from httpx import ASGITransport, AsyncClient
from prometheus_client import generate_latest

from memory_service.api.app import create_app
from memory_service.config import Settings
from tests.conftest import free_port


def app_with_a_bug() -> FastAPI:
    app = create_app(Settings(database_url="postgresql://nobody@127.0.0.1:1/none"))

    @app.get("/test-only/boom")
    async def boom() -> None:
        raise RuntimeError("a bug in a handler")

    @app.get("/test-only/peer")
    async def peer(request: Request) -> dict[str, int]:
        """The caller's port as the server sees it: the same on one connection."""
        assert request.client is not None
        return {"port": request.client.port}

    return app


@pytest.fixture
def server_url() -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        app_with_a_bug(), host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_500_keeps_the_connection_and_has_the_error_body(
    server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with httpx.Client(base_url=server_url, limits=httpx.Limits(max_connections=1)) as http:
        first = http.get("/test-only/peer").json()["port"]
        with caplog.at_level(logging.ERROR, logger="memory_service.api.errors"):
            r = http.get("/test-only/boom", headers={"x-request-id": "trace-500"})
        assert r.status_code == 500
        assert r.headers["content-type"] == "application/json"
        assert r.headers["x-request-id"] == "trace-500"
        assert r.headers.get("connection") != "close"
        assert r.json() == {
            "error": "InternalError",
            "detail": "an unexpected error; the server log has it under this request id",
            "request_id": "trace-500",
        }
        after = http.get("/test-only/peer")
        assert after.status_code == 200
        assert after.json()["port"] == first, "the second request came on a new connection"
    [record] = [r for r in caplog.records if r.name == "memory_service.api.errors"]
    assert "trace-500" in record.getMessage()
    assert record.exc_info is not None
    assert "a bug in a handler" in str(record.exc_info[1])


async def test_a_500_in_process_carries_a_generated_request_id() -> None:
    app = app_with_a_bug()
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        r = await client.get("/test-only/boom")
    assert r.status_code == 500
    assert r.json()["error"] == "InternalError"
    assert r.json()["request_id"] == r.headers["x-request-id"]
    assert len(r.headers["x-request-id"]) == 32
    text = generate_latest(app.state.metrics.registry).decode()
    assert 'route="/test-only/boom",status="500"' in text
