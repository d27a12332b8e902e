"""GET/DELETE /v1/episodes: scope filters, time ranges, cursor pages."""

from __future__ import annotations

from httpx import AsyncClient

from tests.api.helpers import add_memory, add_messages

TIMES = [f"2024-01-0{d}T12:00:00Z" for d in range(1, 8)]


async def test_pages_cover_everything_once_in_time_order(client: AsyncClient) -> None:
    texts = [f"message {i}" for i in range(7)]
    await add_messages(client, list(reversed(texts)), user_id="u", times=list(reversed(TIMES)))
    seen: list[str] = []
    cursor = None
    while True:
        params = {"user_id": "u", "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/episodes", params=params)).json()
        seen += [e["content"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == texts


async def test_descending_order(client: AsyncClient) -> None:
    await add_messages(client, ["a", "b", "c"], user_id="u", times=TIMES[:3])
    page = (await client.get("/v1/episodes", params={"user_id": "u", "order": "desc"})).json()
    assert [e["content"] for e in page["items"]] == ["c", "b", "a"]


async def test_same_time_keeps_insertion_order(client: AsyncClient) -> None:
    await add_messages(client, [f"m{i}" for i in range(10)], session_id="s")
    page = (await client.get("/v1/episodes", params={"session_id": "s"})).json()
    assert [e["content"] for e in page["items"]] == [f"m{i}" for i in range(10)]


async def test_scope_and_time_filters(client: AsyncClient) -> None:
    await add_messages(client, ["u1 a", "u1 b", "u1 c"], user_id="u1", times=TIMES[:3])
    await add_messages(client, ["u2 a"], user_id="u2", agent_id="bot", times=TIMES[:1])
    r = await client.get(
        "/v1/episodes",
        params={"user_id": "u1", "since": "2024-01-02T00:00:00Z", "until": "2024-01-03T00:00:00Z"},
    )
    assert [e["content"] for e in r.json()["items"]] == ["u1 b"]
    r = await client.get("/v1/episodes", params={"agent_id": "bot"})
    assert [e["content"] for e in r.json()["items"]] == ["u2 a"]


async def test_get_and_delete(client: AsyncClient) -> None:
    [episode_id] = await add_messages(client, ["to be deleted"], user_id="u")
    assert (await client.get(f"/v1/episodes/{episode_id}")).status_code == 200
    assert (await client.delete(f"/v1/episodes/{episode_id}")).status_code == 204
    r = await client.get(f"/v1/episodes/{episode_id}")
    assert r.status_code == 404
    assert r.json()["error"] == "NotFound"
    assert (await client.delete(f"/v1/episodes/{episode_id}")).status_code == 404


async def test_bad_parameters(client: AsyncClient) -> None:
    assert (await client.get("/v1/episodes/not-a-uuid")).status_code == 422
    assert (await client.get("/v1/episodes", params={"cursor": "garbage!"})).status_code == 422
    assert (await client.get("/v1/episodes", params={"limit": 0})).status_code == 422
    assert (await client.get("/v1/episodes", params={"limit": 10_000})).status_code == 422
    r = await client.get("/v1/episodes", params={"since": "2024-02-01", "until": "2024-01-01"})
    assert r.status_code == 422
    r = await client.get("/v1/episodes", params={"since": "yesterday-ish"})
    assert r.status_code == 422
    assert r.json()["error"] == "InvalidInput"


async def test_deleting_a_turn_retires_the_facts_that_rest_on_it_alone(
    client: AsyncClient,
) -> None:
    first, second = await add_messages(client, ["I moved to Lisbon", "I sold my car"], user_id="u")
    only_first = await add_memory(
        client, "lives in Lisbon", user_id="u", source_episode_ids=[first]
    )
    both = await add_memory(
        client, "changed a lot this year", user_id="u", source_episode_ids=[first, second]
    )
    unsourced = await add_memory(client, "likes tea", user_id="u")

    assert (await client.delete(f"/v1/episodes/{first}")).status_code == 204

    retired = (await client.get(f"/v1/memories/{only_first['id']}")).json()
    assert retired["status"] == "deleted"
    assert retired["valid_to"] is not None
    history = (await client.get(f"/v1/memories/{only_first['id']}/history")).json()
    assert [(h["op"], h["cause"]) for h in history][-1] == (
        "DELETE",
        f"source episode {first} deleted",
    )
    kept = (await client.get(f"/v1/memories/{both['id']}")).json()
    assert (kept["status"], kept["source_episode_ids"]) == ("active", [second])
    assert (await client.get(f"/v1/memories/{unsourced['id']}")).json()["status"] == "active"
    listed = (await client.get("/v1/memories", params={"user_id": "u"})).json()["items"]
    assert {m["id"] for m in listed} == {both["id"], unsourced["id"]}
