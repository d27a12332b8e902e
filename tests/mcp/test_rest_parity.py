"""REST and MCP share one request layer: the same bad request is refused alike, with
the same error class and detail (MCP flattens the detail to ``field: message``)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from httpx import AsyncClient

from memory_service.bootstrap import Components
from tests.conftest import new_key
from tests.mcp.helpers import SCOPE, connect, fails, message

SINCE, UNTIL = "2024-02-01T00:00:00Z", "2024-01-01T00:00:00Z"
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("add", "/v1/messages", {"messages": [message("hi")]}),
    ("search", "/v1/search", {"query": "x"}),
    ("search", "/v1/search", {**SCOPE, "query": "x", "since": SINCE, "until": UNTIL}),
    ("search", "/v1/search", {**SCOPE, "query": "x", "limit": 100_000}),
    ("search", "/v1/search", {**SCOPE, "query": "x", "preset": "nope"}),
    ("context", "/v1/context", {}),
    ("context", "/v1/context", {"query": "x"}),
    ("feedback", "/v1/feedback", {"retrieval_id": str(uuid4()), "reward": 1.0}),
]


def flattened(body: dict[str, Any]) -> str:
    detail = body["detail"]
    if isinstance(detail, dict):
        detail = "; ".join(f"{field}: {text}" for field, text in detail.items())
    return f"{body['error']}: {detail}"


@pytest.mark.parametrize(("tool", "path", "body"), CASES)
async def test_rest_and_mcp_refuse_alike(
    client: AsyncClient, components: Components, tool: str, path: str, body: dict[str, Any]
) -> None:
    rest = await client.post(path, json=body)
    async with connect(components, await new_key(components, "alpha")) as mcp:
        refused = await fails(mcp, tool, **body)
    assert rest.status_code in (404, 422), rest.text
    assert refused == flattened(rest.json())
