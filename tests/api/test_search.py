"""POST /v1/search: hybrid retrieval over episodes and memories."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy import select

from memory_service.bootstrap import Components
from memory_service.db.models import RetrievalRow
from tests.api.helpers import add_memory, add_messages

TEXTS = [
    "My sister Maria is getting married in June",
    "I bought a new road bike yesterday",
    "The quarterly report is due on Friday",
    "We should try the new ramen place downtown",
]


async def test_finds_episodes_and_memories_with_part_scores(client: AsyncClient) -> None:
    ids = await add_messages(client, TEXTS, user_id="u")
    fact = await add_memory(client, "Maria's wedding is in June", user_id="u")
    r = await client.post("/v1/search", json={"user_id": "u", "query": "Maria wedding", "limit": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["route"] == "fast"
    got = {(h["kind"], h["id"]) for h in body["results"]}
    assert ("episode", ids[0]) in got
    assert ("memory", fact["id"]) in got
    top = body["results"][0]
    assert top["scores"]["rrf"] == top["score"]
    assert {"episodes.vector", "episodes.text", "memories.vector", "memories.text"} & set(
        top["scores"]
    )
    assert len(body["results"]) <= 3
    assert body["timings_ms"]["total"] > 0


async def test_full_text_finds_rare_words(client: AsyncClient) -> None:
    await add_messages(client, [*TEXTS, "Flight code is XK42QZ to Oslo"], user_id="u")
    r = await client.post("/v1/search", json={"user_id": "u", "query": "XK42QZ", "limit": 1})
    assert r.json()["results"][0]["text"] == "Flight code is XK42QZ to Oslo"
    assert "episodes.text" in r.json()["results"][0]["scores"]


def shown(body: dict[str, Any]) -> list[str]:
    """Every turn and fact the results show: the hits and their passages' turns."""
    return [t for h in body["results"] for t in [h["text"], *(c["text"] for c in h["context"])]]


async def test_scope_kinds_and_time_filters(client: AsyncClient) -> None:
    times = ["2024-01-01T00:00:00Z", "2024-06-01T00:00:00Z"]
    await add_messages(
        client, ["bike ride in January", "bike ride in June"], user_id="u", times=times
    )
    await add_messages(client, ["bike ride of someone else"], user_id="other")
    await add_memory(client, "u rides a bike", user_id="u")
    r = await client.post(
        "/v1/search", json={"user_id": "u", "query": "bike ride", "kinds": ["episode"]}
    )
    assert sorted(shown(r.json())) == ["bike ride in January", "bike ride in June"]
    r = await client.post(
        "/v1/search",
        json={"user_id": "u", "query": "bike ride", "kinds": ["episode"], "since": "2024-03-01"},
    )
    # the filter holds for the passages' neighbouring turns too
    assert shown(r.json()) == ["bike ride in June"]
    r = await client.post("/v1/search", json={"user_id": "u", "query": "bike", "kinds": ["memory"]})
    assert [h["text"] for h in r.json()["results"]] == ["u rides a bike"]


async def test_presets_select_lists(client: AsyncClient) -> None:
    await add_messages(client, TEXTS, user_id="u")
    r = await client.post(
        "/v1/search", json={"user_id": "u", "query": "ramen", "preset": "episodes-vector"}
    )
    assert all(
        set(h["scores"]) == {"rrf", "episodes.vector", "episodes.vector_rank"}
        for h in r.json()["results"]
    )
    r = await client.post("/v1/search", json={"user_id": "u", "query": "ramen", "preset": "nope"})
    assert r.status_code == 422


async def test_each_search_is_logged(client: AsyncClient, components: Components) -> None:
    await add_messages(client, TEXTS, user_id="u")
    r = await client.post("/v1/search", json={"user_id": "u", "query": "bike"})
    retrieval_id = r.json()["retrieval_id"]
    async with components.uow() as uow:
        row = (
            await uow.session.execute(select(RetrievalRow).where(RetrievalRow.id == retrieval_id))
        ).scalar_one()
    assert row.query == "bike"
    assert row.route == "fast"
    assert [x["id"] for x in row.results] == [h["id"] for h in r.json()["results"]]


