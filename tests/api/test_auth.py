"""Every /v1 endpoint needs a valid, unrevoked key."""

from __future__ import annotations

import pytest
from httpx import ASGITransport, AsyncClient

from memory_service.bootstrap import Components
from memory_service.services import tenants
from tests.conftest import new_key

ENDPOINTS = [
    ("POST", "/v1/messages"),
    ("GET", "/v1/episodes"),
    ("GET", "/v1/episodes/00000000-0000-0000-0000-000000000001"),
    ("DELETE", "/v1/episodes/00000000-0000-0000-0000-000000000001"),
    ("POST", "/v1/memories"),
    ("GET", "/v1/memories"),
    ("GET", "/v1/memories/00000000-0000-0000-0000-000000000001"),
    ("PATCH", "/v1/memories/00000000-0000-0000-0000-000000000001"),
    ("DELETE", "/v1/memories/00000000-0000-0000-0000-000000000001"),
    ("GET", "/v1/memories/00000000-0000-0000-0000-000000000001/history"),
    ("POST", "/v1/search"),
    ("POST", "/v1/feedback"),
    ("GET", "/v1/graph/export"),
    ("GET", "/v1/export"),
    ("POST", "/v1/import"),
    ("POST", "/v1/answer"),
    ("POST", "/v1/context"),
    ("DELETE", "/v1/users/u"),
    ("GET", "/v1/jobs/00000000-0000-0000-0000-000000000001"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("auth", [None, "Bearer msk_not-a-real-key", "Bearer ", "Basic abc"])
async def test_rejected_without_a_valid_key(
    app: object, method: str, path: str, auth: str | None
) -> None:
    headers = {"Authorization": auth} if auth else {}
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as c:  # type: ignore[arg-type]
        r = await c.request(method, path, headers=headers, json={})
    assert r.status_code == 401, r.text
    assert r.json()["error"] in {"Unauthorized", "Forbidden"}


async def test_revoked_key_fails_at_once(app: object, components: Components) -> None:
    secret = await new_key(components, "gamma")
    async with AsyncClient(
        transport=ASGITransport(app=app),  # type: ignore[arg-type]
        base_url="http://t",
        headers={"Authorization": f"Bearer {secret}"},
    ) as c:
        assert (await c.get("/v1/episodes")).status_code == 200
        async with components.uow() as uow:
            key = await tenants.authenticate(uow, secret)
            await tenants.revoke_key(uow, key.id)
        r = await c.get("/v1/episodes")
        assert r.status_code == 401
        assert "revoked" in r.json()["detail"]


async def test_keys_are_stored_hashed(components: Components) -> None:
    from sqlalchemy import select

    from memory_service.db.models import ApiKeyRow

    secret = await new_key(components, "delta")
    async with components.uow() as uow:
        stored = (await uow.session.execute(select(ApiKeyRow.key_hash, ApiKeyRow.prefix))).all()
    assert all(secret not in row.key_hash for row in stored)
    assert any(row.key_hash == tenants.hash_key(secret) for row in stored)
