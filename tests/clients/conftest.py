"""SDK fixtures: the async client over the in-process app, the blocking one over a real
server on a loopback port.

The blocking client cannot share the test's event loop with the app (its calls would
block the loop the app runs on), and the app's engine is bound to that loop. So the
server runs as uvicorn in a subprocess over the same test database, with its own loop
and engine; keys are issued per test through ``components``, whose teardown empties the
tenant tables, so the long-lived server sees the same clean database as every test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from memory_client import AsyncMemoryClient, MemoryClient
from memory_service.bootstrap import Components
from tests.conftest import ROOT, new_key

SERVER_START_TIMEOUT_S = 60.0


@pytest.fixture
async def api_key(components: Components) -> str:
    return await new_key(components, "sdk")


@pytest.fixture
async def async_client(app: Any, api_key: str) -> AsyncIterator[AsyncMemoryClient]:
    transport = httpx.ASGITransport(app=app)
    async with AsyncMemoryClient("http://app", api_key, transport=transport) as client:
        yield client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the test server exited ({process.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the test server was not ready in {SERVER_START_TIMEOUT_S} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def server_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``uvicorn tests.clients.server:create`` on a free loopback port, for the session."""
    folder = tmp_path_factory.mktemp("server")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    env.update(
        MEMORY_DATABASE_URL=database_url,
        MEMORY_EMBEDDER="hash",
        MEMORY_DATA_DIR=str(folder),
        PYTHONPATH=str(ROOT),
    )
    command = [sys.executable, "-m", "uvicorn", "tests.clients.server:create", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def sync_client(server_url: str, api_key: str) -> Iterator[MemoryClient]:
    """The blocking client, authenticated as a fresh tenant of the real server."""
    with MemoryClient(server_url, api_key) as c:
        yield c
