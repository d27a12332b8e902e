"""What a search's transactions are set up with, in as few round trips as will do, and
pooled connections the server closed being replaced before use (no pre-ping)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from memory_service.bootstrap import Components
from memory_service.db.filters import tune_vector_scan, vector_scan
from memory_service.db.session import make_engine
from tests.integration.test_search_lanes import tenant_of
from tests.statements import statements_sent

SETTINGS = text(
    "SELECT current_setting('transaction_read_only'), current_setting('plan_cache_mode'), "
    "current_setting('hnsw.ef_search', true), current_setting('hnsw.iterative_scan', true)"
)


async def settings_of(uow: Any) -> tuple[str, ...]:
    return tuple((await uow.session.execute(SETTINGS)).one())


async def test_a_lane_is_read_only_under_its_tenant_and_set_for_vectors_in_one_statement(
    components: Components,
) -> None:
    tenant = await tenant_of(components, "settings")
    ef = components.tuning.ef_search
    async with components.read_uow(tenant) as uow:
        assert (await settings_of(uow))[:2] == ("off", "auto")
        with statements_sent(components.engine) as sent:
            async with uow.beside() as lane:
                assert lane is not None
                assert len(sent) == 1  # BEGIN is not a statement here
                assert vector_scan(lane.session) == ef
                await tune_vector_scan(lane.session, ef)  # set already: nothing sent
                assert len(sent) == 1
        async with uow.beside() as lane:
            assert lane is not None
            assert await settings_of(lane) == ("on", "force_custom_plan", str(ef), "relaxed_order")
            tenant_seen = text("SELECT current_setting('memory.tenant')")
            assert (await lane.session.execute(tenant_seen)).scalar_one() == str(tenant)


async def test_the_vector_scan_is_set_once_a_transaction_and_again_for_a_larger_ef(
    components: Components,
) -> None:
    tenant = await tenant_of(components, "settings-ef")
    ef = components.tuning.ef_search
    async with components.read_uow(tenant) as uow:
        assert vector_scan(uow.session) == 0
        await tune_vector_scan(uow.session, ef)
        assert await settings_of(uow) == ("off", "force_custom_plan", str(ef), "relaxed_order")
        await uow.session.execute(text("SET LOCAL hnsw.ef_search = 7"))
        await tune_vector_scan(uow.session, ef)  # set already: nothing sent
        assert (await settings_of(uow))[2] == "7"
        await tune_vector_scan(uow.session, ef + 50)
        assert (await settings_of(uow))[2] == str(ef + 50)
        assert vector_scan(uow.session) == ef + 50
    async with components.sessions() as session:
        async with session.begin():
            await tune_vector_scan(session, 60)
            assert vector_scan(session) == 60
        async with session.begin():  # the same session, a later transaction
            assert vector_scan(session) == 0
            await tune_vector_scan(session, 60)
            assert (await session.execute(SETTINGS)).one()[1] == "force_custom_plan"


async def test_a_pooled_connection_the_server_closed_is_replaced(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with engine.connect() as other:  # the pool's one connection, again
            assert (await other.execute(text("SELECT pg_backend_pid()"))).scalar_one() == pid
        killer = make_engine(database_url, pool=False)
        async with killer.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await killer.dispose()
        await asyncio.sleep(0.2)  # the driver reads the closed socket
        async with engine.connect() as conn:
            fresh = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert fresh != pid
    finally:
        await engine.dispose()


async def test_a_key_lookup_runs_in_autocommit_and_a_unit_of_work_in_one_transaction(
    components: Components,
) -> None:
    xact = text("SELECT pg_current_xact_id()::text")
    async with components.lookup() as uow:
        first = (await uow.session.execute(xact)).scalar_one()
        second = (await uow.session.execute(xact)).scalar_one()
    assert first != second  # each statement its own transaction: no BEGIN, no COMMIT
    async with components.uow() as uow:
        first = (await uow.session.execute(xact)).scalar_one()
        second = (await uow.session.execute(xact)).scalar_one()
    assert first == second
