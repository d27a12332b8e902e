"""Metadata filters through the API on the real database: listings, search (every list,
Full Deliberation's scan, context turns), context blocks, scope keys, refusals, the index."""

from __future__ import annotations

import json
import random
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text

from memory_service.bootstrap import Components
from memory_service.domain.filters import matches, parse_filters
from tests.api.helpers import add_memory
from tests.unit.test_metadata_filter_grammar import random_filter

FACTS: list[tuple[str, dict[str, Any]]] = [
    ("Alice likes sushi", {"category": "food", "score": 9, "day": "2024-03-01", "tag": "Red"}),
    ("Alice likes ramen", {"category": "food", "score": 4, "day": "2024-05-20"}),
    ("Alice flew to Lisbon", {"category": "travel", "score": 7, "day": "2023-12-24"}),
    ("Alice reads novels", {"category": "hobby", "score": "high", "tag": "dark red"}),
    ("Alice plays chess", {}),
]


async def seed_memories(client: AsyncClient, user: str = "alice") -> dict[str, dict[str, Any]]:
    """The facts above as memories of ``user``: their metadata by id."""
    stored: dict[str, dict[str, Any]] = {}
    for fact, metadata in FACTS:
        m = await add_memory(client, fact, user_id=user, metadata=metadata)
        assert m["metadata"] == metadata
        stored[m["id"]] = metadata
    return stored


async def listed(client: AsyncClient, filters: dict[str, Any], **params: Any) -> set[str]:
    r = await client.get(
        "/v1/memories", params={"user_id": "alice", "filters": json.dumps(filters), **params}
    )
    assert r.status_code == 200, r.text
    return {m["text"] for m in r.json()["items"]}


async def test_memory_metadata_is_stored_and_returned(client: AsyncClient) -> None:
    m = await add_memory(client, "x", user_id="u", metadata={"a": {"b": [1, None]}, "n": 1.5})
    got = (await client.get(f"/v1/memories/{m['id']}")).json()
    assert got["metadata"] == {"a": {"b": [1, None]}, "n": 1.5}


async def test_list_memories_by_metadata(client: AsyncClient) -> None:
    await seed_memories(client)
    food = {"Alice likes sushi", "Alice likes ramen"}
    assert await listed(client, {"category": "food"}) == food
    assert await listed(client, {"category": {"eq": "food"}}) == food
    assert await listed(client, {"category": {"in": ["food", "travel"]}}) == {
        *food,
        "Alice flew to Lisbon",
    }
    assert await listed(client, {"category": {"nin": ["food", "travel"]}}) == {
        "Alice reads novels",
        "Alice plays chess",  # no category at all: NOT is the complement
    }
    assert await listed(client, {"category": {"ne": "food"}}) == {
        "Alice flew to Lisbon",
        "Alice reads novels",
        "Alice plays chess",
    }
    # a range over a non-numeric value ("high") is false for it, not a SQL error
    assert await listed(client, {"score": {"gte": 5}}) == {
        "Alice likes sushi",
        "Alice flew to Lisbon",
    }
    assert await listed(client, {"score": {"gt": 4, "lt": 9}}) == {"Alice flew to Lisbon"}
    assert await listed(client, {"score": {"gt": "a"}}) == {"Alice reads novels"}
    assert await listed(client, {"day": {"gte": "2024-01-01", "lt": "2024-04-01"}}) == {
        "Alice likes sushi"
    }
    assert await listed(client, {"tag": {"contains": "red"}}) == {"Alice reads novels"}
    assert await listed(client, {"tag": {"icontains": "RED"}}) == {
        "Alice likes sushi",
        "Alice reads novels",
    }
    assert await listed(client, {"tag": "*"}) == {"Alice likes sushi", "Alice reads novels"}
    either = {"OR": [{"category": "travel"}, {"score": {"lt": 5}}]}
    assert await listed(client, either) == {"Alice flew to Lisbon", "Alice likes ramen"}
    assert await listed(client, {"AND": [{"category": "food"}, {"NOT": [{"score": 9}]}]}) == {
        "Alice likes ramen"
    }
    assert await listed(client, {"NOT": {"category": "*"}}) == {"Alice plays chess"}


