"""The MCP tools in process, through the mcp package's own client: what each one does,
what it says about itself, and how short its answers are."""

from __future__ import annotations

from uuid import uuid4

from sqlalchemy import select

from memory_service.bootstrap import Components
from memory_service.db.models import JobRow
from tests.mcp.helpers import (
    SCOPE,
    TOOLS,
    call,
    connect,
    fails,
    issue,
    remember,
    text,
    texts,
    with_default_user,
)

PIXEL = "Pixel the greyhound loves the beach"
READ_ONLY = {"search_memories", "list_memories", "get_memory", "context"}
DESTRUCTIVE = {"delete_memory", "delete_all_memories"}
INTERNALS = ("Q <-", "cl100k", "RRF", "episodes.", "preset", "hyperedge")


async def test_lists_the_tools_with_their_annotations(components: Components) -> None:
    secret, _ = await issue(components, "alpha")
    async with connect(components, secret) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for name, tool in tools.items():
        hints = tool.annotations
        assert hints is not None, name
        assert hints.open_world_hint is False, name
        assert hints.read_only_hint is (name in READ_ONLY), name
        if name not in READ_ONLY:
            assert hints.destructive_hint is (name in DESTRUCTIVE), name
        assert tool.title, name
        assert tool.description, name
        assert not [w for w in INTERNALS if w in tool.description], (name, tool.description)
    assert tools["add_memory"].input_schema["required"] == ["text"]
    assert tools["search_memories"].input_schema["required"] == ["query"]
    assert tools["delete_all_memories"].input_schema["properties"]["confirm"]["default"] is False


async def test_add_memory_then_search_finds_it(components: Components) -> None:
    secret, _ = await issue(components, "alpha")
    async with connect(components, secret) as client:
        added = await call(client, "add_memory", **SCOPE, text=PIXEL)
        found = await call(client, "search_memories", **SCOPE, query="greyhound beach")
    assert added == {"id": added["id"], "kind": "episode"}
    [hit] = found["results"]
    assert hit == {"id": added["id"], "kind": "episode", "text": PIXEL, "date": hit["date"]}
    assert hit["date"].endswith("Z")
    assert "." not in hit["date"]  # to the second
    assert set(found) == {"results", "retrieval_id"}


async def test_add_memory_word_for_word_is_a_memory(components: Components) -> None:
    secret, _ = await issue(components, "alpha")
    async with connect(components, secret) as client:
        added = await call(
            client, "add_memory", **SCOPE, text=PIXEL, infer=False, metadata={"topic": "pets"}
        )
        got = await call(client, "get_memory", memory_id=added["id"])
    assert added["kind"] == "memory"
    assert got["text"] == PIXEL
    assert got["status"] == "active"
    assert got["user_id"] == "u"
    assert got["metadata"] == {"topic": "pets"}


async def test_search_shows_an_episode_and_its_memory_once_and_briefly(
    components: Components,
) -> None:
    """The same text stored twice, as said and as a fact: the search the issue measured."""
    secret, tenant = await issue(components, "alpha")
    async with connect(components, secret) as client:
        await call(client, "add_memory", **SCOPE, text=PIXEL)
        memory = await remember(components, tenant, PIXEL, user_id="u")
        brief = await client.call_tool("search_memories", {**SCOPE, "query": "greyhound beach"})
        verbose = await call(client, "search_memories", **SCOPE, query="greyhound", verbose=True)
    assert brief.structured_content is not None
    [hit] = brief.structured_content["results"]
    assert (hit["id"], hit["kind"]) == (str(memory), "memory")
    assert len(text(brief).encode()) < 300  # 1,768 bytes for the same search before
    assert {h["kind"] for h in verbose["results"]} == {"episode", "memory"}
    assert all("score" in h and "scores" in h for h in verbose["results"])
    assert {"route", "timings_ms"} <= set(verbose)


async def test_list_memories_by_pages(components: Components) -> None:
    secret, _ = await issue(components, "alpha")
    async with connect(components, secret) as client:
        for fact in ("one", "two", "three"):
            await call(client, "add_memory", **SCOPE, text=fact, infer=False)
        await call(client, "add_memory", **SCOPE, text="said once")
        first = await call(client, "list_memories", **SCOPE, limit=2)
        rest = await call(client, "list_memories", **SCOPE, limit=2, cursor=first["next_cursor"])
        said = await call(client, "list_memories", **SCOPE, kind="episode")
        other = await call(client, "list_memories", user_id="v")
    assert texts(first) == ["one", "two"]
    assert texts(rest) == ["three"]
    assert "next_cursor" not in rest
    assert set(first["items"][0]) == {"id", "kind", "text", "date"}
    assert texts(said) == ["said once"]
    assert other == {"items": []}


