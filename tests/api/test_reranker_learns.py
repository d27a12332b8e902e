"""MemRL through the API: feedback moves Q, and Q moves the ranking."""

from __future__ import annotations

from httpx import AsyncClient

from tests.api.helpers import add_memory


async def ranking(client: AsyncClient, query: str) -> tuple[str, list[str]]:
    r = await client.post(
        "/v1/search",
        json={"user_id": "u", "query": query, "preset": "fast", "kinds": ["memory"], "limit": 5},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    return body["retrieval_id"], [h["text"] for h in body["results"]]


async def test_rewarding_one_of_two_equally_similar_memories_ranks_it_first(
    client: AsyncClient,
) -> None:
    # Equal similarity: the hash embedder gives both the same vector (same words).
    a = await add_memory(client, "tea green morning", user_id="u")
    b = await add_memory(client, "green morning tea", user_id="u")
    await add_memory(client, "unrelated bicycle repair shop", user_id="u")
    _, first = await ranking(client, "green tea in the morning")
    assert first[0] == a["text"]  # ties go to the earlier candidate
    for _ in range(3):
        rid, _ = await ranking(client, "green tea in the morning")
        await client.post(
            "/v1/feedback", json={"retrieval_id": rid, "reward": 1.0, "memory_ids": [b["id"]]}
        )
        await client.post(
            "/v1/feedback", json={"retrieval_id": rid, "reward": 0.0, "memory_ids": [a["id"]]}
        )
    _, after = await ranking(client, "green tea in the morning")
    assert after[0] == b["text"]


async def test_negative_reward_pushes_a_misleading_memory_down(client: AsyncClient) -> None:
    misleading = await add_memory(client, "the office wifi password is swordfish", user_id="u")
    right = await add_memory(client, "office wifi password changed to marlin", user_id="u")
    _, before = await ranking(client, "office wifi password")
    assert before.index(misleading["text"]) < before.index(right["text"])
    for _ in range(3):
        rid, _ = await ranking(client, "office wifi password")
        await client.post(
            "/v1/feedback",
            json={"retrieval_id": rid, "reward": -1.0, "memory_ids": [misleading["id"]]},
        )
    _, after = await ranking(client, "office wifi password")
    assert after.index(right["text"]) < after.index(misleading["text"])
