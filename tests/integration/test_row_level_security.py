"""Row-level security: even a query that forgets the tenant filter sees one tenant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from memory_service.bootstrap import Components
from memory_service.domain.models import NewEpisode, Scope


async def test_unfiltered_queries_see_only_the_current_tenant(components: Components) -> None:
    async with components.uow() as uow:
        a = await uow.tenants.create_tenant("rls-a")
        b = await uow.tenants.create_tenant("rls-b")
        for tenant, name in ((a, "a"), (b, "b")):
            vectors = await components.embedder.embed([name])
            await uow.episodes.add_many(
                tenant,
                Scope("u"),
                [NewEpisode("user", f"secret of {name}")],
                vectors,
                now=datetime.now(UTC),
            )
    async with components.uow(tenant=a) as uow:
        rows = (await uow.session.execute(text("SELECT text FROM episodes"))).scalars().all()
        role = (await uow.session.execute(text("SELECT current_user"))).scalar()
    assert rows == ["secret of a"]
    assert role == "memory_app"
    async with components.uow() as uow:  # system work sees everything
        count = (await uow.session.execute(text("SELECT count(*) FROM episodes"))).scalar()
    assert count == 2


async def test_writes_into_another_tenant_are_refused(components: Components) -> None:
    async with components.uow() as uow:
        a = await uow.tenants.create_tenant("rls-c")
        b = await uow.tenants.create_tenant("rls-d")
    with pytest.raises(DBAPIError, match="row-level security"):
        async with components.uow(tenant=a) as uow:
            await uow.jobs.add(b, Scope("u"), "consolidate", {"episode_ids": []})
    async with components.uow(tenant=a) as uow:
        updated = await uow.session.execute(
            text("UPDATE jobs SET state = 'failed' WHERE tenant_id = :b"), {"b": str(b)}
        )
    assert updated.rowcount == 0  # B's rows are invisible, so nothing matches
