"""The MCP tools in process, through the mcp package's own client: what each one does."""

from __future__ import annotations

from uuid import uuid4

import pytest

from memory_service.bootstrap import Components
from tests.conftest import new_key
from tests.mcp.helpers import SCOPE, TOOLS, call, connect, fails, message


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
