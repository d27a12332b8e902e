"""Concurrent feedback on one retrieval, over HTTP against a real server and pool: every
request answers 2xx (no deadlock between their utility updates), and the Q values end
where replaying the feedbacks one by one, in the order they committed, leaves them.

Each response reports the Q it left, so the commit order can be read back from the
responses: from Q = 0, the next feedback to commit is the one whose reported Q is
``Q + alpha (reward - Q)``. The update is injective in Q for a fixed reward, so the
chain is unique; a lost update or an interleaving shows as a response that fits nowhere.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from memory_service.bootstrap import Components
from memory_service.services.feedback import ALPHA
from tests.conftest import new_key

FEEDBACKS = 50
FACTS = 60


def commit_order(responses: list[tuple[float, dict[str, float]]]) -> list[float]:
    """The Q after each feedback, in commit order, from (reward, reported Q by item);
    fails when the responses are not one serial replay from Q = 0."""
    left = list(responses)
    q, chain = 0.0, []
    while left:
        nxt = next(
            (
                i
                for i, (reward, qs) in enumerate(left)
                if all(v == pytest.approx(q + ALPHA * (reward - q)) for v in qs.values())
            ),
            None,
        )
        assert nxt is not None, f"no feedback continues the chain at Q = {q}: {left}"
        reward, _ = left.pop(nxt)
        q = q + ALPHA * (reward - q)
        chain.append(q)
    return chain


async def seed(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    """A retrieval that returned memories and episodes; where to read what it returned.
    Many items: the more rows two updates lock, the likelier they meet out of order."""
    r = await client.post(
        "/v1/messages",
        json={"user_id": "u", "messages": [{"content": f"greyhound turn {n}"} for n in range(6)]},
    )
    assert r.status_code == 201, r.text
    for n in range(FACTS):
        r = await client.post("/v1/memories", json={"user_id": "u", "text": f"greyhound fact {n}"})
        assert r.status_code == 201, r.text
    r = await client.post("/v1/search", json={"user_id": "u", "query": "greyhound", "limit": 100})
    assert r.status_code == 200, r.text
    found = r.json()
    kinds = {hit["kind"] for hit in found["results"]}
    assert kinds == {"memory", "episode"}, kinds
    paths = {"memory": "/v1/memories", "episode": "/v1/episodes"}
    return found["retrieval_id"], {
        h["id"]: f"{paths[h['kind']]}/{h['id']}" for h in found["results"]
    }


async def test_concurrent_feedback_is_a_serial_replay(
    server_url: str, components: Components
) -> None:
    key = await new_key(components, "feedback-race")
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=FEEDBACKS)
    async with httpx.AsyncClient(
        base_url=server_url, headers=headers, timeout=60.0, limits=limits
    ) as client:
        retrieval_id, returned = await seed(client)
        rewards = [1.0 if n % 2 else -1.0 for n in range(FEEDBACKS)]

        async def give(reward: float) -> httpx.Response:
            body = {"retrieval_id": retrieval_id, "reward": reward}
            return await client.post("/v1/feedback", json=body)

        answers = await asyncio.gather(*(give(r) for r in rewards))
        assert [a.status_code for a in answers] == [200] * FEEDBACKS, [
            a.text for a in answers if a.status_code != 200
        ]
        reported: list[dict[str, Any]] = [a.json()["utilities"] for a in answers]
        assert all(set(u) == set(returned) for u in reported)
        chain = commit_order(list(zip(rewards, reported, strict=True)))
        for path in returned.values():
            got = await client.get(path)
            assert got.json()["utility"] == pytest.approx(chain[-1])
