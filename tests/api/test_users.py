"""DELETE /v1/users/{id}: forget one user, atomically, and nobody else."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import func, select

from memory_service.bootstrap import Components
from memory_service.db.models import JobRow, MemoryHistoryRow, RetrievalRow
from tests.api.helpers import add_memory, add_messages


async def _count(components: Components, model: type, **where: str) -> int:
    async with components.uow() as uow:
        stmt = select(func.count()).select_from(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return int((await uow.session.execute(stmt)).scalar_one())


async def test_forget_user_removes_everything_of_theirs(
    client: AsyncClient, components: Components
) -> None:
    await add_messages(client, ["gone 1", "gone 2"], user_id="leaver")
    fact = await add_memory(client, "leaver likes tea", user_id="leaver")
    await client.patch(f"/v1/memories/{fact['id']}", json={"text": "leaver likes coffee"})
    await client.post("/v1/search", json={"user_id": "leaver", "query": "tea"})
    keep = await add_messages(client, ["stays"], user_id="stayer")
    await add_memory(client, "stayer likes tea", user_id="stayer")

    r = await client.delete("/v1/users/leaver")
    assert r.status_code == 200, r.text
    assert r.json()["deleted"] == {
        "memories": 1,
        "episodes": 2,
        "entities": 0,
        "retrievals": 1,
        "jobs": 1,
        "idempotency_keys": 0,
    }
    assert (await client.get("/v1/episodes", params={"user_id": "leaver"})).json()["items"] == []
    assert (await client.get(f"/v1/memories/{fact['id']}")).status_code == 404
    assert await _count(components, MemoryHistoryRow, memory_id=fact["id"]) == 0
    assert await _count(components, RetrievalRow, user_id="leaver") == 0
    assert await _count(components, JobRow, user_id="leaver") == 0
    assert (await client.get(f"/v1/episodes/{keep[0]}")).status_code == 200
    listed = await client.get("/v1/memories", params={"user_id": "stayer"})
    assert len(listed.json()["items"]) == 1
    assert (await client.delete("/v1/users/leaver")).status_code == 404


async def test_forget_unknown_user_is_404(client: AsyncClient) -> None:
    r = await client.delete("/v1/users/nobody")
    assert r.status_code == 404
    assert r.json()["error"] == "NotFound"
