"""A zero embedding (stored before import refused one) never makes a search a 500:
it scores 0, not NaN, and nothing non-finite reaches the retrieval log or a reply."""

from __future__ import annotations

import math
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text

from memory_service.bootstrap import Components
from memory_service.domain.models import Scope, SearchQuery
from tests.api.helpers import add_memory, add_messages
from tests.api.scripted_deliberation import TURNS


async def _zero_one(components: Components, table: str, row_id: str) -> None:
    """Overwrite one row's embedding with zeros, straight in the database."""
    async with components.uow() as uow:
        await uow.session.execute(
            text(f"UPDATE {table} SET embedding = :zero WHERE id = :id"),
            {"zero": "[" + ",".join(["0"] * 384) + "]", "id": row_id},
        )


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


async def _logged_scores_are_finite(components: Components) -> None:
    async with components.uow() as uow:
        rows = (await uow.session.execute(text("SELECT * FROM retrievals"))).mappings().all()
    assert rows
    for row in rows:
        assert _finite(dict(row)), row


@pytest.fixture
async def zeroed(client: AsyncClient, components: Components) -> None:
    """TURNS of user ``u``, one episode and one memory of them with a zero vector."""
    ids = await add_messages(client, TURNS, user_id="u")
    fact = await add_memory(client, "Caroline got a silver necklace from Sweden", user_id="u")
    await _zero_one(components, "episodes", ids[0])
    await _zero_one(components, "memories", fact["id"])


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "deliberate"},
        {"mode": "deliberate", "preset": "hybrid"},
        {"preset": "gated-window2"},
        {"preset": "gated-window2", "mode": "auto"},
        {"preset": "gated"},
        {},
    ],
)
async def test_search_over_a_zero_vector_is_200(
    client: AsyncClient, components: Components, zeroed: None, body: dict[str, Any]
) -> None:
    for query in ("silver necklace Sweden", "What did the grandmother give?"):
        r = await client.post("/v1/search", json={"user_id": "u", "query": query, **body})
        assert r.status_code == 200, r.text
        assert _finite(r.json())
    await _logged_scores_are_finite(components)


async def test_context_over_a_zero_vector_is_200(
    client: AsyncClient, components: Components, zeroed: None
) -> None:
    r = await client.post(
        "/v1/context", json={"user_id": "u", "query": "silver necklace", "token_budget": 2000}
    )
    assert r.status_code == 200, r.text
    assert _finite(r.json())


async def test_the_search_log_writes_a_non_finite_score_as_null(
    client: AsyncClient, components: Components
) -> None:
    """The log's own guard: jsonb refuses NaN (a 500 before), so it is written as null."""
    async with components.uow() as uow:
        tenant = (await uow.session.execute(text("SELECT id FROM tenants"))).scalar_one()
        await uow.retrievals.record(
            tenant,
            SearchQuery("q", Scope(user_id="u")),
            request={"limit": 1},
            stages={"gate": {"sim_std10": math.nan}},
            gate={"scores": {"relevance": math.inf}},
            route="fast",
            results=[{"id": "x", "scores": {"dense": -math.inf, "fused": 0.5}}],
        )
    async with components.uow() as uow:
        row = (await uow.session.execute(text("SELECT * FROM retrievals"))).mappings().one()
    assert row["stages"] == {"gate": {"sim_std10": None}}
    assert row["gate"] == {"scores": {"relevance": None}}
    assert row["results"] == [{"id": "x", "scores": {"dense": None, "fused": 0.5}}]
