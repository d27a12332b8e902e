"""Learned-sparse vectors written off the write path: a consolidation job encodes its
episodes, a backfill encodes the backlog in batches, the sparse presets then find them;
exports leave the vectors out (they are derived)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID

import pytest
from httpx import AsyncClient
from sqlalchemy import text

from memory_service.adapters.hash_sparse import HashSparseEncoder
from memory_service.bootstrap import Components, build_consolidator
from memory_service.domain.models import Scope, SearchQuery
from memory_service.services import recall
from memory_service.services.sparse import encode_pending
from tests.api.helpers import add_messages
from tests.conftest import api_client
from workers.dispatch import InProcessWorker

SCOPE = Scope(user_id="u")
TEXTS = [
    "I adopted a greyhound named Pixel",
    "We went hiking in the Alps last summer",
    "My sister lives in Lisbon",
]


async def tenant_of(components: Components, name: str = "alpha") -> UUID:
    async with components.uow() as uow:
        found = await uow.session.execute(
            text("SELECT id FROM tenants WHERE name = :n"), {"n": name}
        )
        tenant: UUID = found.scalar_one()
    return tenant


async def unencoded(components: Components, tenant: UUID, scope: Scope = SCOPE) -> list[UUID]:
    async with components.uow(tenant) as uow:
        return [e.id for e in await uow.episodes.unencoded(tenant, scope, 1000)]


async def sparse_search(components: Components, tenant: UUID, query: str) -> list[str]:
    parts = replace(components, sparse=HashSparseEncoder())
    async with parts.uow(tenant) as uow:
        result = await recall.search(
            uow,
            parts.pipeline("episodes-sparse"),
            tenant,
            SearchQuery(query, SCOPE, limit=5),
            now=datetime.now(UTC),
        )
    return [str(h.id) for h in result.hits]


async def test_a_consolidation_job_encodes_its_episodes(
    client: AsyncClient, components: Components
) -> None:
    ids = await add_messages(client, TEXTS, user_id="u")
    tenant = await tenant_of(components)
    assert sorted(map(str, await unencoded(components, tenant))) == sorted(ids)
    consolidator = build_consolidator(
        components.settings, components.embedder, sparse=HashSparseEncoder()
    )
    assert consolidator.sparse is not None
    assert await InProcessWorker(components, consolidator).drain() == 1
    assert await unencoded(components, tenant) == []
    assert await sparse_search(components, tenant, "greyhound Pixel") == [ids[0]]
    assert (await sparse_search(components, tenant, "sister in Lisbon"))[:1] == [ids[2]]
    # the same preset with no encoder proposes nothing
    async with components.uow(tenant) as uow:
        result = await recall.search(
            uow,
            components.pipeline("episodes-sparse"),
            tenant,
            SearchQuery("greyhound Pixel", SCOPE),
            now=datetime.now(UTC),
        )
    assert list(result.hits) == []


async def test_a_consolidator_without_an_encoder_leaves_episodes_unencoded(
    client: AsyncClient, components: Components
) -> None:
    ids = await add_messages(client, TEXTS[:1], user_id="u")
    consolidator = build_consolidator(components.settings, components.embedder)
    assert consolidator.sparse is None
    await InProcessWorker(components, consolidator).drain()
    tenant = await tenant_of(components)
    assert [str(i) for i in await unencoded(components, tenant)] == ids
    assert await sparse_search(components, tenant, "greyhound Pixel") == []


async def test_the_sparse_preset_through_the_api(components: Components) -> None:
    parts = replace(components, sparse=HashSparseEncoder())
    async with api_client(parts, "sparse-api") as client:
        ids = await add_messages(client, TEXTS, user_id="u")
        consolidator = build_consolidator(parts.settings, parts.embedder, sparse=parts.sparse)
        await InProcessWorker(parts, consolidator).drain()
        r = await client.post(
            "/v1/search",
            json={"user_id": "u", "query": "hiking in the Alps", "preset": "episodes-sparse"},
        )
        assert r.status_code == 200, r.text
        hits = r.json()["results"]
        assert [h["id"] for h in hits][:1] == [ids[1]]
        assert hits[0]["scores"]["episodes.sparse_rank"] == 1.0
        fused = await client.post(
            "/v1/search",
            json={"user_id": "u", "query": "hiking in the Alps", "preset": "sparse2"},
        )
        assert fused.status_code == 200, fused.text
        top = fused.json()["results"][0]
        assert top["id"] == ids[1]
        assert "episodes.sparse" in top["scores"]


async def test_encode_pending_works_through_a_backlog_in_batches(
    client: AsyncClient, components: Components
) -> None:
    ids = await add_messages(client, [f"backlog turn {i}" for i in range(5)], user_id="u")
    other = await add_messages(client, ["someone else's turn"], user_id="w")
    tenant = await tenant_of(components)
    encoder = HashSparseEncoder()
    done = []
    while True:
        async with components.uow(tenant) as uow:
            n = await encode_pending(uow, encoder, tenant, SCOPE, limit=2)
        done.append(n)
        if n == 0:
            break
    assert done == [2, 2, 1, 0]
    assert await unencoded(components, tenant) == []
    assert [str(i) for i in await unencoded(components, tenant, Scope(user_id="w"))] == other
    assert (await sparse_search(components, tenant, "backlog turn 3"))[0] == ids[3]


async def test_a_job_that_fails_stores_no_vectors(
    client: AsyncClient, components: Components
) -> None:
    ids = await add_messages(client, TEXTS[:1], user_id="u")
    tenant = await tenant_of(components)

    class Broken(HashSparseEncoder):
        async def encode(self, texts: object) -> list[dict[int, float]]:
            raise RuntimeError("encoder crashed")

    consolidator = build_consolidator(components.settings, components.embedder, sparse=Broken())
    await InProcessWorker(components, consolidator).drain()
    async with components.uow() as uow:
        state = (await uow.session.execute(text("SELECT state, last_error FROM jobs"))).one()
    assert state.state == "failed"
    assert "encoder crashed" in state.last_error
    assert [str(i) for i in await unencoded(components, tenant)] == ids


@pytest.mark.parametrize("scoped", [False, True])
async def test_exports_leave_the_sparse_vectors_out(
    client: AsyncClient, components: Components, scoped: bool
) -> None:
    await add_messages(client, TEXTS, user_id="u")
    consolidator = build_consolidator(
        components.settings, components.embedder, sparse=HashSparseEncoder()
    )
    await InProcessWorker(components, consolidator).drain()
    assert await unencoded(components, await tenant_of(components)) == []
    params = {"user_id": "u"} if scoped else {}
    exported = await client.get("/v1/export", params=params)
    assert exported.status_code == 200
    records = [json.loads(line) for line in exported.text.splitlines()]
    episodes = [r for r in records if r["type"] == "episode"]
    assert len(episodes) == 3
    assert all("sparse" not in r for r in records)
    assert all("embedding" in r for r in episodes)  # the dense vectors do travel
