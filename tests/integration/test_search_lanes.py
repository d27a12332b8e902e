"""A search's candidate lists read at once, on connections its unit of work borrows:
read-only transactions under the same tenant, never more than the process may lend,
never from a unit of work that writes; and the same results as on one connection."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from memory_service.bootstrap import Components
from memory_service.services import tenants
from memory_service.services.recall.presets import PRESETS
from tests.conftest import api_client

INSIDE = text(
    "SELECT pg_backend_pid(), current_setting('transaction_read_only'), "
    "current_setting('memory.tenant', true)"
)


async def tenant_of(parts: Components, name: str) -> UUID:
    async with parts.uow() as uow:
        return (await tenants.issue_key(uow, name, "test")).key.tenant_id


def one_lane(parts: Components) -> Components:
    """``parts`` with ``MEMORY_SEARCH_LANES=0``: a search reads on its own connection."""
    return Components(
        settings=parts.settings.model_copy(update={"search_lanes": 0}),
        engine=parts.engine,
        sessions=parts.sessions,
        embedder=parts.embedder,
        database_url=parts.database_url,
    )


async def inside(uow: Any) -> tuple[int, str, str]:
    row = (await uow.session.execute(INSIDE)).one()
    return int(row[0]), str(row[1]), str(row[2])


async def test_a_read_borrows_read_only_connections_of_its_tenant(components: Components) -> None:
    tenant = await tenant_of(components, "alpha")
    assert components.lanes.spare == 2
    async with components.read_uow(tenant) as uow:
        own_pid, _, own_tenant = await inside(uow)
        assert own_tenant == str(tenant)
        async with uow.beside() as a, uow.beside() as b, uow.beside() as none:
            assert a is not None
            assert b is not None
            assert none is None  # two at a time in the whole process
            pid_a, read_only_a, tenant_a = await inside(a)
            pid_b, read_only_b, tenant_b = await inside(b)
            assert len({own_pid, pid_a, pid_b}) == 3
            assert (read_only_a, read_only_b) == ("on", "on")
            assert tenant_a == tenant_b == str(tenant)
            with pytest.raises(DBAPIError, match="read-only"):
                await a.session.execute(text("DELETE FROM episodes"))
        assert components.lanes.taken == 0
        async with uow.beside() as again:
            assert again is not None  # given back
    assert components.lanes.taken == 0


async def test_a_unit_of_work_that_may_write_lends_none(components: Components) -> None:
    tenant = await tenant_of(components, "alpha")
    async with components.uow(tenant) as uow, uow.beside() as other:
        assert other is None  # a read beside it would not see its writes
    async with components.uow() as uow, uow.beside() as other:
        assert other is None


async def test_none_are_lent_when_the_setting_is_zero(components: Components) -> None:
    tenant = await tenant_of(components, "alpha")
    async with one_lane(components).read_uow(tenant) as uow, uow.beside() as other:
        assert other is None


@pytest.mark.parametrize("preset", ["hybrid", "sparse-focus2", "gated-window2"])
async def test_borrowed_lanes_find_what_one_connection_finds(
    components: Components, preset: str
) -> None:
    single = one_lane(components)
    said = [
        "I adopted a greyhound named Pixel",
        "Pixel loves the beach at sunrise",
        "My sister moved to Lisbon last spring",
        "We painted the kitchen yellow",
    ] * 5
    async with api_client(components, "alpha") as client:
        r = await client.post(
            "/v1/messages",
            json={"user_id": "u", "messages": [{"role": "user", "content": t} for t in said]},
        )
        assert r.status_code in (200, 201, 202), r.text
        await client.post("/v1/memories", json={"user_id": "u", "text": "Pixel is a greyhound"})
        body = {"user_id": "u", "query": "greyhound at the beach", "limit": 8, "preset": preset}
        wide = (await client.post("/v1/search", json=body)).json()
    async with api_client(single, "alpha") as client:
        one = (await client.post("/v1/search", json=body)).json()
    assert PRESETS[preset].name == preset
    assert [(h["id"], h["score"]) for h in wide["results"]] == [
        (h["id"], h["score"]) for h in one["results"]
    ]
    assert wide["results"]
