"""A key of tenant A never reads, finds, updates or deletes anything of tenant B."""

from __future__ import annotations

from httpx import AsyncClient

from tests.api.helpers import add_memory, add_messages


async def test_tenants_never_see_each_other(client: AsyncClient, other_client: AsyncClient) -> None:
    a_ids = await add_messages(client, ["alpha secret: the vault code is 1234"], user_id="same")
    a_fact = await add_memory(client, "alpha vault code is 1234", user_id="same")
    r = await other_client.post(
        "/v1/messages", json={"user_id": "same", "messages": [{"content": "beta note"}]}
    )
    job_id = r.json()["job_id"]

    # B reads nothing of A's, by list, by id, or by search — even for the same user_id.
    listed = (await other_client.get("/v1/episodes", params={"user_id": "same"})).json()
    assert [e["content"] for e in listed["items"]] == ["beta note"]
    assert (await other_client.get(f"/v1/episodes/{a_ids[0]}")).status_code == 404
    assert (await other_client.get(f"/v1/memories/{a_fact['id']}")).status_code == 404
    assert (await other_client.get(f"/v1/memories/{a_fact['id']}/history")).status_code == 404
    assert (await other_client.get("/v1/memories", params={"user_id": "same"})).json()[
        "items"
    ] == []
    found = await other_client.post("/v1/search", json={"user_id": "same", "query": "vault code"})
    assert all("alpha" not in h["text"] for h in found.json()["results"])
    assert (await client.get(f"/v1/jobs/{job_id}")).status_code == 404

    # B changes and deletes nothing of A's.
    r = await other_client.patch(f"/v1/memories/{a_fact['id']}", json={"text": "pwned"})
    assert r.status_code == 404
    assert (await other_client.delete(f"/v1/memories/{a_fact['id']}")).status_code == 404
    assert (await other_client.delete(f"/v1/episodes/{a_ids[0]}")).status_code == 404
    assert (await other_client.delete("/v1/users/same")).status_code == 200  # B's own data only

    # A still has everything, unchanged.
    assert (await client.get(f"/v1/episodes/{a_ids[0]}")).status_code == 200
    fact = (await client.get(f"/v1/memories/{a_fact['id']}")).json()
    assert fact["text"] == "alpha vault code is 1234"
    assert fact["status"] == "active"
    found = await client.post("/v1/search", json={"user_id": "same", "query": "vault code"})
    assert {h["text"] for h in found.json()["results"]} == {
        "alpha secret: the vault code is 1234",
        "alpha vault code is 1234",
    }


async def test_idempotency_keys_are_per_tenant(
    client: AsyncClient, other_client: AsyncClient
) -> None:
    headers = {"Idempotency-Key": "shared-key"}
    a = await client.post(
        "/v1/messages", json={"user_id": "u", "messages": [{"content": "a"}]}, headers=headers
    )
    b = await other_client.post(
        "/v1/messages", json={"user_id": "u", "messages": [{"content": "a"}]}, headers=headers
    )
    assert a.status_code == b.status_code == 201
    assert a.json()["episode_ids"] != b.json()["episode_ids"]
    assert b.json()["replayed"] is False