async def test_list_episodes_by_metadata(client: AsyncClient) -> None:
    messages = [
        {"content": "hi", "metadata": {"channel": "web", "n": 1}},
        {"content": "hello", "metadata": {"channel": "sms", "n": 2}},
        {"content": "hey", "metadata": {"channel": "web", "n": 3}},
    ]
    r = await client.post("/v1/messages", json={"user_id": "u", "messages": messages})
    assert r.status_code == 201, r.text
    filters = json.dumps({"AND": [{"channel": "web"}, {"n": {"gt": 1}}]})
    r = await client.get("/v1/episodes", params={"user_id": "u", "filters": filters})
    assert r.status_code == 200, r.text
    assert [e["content"] for e in r.json()["items"]] == ["hey"]
    # the scope may come from the filter alone
    filters = json.dumps({"user_id": "u", "channel": {"in": ["web"]}})
    r = await client.get("/v1/episodes", params={"filters": filters})
    assert [e["content"] for e in r.json()["items"]] == ["hi", "hey"]


async def test_search_respects_filters(client: AsyncClient) -> None:
    stored = await seed_memories(client)
    r = await client.post(
        "/v1/messages",
        json={
            "user_id": "alice",
            "messages": [
                {"content": "Alice said she likes sushi a lot", "metadata": {"category": "food"}},
                {"content": "Alice said she likes sushi rolls", "metadata": {"category": "chat"}},
            ],
        },
    )
    assert r.status_code == 201
    body = {"user_id": "alice", "query": "Alice likes sushi", "filters": {"category": "food"}}
    r = await client.post("/v1/search", json=body)
    assert r.status_code == 200, r.text
    texts = {h["text"] for h in r.json()["results"]}
    assert "Alice likes sushi" in texts
    assert "Alice said she likes sushi a lot" in texts
    assert "Alice said she likes sushi rolls" not in texts
    assert all(
        stored.get(h["id"], {"category": "food"})["category"] == "food" for h in r.json()["results"]
    )


async def test_scope_keys_inside_filters(client: AsyncClient) -> None:
    await seed_memories(client, "alice")
    await seed_memories(client, "bob")
    filters = {"AND": [{"user_id": "bob"}, {"category": "travel"}]}
    r = await client.post("/v1/search", json={"query": "Alice flew", "filters": filters})
    assert r.status_code == 200, r.text
    assert [h["text"] for h in r.json()["results"]] == ["Alice flew to Lisbon"]
    listing = await client.get(
        "/v1/memories", params={"filters": json.dumps({"user_id": "bob", "score": 4})}
    )
    assert [m["text"] for m in listing.json()["items"]] == ["Alice likes ramen"]
    clash = {"user_id": "alice", "query": "x", "filters": {"user_id": "bob"}}
    r = await client.post("/v1/search", json=clash)
    assert r.status_code == 422
    assert "contradicts" in json.dumps(r.json())


async def test_malformed_filters_are_422_naming_the_problem(client: AsyncClient) -> None:
    cases = [
        ({"category": {"like": "f%"}}, "filters.category.like", "unknown operator"),
        ({"OR": [{"user_id": "bob"}, {"a": 1}]}, "filters.OR[0].user_id", "only under AND"),
        ({"score": {"gt": [1]}}, "filters.score.gt", "number or a string"),
        ({"AND": "x"}, "filters.AND", "non-empty list"),
    ]
    for filters, path, says in cases:
        for r in (
            await client.post(
                "/v1/search", json={"user_id": "u", "query": "q", "filters": filters}
            ),
            await client.post("/v1/context", json={"user_id": "u", "filters": filters}),
            await client.post(
                "/v1/answer", json={"user_id": "u", "question": "q", "filters": filters}
            ),
            await client.get(
                "/v1/memories", params={"user_id": "u", "filters": json.dumps(filters)}
            ),
            await client.get(
                "/v1/episodes", params={"user_id": "u", "filters": json.dumps(filters)}
            ),
        ):
            assert r.status_code == 422, (filters, r.text)
            body = r.json()
            assert body["error"] == "InvalidInput"
            assert says in body["detail"][path], body
    for bad in ("{", "[]", '{"k": NaN}'):
        r = await client.get("/v1/memories", params={"user_id": "u", "filters": bad})
        assert r.status_code == 422, r.text
        assert "filters" in r.json()["detail"]
    r = await client.post("/v1/search", json={"user_id": "u", "query": "q", "filters": [1]})
    assert r.status_code == 422


