"""The reads the memory inspector makes: scopes with their counts, jobs, memories by
provenance, a bounded graph, the gate's verdict in a search, and who a key is."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest
from httpx import ASGITransport, AsyncClient

from memory_service.bootstrap import Components
from memory_service.services import tenants
from tests.api.helpers import add_memory, add_messages, episode_record, seed_consolidated
from tests.api.scripted_deliberation import TURNS
from tests.conftest import new_key

SCOPE_KEYS = {"user_id", "agent_id", "session_id", "episodes", "facts", "entities"}


async def _pages(client: AsyncClient, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a listing, following next_cursor."""
    pages, cursor = [], None
    while True:
        r = await client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"items", "next_cursor"}
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def _triple(item: dict[str, Any]) -> tuple[str | None, ...]:
    return (item["user_id"], item["agent_id"], item["session_id"])


# --- GET /v1/scopes -------------------------------------------------------------


async def test_scopes_list_each_exact_triple_with_its_counts(
    client: AsyncClient, components: Components
) -> None:
    fact = await seed_consolidated(client, components)  # user u: 2 turns, facts, entities
    await add_messages(client, ["hello"], user_id="u", agent_id="bot", session_id="s1")
    await add_messages(client, ["one", "two", "three"], user_id="alice", session_id="s2")
    await add_memory(client, "the bot is polite", agent_id="bot")  # a fact, no episode
    r = await client.get("/v1/scopes")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["next_cursor"] is None
    items = body["items"]
    assert all(set(i) == SCOPE_KEYS | {"last_activity"} for i in items)
    by_triple = {_triple(i): i for i in items}
    assert list(by_triple) == [  # most recently active first
        (None, "bot", None),
        ("alice", None, "s2"),
        ("u", "bot", "s1"),
        ("u", None, None),
    ]
    assert by_triple[None, "bot", None]["episodes"] == 0
    assert by_triple[None, "bot", None]["facts"] == 1
    assert by_triple["alice", None, "s2"]["episodes"] == 3
    u = by_triple["u", None, None]
    assert u["episodes"] == 2
    stored = (await client.get("/v1/memories", params={"user_id": "u"})).json()["items"]
    assert u["facts"] == len(stored) >= 1
    assert fact["id"] in {m["id"] for m in stored}
    graph = (await client.get("/v1/graph/export", params={"user_id": "u"})).json()
    assert u["entities"] == len(graph["entities"]) >= 1
    assert by_triple["u", "bot", "s1"]["entities"] == 0
    times = [i["last_activity"] for i in items]
    assert times == sorted(times, reverse=True)


async def test_scopes_count_only_active_facts_and_narrow_by_ids(client: AsyncClient) -> None:
    await add_messages(client, ["a"], user_id="alice", agent_id="x", session_id="1")
    await add_messages(client, ["b"], user_id="alice", agent_id="y", session_id="2")
    await add_messages(client, ["c"], user_id="bob", agent_id="x", session_id="1")
    gone = await add_memory(client, "retired", user_id="alice", agent_id="x", session_id="1")
    await client.delete(f"/v1/memories/{gone['id']}")
    alice = (await client.get("/v1/scopes", params={"user_id": "alice"})).json()["items"]
    assert {_triple(i) for i in alice} == {("alice", "x", "1"), ("alice", "y", "2")}
    first = next(i for i in alice if i["agent_id"] == "x")
    assert (first["episodes"], first["facts"]) == (1, 0)
    agent_x = (await client.get("/v1/scopes", params={"agent_id": "x"})).json()["items"]
    assert {_triple(i) for i in agent_x} == {("alice", "x", "1"), ("bob", "x", "1")}
    one = await client.get("/v1/scopes", params={"user_id": "bob", "session_id": "2"})
    assert one.json() == {"items": [], "next_cursor": None}


async def test_scopes_page_by_cursor_without_gaps_or_repeats(client: AsyncClient) -> None:
    # one batch: every scope's episodes share one stored time, so ids break the ties
    for i in range(5):
        await add_messages(client, [f"turn {i}"], user_id=f"user{i}")
    records = [
        episode_record(id=str(uuid4()), user_id="tied", session_id=s) for s in ("b", "a", "c")
    ]
    r = await client.post("/v1/import", content="\n".join(json.dumps(x) for x in records))
    assert r.status_code == 200, r.text
    whole = (await client.get("/v1/scopes", params={"limit": 100})).json()["items"]
    pages = await _pages(client, "/v1/scopes", limit=2)
    assert [len(p) for p in pages] == [2, 2, 2, 2]
    assert [_triple(i) for p in pages for i in p] == [_triple(i) for i in whole]
    tied = [i["session_id"] for i in whole if i["user_id"] == "tied"]
    assert tied == ["a", "b", "c"]


