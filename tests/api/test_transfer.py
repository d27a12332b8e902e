"""Export from one instance, import into a fresh one: the same search results, twice safe."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text

from memory_service.bootstrap import Components, migrate
from memory_service.db.embedded import asyncpg_url
from memory_service.db.session import make_engine, make_sessionmaker
from tests.api.helpers import add_memory, add_messages, episode_record, seed_consolidated
from tests.conftest import api_client


@pytest.fixture
async def second(pg_server: Any, components: Components) -> AsyncIterator[AsyncClient]:
    """A second, fresh instance: its own database, same code."""
    pg_server.psql("DROP DATABASE IF EXISTS memory_test_b WITH (FORCE);")
    pg_server.psql("CREATE DATABASE memory_test_b;")
    url = asyncpg_url(pg_server.get_uri(), "memory_test_b")
    migrate(url)
    engine = make_engine(url, pool=False)
    parts = Components(
        settings=components.settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        embedder=components.embedder,
        database_url=url,
    )
    async with api_client(parts, "importer") as client:
        yield client
    await engine.dispose()


async def test_round_trip_reproduces_search(
    client: AsyncClient, second: AsyncClient, components: Components
) -> None:
    fact = await seed_consolidated(client, components)
    exported = await client.get("/v1/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    lines = exported.text.splitlines()
    kinds = {json.loads(line)["type"] for line in lines}
    assert kinds == {"header", "episode", "memory", "history", "entity", "membership"}

    first = await second.post("/v1/import", content=exported.content)
    assert first.status_code == 200, first.text
    assert first.json()["imported"]["episode"]["added"] == 2
    again = await second.post("/v1/import", content=exported.content)
    assert all(v["added"] == 0 for v in again.json()["imported"].values())

    for query in ("greyhound", "who paints?"):
        body = {"user_id": "u", "query": query}
        a = (await client.post("/v1/search", json=body)).json()["results"]
        b = (await second.post("/v1/search", json=body)).json()["results"]
        assert [(h["id"], h["text"]) for h in a] == [(h["id"], h["text"]) for h in b]
    history = (await second.get(f"/v1/memories/{fact['id']}/history")).json()
    assert [h["op"] for h in history] == ["ADD", "UPDATE"]
    graph_a = (await client.get("/v1/graph/export", params={"user_id": "u"})).json()
    graph_b = (await second.get("/v1/graph/export", params={"user_id": "u"})).json()
    assert sorted(e["name"] for e in graph_a["entities"]) == sorted(
        e["name"] for e in graph_b["entities"]
    )


async def test_turns_of_one_instant_keep_their_order_through_a_round_trip(
    client: AsyncClient, second: AsyncClient
) -> None:
    # one batch without times: every turn gets the same instant, and only the order
    # they were written in says which came first
    texts = [f"turn {n}" for n in range(8)]
    ids = await add_messages(client, texts, user_id="u")
    at = {e["occurred_at"] for e in (await client.get("/v1/episodes")).json()["items"]}
    assert len(at) == 1
    imported = await second.post("/v1/import", content=(await client.get("/v1/export")).content)
    assert imported.status_code == 200, imported.text
    for instance in (client, second):
        page = (await instance.get("/v1/episodes", params={"order": "asc"})).json()["items"]
        assert [e["id"] for e in page] == ids


async def test_export_of_one_user_only(client: AsyncClient) -> None:
    await add_messages(client, ["mine"], user_id="u1")
    await add_messages(client, ["theirs"], user_id="u2")
    lines = (await client.get("/v1/export", params={"user_id": "u1"})).text.splitlines()
    texts = [json.loads(x).get("text") for x in lines[1:]]
    assert texts == ["mine"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"not json\n", "not JSON"),
        (b'{"type": "alien", "id": "00000000-0000-0000-0000-000000000001"}\n', "unknown record"),
        (b'{"type": "episode", "id": "x"}\n', "errors"),
        (b'{"type": "header", "format": "other", "version": 1}\n', "format"),
        (b"", "no records"),
    ],
)
async def test_bad_imports_are_422_and_store_nothing(
    client: AsyncClient, body: bytes, fragment: str
) -> None:
    good = json.dumps(episode_record()).encode()
    r = await client.post("/v1/import", content=good + b"\n" + body)
    if body:
        assert r.status_code == 422, r.text
        assert fragment in json.dumps(r.json()["detail"])
        assert (await client.get("/v1/episodes")).json()["items"] == []
    else:
        assert r.status_code == 200  # the good line alone imports


async def test_import_is_tenant_scoped(
    client: AsyncClient, other_client: AsyncClient, components: Components
) -> None:
    await add_messages(client, ["alpha's secret"], user_id="u")
    exported = (await client.get("/v1/export")).content
    # Same database: ids are per tenant, so beta gets its own copy (as for fresh ids),
    # and alpha's row stays alpha's.
    r = await other_client.post("/v1/import", content=exported)
    assert r.json()["imported"]["episode"] == {"received": 1, "added": 1, "skipped": 0}
    [copy] = (await other_client.get("/v1/episodes")).json()["items"]
    assert copy["content"] == "alpha's secret"
    assert (await other_client.delete(f"/v1/episodes/{copy['id']}")).status_code == 204
    assert len((await client.get("/v1/episodes")).json()["items"]) == 1
    async with components.uow() as uow:
        count = (await uow.session.execute(text("SELECT count(*) FROM episodes"))).scalar()
    assert count == 1


# -- references between rows: only to the importing tenant's own ---------------------

EMBEDDING = [0.0] * 383 + [1.0]
COUNTED = ("episodes", "memories", "memory_history", "entities", "hyperedge_members")


def ident(n: int) -> str:
    return f"00000000-0000-0000-0000-{n:012d}"


def episode(id_: str, text_: str) -> dict[str, Any]:
    return {
        "type": "episode",
        "id": id_,
        "role": "user",
        "text": text_,
        "occurred_at": "2024-01-01T00:00:00Z",
        "embedding": EMBEDDING,
        "user_id": "u",
    }


def memory(id_: str, text_: str) -> dict[str, Any]:
    return {"type": "memory", "id": id_, "text": text_, "embedding": EMBEDDING, "user_id": "u"}


def entity(id_: str, **fields: Any) -> dict[str, Any]:
    return {"type": "entity", "id": id_, "name": "Pixel", "user_id": "u", **fields}


def history(id_: str, memory_id: str) -> dict[str, Any]:
    return {"type": "history", "id": id_, "memory_id": memory_id, "op": "UPDATE", "cause": "x"}


def membership(id_: str, **edge: str) -> dict[str, Any]:
    return {"type": "membership", "id": id_, **edge}


def lines(*records: dict[str, Any]) -> bytes:
    return "\n".join(json.dumps(r) for r in records).encode()


ALPHA = {"episode": ident(101), "memory": ident(102), "entity": ident(103)}
NOBODY = {"episode": ident(901), "memory": ident(902), "entity": ident(903)}
OWN = {"episode": ident(201), "memory": ident(202), "entity": ident(203)}
OWN_ROWS = (
    episode(OWN["episode"], "beta turn"),
    memory(OWN["memory"], "beta fact"),
    entity(OWN["entity"]),
)
# One row pointing at ``t`` (the ids of another tenant's rows, or of none), per reference.
POINTING = {
    "history.memory_id": lambda t: history(ident(301), t["memory"]),
    "membership.entity_id": lambda t: membership(
        ident(302), entity_id=t["entity"], episode_id=OWN["episode"]
    ),
    "membership.memory_id": lambda t: membership(
        ident(303), entity_id=OWN["entity"], memory_id=t["memory"]
    ),
    "membership.episode_id": lambda t: membership(
        ident(304), entity_id=OWN["entity"], episode_id=t["episode"]
    ),
    # the membership alpha has: it used to be skipped (unique index), not refused
    "membership.both": lambda t: membership(
        ident(305), entity_id=t["entity"], memory_id=t["memory"]
    ),
    "entity.merged_into": lambda t: entity(ident(306), merged_into=t["entity"]),
}


async def row_counts(components: Components) -> dict[str, int]:
    async with components.uow() as uow:  # no tenant: every tenant's rows
        return {
            t: (await uow.session.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one()
            for t in COUNTED
        }


@pytest.fixture
async def alpha_rows(client: AsyncClient) -> str:
    """Alpha's episode, memory, entity and membership (ids ``ALPHA``); its export."""
    r = await client.post(
        "/v1/import",
        content=lines(
            episode(ALPHA["episode"], "alpha turn"),
            memory(ALPHA["memory"], "alpha fact"),
            entity(ALPHA["entity"]),
            membership(ident(104), entity_id=ALPHA["entity"], memory_id=ALPHA["memory"]),
        ),
    )
    assert r.status_code == 200, r.text
    return (await client.get("/v1/export")).text


