"""Growing past one machine: search on a streaming replica, writes on the primary, and
several API processes over one database.

The replica is a second embedded server made from the first with ``pg_basebackup -R -X
stream`` (``memory_service.db.embedded.start_replica``), both in a folder of their own.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from memory_service.bootstrap import Components, build_components, migrate
from memory_service.config import Settings
from memory_service.db.embedded import (
    asyncpg_url,
    postgres_bin,
    start_embedded,
    start_replica,
    stop_postgres,
)
from memory_service.db.session import make_engine
from tests.api.helpers import add_memory, add_messages
from tests.conftest import ROOT, api_client, free_port, new_key, wait_ready
from tests.mcp.helpers import call, connect, fails

pytestmark = pytest.mark.integration
DB = "memory_replica_test"
REPLAY_TIMEOUT_S = 60.0
SERVE_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Pair:
    """A primary and its streaming replica, and where they live."""

    server: Any
    folder: Path
    primary_url: str
    replica_url: str

    @property
    def primary_socket(self) -> Path:
        return Path(self.server.get_postmaster_info().socket_dir)


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    """An embedded primary with the schema at head, and a streaming replica of it;
    stopped and deleted afterwards."""
    pgdata = Path(os.environ.get("MEMORY_TEST_PGDATA", ROOT / ".memory-data-test" / "pg"))
    folder = pgdata.resolve().parent / f"replica-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    server, _ = start_embedded(folder / "primary")
    try:
        server.psql(f"CREATE DATABASE {DB};")
        primary_url = asyncpg_url(server.get_uri(), DB)
        migrate(primary_url)
        replica_url = asyncpg_url(start_replica(server, folder / "standby"), DB)
        yield Pair(server, folder, primary_url, replica_url)
    finally:
        try:
            stop_postgres(folder / "standby", timeout_s=30)
        finally:
            server.cleanup()  # this process holds the only handle: the primary stops
            shutil.rmtree(folder, ignore_errors=True)


def settings_for(pair: Pair, replica_url: str | None) -> Settings:
    return Settings(
        database_url=pair.primary_url,
        database_replica_url=replica_url,
        data_dir=pair.folder / "data",
        embedder="hash",
        sparse_encoder="hash",
        rate_limit_per_minute=0,
    )


@pytest.fixture
async def parts(pair: Pair) -> AsyncIterator[Components]:
    """Components as ``memory-service serve`` builds them, with the replica configured."""
    built = build_components(settings_for(pair, pair.replica_url), run_migrations=False)
    assert built.replica_engine is not None
    yield built
    async with built.engine.begin() as conn:
        await conn.execute(text("TRUNCATE tenants CASCADE"))
    await built.dispose()


@dataclass
class Seen:
    """What one engine ran while observed; ``inside``: what each read transaction
    said of itself, asked on its own connection at its first query of the episodes (a
    search's lists may read on several connections at once)."""

    statements: list[str] = field(default_factory=list)
    inside: list[tuple[Any, ...]] = field(default_factory=list)
    asked: set[int] = field(default_factory=set)

    def ran(self, fragment: str) -> bool:
        return any(fragment in s for s in self.statements)


INSIDE = (
    "SELECT pg_is_in_recovery(), current_setting('transaction_read_only'), current_user, "
    "current_setting('memory.tenant', true)"
)


@contextmanager
def observe(engine: AsyncEngine) -> Iterator[Seen]:
    """The statements ``engine`` runs in the block (a test hook on the engine)."""
    seen = Seen()

    def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement == INSIDE:
            return
        seen.statements.append(statement)
        if "FROM episodes" in statement and id(conn) not in seen.asked:
            seen.asked.add(id(conn))
            seen.inside.append(tuple(conn.exec_driver_sql(INSIDE).one()))

    event.listen(engine.sync_engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "after_cursor_execute", after)


async def replayed(primary: AsyncEngine, replica_url: str) -> None:
    """Wait until the replica has replayed everything the primary has written."""
    async with primary.connect() as conn:
        lsn = (await conn.execute(text("SELECT pg_current_wal_lsn()::text"))).scalar_one()
    deadline = time.monotonic() + REPLAY_TIMEOUT_S
    check = text("SELECT pg_last_wal_replay_lsn() >= CAST(CAST(:lsn AS text) AS pg_lsn)")
    replica = make_engine(replica_url, pool=False)
    try:
        while True:
            async with replica.connect() as conn:
                if (await conn.execute(check, {"lsn": lsn})).scalar_one():
                    return
            assert time.monotonic() < deadline, f"the replica did not replay {lsn}"
            await asyncio.sleep(0.05)
    finally:
        await replica.dispose()


async def logged(parts: Components, retrieval_id: str) -> bool:
    async with parts.engine.connect() as conn:
        found = await conn.execute(
            text("SELECT 1 FROM retrievals WHERE id = CAST(:id AS uuid)"), {"id": retrieval_id}
        )
        return found.first() is not None


async def test_search_reads_the_replica_and_logs_on_the_primary(
    parts: Components, pair: Pair
) -> None:
    assert parts.replica_engine is not None
    async with api_client(parts, "alpha") as client:
        await add_messages(client, ["Pixel the greyhound loves the beach"], user_id="u")
        fact = await add_memory(client, "Pixel is a greyhound", user_id="u")
        await replayed(parts.engine, pair.replica_url)

        with observe(parts.replica_engine) as replica, observe(parts.engine) as primary:
            r = await client.post("/v1/search", json={"user_id": "u", "query": "greyhound"})
        assert r.status_code == 200, r.text
        found = r.json()
        assert {h["id"] for h in found["results"]} >= {fact["id"]}

        # The pipeline ran on the replica, in a read-only transaction under the tenant's
        # row-level security; the primary saw the key check and the log row, no search.
        assert "set_config('transaction_read_only', 'on', true)" in replica.statements[0]
        assert 1 <= len(replica.inside) <= 3  # the search's connection and its lanes
        for in_recovery, read_only, role, tenant in replica.inside:
            assert (in_recovery, read_only, role) == (True, "on", "memory_app")
            assert tenant == replica.inside[0][3]
            assert tenant
        assert not replica.ran("INSERT")
        assert primary.ran("INSERT INTO retrievals")
        assert not primary.ran("FROM episodes")
        assert await logged(parts, found["retrieval_id"])

        # Feedback on that search is a write: the primary's, and the replica follows.
        r = await client.post(
            "/v1/feedback",
            json={"retrieval_id": found["retrieval_id"], "reward": 1.0, "memory_ids": [fact["id"]]},
        )
        assert r.status_code == 200, r.text
        assert r.json()["utilities"] == {fact["id"]: pytest.approx(0.3)}
        await replayed(parts.engine, pair.replica_url)
        async with parts.replica_engine.connect() as conn:
            utility = await conn.execute(
                text("SELECT utility FROM memories WHERE id = CAST(:id AS uuid)"),
                {"id": fact["id"]},
            )
            assert utility.scalar_one() == pytest.approx(0.3)


async def test_context_reads_the_replica(parts: Components, pair: Pair) -> None:
    assert parts.replica_engine is not None
    async with api_client(parts, "alpha") as client:
        await add_messages(client, ["Pixel the greyhound loves the beach"], user_id="u")
        await replayed(parts.engine, pair.replica_url)
        with observe(parts.replica_engine) as replica, observe(parts.engine) as primary:
            r = await client.post("/v1/context", json={"user_id": "u", "query": "greyhound"})
        assert r.status_code == 200, r.text
        assert "greyhound" in r.json()["context"]
        assert replica.inside[0][:2] == (True, "on")
        assert not primary.ran("FROM episodes")
        assert await logged(parts, r.json()["retrieval_id"])


async def test_mcp_search_and_context_read_the_replica(parts: Components, pair: Pair) -> None:
    assert parts.replica_engine is not None
    key = await new_key(parts, "alpha")
    async with connect(parts, key) as client:
        await call(client, "add_memory", text="Pixel the greyhound", user_id="u")
        await replayed(parts.engine, pair.replica_url)
        retrievals = []
        for tool, arguments in (("search_memories", {"query": "greyhound"}), ("context", {})):
            with observe(parts.replica_engine) as replica, observe(parts.engine) as primary:
                out = await call(client, tool, user_id="u", **arguments)
            assert "set_config('transaction_read_only', 'on', true)" in replica.statements[0], tool
            assert not primary.ran("FROM episodes"), tool
            retrievals.append(out.get("retrieval_id"))  # null fields are left out
        assert retrievals[1] is None  # context without a query lists facts: no search
        assert await logged(parts, retrievals[0])
        given = await call(client, "feedback", retrieval_id=retrievals[0], reward=1.0)
        assert given["applied"] is True


async def test_an_unreachable_replica_answers_503_and_writes_go_on(pair: Pair) -> None:
    """The replica down: searches answer 503 with Retry-After (as when the primary is
    down), nothing falls back silently; writes and feedback, on the primary, go on."""
    gone = asyncpg_url(f"postgresql://postgres:@/{DB}?host={pair.folder / 'no-replica'}")
    built = build_components(settings_for(pair, gone), run_migrations=False)
    try:
        async with api_client(built, "alpha") as client:
            await add_messages(client, ["Pixel the greyhound loves the beach"], user_id="u")
            for path, body in (
                ("/v1/search", {"user_id": "u", "query": "greyhound"}),
                ("/v1/context", {"user_id": "u", "query": "greyhound"}),
            ):
                r = await client.post(path, json=body)
                assert r.status_code == 503, r.text
                assert r.headers["Retry-After"] == "1"
                assert r.json()["error"] == "Unavailable"
            r = await client.get("/v1/episodes", params={"user_id": "u"})
            assert r.status_code == 200
        key = await new_key(built, "alpha")
        async with connect(built, key) as mcp:
            refused = await fails(mcp, "search_memories", query="greyhound", user_id="u")
            assert "unavailable" in refused
    finally:
        async with built.engine.begin() as conn:
            await conn.execute(text("TRUNCATE tenants CASCADE"))
        await built.dispose()


@pytest.mark.parametrize("first", ["standby", "nowhere"])
async def test_a_second_host_in_the_replica_url_takes_over(pair: Pair, first: str) -> None:
    """``host=<replica>&host=<primary>`` with ``target_session_attrs=prefer-standby``:
    the driver reads the standby while it answers and the primary when it does not,
    still in a read-only transaction, the log still written on the primary."""
    socket = pair.folder / first
    hosts = f"host={socket}:5432&host={pair.primary_socket}:5432"
    url = f"postgresql+asyncpg://postgres@/{DB}?{hosts}&target_session_attrs=prefer-standby"
    built = build_components(settings_for(pair, url), run_migrations=False)
    assert built.replica_engine is not None
    try:
        async with api_client(built, "alpha") as client:
            await add_messages(client, ["Pixel the greyhound loves the beach"], user_id="u")
            await replayed(built.engine, pair.replica_url)
            with observe(built.replica_engine) as replica:
                r = await client.post("/v1/search", json={"user_id": "u", "query": "greyhound"})
            assert r.status_code == 200, r.text
            in_recovery, read_only, _, _ = replica.inside[0]
            assert (in_recovery, read_only) == (first == "standby", "on")
            assert await logged(built, r.json()["retrieval_id"])
    finally:
        async with built.engine.begin() as conn:
            await conn.execute(text("TRUNCATE tenants CASCADE"))
        await built.dispose()


# --- several API processes over one database ---------------------------------------


def cli_env(pair: Pair, data_dir: Path, replica: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    env.update(
        MEMORY_DATABASE_URL=pair.primary_url,
        MEMORY_DATA_DIR=str(data_dir),
        MEMORY_EMBEDDER="hash",
        MEMORY_SPARSE_ENCODER="hash",
        MEMORY_RATE_LIMIT_PER_MINUTE="0",
    )
    if replica:
        env["MEMORY_DATABASE_REPLICA_URL"] = pair.replica_url
    return env


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "memory_service.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SERVE_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[str]:
    """``memory-service serve`` on a free loopback port, ready; stopped (SIGINT, then
    SIGKILL) when the block ends."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "memory_service.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc, log, SERVE_TIMEOUT_S)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def test_two_serve_processes_share_one_database(pair: Pair) -> None:
    """The documented path: migrate once, create a key, start several API processes
    (here two, one of them reading search from the replica); a write through one is
    visible through the other, and feedback through one finds the other's search."""
    data = pair.folder / "serve"
    data.mkdir()
    plain, replicated = cli_env(pair, data / "a", False), cli_env(pair, data / "b", True)
    cli(plain, "migrate")
    key = cli(plain, "keys", "create", "--tenant", "scale").split()[0]
    auth = {"Authorization": f"Bearer {key}"}
    try:
        with (
            serving(plain, data / "a.log") as a,
            serving(replicated, data / "b.log") as b,
        ):
            said = "Pixel the greyhound loves the beach"
            body = {"user_id": "u", "messages": [{"content": said}]}
            r = httpx.post(f"{a}/v1/messages", json=body, headers=auth, timeout=60)
            assert r.status_code == 201, r.text
            r = httpx.get(f"{b}/v1/episodes", params={"user_id": "u"}, headers=auth, timeout=60)
            assert [e["content"] for e in r.json()["items"]] == [said]
            hits: list[dict[str, Any]] = []
            deadline = time.monotonic() + REPLAY_TIMEOUT_S
            while not hits:  # b searches the replica, which replays a's write shortly
                assert time.monotonic() < deadline, "the write never reached b's searches"
                found = httpx.post(
                    f"{b}/v1/search",
                    json={"user_id": "u", "query": "greyhound"},
                    headers=auth,
                    timeout=60,
                ).json()
                hits = found["results"]
                time.sleep(0.1)
            r = httpx.post(
                f"{a}/v1/feedback",
                json={"retrieval_id": found["retrieval_id"], "reward": 1.0},
                headers=auth,
                timeout=60,
            )
            assert r.status_code == 200, r.text
            # b's pool keeps its replica connections open (the search's own, and those
            # its lists borrowed to read at once); a has none there.
            assert 1 <= replica_sessions(pair) <= 1 + Settings().search_lanes
    finally:
        pair.server.psql("\\c " + DB + "\nTRUNCATE tenants CASCADE;")


def replica_sessions(pair: Pair) -> int:
    """Client connections to the test database on the replica, other than this one."""
    uri = f"postgresql://postgres:@/postgres?host={pair.folder / 'standby'}"
    query = (
        f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{DB}' "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )
    out = subprocess.run(
        [postgres_bin() / "psql", uri, "-Atc", query],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return int(out.stdout.strip())
