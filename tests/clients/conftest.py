"""SDK fixtures: the async client over the in-process app, the blocking one over a real
server on a loopback port.

The blocking client cannot share the test's event loop with the app (its calls would
block the loop the app runs on), and the app's engine is bound to that loop. So the
server runs as uvicorn in a subprocess over the same test database, with its own loop
and engine; keys are issued per test through ``components``, whose teardown empties the
tenant tables, so the long-lived server sees the same clean database as every test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from memory_client import AsyncMemoryClient, MemoryClient
from memory_service.bootstrap import Components
from tests.conftest import new_key


@pytest.fixture
async def api_key(components: Components) -> str:
    return await new_key(components, "sdk")


@pytest.fixture
async def async_client(app: Any, api_key: str) -> AsyncIterator[AsyncMemoryClient]:
    transport = httpx.ASGITransport(app=app)
    async with AsyncMemoryClient("http://app", api_key, transport=transport) as client:
        yield client


@pytest.fixture
def sync_client(server_url: str, api_key: str) -> Iterator[MemoryClient]:
    """The blocking client, authenticated as a fresh tenant of the real server."""
    with MemoryClient(server_url, api_key) as c:
        yield c
