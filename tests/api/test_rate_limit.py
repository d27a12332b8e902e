"""Rate limits: 429 with Retry-After per key and per tenant (rotating keys does not
multiply the budget), and failed authentications per client address (guessing keys is
slowed before any key is looked at), over REST and MCP's HTTP gate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from httpx import ASGITransport, AsyncClient
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from memory_service.api.app import create_app
from memory_service.bootstrap import Components
from memory_service.mcp._auth import Access, BearerGuard
from memory_service.requests.ratelimit import Buckets
from tests.conftest import new_key

WRONG = {"Authorization": "Bearer msk_not-a-real-key"}


def limited(components: Components, **limits: Any) -> Components:
    return replace(components, settings=components.settings.model_copy(update=limits))


@asynccontextmanager
async def from_address(app: Any, address: str) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=app, client=(address, 40000))
    async with AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_429_with_retry_after_per_key(components: Components) -> None:
    parts = limited(
        components,
        rate_limit_per_minute=60,
        rate_limit_burst=3,
        rate_limit_tenant_per_minute=600,
        rate_limit_tenant_burst=100,
    )
    app = create_app(components=parts, background=False)
    keys = [await new_key(parts, "limited"), await new_key(parts, "limited")]
    async with from_address(app, "10.0.0.1") as c:
        codes = [
            (await c.get("/v1/episodes", headers=bearer(keys[0]))).status_code for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        r = await c.get("/v1/episodes", headers=bearer(keys[0]))
        assert r.status_code == 429
        assert r.json()["error"] == "RateLimited"
        assert "API key" in r.json()["detail"]
        assert int(r.headers["Retry-After"]) >= 1
        other = await c.get("/v1/episodes", headers=bearer(keys[1]))
        assert other.status_code == 200


async def test_rotating_keys_shares_the_tenants_budget(components: Components) -> None:
    parts = limited(components, rate_limit_per_minute=60, rate_limit_burst=3)  # tenant: as key
    app = create_app(components=parts, background=False)
    keys = [await new_key(parts, "rotating") for _ in range(3)]
    other_tenant = await new_key(parts, "bystander")
    async with from_address(app, "10.0.0.1") as c:
        codes = [
            (await c.get("/v1/episodes", headers=bearer(keys[n % 3]))).status_code for n in range(9)
        ]
        assert codes == [200] * 3 + [429] * 6  # not 3 keys x 3
        r = await c.get("/v1/episodes", headers=bearer(keys[2]))
        assert "tenant" in r.json()["detail"]
        assert int(r.headers["Retry-After"]) >= 1
        assert (await c.get("/v1/episodes", headers=bearer(other_tenant))).status_code == 200


async def test_failed_authentications_are_limited_per_address(components: Components) -> None:
    parts = limited(components, auth_failures_per_minute=60, auth_failures_burst=3)
    app = create_app(components=parts, background=False)
    good = await new_key(parts, "alpha")
    async with from_address(app, "10.0.0.66") as guesser, from_address(app, "10.0.0.7") as user:
        codes = [(await guesser.get("/v1/episodes", headers=WRONG)).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        refused = await guesser.get("/v1/episodes", headers=bearer(good))
        assert refused.status_code == 429  # refused before the key is looked at
        assert refused.json()["error"] == "RateLimited"
        assert "failed authentications" in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) >= 1
        no_header = await guesser.get("/v1/episodes")
        assert no_header.status_code == 429
        # another address: its own budget, and good keys are never counted
        assert (await user.get("/v1/episodes", headers=WRONG)).status_code == 401
        for _ in range(5):
            assert (await user.get("/v1/episodes", headers=bearer(good))).status_code == 200


async def test_mcp_gate_limits_failed_authentications(components: Components) -> None:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("mcp")(scope, receive, send)

    parts = limited(components, auth_failures_per_minute=60, auth_failures_burst=2)
    guard = BearerGuard(inner, Access(parts, None))
    good = await new_key(parts, "alpha")
    async with from_address(guard, "10.0.0.66") as guesser, from_address(guard, "10.0.0.7") as user:
        codes = [(await guesser.post("/mcp", headers=WRONG)).status_code for _ in range(3)]
        assert codes == [401, 401, 429]
        refused = await guesser.post("/mcp", headers=bearer(good))
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert (await user.post("/mcp", headers=bearer(good))).text == "mcp"


def test_buckets_are_bounded_and_go_into_debt() -> None:
    buckets = Buckets(60, 2, max_keys=100)
    for n in range(1000):
        buckets.spend(f"10.0.{n // 256}.{n % 256}", now=0.0)
    assert len(buckets) == 100  # the least recently used went
    for _ in range(4):  # four failures checked at once: all paid for
        buckets.spend("a", now=0.0)
    assert buckets.wait("a", now=0.0) == 3.0  # -2 tokens: 3 s to one at 1 a second
    assert buckets.wait("a", now=3.0) is None
    assert Buckets(0, 1).wait("anyone", now=0.0) is None  # rate 0: no limit
