"""POST /v1/messages: storage, the job row, idempotency, and rejection of bad input."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

MESSAGES = [
    {"role": "user", "content": "I moved to Lisbon in March", "speaker": "Ana"},
    {"role": "assistant", "content": "How do you like Lisbon so far?"},
]


async def count_episodes(client: AsyncClient, **scope: str) -> int:
    r = await client.get("/v1/episodes", params={**scope, "limit": 100})
    assert r.status_code == 200, r.text
    return len(r.json()["items"])


async def test_stores_episodes_and_a_queued_job(client: AsyncClient) -> None:
    r = await client.post("/v1/messages", json={"user_id": "ana", "messages": MESSAGES})
    assert r.status_code == 201, r.text
    body = r.json()
    assert len(body["episode_ids"]) == 2
    assert body["replayed"] is False
    first = (await client.get(f"/v1/episodes/{body['episode_ids'][0]}")).json()
    assert first["content"] == "I moved to Lisbon in March"
    assert first["speaker"] == "Ana"
    assert first["user_id"] == "ana"
    job = await client.get(f"/v1/jobs/{body['job_id']}")
    assert job.status_code == 200
    assert job.json()["kind"] == "consolidate"
    assert job.json()["state"] == "queued"


async def test_given_times_are_kept_and_naive_times_are_utc(client: AsyncClient) -> None:
    messages = [
        {"content": "a", "occurred_at": "2023-05-08T13:56:00+02:00"},
        {"content": "b", "occurred_at": "2023-05-08T13:56:00"},
    ]
    r = await client.post("/v1/messages", json={"session_id": "s", "messages": messages})
    ids = r.json()["episode_ids"]
    got = [(await client.get(f"/v1/episodes/{i}")).json()["occurred_at"] for i in ids]
    assert got == ["2023-05-08T11:56:00Z", "2023-05-08T13:56:00Z"]


async def test_idempotency_key_replays_without_storing_twice(client: AsyncClient) -> None:
    headers = {"Idempotency-Key": "batch-1"}
    payload = {"user_id": "ana", "messages": MESSAGES}
    first = await client.post("/v1/messages", json=payload, headers=headers)
    second = await client.post("/v1/messages", json=payload, headers=headers)
    assert first.status_code == 201
    assert second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json()["episode_ids"] == first.json()["episode_ids"]
    assert second.json()["job_id"] == first.json()["job_id"]
    assert await count_episodes(client, user_id="ana") == 2


async def test_idempotency_key_reused_with_other_body_conflicts(client: AsyncClient) -> None:
    headers = {"Idempotency-Key": "batch-2"}
    await client.post(
        "/v1/messages", json={"user_id": "ana", "messages": MESSAGES}, headers=headers
    )
    r = await client.post(
        "/v1/messages",
        json={"user_id": "ana", "messages": [{"content": "something else"}]},
        headers=headers,
    )
    assert r.status_code == 409
    assert r.json()["error"] == "Conflict"
    assert await count_episodes(client, user_id="ana") == 2


async def test_concurrent_replays_store_once(client: AsyncClient) -> None:
    import asyncio

    headers = {"Idempotency-Key": "race"}
    payload = {"user_id": "ana", "messages": MESSAGES}
    results = await asyncio.gather(
        *(client.post("/v1/messages", json=payload, headers=headers) for _ in range(5))
    )
    assert {r.status_code for r in results} == {201}
    assert len({tuple(r.json()["episode_ids"]) for r in results}) == 1
    assert await count_episodes(client, user_id="ana") == 2


BAD: list[tuple[str, Any]] = [
    ("no scope", {"messages": MESSAGES}),
    ("empty batch", {"user_id": "u", "messages": []}),
    ("empty text", {"user_id": "u", "messages": [{"content": ""}]}),
    ("blank text", {"user_id": "u", "messages": [{"content": "   \n"}]}),
    ("unknown scope field", {"tenant_id": "x", "user_id": "u", "messages": MESSAGES}),
    ("bad scope id", {"user_id": "no spaces allowed", "messages": MESSAGES}),
    ("bad time", {"user_id": "u", "messages": [{"content": "x", "occurred_at": "last tuesday"}]}),
    ("bad role", {"user_id": "u", "messages": [{"content": "x", "role": "Robot!"}]}),
    ("content not text", {"user_id": "u", "messages": [{"content": 42}]}),
    ("metadata not object", {"user_id": "u", "messages": [{"content": "x", "metadata": [1]}]}),
    ("oversized batch", {"user_id": "u", "messages": [{"content": "x"}] * 501}),
    ("text too long", {"user_id": "u", "messages": [{"content": "x" * 32_001}]}),
    ("one bad among good", {"user_id": "u", "messages": [*MESSAGES, {"content": ""}]}),
]


@pytest.mark.parametrize(("case", "payload"), BAD, ids=[c for c, _ in BAD])
async def test_bad_input_is_422_and_stores_nothing(
    client: AsyncClient, case: str, payload: Any
) -> None:
    r = await client.post("/v1/messages", json=payload)
    assert r.status_code == 422, (case, r.text)
    assert r.json()["error"] == "InvalidInput"
    assert r.json()["detail"]
    assert await count_episodes(client) == 0


async def test_malformed_json_is_422(client: AsyncClient) -> None:
    r = await client.post(
        "/v1/messages",
        content=b'{"user_id": "u", "messages": [',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["error"] == "InvalidInput"


@pytest.mark.parametrize("url", ["/v1/messages", "/v1/memories", "/v1/search", "/v1/feedback"])
async def test_body_not_utf8_is_422(client: AsyncClient, url: str) -> None:
    """Not 400 (FastAPI's own answer when it cannot decode a body): 422, as documented
    for every bad input, in the standard body. (Found by the schemathesis fuzz test.)"""
    body = b'{"user_id": "u", "messages": [{"content": "caf\xe9"}]}'
    r = await client.post(url, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json() == {
        "error": "InvalidInput",
        "detail": [
            {
                "loc": ["body", body.index(b"\xe9")],
                "msg": "the body is not valid UTF-8: invalid continuation byte",
                "type": "json_invalid",
            }
        ],
    }
    assert await count_episodes(client) == 0


async def test_body_nested_too_deep_is_422(client: AsyncClient) -> None:
    """JSON nested deeper than Python's parser recurses: 422, not FastAPI's 400."""
    body = b"[" * 100_000 + b"]" * 100_000
    r = await client.post(
        "/v1/messages", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "InvalidInput"


async def test_body_over_the_limit_is_413(client: AsyncClient) -> None:
    big = {"user_id": "u", "messages": [{"content": "x" * 30_000}] * 200}
    r = await client.post("/v1/messages", json=big)
    assert r.status_code == 413
    assert r.json()["error"] == "PayloadTooLarge"
    assert await count_episodes(client) == 0


async def test_streamed_body_over_the_limit_is_413(client: AsyncClient) -> None:
    async def chunks() -> Any:
        yield b'{"user_id": "u", "messages": ['
        for _ in range(300):
            yield b'{"content": "' + b"y" * 20_000 + b'"},'
        yield b'{"content": "end"}]}'

    r = await client.post(
        "/v1/messages", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert await count_episodes(client) == 0
