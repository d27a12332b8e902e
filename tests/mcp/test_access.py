"""Who may call the MCP tools: bad and revoked keys, and tenants kept apart."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from memory_service.bootstrap import Components
from memory_service.services import tenants
from tests.mcp.helpers import SCOPE, TOOLS, call, connect, fails, issue, texts

SOME_ID = str(uuid4())
EVERY_CALL: list[tuple[str, dict[str, Any]]] = [
    ("add_memory", {**SCOPE, "text": "hi"}),
    ("search_memories", {**SCOPE, "query": "hi"}),
    ("list_memories", SCOPE),
    ("get_memory", {"memory_id": SOME_ID}),
    ("update_memory", {"memory_id": SOME_ID, "text": "x"}),
    ("delete_memory", {"memory_id": SOME_ID}),
    ("delete_all_memories", {**SCOPE, "confirm": True}),
    ("context", SCOPE),
    ("feedback", {"retrieval_id": SOME_ID, "reward": 1}),
]


def test_every_call_covers_every_tool() -> None:
    assert {tool for tool, _ in EVERY_CALL} == TOOLS


@pytest.mark.parametrize(
    ("api_key", "expected"),
    [
        ("msk_not-a-key", "Unauthorized: unknown API key"),
        ("sk-other-format", "Unauthorized: malformed API key"),
        (None, "Unauthorized: no API key: start the MCP server with MEMORY_SERVICE_API_KEY set"),
    ],
)
async def test_a_bad_key_fails_every_call(
    components: Components, api_key: str | None, expected: str
) -> None:
    async with connect(components, api_key) as client:
        assert len((await client.list_tools()).tools) == len(TOOLS)
        for tool, args in EVERY_CALL:
            assert await fails(client, tool, **args) == expected, tool


async def test_a_revoked_key_fails_from_the_next_call(components: Components) -> None:
    async with components.uow() as uow:
        issued = await tenants.issue_key(uow, "alpha", "mcp")
    async with connect(components, issued.secret) as client:
        await call(client, "add_memory", **SCOPE, text="before")
        async with components.uow() as uow:
            await tenants.revoke_key(uow, issued.key.id)
        refused = await fails(client, "search_memories", **SCOPE, query="before")
    assert refused == "Unauthorized: this API key was revoked"


async def test_a_second_tenant_never_sees_or_touches_the_first(components: Components) -> None:
    secret = "alpha secret: the vault code is 1234"
    alpha_key, _ = await issue(components, "alpha")
    beta_key, _ = await issue(components, "beta")
    async with connect(components, alpha_key) as alpha:
        said = (await call(alpha, "add_memory", **SCOPE, text=secret))["id"]
        fact = (await call(alpha, "add_memory", **SCOPE, text=secret, infer=False))["id"]
        found = await call(alpha, "search_memories", **SCOPE, query="vault code")
        async with connect(components, beta_key) as beta:
            searched = await call(beta, "search_memories", **SCOPE, query="vault code")
            listed = await call(beta, "list_memories", **SCOPE)
            block = await call(beta, "context", **SCOPE, query="vault code")
            rid = found["retrieval_id"]
            refused = [
                await fails(beta, "get_memory", memory_id=said),
                await fails(beta, "get_memory", memory_id=fact),
                await fails(beta, "update_memory", memory_id=fact, text="beta was here"),
                await fails(beta, "delete_memory", memory_id=said),
                await fails(beta, "delete_memory", memory_id=fact),
                await fails(beta, "feedback", retrieval_id=rid, reward=1),
            ]
            wiped = await call(beta, "delete_all_memories", **SCOPE, confirm=True)
        still = await call(alpha, "search_memories", **SCOPE, query="vault code", verbose=True)
        kept = await call(alpha, "get_memory", memory_id=fact)
    assert texts(found) == [secret]
    assert searched["results"] == []
    assert listed["items"] == []
    assert "vault" not in block["context"]
    assert all(r.startswith("NotFound:") for r in refused), refused
    assert wiped["deleted"]["episodes"] == wiped["deleted"]["memories"] == 0
    assert {h["id"] for h in still["results"]} == {said, fact}
    assert (kept["text"], kept["status"]) == (secret, "active")