async def test_rejects_bad_queries(client: AsyncClient) -> None:
    for body in [
        {"query": "no scope"},
        {"user_id": "u", "query": ""},
        {"user_id": "u", "query": "   "},
        {"user_id": "u", "query": "x", "limit": 0},
        {"user_id": "u", "query": "x", "limit": 1000},
        {"user_id": "u", "query": "x", "since": "2024-02-01", "until": "2024-01-01"},
        {"user_id": "u", "query": "x", "kinds": []},
        {"user_id": "u", "query": "x", "kinds": ["fact"]},
    ]:
        r = await client.post("/v1/search", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"] == "InvalidInput"


async def test_stopword_only_query_still_answers(client: AsyncClient) -> None:
    await add_messages(client, TEXTS, user_id="u")
    r = await client.post("/v1/search", json={"user_id": "u", "query": "the and of"})
    assert r.status_code == 200


async def test_window_presets_bring_neighbouring_turns(client: AsyncClient) -> None:
    times = [f"2024-01-01T00:00:0{i}Z" for i in range(5)]
    texts = ["hello there", "what did you eat?", "a bowl of ramen", "sounds tasty", "bye"]
    ids = await add_messages(client, texts, session_id="s", times=times)
    r = await client.post(
        "/v1/search",
        json={"session_id": "s", "query": "ramen bowl", "preset": "hybrid-window", "limit": 1},
    )
    [hit] = r.json()["results"]
    assert hit["text"] == "a bowl of ramen"
    shown = [(t["text"], t["position"]) for t in hit["context"]]
    assert ("what did you eat?", -1) in shown
    assert ("sounds tasty", 1) in shown
    # the second candidate overlapped this passage: it was merged in, not dropped
    assert len(hit["merged_ids"]) <= 1
    assert len(shown) == 2 + bool(hit["merged_ids"])
    assert hit["source_episode_ids"][:3] == [ids[2], ids[1], ids[3]]
    plain = await client.post(
        "/v1/search", json={"session_id": "s", "query": "ramen bowl", "preset": "hybrid"}
    )
    assert plain.json()["results"][0]["context"] == []


async def test_overlapping_passages_merge_and_free_their_slot(client: AsyncClient) -> None:
    texts = [
        "hello there",
        "we had ramen noodles for lunch",
        "the ramen noodles were spicy",
        "sounds tasty",
        "the weather is grey",
        # the fourth candidate of the pool (depth 2): a weaker hit whose passage touches
        # neither, so the pool does not end in a tie of turns unrelated to the query
        "the cat sleeps all day, no ramen for her",
        "the train was late again",
        "I bought new shoes",
        "more ramen noodles tomorrow then",
    ]
    times = [f"2024-01-01T00:00:0{i}Z" for i in range(len(texts))]
    ids = await add_messages(client, texts, session_id="s", times=times)
    r = await client.post(
        "/v1/search",
        json={"session_id": "s", "query": "ramen noodles", "preset": "hybrid-window", "limit": 2},
    )
    hits = r.json()["results"]
    assert len(hits) == 2
    merged = next(h for h in hits if h["merged_ids"])
    other = next(h for h in hits if not h["merged_ids"])
    # turns 1 and 2 are both hits: one passage shows 0..3, and no turn twice
    assert {merged["id"], *merged["merged_ids"]} == {ids[1], ids[2]}
    shown = [merged["id"], *(t["id"] for t in merged["context"])]
    assert sorted(shown) == sorted(ids[0:4])
    assert len(shown) == 4
    assert sorted(merged["source_episode_ids"]) == sorted(ids[0:4])
    # the freed slot went to the third ramen turn, with its own context
    assert other["id"] == ids[8]
    assert [t["position"] for t in other["context"]] == [-1]
