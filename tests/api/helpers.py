"""Small request helpers shared by the API tests."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient


async def add_messages(client: AsyncClient, texts: list[str], **fields: Any) -> list[str]:
    scope = {k: v for k, v in fields.items() if k in ("user_id", "agent_id", "session_id")}
    times = fields.get("times")
    messages = [
        {"content": t, **({"occurred_at": times[i]} if times else {})} for i, t in enumerate(texts)
    ]
    r = await client.post("/v1/messages", json={**scope, "messages": messages})
    assert r.status_code == 201, r.text
    ids: list[str] = r.json()["episode_ids"]
    return ids


async def add_memory(client: AsyncClient, text: str, **fields: Any) -> dict[str, Any]:
    r = await client.post("/v1/memories", json={"text": text, **fields})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def episode_record(**fields: Any) -> dict[str, Any]:
    """One valid ``/v1/import`` line (an episode of user ``u``), with ``fields`` over it."""
    return {
        "type": "episode",
        "id": "00000000-0000-0000-0000-0000000000aa",
        "role": "user",
        "text": "ok",
        "occurred_at": "2024-01-01T00:00:00Z",
        "embedding": [0.0] * 383 + [1.0],
        "user_id": "u",
        **fields,
    }
