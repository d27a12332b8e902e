"""Writes, searches, answers, context blocks and the graph belong to an owner: a scope
with none of user_id, agent_id, session_id is refused, with one detail everywhere."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/messages", {"messages": [{"content": "hi"}]}),
        ("POST", "/v1/memories", {"text": "a fact"}),
        ("POST", "/v1/search", {"query": "x"}),
        ("POST", "/v1/answer", {"question": "who?"}),
        ("POST", "/v1/context", {}),
        ("GET", "/v1/graph/export", None),
    ],
)
async def test_every_scoped_route_asks_for_an_owner(
    client: AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    r = await client.request(method, path, json=body)
    assert r.status_code == 422
    assert r.json() == {
        "error": "InvalidInput",
        "detail": {"scope": "give at least one of user_id, agent_id, session_id"},
    }
