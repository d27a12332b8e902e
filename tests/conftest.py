"""Fixtures: one embedded PostgreSQL + pgvector for the session, a clean database per test."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from memory_service.adapters.local_embedder import LocalEmbedder
from memory_service.bootstrap import Components, migrate
from memory_service.config import Settings
from memory_service.db.embedded import asyncpg_url, start_embedded
from memory_service.db.session import make_engine, make_sessionmaker
from memory_service.services import tenants
from memory_service.testing import HashEmbedder

ROOT = Path(__file__).resolve().parents[1]
TEST_DB = "memory_test"
SERVER_START_TIMEOUT_S = 60.0


@pytest.fixture(scope="session")
def pg_server() -> Any:
    """The embedded server the service itself uses, in a data folder of the tests."""
    pgdata = Path(os.environ.get("MEMORY_TEST_PGDATA", ROOT / ".memory-data-test" / "pg"))
    server, _ = start_embedded(pgdata.resolve())
    return server


@pytest.fixture(scope="session")
def database_url(pg_server: Any) -> str:
    """A fresh database, migrated to head once for the whole session."""
    pg_server.psql(f"DROP DATABASE IF EXISTS {TEST_DB} WITH (FORCE);")
    pg_server.psql(f"CREATE DATABASE {TEST_DB};")
    url = asyncpg_url(pg_server.get_uri(), TEST_DB)
    migrate(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, data_dir=ROOT / ".memory-data-test")


@pytest.fixture(scope="session")
def real_embedder() -> LocalEmbedder:
    return LocalEmbedder(device="cpu")


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[Any]:
    eng = make_engine(database_url, pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture
async def components(
    settings: Settings, engine: Any, database_url: str, embedder: Any
) -> AsyncIterator[Components]:
    """Components over the test database; every tenant table is emptied afterwards."""
    yield Components(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        embedder=embedder,
        database_url=database_url,
    )
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE tenants CASCADE"))


async def new_key(components: Components, tenant: str) -> str:
    async with components.uow() as uow:
        return (await tenants.issue_key(uow, tenant, "test")).secret


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def api_client(parts: Components, tenant: str) -> AsyncIterator[AsyncClient]:
    """An API client over ``parts`` (no background worker), as a new key of ``tenant``."""
    from memory_service.api.app import create_app

    key = await new_key(parts, tenant)
    app = create_app(components=parts, background=False)
    async with AsyncClient(
        transport=ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {key}"},
    ) as client:
        yield client


@pytest.fixture
async def app(components: Components) -> Any:
    from memory_service.api.app import create_app

    return create_app(components=components)


@pytest.fixture
async def client(app: Any, components: Components) -> AsyncIterator[AsyncClient]:
    """An API client authenticated as tenant ``alpha``."""
    key = await new_key(components, "alpha")
    transport = ASGITransport(app=app)
    async with AsyncClient(
        transport=transport, base_url="http://test", headers={"Authorization": f"Bearer {key}"}
    ) as c:
        yield c


@pytest.fixture
async def other_client(app: Any, components: Components) -> AsyncIterator[AsyncClient]:
    """An API client authenticated as tenant ``beta``."""
    key = await new_key(components, "beta")
    async with AsyncClient(
        transport=ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {key}"},
    ) as c:
        yield c


def wait_ready(
    url: str,
    process: subprocess.Popen[bytes],
    log: Path,
    timeout_s: float = SERVER_START_TIMEOUT_S,
) -> None:
    """Until ``url/readyz`` answers 200; fails with the server's log if it exits or
    takes longer than ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the test server exited ({process.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the test server was not ready in {timeout_s} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def server_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``uvicorn tests.live_app:create`` (no background worker) on a free loopback port,
    over the test database, for the session: for callers that cannot share the test's
    event loop (blocking clients, schemathesis)."""
    folder = tmp_path_factory.mktemp("server")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    env.update(
        MEMORY_DATABASE_URL=database_url,
        MEMORY_EMBEDDER="hash",
        MEMORY_DATA_DIR=str(folder),
        MEMORY_RATE_LIMIT_PER_MINUTE="0",
        MEMORY_AUTH_FAILURES_PER_MINUTE="0",  # the fuzz sends wrong keys on purpose
        PYTHONPATH=str(ROOT),
    )
    command = [sys.executable, "-m", "uvicorn", "tests.live_app:create", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Tests that call a command's ``main`` in process configure logging on the stream
    pytest captures, which is closed by the time the embedded PostgreSQL's exit hook
    logs: the root logger's handlers are put back after each test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
