"""The MCP tools through the mcp package's own client: in process, over stdio, over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import uuid4

import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent

from memory_service.bootstrap import Components
from memory_service.mcp import MCP_PATH, build_server, http_app
from memory_service.services import tenants
from tests.conftest import ROOT, free_port, new_key

TOOLS = {"add", "search", "context", "feedback", "forget"}
SCOPE = {"user_id": "u"}


@contextlib.asynccontextmanager
async def connect(components: Components, api_key: str | None) -> AsyncIterator[Client]:
    async with Client(build_server(components, api_key=api_key)) as client:
        yield client


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """The structured result of a call that must succeed."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text(result)
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def fails(client: Client, tool: str, **arguments: Any) -> str:
    """The error text of a call that must fail as a tool error, after the SDK's prefix."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result
    prefix = f"Error executing tool {tool}: "
    assert text(result).startswith(prefix), text(result)
    return text(result).removeprefix(prefix)


def text(result: CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


def message(content: str) -> dict[str, str]:
    return {"content": content}


async def test_lists_the_memory_tools(components: Components) -> None:
    async with connect(components, await new_key(components, "alpha")) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    assert tools["forget"].annotations is not None
    assert tools["forget"].annotations.destructive_hint is True
    assert tools["add"].input_schema["required"] == ["messages"]


async def test_add_then_search_finds_the_message(components: Components) -> None:
    async with connect(components, await new_key(components, "alpha")) as client:
        added = await call(
            client, "add", **SCOPE, messages=[message("Pixel the greyhound loves the beach")]
        )
        found = await call(client, "search", **SCOPE, query="greyhound beach")
    assert len(added["episode_ids"]) == 1
    assert added["replayed"] is False
    hits = {h["id"]: h["text"] for h in found["results"]}
    assert hits[added["episode_ids"][0]] == "Pixel the greyhound loves the beach"
    assert found["retrieval_id"]


async def test_add_replays_under_the_same_idempotency_key(components: Components) -> None:
    async with connect(components, await new_key(components, "alpha")) as client:
        args = {**SCOPE, "messages": [message("hello")], "idempotency_key": "k1"}
        first = await call(client, "add", **args)
        second = await call(client, "add", **args)
        conflict = await fails(client, "add", **{**args, "messages": [message("other")]})
    assert second["replayed"] is True
    assert second["episode_ids"] == first["episode_ids"]
    assert conflict.startswith("Conflict:")


async def test_context_returns_a_block(components: Components) -> None:
    async with connect(components, await new_key(components, "alpha")) as client:
        await call(
            client, "add", **SCOPE, messages=[message("Pixel the greyhound loves the beach")]
        )
        block = await call(client, "context", **SCOPE, query="what does Pixel love?")
    assert "## Conversation excerpts" in block["context"]
    assert "Pixel the greyhound loves the beach" in block["context"]
    assert 0 < block["tokens"] <= 1000
    assert len(block["episode_ids"]) == 1
    assert block["retrieval_id"]


async def test_feedback_updates_utility(components: Components) -> None:
    async with connect(components, await new_key(components, "alpha")) as client:
        added = await call(client, "add", **SCOPE, messages=[message("Pixel is a greyhound")])
        episode = added["episode_ids"][0]
        found = await call(client, "search", **SCOPE, query="greyhound")
        rid = found["retrieval_id"]
        first = await call(client, "feedback", retrieval_id=rid, reward=1.0, memory_ids=[episode])
        again = await call(
            client, "feedback", retrieval_id=rid, reward=1.0, memory_ids=[episode], feedback_id="f"
        )
        replay = await call(client, "feedback", retrieval_id=rid, reward=1.0, feedback_id="f")
        unknown = await fails(
            client, "feedback", retrieval_id="00000000-0000-0000-0000-000000000001", reward=1.0
        )
    assert first["utilities"] == {episode: pytest.approx(0.3)}  # 0 + 0.3 (1 - 0)
    assert again["utilities"] == {episode: pytest.approx(0.51)}  # stored: 0.3 + 0.3 (1 - 0.3)
    assert replay["applied"] is False  # the same feedback_id applies once
    assert unknown.startswith("NotFound:")


async def test_forget_removes_the_users_data(components: Components) -> None:
    async with connect(components, await new_key(components, "alpha")) as client:
        await call(client, "add", **SCOPE, messages=[message("Pixel the greyhound")])
        await call(client, "add", user_id="v", messages=[message("Rex the greyhound")])
        forgotten = await call(client, "forget", user_id="u")
        twice = await fails(client, "forget", user_id="u")
        gone = await call(client, "search", user_id="u", query="greyhound")
        kept = await call(client, "search", user_id="v", query="greyhound")
    assert forgotten["user_id"] == "u"
    assert sum(forgotten["deleted"].values()) >= 1
    assert gone["results"] == []
    assert [h["text"] for h in kept["results"]] == ["Rex the greyhound"]
    assert twice == "NotFound: user u has nothing stored"


async def test_validation_mirrors_the_rest_api(components: Components) -> None:
    limit = components.settings.max_limit
    async with connect(components, await new_key(components, "alpha")) as client:
        no_scope = await fails(client, "add", messages=[message("hi")])
        too_many = await fails(client, "search", **SCOPE, query="x", limit=limit + 1)
        preset = await fails(client, "search", **SCOPE, query="x", preset="nope")
        blank = await fails(client, "search", **SCOPE, query="   ")
        context_scope = await fails(client, "context")
        reward = await fails(client, "feedback", retrieval_id=str(uuid4()), reward=2)
    assert no_scope == "InvalidInput: scope: give at least one of user_id, agent_id, session_id"
    assert too_many == f"InvalidInput: limit: at most {limit}"
    assert preset.startswith("InvalidInput: preset: unknown preset")
    assert blank.startswith("InvalidInput: query:")
    assert context_scope.startswith("InvalidInput: scope:")
    assert "reward" in reward  # rejected by the tool's input schema


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


class _Uvicorn(uvicorn.Server):
    """Leaves the test runner's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def http_server(components: Components) -> AsyncIterator[str]:
    """The HTTP app on a loopback port for the block; stops by itself, within bounds."""
    port = free_port()
    config = uvicorn.Config(
        http_app(components), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = _Uvicorn(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                assert not task.done(), "the server did not start"
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}{MCP_PATH}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


async def test_streamable_http_on_a_loopback_port(components: Components) -> None:
    alpha = await new_key(components, "alpha")
    beta = await new_key(components, "beta")
    async with asyncio.timeout(60), http_server(components) as url:
        for headers in ({}, {"Authorization": "Bearer msk_not-a-key"}):
            async with httpx.AsyncClient(timeout=10) as raw:
                refused = await raw.post(url, json={}, headers=headers)
            assert refused.status_code == 401
            assert refused.headers["WWW-Authenticate"] == "Bearer"
        for key, expected in ((alpha, 1), (beta, 0)):
            auth = {"Authorization": f"Bearer {key}"}
            async with (
                httpx2.AsyncClient(headers=auth, timeout=10) as http,
                Client(streamable_http_client(url, http_client=http)) as client,
            ):
                assert {t.name for t in (await client.list_tools()).tools} == TOOLS
                if expected:
                    await call(client, "add", **SCOPE, messages=[message("Pixel the greyhound")])
                found = await call(client, "search", **SCOPE, query="greyhound")
            assert len(found["results"]) == expected


STDIO_SERVER = """
import sys
from memory_service.bootstrap import build_components
from memory_service.config import Settings
from memory_service.mcp import run

url, data_dir, key = sys.argv[1:]
settings = Settings(database_url=url, data_dir=data_dir, embedder="hash")
run(build_components(settings, run_migrations=False), transport="stdio", api_key=key)
"""


def stdio_args(components: Components, key: str) -> list[str]:
    settings = components.settings
    return ["-c", STDIO_SERVER, components.database_url, str(settings.data_dir), key]


async def test_stdio_in_a_subprocess(components: Components) -> None:
    """The real stdio transport: nothing but protocol may reach stdout."""
    key = await new_key(components, "alpha")
    params = StdioServerParameters(
        command=sys.executable, args=stdio_args(components, key), cwd=ROOT
    )
    async with asyncio.timeout(60), Client(params) as client:
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS
        await call(client, "add", **SCOPE, messages=[message("Pixel the greyhound")])
        found = await call(client, "search", **SCOPE, query="greyhound")
    assert [h["text"] for h in found["results"]] == ["Pixel the greyhound"]


async def test_stdio_refuses_a_bad_key_before_serving(components: Components) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *stdio_args(components, "msk_not-a-key"),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode != 0
    assert stdout == b""
    assert b"Unauthorized: unknown API key" in stderr
