"""REST and MCP share one request layer: the same bad request is refused alike, with
the same error class and detail (MCP flattens the detail to ``field: message``). The
tools' arguments are named for a model (``text``, ``memory_id``), so each case gives
the tool's arguments and the REST request that means the same."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from httpx import AsyncClient

from memory_service.bootstrap import Components
from tests.conftest import new_key
from tests.mcp.helpers import SCOPE, connect, fails

SINCE, UNTIL = "2024-02-01T00:00:00Z", "2024-01-01T00:00:00Z"
ID = str(uuid4())
HI = {"messages": [{"content": "hi"}]}
CASES: list[tuple[str, dict[str, Any], str, str, dict[str, Any] | None]] = [
    ("add_memory", {"text": "hi"}, "POST", "/v1/messages", HI),
    ("add_memory", {"text": "hi", "infer": False}, "POST", "/v1/memories", {"text": "hi"}),
    ("search_memories", {"query": "x"}, "POST", "/v1/search", {"query": "x"}),
    (
        "search_memories",
        {**SCOPE, "query": "x", "since": SINCE, "until": UNTIL},
        "POST",
        "/v1/search",
        {**SCOPE, "query": "x", "since": SINCE, "until": UNTIL},
    ),
    (
        "search_memories",
        {**SCOPE, "query": "x", "limit": 100_000},
        "POST",
        "/v1/search",
        {**SCOPE, "query": "x", "limit": 100_000},
    ),
    ("get_memory", {"memory_id": ID}, "GET", f"/v1/memories/{ID}", None),
    ("update_memory", {"memory_id": ID, "text": "x"}, "PATCH", f"/v1/memories/{ID}", {"text": "x"}),
    ("delete_memory", {"memory_id": ID}, "DELETE", f"/v1/memories/{ID}", None),
    ("context", {}, "POST", "/v1/context", {}),
    ("context", {"query": "x"}, "POST", "/v1/context", {"query": "x"}),
    (
        "feedback",
        {"retrieval_id": ID, "reward": 1.0},
        "POST",
        "/v1/feedback",
        {"retrieval_id": ID, "reward": 1.0},
    ),
]


def flattened(body: dict[str, Any]) -> str:
    detail = body["detail"]
    if isinstance(detail, dict):
        detail = "; ".join(f"{field}: {text}" for field, text in detail.items())
    return f"{body['error']}: {detail}"


@pytest.mark.parametrize(("tool", "arguments", "method", "path", "body"), CASES)
async def test_rest_and_mcp_refuse_alike(
    client: AsyncClient,
    components: Components,
    tool: str,
    arguments: dict[str, Any],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    rest = await client.request(method, path, json=body)
    async with connect(components, await new_key(components, "alpha")) as mcp:
        refused = await fails(mcp, tool, **arguments)
    assert rest.status_code in (404, 422), rest.text
    assert refused == flattened(rest.json())