async def test_context_respects_filters(client: AsyncClient) -> None:
    await seed_memories(client)
    for query in (None, "What does Alice like?"):
        body: dict[str, Any] = {"user_id": "alice", "filters": {"category": "food"}}
        if query:
            body["query"] = query
        r = await client.post("/v1/context", json=body)
        assert r.status_code == 200, r.text
        block = r.json()["context"]
        assert "sushi" in block
        assert "ramen" in block
        assert "Lisbon" not in block
        assert "chess" not in block


def random_metadata(rng: random.Random) -> dict[str, Any]:
    values = [0, 1, 2, "x", "y", "xy", True, None]
    return {k: rng.choice(values) for k in "abc" if rng.random() < 0.7}


async def test_filtered_results_always_pass_the_filter(client: AsyncClient) -> None:
    """Random metadata and random filters: a listing is exactly what the Python
    evaluator keeps; every search hit, context turn and deliberated fact passes."""
    rng = random.Random(11)
    metadata: dict[str, dict[str, Any]] = {}
    for i in range(12):
        meta = random_metadata(rng)
        m = await add_memory(client, f"note {i} about the garden", user_id="p", metadata=meta)
        metadata[m["id"]] = meta
    metas = [random_metadata(rng) for _ in range(12)]
    messages = [
        {"content": f"note {i} about the garden", "metadata": m} for i, m in enumerate(metas)
    ]
    r = await client.post("/v1/messages", json={"user_id": "p", "messages": messages})
    for episode_id, meta in zip(r.json()["episode_ids"], metas, strict=True):
        metadata[episode_id] = meta
    hits = partial = 0
    for round_ in range(25):
        raw = random_filter(rng)
        where = parse_filters(raw).where
        wanted = {i for i, meta in metadata.items() if matches(where, meta)}
        partial += 0 < len(wanted) < len(metadata)
        page = await client.get(
            "/v1/memories", params={"user_id": "p", "filters": json.dumps(raw), "limit": 100}
        )
        episodes = await client.get(
            "/v1/episodes", params={"user_id": "p", "filters": json.dumps(raw), "limit": 100}
        )
        got = {m["id"] for m in page.json()["items"]} | {e["id"] for e in episodes.json()["items"]}
        assert got == wanted, raw
        mode = "deliberate" if round_ % 5 == 0 else "fast"
        preset = "hybrid-window" if round_ % 2 else "hybrid-graph"
        r = await client.post(
            "/v1/search",
            json={
                "user_id": "p",
                "query": "garden note",
                "limit": 30,
                "filters": raw,
                "mode": mode,
                "preset": preset,
            },
        )
        assert r.status_code == 200, r.text
        hits += len(r.json()["results"])
        for hit in r.json()["results"]:
            shown = [hit["id"]] if hit["kind"] != "fact" else []
            shown += [t["id"] for t in hit["context"]]
            shown += hit["source_episode_ids"] if hit["kind"] != "memory" else []
            assert set(shown) <= wanted, (raw, hit)
    assert hits > 50
    assert partial > 10  # the filters drew real lines, not all or nothing


async def test_metadata_indexes_serve_containment(components: Components) -> None:
    async with components.uow() as uow:
        names = (
            await uow.session.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes "
                    "WHERE indexname IN ('ix_episodes_metadata', 'ix_memories_metadata')"
                )
            )
        ).all()
        assert len(names) == 2
        assert all("gin" in d and "jsonb_path_ops" in d for _, d in names)
        await uow.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = (
            await uow.session.execute(
                text(
                    "EXPLAIN SELECT id FROM memories "
                    """WHERE metadata @> '{"category": "food"}'::jsonb"""
                )
            )
        ).scalars()
        assert "ix_memories_metadata" in "\n".join(plan)
