"""/v1/memories: direct facts, edits, retirement and their history."""

from __future__ import annotations

from httpx import AsyncClient

from tests.api.helpers import add_memory, add_messages


async def test_add_get_list(client: AsyncClient) -> None:
    [episode_id] = await add_messages(client, ["I love hiking"], user_id="u")
    m = await add_memory(
        client, "U loves hiking", user_id="u", source_episode_ids=[episode_id], metadata={"k": 1}
    )
    assert m["status"] == "active"
    assert m["source_episode_ids"] == [episode_id]
    got = (await client.get(f"/v1/memories/{m['id']}")).json()
    assert got["text"] == "U loves hiking"
    assert got["metadata"] == {"k": 1}
    listed = (await client.get("/v1/memories", params={"user_id": "u"})).json()
    assert [x["id"] for x in listed["items"]] == [m["id"]]


async def test_every_change_writes_history(client: AsyncClient) -> None:
    m = await add_memory(client, "Ana lives in Porto", user_id="ana")
    r = await client.patch(f"/v1/memories/{m['id']}", json={"text": "Ana lives in Lisbon"})
    assert r.status_code == 200
    assert r.json()["text"] == "Ana lives in Lisbon"
    r = await client.delete(f"/v1/memories/{m['id']}")
    assert r.status_code == 200
    assert r.json()["status"] == "deleted"
    assert r.json()["valid_to"] is not None
    history = (await client.get(f"/v1/memories/{m['id']}/history")).json()
    assert [(h["op"], h["old_text"], h["new_text"]) for h in history] == [
        ("ADD", None, "Ana lives in Porto"),
        ("UPDATE", "Ana lives in Porto", "Ana lives in Lisbon"),
        ("DELETE", "Ana lives in Lisbon", None),
    ]
    assert all(h["cause"] == "api" for h in history)


async def test_deleted_memory_leaves_lists_and_search(client: AsyncClient) -> None:
    m = await add_memory(client, "The wifi password is swordfish", user_id="u")
    await client.delete(f"/v1/memories/{m['id']}")
    listed = (await client.get("/v1/memories", params={"user_id": "u"})).json()
    assert listed["items"] == []
    listed = (
        await client.get("/v1/memories", params={"user_id": "u", "include_inactive": True})
    ).json()
    assert [x["id"] for x in listed["items"]] == [m["id"]]
    r = await client.post("/v1/search", json={"user_id": "u", "query": "wifi password"})
    assert r.json()["results"] == []
    assert (await client.delete(f"/v1/memories/{m['id']}")).status_code == 404
    r = await client.patch(f"/v1/memories/{m['id']}", json={"text": "new"})
    assert r.status_code == 409


async def test_patch_validates(client: AsyncClient) -> None:
    m = await add_memory(client, "x is true", user_id="u", valid_from="2024-01-01T00:00:00Z")
    assert (await client.patch(f"/v1/memories/{m['id']}", json={})).status_code == 422
    r = await client.patch(f"/v1/memories/{m['id']}", json={"valid_to": "2023-01-01T00:00:00Z"})
    assert r.status_code == 422
    r = await client.patch(f"/v1/memories/{m['id']}", json={"text": "  "})
    assert r.status_code == 422
    history = (await client.get(f"/v1/memories/{m['id']}/history")).json()
    assert [h["op"] for h in history] == ["ADD"]


async def test_add_rejects_bad_input(client: AsyncClient) -> None:
    cases = [
        {"text": "no scope"},
        {"text": "", "user_id": "u"},
        {
            "text": "t",
            "user_id": "u",
            "source_episode_ids": ["00000000-0000-0000-0000-000000000001"],
        },
        {"text": "t", "user_id": "u", "valid_from": "2024-02-01", "valid_to": "2024-01-01"},
        {"text": "t", "user_id": "u", "status": "active"},
    ]
    for body in cases:
        r = await client.post("/v1/memories", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"] == "InvalidInput"
    listed = (await client.get("/v1/memories", params={"include_inactive": True})).json()
    assert listed["items"] == []


async def test_unknown_memory_is_404(client: AsyncClient) -> None:
    missing = "00000000-0000-0000-0000-000000000009"
    for method, path in [
        ("GET", f"/v1/memories/{missing}"),
        ("DELETE", f"/v1/memories/{missing}"),
        ("GET", f"/v1/memories/{missing}/history"),
    ]:
        r = await client.request(method, path)
        assert r.status_code == 404, (method, path)
    r = await client.patch(f"/v1/memories/{missing}", json={"text": "t"})
    assert r.status_code == 404
