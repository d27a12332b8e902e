"""DELETE /v1/scopes (forget an agent, a session, or any mix of ids), POST /v1/reset
(forget the whole tenant) and ``infer: false`` on POST /v1/messages."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select

from memory_service.bootstrap import Components
from memory_service.db.models import JobRow, MemoryHistoryRow
from tests.api.helpers import add_memory, add_messages


async def _count(components: Components, model: type, **where: str) -> int:
    async with components.uow() as uow:
        stmt = select(func.count()).select_from(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return int((await uow.session.execute(stmt)).scalar_one())


async def _texts(client: AsyncClient, **params: str) -> list[str]:
    r = await client.get("/v1/episodes", params=params)
    return sorted(e["content"] for e in r.json()["items"])


async def test_forget_an_agent_across_users_and_sessions(
    client: AsyncClient, components: Components
) -> None:
    await add_messages(client, ["a1"], user_id="u1", agent_id="bot", session_id="s1")
    await add_messages(client, ["a2"], user_id="u2", agent_id="bot")
    await add_messages(client, ["kept"], user_id="u1", agent_id="other")
    fact = await add_memory(client, "bot fact", agent_id="bot")
    await client.patch(f"/v1/memories/{fact['id']}", json={"text": "bot fact, edited"})

    r = await client.delete("/v1/scopes", params={"agent_id": "bot"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["user_id"], body["agent_id"], body["session_id"]) == (None, "bot", None)
    assert body["deleted"] == {
        "memories": 1,
        "episodes": 2,
        "entities": 0,
        "retrievals": 0,
        "jobs": 2,
        "idempotency_keys": 0,
    }
    assert await _texts(client) == ["kept"]
    assert await _count(components, MemoryHistoryRow, memory_id=fact["id"]) == 0
    assert await _count(components, JobRow, agent_id="bot") == 0
    again = await client.delete("/v1/scopes", params={"agent_id": "bot"})
    assert again.status_code == 200
    assert not any(again.json()["deleted"].values())


async def test_forget_one_session_of_one_user(client: AsyncClient) -> None:
    await add_messages(client, ["gone"], user_id="u", session_id="s1")
    await add_messages(client, ["same session, other user"], user_id="v", session_id="s1")
    await add_messages(client, ["other session"], user_id="u", session_id="s2")

    r = await client.delete("/v1/scopes", params={"user_id": "u", "session_id": "s1"})
    assert r.status_code == 200, r.text
    assert r.json()["deleted"]["episodes"] == 1
    assert await _texts(client) == ["other session", "same session, other user"]


async def test_forget_scope_needs_an_id(client: AsyncClient) -> None:
    r = await client.delete("/v1/scopes")
    assert r.status_code == 422
    assert (await client.delete("/v1/scopes", params={"agent_id": "a b"})).status_code == 422


async def test_forget_scope_stays_in_the_tenant(
    client: AsyncClient, other_client: AsyncClient
) -> None:
    await add_messages(client, ["mine"], agent_id="bot")
    await add_messages(other_client, ["theirs"], agent_id="bot")
    assert (await other_client.delete("/v1/scopes", params={"agent_id": "bot"})).status_code == 200
    assert await _texts(client) == ["mine"]


async def test_reset_forgets_the_tenant_only(
    client: AsyncClient, other_client: AsyncClient
) -> None:
    await add_messages(client, ["one"], user_id="u")
    await add_memory(client, "a fact", agent_id="a")
    await add_messages(other_client, ["theirs"], user_id="u")

    r = await client.post("/v1/reset", json={"confirm": True})
    assert r.status_code == 200, r.text
    assert r.json()["deleted"]["episodes"] == 1
    assert r.json()["deleted"]["memories"] == 1
    assert await _texts(client) == []
    assert (await client.get("/v1/memories")).json()["items"] == []
    assert await _texts(other_client) == ["theirs"]
    again = await client.post("/v1/reset", json={"confirm": True})
    assert again.status_code == 200
    assert not any(again.json()["deleted"].values())


@pytest.mark.parametrize("body", [{}, {"confirm": False}, {"confirm": "yes"}, {"confirm": 1}])
async def test_reset_needs_an_explicit_confirmation(
    client: AsyncClient, body: dict[str, Any]
) -> None:
    await add_messages(client, ["one"], user_id="u")
    assert (await client.post("/v1/reset", json=body)).status_code == 422
    assert await _texts(client) == ["one"]


async def test_infer_false_stores_episodes_and_queues_nothing(
    client: AsyncClient, components: Components
) -> None:
    body = {"user_id": "raw", "infer": False, "messages": [{"content": "verbatim turn"}]}
    r = await client.post("/v1/messages", json=body, headers={"Idempotency-Key": "k1"})
    assert r.status_code == 201, r.text
    assert r.json()["job_id"] is None
    assert len(r.json()["episode_ids"]) == 1
    assert await _count(components, JobRow, user_id="raw") == 0
    assert await _texts(client, user_id="raw") == ["verbatim turn"]
    replay = await client.post("/v1/messages", json=body, headers={"Idempotency-Key": "k1"})
    assert replay.json() == {**r.json(), "replayed": True}
    inferred = {**body, "infer": True}
    conflict = await client.post("/v1/messages", json=inferred, headers={"Idempotency-Key": "k1"})
    assert conflict.status_code == 409


async def test_infer_defaults_to_true(client: AsyncClient, components: Components) -> None:
    r = await client.post("/v1/messages", json={"user_id": "x", "messages": [{"content": "t"}]})
    assert r.json()["job_id"] is not None
    assert await _count(components, JobRow, user_id="x") == 1