@pytest.mark.parametrize("reference", list(POINTING))
async def test_import_refuses_ids_not_of_the_tenant_alike(
    client: AsyncClient,
    other_client: AsyncClient,
    components: Components,
    alpha_rows: str,
    reference: str,
) -> None:
    """An import row pointing at another tenant's row is refused exactly as one pointing
    at no row at all: 422, the same error, nothing stored. (Foreign keys alone tied beta's
    rows to alpha's, skipped some and answered 500 for ids that do not exist.)"""
    before = await row_counts(components)
    details = []
    for targets in (ALPHA, NOBODY):
        r = await other_client.post(
            "/v1/import", content=lines(*OWN_ROWS, POINTING[reference](targets))
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "InvalidInput"
        detail = json.dumps(r.json()["detail"])
        for kind, id_ in targets.items():
            detail = detail.replace(id_, f"<{kind}>")
        details.append(detail)
        assert await row_counts(components) == before
    assert details[0] == details[1]
    assert json.loads(details[0])["line"] == len(OWN_ROWS) + 1
    assert (await client.get("/v1/export")).text == alpha_rows
    assert (await other_client.get("/v1/export")).text.count("\n") == 1  # the header only


async def test_import_may_point_at_own_rows_old_and_new(
    client: AsyncClient, components: Components
) -> None:
    fact = await add_memory(client, "Pixel is a greyhound", user_id="u")
    [turn] = await add_messages(client, ["Pixel runs"], user_id="u")
    r = await client.post(
        "/v1/import",
        content=lines(
            history(ident(401), fact["id"]),  # a memory it had
            entity(ident(402)),
            entity(ident(403), merged_into=ident(402)),  # an entity of this import
            membership(ident(404), entity_id=ident(402), episode_id=turn),
            membership(ident(405), entity_id=ident(402), memory_id=fact["id"]),
        ),
    )
    assert r.status_code == 200, r.text
    added = {kind: c["added"] for kind, c in r.json()["imported"].items()}
    assert added == {"episode": 0, "memory": 0, "history": 1, "entity": 2, "membership": 2}
    history_ops = (await client.get(f"/v1/memories/{fact['id']}/history")).json()
    assert [h["op"] for h in history_ops] == ["ADD", "UPDATE"]
