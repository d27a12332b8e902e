"""Per-key rate limits: 429 with Retry-After, other keys unaffected."""

from __future__ import annotations

from dataclasses import replace

from httpx import ASGITransport, AsyncClient

from memory_service.api.app import create_app
from memory_service.bootstrap import Components
from tests.conftest import new_key


async def test_429_with_retry_after_per_key(components: Components) -> None:
    settings = components.settings.model_copy(
        update={"rate_limit_per_minute": 60, "rate_limit_burst": 3}
    )
    parts = replace(components, settings=settings)
    app = create_app(components=parts, background=False)
    keys = [await new_key(parts, "limited"), await new_key(parts, "limited")]
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as c:
        auth = {"Authorization": f"Bearer {keys[0]}"}
        codes = [(await c.get("/v1/episodes", headers=auth)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = await c.get("/v1/episodes", headers=auth)
        assert r.status_code == 429
        assert r.json()["error"] == "RateLimited"
        assert int(r.headers["Retry-After"]) >= 1
        other = await c.get("/v1/episodes", headers={"Authorization": f"Bearer {keys[1]}"})
        assert other.status_code == 200
