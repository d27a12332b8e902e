"""The database connection lost under a request: mid-statement, between statements or
at the commit. Every shape is ``DatabaseUnavailable``: a 503 with ``Retry-After`` on
the API, the database-down text over MCP; a retry with the same idempotency key then
stores the write exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from httpx import AsyncClient
from mcp.server.mcpserver.exceptions import ToolError
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from memory_service.bootstrap import Components
from memory_service.db.session import unreachable
from memory_service.domain.errors import DatabaseUnavailable
from memory_service.mcp._errors import DATABASE_DOWN_TEXT, tool_errors

pytestmark = pytest.mark.integration


def _terminate(pg_server: Any, pid: int) -> None:
    """End backend ``pid`` from another connection, waiting (up to 5 s) until it is gone."""
    pg_server.psql(f"SELECT pg_terminate_backend({pid}, 5000);")


@contextmanager
def connection_lost_on(
    components: Components, pg_server: Any, event_name: str, when: Callable[[str], bool]
) -> Iterator[list[int]]:
    """Terminate the backend of the connection about to run a statement ``when`` accepts
    (``before_cursor_execute``), or about to commit (``commit``); once."""
    killed: list[int] = []

    def kill(conn: Any, *args: Any) -> None:
        statement = args[1] if event_name == "before_cursor_execute" else "COMMIT"
        if killed or not when(statement):
            return
        if event_name == "commit" and conn.connection.dbapi_connection.autocommit:
            return  # the API key's lookup: in autocommit, its "commit" sends nothing
        pid = conn.connection.driver_connection.get_server_pid()
        _terminate(pg_server, pid)
        killed.append(pid)

    target = components.engine.sync_engine
    event.listen(target, event_name, kill)
    try:
        yield killed
    finally:
        event.remove(target, event_name, kill)


def write(key: str) -> dict[str, Any]:
    return {"user_id": "u", "messages": [{"content": f"{key}: the walk to the lake"}]}


async def contents(client: AsyncClient) -> list[str]:
    r = await client.get("/v1/episodes", params={"user_id": "u", "limit": 100})
    return [e["content"] for e in r.json()["items"]]


@pytest.mark.parametrize(
    ("event_name", "statement"),
    [
        ("before_cursor_execute", "INSERT INTO episodes"),
        ("before_cursor_execute", "INSERT INTO idempotency_keys"),
        ("commit", "COMMIT"),
    ],
)
async def test_a_write_whose_connection_is_lost_is_a_503_then_replays(
    client: AsyncClient,
    components: Components,
    pg_server: Any,
    event_name: str,
    statement: str,
) -> None:
    key = f"lost-{event_name}-{statement.split()[-1]}"
    headers = {"Idempotency-Key": key}
    with connection_lost_on(components, pg_server, event_name, lambda s: statement in s) as k:
        r = await client.post("/v1/messages", json=write(key), headers=headers)
    assert k, f"no {statement} ran"
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "1"
    assert r.json()["error"] == "Unavailable"
    again = await client.post("/v1/messages", json=write(key), headers=headers)
    assert again.status_code == 201, again.text
    assert await contents(client) == [f"{key}: the walk to the lake"]


async def _sleep_on_a_lost_connection(components: Components, pg_server: Any) -> None:
    """A statement running when its backend is terminated: asyncpg's
    ConnectionDoesNotExistError, which SQLAlchemy wraps as a bare DBAPIError."""
    async with components.uow() as uow:
        pid = (await uow.session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        sleeping = asyncio.create_task(uow.session.execute(text("SELECT pg_sleep(5)")))
        await asyncio.sleep(0.3)
        await asyncio.to_thread(_terminate, pg_server, pid)
        await sleeping


async def test_a_statement_cut_off_mid_way_is_database_unavailable(
    components: Components, pg_server: Any
) -> None:
    with pytest.raises(DatabaseUnavailable) as caught:
        await _sleep_on_a_lost_connection(components, pg_server)
    cause = caught.value.__cause__
    assert isinstance(cause, DBAPIError)
    assert type(cause.orig.__cause__).__name__ == "ConnectionDoesNotExistError"  # type: ignore[union-attr]
    with pytest.raises(ToolError, match=f"^{DATABASE_DOWN_TEXT}$"), tool_errors():
        await _sleep_on_a_lost_connection(components, pg_server)


async def _insert_twice(components: Components) -> None:
    async with components.uow() as uow:
        await uow.session.execute(text("CREATE TEMP TABLE t (x int PRIMARY KEY)"))
        await uow.session.execute(text("INSERT INTO t VALUES (1), (1)"))


async def test_a_broken_constraint_is_not_database_unavailable(components: Components) -> None:
    with pytest.raises(IntegrityError) as caught:
        await _insert_twice(components)
    assert not unreachable(caught.value)


async def test_a_search_whose_log_write_is_lost_is_a_503(
    client: AsyncClient, components: Components, pg_server: Any
) -> None:
    assert (await client.post("/v1/messages", json=write("logged"))).status_code == 201
    lost = connection_lost_on(
        components, pg_server, "before_cursor_execute", lambda s: "INSERT INTO retrievals" in s
    )
    with lost as killed:
        r = await client.post("/v1/search", json={"user_id": "u", "query": "the lake"})
    assert killed, "the search wrote no log"
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "1"
