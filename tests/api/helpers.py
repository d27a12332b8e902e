"""Small request helpers shared by the API tests."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from memory_service.bootstrap import Components, build_consolidator
from workers.dispatch import InProcessWorker


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


async def seed_consolidated(client: AsyncClient, components: Components) -> dict[str, Any]:
    """User ``u``'s two turns and a fact edited once (history: ADD, UPDATE), with the
    turns' consolidation run: a scope holding every kind of row an export carries. The
    fact is returned as it was added."""
    await add_messages(
        client, ["Caroline adopted a greyhound named Pixel", "Melanie paints sunsets"], user_id="u"
    )
    fact = await add_memory(client, "Pixel is a greyhound", user_id="u")
    await client.patch(f"/v1/memories/{fact['id']}", json={"text": "Pixel is a calm greyhound"})
    await InProcessWorker(
        components, build_consolidator(components.settings, components.embedder)
    ).drain()
    return fact