@pytest.mark.parametrize(
    "params",
    [{"cursor": "not-a-cursor"}, {"limit": 0}, {"limit": 100_000}, {"user_id": "a b"}],
)
async def test_scopes_refuse_bad_parameters(client: AsyncClient, params: dict[str, Any]) -> None:
    r = await client.get("/v1/scopes", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]


async def test_another_tenant_never_sees_the_scopes(
    client: AsyncClient, other_client: AsyncClient
) -> None:
    await add_messages(client, ["secret"], user_id="alice")
    await add_memory(client, "alice's fact", user_id="alice")
    for params in ({}, {"user_id": "alice"}):
        r = await other_client.get("/v1/scopes", params=params)
        assert r.json() == {"items": [], "next_cursor": None}


# --- GET /v1/jobs ---------------------------------------------------------------


async def test_jobs_list_newest_first_with_their_scope(client: AsyncClient) -> None:
    queued = []
    for user in ("a", "b", "a"):
        r = await client.post(
            "/v1/messages", json={"user_id": user, "messages": [{"content": f"hi {user}"}]}
        )
        queued.append(r.json()["job_id"])
    r = await client.get("/v1/jobs")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [j["id"] for j in items] == queued[::-1]
    assert set(items[0]) == {
        "id",
        "kind",
        "state",
        "attempts",
        "last_error",
        "created_at",
        "updated_at",
        "user_id",
        "agent_id",
        "session_id",
    }
    assert (items[0]["user_id"], items[0]["state"], items[0]["attempts"]) == ("a", "queued", 0)
    mine = (await client.get("/v1/jobs", params={"user_id": "a"})).json()["items"]
    assert [j["id"] for j in mine] == [queued[2], queued[0]]
    pages = await _pages(client, "/v1/jobs", limit=2)
    assert [j["id"] for p in pages for j in p] == queued[::-1]
    single = await client.get(f"/v1/jobs/{queued[0]}")
    assert "user_id" not in single.json()  # the single job's answer is unchanged


async def test_jobs_filter_by_state(client: AsyncClient, components: Components) -> None:
    await seed_consolidated(client, components)  # its job ran
    await client.post("/v1/messages", json={"user_id": "u", "messages": [{"content": "later"}]})
    done = (await client.get("/v1/jobs", params={"state": "done"})).json()["items"]
    queued = (await client.get("/v1/jobs", params={"state": "queued"})).json()["items"]
    assert len(done) >= 1
    assert len(queued) == 1
    assert {j["state"] for j in done} == {"done"}
    assert (await client.get("/v1/jobs", params={"state": "failed"})).json()["items"] == []


@pytest.mark.parametrize(
    "params", [{"state": "finished"}, {"cursor": "x"}, {"limit": 0}, {"session_id": ""}]
)
async def test_jobs_refuse_bad_parameters(client: AsyncClient, params: dict[str, Any]) -> None:
    r = await client.get("/v1/jobs", params=params)
    assert r.status_code == 422, r.text


async def test_another_tenant_never_sees_the_jobs(
    client: AsyncClient, other_client: AsyncClient
) -> None:
    await add_messages(client, ["secret"], user_id="alice")
    assert (await other_client.get("/v1/jobs")).json() == {"items": [], "next_cursor": None}
    alice = await other_client.get("/v1/jobs", params={"user_id": "alice"})
    assert alice.json()["items"] == []


# --- GET /v1/memories?episode_id= -----------------------------------------------


async def test_memories_by_provenance(client: AsyncClient) -> None:
    e1, e2, e3 = await add_messages(client, ["one", "two", "three"], user_id="u")
    from_1 = await add_memory(client, "from one", user_id="u", source_episode_ids=[e1])
    from_12 = await add_memory(client, "from both", user_id="u", source_episode_ids=[e1, e2])
    await add_memory(client, "from none", user_id="u")
    retired = await add_memory(client, "retired", user_id="u", source_episode_ids=[e2])
    await client.delete(f"/v1/memories/{retired['id']}")

    async def ids(*episodes: str, **params: Any) -> list[str]:
        r = await client.get("/v1/memories", params={"episode_id": list(episodes), **params})
        assert r.status_code == 200, r.text
        return [m["id"] for m in r.json()["items"]]

    assert await ids(e1) == [from_1["id"], from_12["id"]]
    assert await ids(e2) == [from_12["id"]]
    assert await ids(e2, include_inactive="true") == [from_12["id"], retired["id"]]
    assert await ids(e1, e2) == [from_1["id"], from_12["id"]]
    assert await ids(e3) == []
    assert await ids(e1, user_id="other") == []
    assert await ids(e1, limit=1) == [from_1["id"]]


