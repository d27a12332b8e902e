"""Who may call the MCP tools: bad and revoked keys, and tenants kept apart."""

from __future__ import annotations

from typing import Any

import pytest

from memory_service.bootstrap import Components
from memory_service.services import tenants
from tests.conftest import new_key
from tests.mcp.helpers import SCOPE, TOOLS, call, connect, fails, message


@pytest.mark.parametrize(
    ("api_key", "expected"),
    [
        ("msk_not-a-key", "Unauthorized: unknown API key"),
        ("sk-other-format", "Unauthorized: malformed API key"),
        (None, "Unauthorized: no API key: start the MCP server with MEMORY_API_KEY set"),
    ],
)
async def test_a_bad_key_fails_every_call(
    components: Components, api_key: str | None, expected: str
) -> None:
    async with connect(components, api_key) as client:
        assert len((await client.list_tools()).tools) == len(TOOLS)
        calls: list[tuple[str, dict[str, Any]]] = [
            ("add", {**SCOPE, "messages": [message("hi")]}),
            ("search", {**SCOPE, "query": "hi"}),
            ("forget", SCOPE),
        ]
        for tool, args in calls:
            assert await fails(client, tool, **args) == expected


async def test_a_revoked_key_fails_from_the_next_call(components: Components) -> None:
    async with components.uow() as uow:
        issued = await tenants.issue_key(uow, "alpha", "mcp")
    async with connect(components, issued.secret) as client:
        await call(client, "add", **SCOPE, messages=[message("before")])
        async with components.uow() as uow:
            await tenants.revoke_key(uow, issued.key.id)
        refused = await fails(client, "search", **SCOPE, query="before")
    assert refused == "Unauthorized: this API key was revoked"


async def test_a_second_tenant_never_sees_the_first(components: Components) -> None:
    secret = "alpha secret: the vault code is 1234"
    async with connect(components, await new_key(components, "alpha")) as alpha:
        await call(alpha, "add", **SCOPE, messages=[message(secret)])
        found = await call(alpha, "search", **SCOPE, query="vault code")
        async with connect(components, await new_key(components, "beta")) as beta:
            searched = await call(beta, "search", **SCOPE, query="vault code")
            block = await call(beta, "context", **SCOPE, query="vault code")
            credit = await fails(beta, "feedback", retrieval_id=found["retrieval_id"], reward=1)
            forget = await call(beta, "forget", **SCOPE)
        still = await call(alpha, "search", **SCOPE, query="vault code")
    assert [h["text"] for h in found["results"]] == [secret]
    assert searched["results"] == []
    assert "vault" not in block["context"]
    assert credit.startswith("NotFound:")
    assert forget["deleted"]["episodes"] == 0  # only beta's own retrieval logs
    assert [h["text"] for h in still["results"]] == [secret]
