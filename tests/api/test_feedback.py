"""POST /v1/feedback: utilities move toward the reward, once per feedback id."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

from tests.api.helpers import add_memory, add_messages


async def search(client: AsyncClient, query: str) -> dict:  # type: ignore[type-arg]
    r = await client.post("/v1/search", json={"user_id": "u", "query": query})
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


async def test_reward_updates_q_of_returned_items(client: AsyncClient) -> None:
    await add_messages(client, ["Pixel the greyhound loves the beach"], user_id="u")
    fact = await add_memory(client, "Pixel is a greyhound", user_id="u")
    found = await search(client, "greyhound Pixel")
    r = await client.post(
        "/v1/feedback",
        json={"retrieval_id": found["retrieval_id"], "reward": 1.0, "memory_ids": [fact["id"]]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["utilities"] == {fact["id"]: pytest.approx(0.3)}  # 0 + 0.3 (1 - 0)
    r = await client.post(
        "/v1/feedback", json={"retrieval_id": found["retrieval_id"], "reward": 1.0}
    )
    utilities = r.json()["utilities"]
    assert utilities[fact["id"]] == pytest.approx(0.51)  # 0.3 + 0.3 (1 - 0.3)
    assert len(utilities) == 2  # no memory_ids: everything returned is credited
    got = (await client.get(f"/v1/memories/{fact['id']}")).json()
    assert got["utility"] == pytest.approx(0.51)


async def test_same_feedback_id_applies_once(client: AsyncClient) -> None:
    fact = await add_memory(client, "Pixel is a greyhound", user_id="u")
    found = await search(client, "greyhound")
    body = {"retrieval_id": found["retrieval_id"], "reward": -1.0, "feedback_id": "fb-1"}
    first = (await client.post("/v1/feedback", json=body)).json()
    second = (await client.post("/v1/feedback", json=body)).json()
    assert first["applied"] is True
    assert second["applied"] is False
    assert first["feedback_id"] == second["feedback_id"]
    got = (await client.get(f"/v1/memories/{fact['id']}")).json()
    assert got["utility"] == pytest.approx(-0.3)


async def test_feedback_rejects_bad_input(client: AsyncClient, other_client: AsyncClient) -> None:
    await add_memory(client, "Pixel is a greyhound", user_id="u")
    found = await search(client, "greyhound")
    rid = found["retrieval_id"]
    unreturned = "00000000-0000-0000-0000-000000000001"
    cases = [
        ({"retrieval_id": rid, "reward": 2}, 422),
        ({"retrieval_id": rid}, 422),
        ({"retrieval_id": rid, "reward": 1, "memory_ids": [unreturned]}, 422),
        ({"retrieval_id": unreturned, "reward": 1}, 404),
    ]
    for body, status in cases:
        r = await client.post("/v1/feedback", json=body)
        assert r.status_code == status, (body, r.text)
    # another tenant cannot credit this retrieval
    r = await other_client.post("/v1/feedback", json={"retrieval_id": rid, "reward": 1})
    assert r.status_code == 404