async def test_memories_by_provenance_are_bounded_and_walled(
    client: AsyncClient, other_client: AsyncClient
) -> None:
    [episode] = await add_messages(client, ["one"], user_id="u")
    await add_memory(client, "from one", user_id="u", source_episode_ids=[episode])
    many = [str(uuid4()) for _ in range(101)]
    r = await client.get("/v1/memories", params={"episode_id": many})
    assert r.status_code == 422, r.text
    r = await client.get("/v1/memories", params={"episode_id": many[:100]})
    assert r.status_code == 200
    assert (await client.get("/v1/memories", params={"episode_id": "nope"})).status_code == 422
    theirs = await other_client.get("/v1/memories", params={"episode_id": episode})
    assert theirs.json()["items"] == []


# --- GET /v1/graph/export?kinds=&max_edges= --------------------------------------


async def test_graph_export_by_kind_and_bounded(
    client: AsyncClient, components: Components
) -> None:
    await seed_consolidated(client, components)
    whole = (await client.get("/v1/graph/export", params={"user_id": "u"})).json()
    assert whole["truncated"] is False
    kinds = [e["kind"] for e in whole["hyperedges"]]
    assert {"memory", "episode"} <= set(kinds)
    for kind in ("memory", "episode"):
        only = (await client.get("/v1/graph/export", params={"user_id": "u", "kinds": kind})).json()
        assert {e["kind"] for e in only["hyperedges"]} == {kind}
        assert len(only["hyperedges"]) == kinds.count(kind)
        assert only["entities"] == whole["entities"]
    one = (await client.get("/v1/graph/export", params={"user_id": "u", "max_edges": 1})).json()
    assert one["truncated"] is True
    [edge] = one["hyperedges"]
    assert edge["kind"] == "memory"  # facts before turns
    joined = {m["entity_id"] for m in edge["members"]}
    assert joined in [set(c) for c in one["components"]]
    everything = {"user_id": "u", "max_edges": len(kinds)}
    assert (await client.get("/v1/graph/export", params=everything)).json() == whole


@pytest.mark.parametrize("params", [{"kinds": "entity"}, {"max_edges": 0}, {"max_edges": "x"}])
async def test_graph_export_refuses_bad_bounds(client: AsyncClient, params: dict[str, Any]) -> None:
    r = await client.get("/v1/graph/export", params={"user_id": "u", **params})
    assert r.status_code == 422, r.text


# --- POST /v1/search: the gate's verdict -------------------------------------------


async def test_search_reports_the_learned_probability_and_its_threshold(
    client: AsyncClient,
) -> None:
    await add_messages(client, TURNS, user_id="u")
    for body in (
        {"preset": "gated"},
        {"preset": "hybrid", "mode": "fast"},
        {"preset": "hybrid", "mode": "deliberate"},
    ):
        r = await client.post(
            "/v1/search", json={"user_id": "u", "query": "silver necklace", **body}
        )
        assert r.status_code == 200, r.text
        gate = r.json()["gate"]
        assert 0.0 < gate["probability"] < 1.0, body
        assert gate["probability"] == gate["scores"]["learned"]
        assert gate["threshold"] == gate["routing"]["threshold"]
        assert {"relevance", "coverage", "temporal_fit", "consistency"} <= set(gate["scores"])


# --- GET /v1/whoami -------------------------------------------------------------------


async def test_whoami_names_the_tenant_and_the_key(
    client: AsyncClient, other_client: AsyncClient
) -> None:
    r = await client.get("/v1/whoami")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"tenant", "tenant_id", "key_id", "key_name", "key_prefix"}
    assert (body["tenant"], body["key_name"]) == ("alpha", "test")
    assert client.headers["Authorization"].removeprefix("Bearer ").startswith(body["key_prefix"])
    assert (await other_client.get("/v1/whoami")).json()["tenant"] == "beta"


async def test_whoami_says_why_a_key_is_refused(app: Any, components: Components) -> None:
    secret = await new_key(components, "gamma")
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as c:
        for key, reason in (
            ("msk_wrong", "unknown API key"),
            ("wrong", "malformed API key"),
        ):
            r = await c.get("/v1/whoami", headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 401
            assert r.json() == {"error": "Unauthorized", "detail": reason}
        r = await c.get("/v1/whoami")
        assert r.status_code == 401
        assert "Authorization" in r.json()["detail"]
        async with components.uow() as uow:
            key = await tenants.authenticate(uow, secret)
            await tenants.revoke_key(uow, key.id)
        r = await c.get("/v1/whoami", headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 401
        assert r.json()["detail"] == "this API key was revoked"