async def test_get_memory_reads_either_kind(components: Components) -> None:
    secret, _ = await issue(components, "alpha")
    unknown = uuid4()
    async with connect(components, secret) as client:
        said = await call(client, "add_memory", **SCOPE, text="hello there")
        episode = await call(client, "get_memory", memory_id=said["id"])
        missing = await fails(client, "get_memory", memory_id=str(unknown))
    assert (episode["kind"], episode["text"], episode["user_id"]) == ("episode", "hello there", "u")
    assert missing == f"NotFound: memory {unknown} not found"


async def test_update_memory_corrects_a_fact(components: Components) -> None:
    secret, _ = await issue(components, "alpha")
    async with connect(components, secret) as client:
        fact = await call(client, "add_memory", **SCOPE, text="lives in Paris", infer=False)
        said = await call(client, "add_memory", **SCOPE, text="I live in Paris")
        updated = await call(client, "update_memory", memory_id=fact["id"], text="lives in Rome")
        found = await call(client, "search_memories", **SCOPE, query="Rome")
        nothing = await fails(client, "update_memory", memory_id=fact["id"])
        episode = await fails(client, "update_memory", memory_id=said["id"], text="x")
    assert (updated["id"], updated["text"]) == (fact["id"], "lives in Rome")
    assert texts(found)[0] == "lives in Rome"
    assert nothing.startswith("InvalidInput: body: nothing to update")
    assert episode.startswith("InvalidInput: memory_id: an episode cannot be edited")


async def test_delete_memory_takes_its_twin_episode(components: Components) -> None:
    secret, tenant = await issue(components, "alpha")
    async with connect(components, secret) as client:
        episode = (await call(client, "add_memory", **SCOPE, text=PIXEL))["id"]
        memory = await remember(
            components, tenant, PIXEL, user_id="u", source_episode_ids=[episode]
        )
        said = (await call(client, "add_memory", **SCOPE, text="Rex the greyhound"))["id"]
        deleted = await call(client, "delete_memory", memory_id=str(memory))
        gone = await call(client, "search_memories", **SCOPE, query="Pixel greyhound beach")
        again = await fails(client, "delete_memory", memory_id=str(memory))
        dropped = await call(client, "delete_memory", memory_id=said)
        retired = await call(client, "get_memory", memory_id=str(memory))
    assert deleted == {"deleted": [str(memory), episode]}
    assert PIXEL not in texts(gone)
    assert again == f"NotFound: memory {memory} not found"
    assert dropped == {"deleted": [said]}
    assert retired["status"] == "deleted"


async def test_delete_all_memories_needs_confirm(components: Components) -> None:
    secret, _ = await issue(components, "alpha")
    async with connect(components, secret) as client:
        await call(client, "add_memory", **SCOPE, text="Pixel the greyhound")
        await call(client, "add_memory", user_id="v", text="Rex the greyhound")
        unconfirmed = await fails(client, "delete_all_memories", **SCOPE)
        kept_meanwhile = await call(client, "search_memories", **SCOPE, query="greyhound")
        forgotten = await call(client, "delete_all_memories", **SCOPE, confirm=True)
        twice = await call(client, "delete_all_memories", **SCOPE, confirm=True)
        gone = await call(client, "search_memories", **SCOPE, query="greyhound")
        kept = await call(client, "search_memories", user_id="v", query="greyhound")
        no_one = await fails(client, "delete_all_memories", confirm=True)
    assert unconfirmed.startswith("InvalidInput: confirm:")
    assert texts(kept_meanwhile) == ["Pixel the greyhound"]
    assert forgotten["user_id"] == "u"
    assert forgotten["deleted"]["episodes"] == 1
    assert not any(twice["deleted"].values())  # idempotent: nothing left, no error
    assert gone["results"] == []
    assert texts(kept) == ["Rex the greyhound"]
    assert no_one == "InvalidInput: user_id: name whose memories to delete"


async def test_a_default_user_scopes_calls_that_name_none(components: Components) -> None:
    secret, _ = await issue(components, "alpha")
    async with connect(with_default_user(components, "me"), secret) as client:
        guide = client.instructions
        added = await call(client, "add_memory", text=PIXEL, infer=False)
        mine = await call(client, "search_memories", query="greyhound")
        listed = await call(client, "list_memories")
        named = await call(client, "search_memories", user_id="me", query="greyhound")
        others = await call(client, "search_memories", user_id="someone", query="greyhound")
        block = await call(client, "context", query="greyhound")
        got = await call(client, "get_memory", memory_id=added["id"])
    assert texts(mine) == texts(listed) == texts(named) == [PIXEL]
    assert others["results"] == []
    assert PIXEL in block["context"]
    assert got["user_id"] == "me"
    async with connect(components, secret) as client:
        unguided = client.instructions
        unscoped = await fails(client, "add_memory", text=PIXEL)
    assert guide is not None
    assert guide.endswith("A call naming no user_id is for user 'me'.")
    assert unguided is not None
    assert unguided.endswith("Name the user_id in every call.")
    assert unscoped == "InvalidInput: scope: give at least one of user_id, agent_id, session_id"


