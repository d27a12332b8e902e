"""The MCP server over its real transports: streamable HTTP on a port, stdio in a
subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Iterator

import httpx
import httpx2
import uvicorn
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from memory_service.bootstrap import Components
from memory_service.mcp import MCP_PATH, http_app
from tests.conftest import ROOT, free_port, new_key
from tests.mcp.helpers import SCOPE, TOOLS, call, texts


class _Uvicorn(uvicorn.Server):
    """Leaves the test runner's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def http_server(components: Components) -> AsyncIterator[str]:
    """The HTTP app on a loopback port for the block; stops by itself, within bounds."""
    port = free_port()
    config = uvicorn.Config(
        http_app(components), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = _Uvicorn(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                assert not task.done(), "the server did not start"
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}{MCP_PATH}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


async def test_streamable_http_on_a_loopback_port(components: Components) -> None:
    alpha = await new_key(components, "alpha")
    beta = await new_key(components, "beta")
    async with asyncio.timeout(60), http_server(components) as url:
        for headers in ({}, {"Authorization": "Bearer msk_not-a-key"}):
            async with httpx.AsyncClient(timeout=10) as raw:
                refused = await raw.post(url, json={}, headers=headers)
            assert refused.status_code == 401
            assert refused.headers["WWW-Authenticate"] == "Bearer"
        for key, expected in ((alpha, 1), (beta, 0)):
            auth = {"Authorization": f"Bearer {key}"}
            async with (
                httpx2.AsyncClient(headers=auth, timeout=10) as http,
                Client(streamable_http_client(url, http_client=http)) as client,
            ):
                assert {t.name for t in (await client.list_tools()).tools} == TOOLS
                if expected:
                    await call(client, "add_memory", **SCOPE, text="Pixel the greyhound")
                found = await call(client, "search_memories", **SCOPE, query="greyhound")
            assert len(found["results"]) == expected


STDIO_SERVER = """
import sys
from memory_service.bootstrap import build_components
from memory_service.config import Settings
from memory_service.mcp import run

url, data_dir, key = sys.argv[1:]
settings = Settings(database_url=url, data_dir=data_dir, embedder="hash")
run(build_components(settings, run_migrations=False), transport="stdio", api_key=key)
"""


def stdio_args(components: Components, key: str) -> list[str]:
    settings = components.settings
    return ["-c", STDIO_SERVER, components.database_url, str(settings.data_dir), key]


async def test_stdio_in_a_subprocess(components: Components) -> None:
    """The real stdio transport: nothing but protocol may reach stdout."""
    key = await new_key(components, "alpha")
    params = StdioServerParameters(
        command=sys.executable, args=stdio_args(components, key), cwd=ROOT
    )
    async with asyncio.timeout(60), Client(params) as client:
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS
        await call(client, "add_memory", **SCOPE, text="Pixel the greyhound")
        found = await call(client, "search_memories", **SCOPE, query="greyhound")
    assert texts(found) == ["Pixel the greyhound"]


async def test_stdio_takes_its_default_user_from_the_environment(components: Components) -> None:
    key = await new_key(components, "alpha")
    params = StdioServerParameters(
        command=sys.executable,
        args=stdio_args(components, key),
        cwd=ROOT,
        env={"MEMORY_MCP_DEFAULT_USER_ID": "me"},
    )
    async with asyncio.timeout(60), Client(params) as client:
        await call(client, "add_memory", text="Pixel the greyhound", infer=False)
        mine = await call(client, "search_memories", query="greyhound")
        named = await call(client, "list_memories", user_id="me")
    assert texts(mine) == texts(named) == ["Pixel the greyhound"]


async def test_stdio_refuses_a_bad_key_before_serving(components: Components) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *stdio_args(components, "msk_not-a-key"),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode != 0
    assert stdout == b""
    assert b"Unauthorized: unknown API key" in stderr
