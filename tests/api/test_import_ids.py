"""Ids are unique per tenant: an import answers the same whether or not another tenant
holds an id, and one tenant's export arrives whole in another (issue 14, item 9)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from httpx import AsyncClient

from memory_service.bootstrap import Components
from tests.api.helpers import seed_consolidated

EMBEDDING = [0.0] * 383 + [1.0]
KINDS = ("episode", "memory", "history", "entity", "membership")


def ident(n: int) -> str:
    return f"00000000-0000-0000-0000-{n:012d}"


ALPHA = {kind: ident(500 + i) for i, kind in enumerate(KINDS)}
FRESH = {kind: ident(600 + i) for i, kind in enumerate(KINDS)}


def records(ids: dict[str, str], label: str) -> list[dict[str, Any]]:
    """One row of every kind, the children pointing at the parents of ``ids``."""
    return [
        {
            "type": "episode",
            "id": ids["episode"],
            "role": "user",
            "text": f"{label} turn",
            "occurred_at": "2024-01-01T00:00:00Z",
            "embedding": EMBEDDING,
            "user_id": "u",
        },
        {
            "type": "memory",
            "id": ids["memory"],
            "text": f"{label} fact",
            "embedding": EMBEDDING,
            "user_id": "u",
        },
        {
            "type": "history",
            "id": ids["history"],
            "memory_id": ids["memory"],
            "op": "ADD",
            "new_text": f"{label} fact",
            "cause": label,
        },
        {"type": "entity", "id": ids["entity"], "name": label.title(), "user_id": "u"},
        {
            "type": "membership",
            "id": ids["membership"],
            "entity_id": ids["entity"],
            "episode_id": ids["episode"],
        },
    ]


def lines(rows: list[dict[str, Any]]) -> bytes:
    return "\n".join(json.dumps(r) for r in rows).encode()


async def load(client: AsyncClient, body: bytes) -> dict[str, dict[str, int]]:
    r = await client.post("/v1/import", content=body)
    assert r.status_code == 200, r.text
    imported: dict[str, dict[str, int]] = r.json()["imported"]
    return imported


ADDED = {"received": 1, "added": 1, "skipped": 0}
SKIPPED = {"received": 1, "added": 0, "skipped": 1}


async def test_ids_of_another_tenant_import_as_fresh_ones(
    client: AsyncClient, other_client: AsyncClient
) -> None:
    """Beta importing rows whose ids alpha holds gets what it gets for fresh ids (every
    row added, none skipped), the rows are beta's, and alpha's stay as they were."""
    assert await load(client, lines(records(ALPHA, "alpha"))) == dict.fromkeys(KINDS, ADDED)
    alpha_export = (await client.get("/v1/export")).text

    held = await load(other_client, lines(records(ALPHA, "beta")))
    fresh = await load(other_client, lines(records(FRESH, "gamma")))
    assert held == fresh == dict.fromkeys(KINDS, ADDED)

    for who, label in ((other_client, "beta"), (client, "alpha")):
        turn = (await who.get(f"/v1/episodes/{ALPHA['episode']}")).json()
        assert turn["content"] == f"{label} turn"
        fact = (await who.get(f"/v1/memories/{ALPHA['memory']}")).json()
        assert fact["text"] == f"{label} fact"
        changes = (await who.get(f"/v1/memories/{ALPHA['memory']}/history")).json()
        assert [(c["id"], c["cause"]) for c in changes] == [(ALPHA["history"], label)]
        graph = (await who.get("/v1/graph/export", params={"user_id": "u"})).json()
        own = [e for e in graph["entities"] if e["id"] == ALPHA["entity"]]
        assert [e["name"] for e in own] == [label.title()]
        [edge] = [h for h in graph["hyperedges"] if h["id"] == ALPHA["episode"]]
        assert (edge["text"], edge["members"]) == (
            f"{label} turn",
            [{"entity_id": ALPHA["entity"], "role": "mention"}],
        )
    assert (await client.get("/v1/export")).text == alpha_export

    # the same import again, into either tenant: every row skipped
    assert await load(other_client, lines(records(ALPHA, "beta"))) == dict.fromkeys(KINDS, SKIPPED)
    assert await load(client, lines(records(ALPHA, "alpha"))) == dict.fromkeys(KINDS, SKIPPED)


@pytest.mark.parametrize("kind", ["episode", "memory", "entity"])
async def test_one_line_answers_alike_for_held_and_fresh_ids(
    client: AsyncClient, other_client: AsyncClient, kind: str
) -> None:
    """The issue's probe: one line naming another tenant's id, then a fresh one."""
    [row] = [r for r in records(ALPHA, "alpha") if r["type"] == kind]
    await load(client, lines([row]))
    held = await load(other_client, lines([row]))
    fresh = await load(other_client, lines([{**row, "id": FRESH[kind]}]))
    assert held[kind] == fresh[kind] == ADDED


def by_kind(export: str) -> Counter[str]:
    return Counter(json.loads(line)["type"] for line in export.splitlines())


async def test_export_of_one_tenant_arrives_whole_in_another(
    client: AsyncClient, other_client: AsyncClient, components: Components
) -> None:
    fact = await seed_consolidated(client, components)
    exported = (await client.get("/v1/export")).text
    counts = by_kind(exported)
    assert set(counts) == {"header", *KINDS}

    imported = await load(other_client, exported.encode())
    assert {k: v["added"] for k, v in imported.items()} == {k: counts[k] for k in KINDS}
    assert all(v["skipped"] == 0 for v in imported.values())
    copied = (await other_client.get("/v1/export")).text
    assert sorted(copied.splitlines()) == sorted(exported.splitlines())

    for query in ("greyhound", "who paints?"):
        body = {"user_id": "u", "query": query}
        a = (await client.post("/v1/search", json=body)).json()["results"]
        b = (await other_client.post("/v1/search", json=body)).json()["results"]
        assert a
        assert [(h["id"], h["text"]) for h in a] == [(h["id"], h["text"]) for h in b]
    history = (await other_client.get(f"/v1/memories/{fact['id']}/history")).json()
    assert [h["op"] for h in history] == ["ADD", "UPDATE"]

    # twice is safe
    again = await load(other_client, exported.encode())
    assert all(v["added"] == 0 for v in again.values())

    # what beta deletes is beta's only
    [turn, *_] = [json.loads(x) for x in exported.splitlines() if '"episode"' in x]
    assert (await other_client.delete(f"/v1/episodes/{turn['id']}")).status_code == 204
    assert (await other_client.delete(f"/v1/memories/{fact['id']}")).status_code in (200, 204)
    assert (await other_client.delete("/v1/users/u")).status_code in (200, 204)
    assert by_kind((await other_client.get("/v1/export")).text) == Counter({"header": 1})
    assert (await client.get("/v1/export")).text == exported
    assert (await client.get(f"/v1/episodes/{turn['id']}")).status_code == 200