async def test_context_returns_a_block(components: Components) -> None:
    secret, _ = await issue(components, "alpha")
    async with connect(components, secret) as client:
        await call(client, "add_memory", **SCOPE, text=PIXEL)
        block = await call(client, "context", **SCOPE, query="what does Pixel love?")
    assert set(block) == {"context", "tokens", "retrieval_id"}
    assert "## Conversation excerpts" in block["context"]
    assert PIXEL in block["context"]
    assert 0 < block["tokens"] <= 1000


async def test_feedback_credits_what_a_search_returned(components: Components) -> None:
    secret, _ = await issue(components, "alpha")
    async with connect(components, secret) as client:
        added = await call(client, "add_memory", **SCOPE, text="Pixel is a greyhound")
        rid = (await call(client, "search_memories", **SCOPE, query="greyhound"))["retrieval_id"]
        first = await call(client, "feedback", retrieval_id=rid, reward=1.0, feedback_id="f")
        replay = await call(client, "feedback", retrieval_id=rid, reward=1.0, feedback_id="f")
        some = await call(client, "feedback", retrieval_id=rid, reward=1, memory_ids=[added["id"]])
        unknown = await fails(client, "feedback", retrieval_id=str(uuid4()), reward=1.0)
    assert first == {"applied": True, "credited": 1}
    assert replay["applied"] is False  # the same feedback_id applies once
    assert some == {"applied": True, "credited": 1}
    assert unknown.startswith("NotFound:")


async def test_bad_arguments_are_tool_errors_naming_the_field(components: Components) -> None:
    limit = components.settings.max_limit
    secret, _ = await issue(components, "alpha")
    async with connect(components, secret) as client:
        too_many = await fails(client, "search_memories", **SCOPE, query="x", limit=limit + 1)
        blank = await fails(client, "search_memories", **SCOPE, query="   ")
        blank_text = await fails(client, "add_memory", **SCOPE, text="  ", infer=False)
        context_scope = await fails(client, "context")
        reward = await fails(client, "feedback", retrieval_id=str(uuid4()), reward=2)
        not_an_id = await fails(client, "get_memory", memory_id="nope")
    assert too_many == f"InvalidInput: limit: at most {limit}"
    assert blank.startswith("InvalidInput: query:")
    assert blank_text == "InvalidInput: text: must not be blank"
    assert context_scope.startswith("InvalidInput: scope:")
    assert "reward" in reward  # rejected by the tool's input schema
    assert "memory_id" in not_an_id


async def test_metadata_filters_narrow_search_and_list(components: Components) -> None:
    secret, _ = await issue(components, "alpha")
    async with connect(components, secret) as client:
        for text_, topic in ((PIXEL, "pets"), ("Rex the greyhound eats kibble", "food")):
            await call(
                client, "add_memory", **SCOPE, text=text_, infer=False, metadata={"topic": topic}
            )
        pets = {"topic": "pets"}
        found = await call(client, "search_memories", **SCOPE, query="greyhound", filters=pets)
        listed = await call(client, "list_memories", **SCOPE, filters={"topic": "food"})
        block = await call(client, "context", **SCOPE, query="greyhound", filters=pets)
        bad = await fails(client, "search_memories", **SCOPE, query="x", filters={"a": {"zz": 1}})
    assert texts(found) == [PIXEL]
    assert texts(listed) == ["Rex the greyhound eats kibble"]
    assert "kibble" not in block["context"]
    assert bad.startswith("InvalidInput: filters")


async def test_add_memory_instructions_travel_with_the_job(components: Components) -> None:
    secret, _ = await issue(components, "alpha")
    async with connect(components, secret) as client:
        added = await call(
            client, "add_memory", **SCOPE, text=PIXEL, instructions="only the dog's name"
        )
        blank = await fails(client, "add_memory", **SCOPE, text=PIXEL, instructions="  ")
    assert "instructions" in blank
    async with components.uow() as uow:
        stmt = select(JobRow.payload).where(JobRow.payload["episode_ids"].contains([added["id"]]))
        payload = (await uow.session.execute(stmt)).scalar_one()
    assert payload["instructions"] == "only the dog's name"


async def test_delete_an_episode_takes_the_facts_drawn_from_it_alone(
    components: Components,
) -> None:
    secret, tenant = await issue(components, "alpha")
    async with connect(components, secret) as client:
        said = (await call(client, "add_memory", **SCOPE, text="I moved to Lisbon"))["id"]
        fact = await remember(
            components, tenant, "lives in Lisbon", user_id="u", source_episode_ids=[said]
        )
        deleted = await call(client, "delete_memory", memory_id=said)
        retired = await call(client, "get_memory", memory_id=str(fact))
    assert deleted == {"deleted": [said, str(fact)]}
    assert retired["status"] == "deleted"
