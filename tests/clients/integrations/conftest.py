"""Adapter fixtures: clients of the real server (uvicorn on a loopback port, see
``tests/conftest.py``), and the environment the README's examples read."""

from __future__ import annotations

import runpy
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from memory_client import AsyncMemoryClient
from tests.conftest import ROOT

EXAMPLES = ROOT / "clients" / "python" / "examples"


@pytest.fixture
async def aclient(server_url: str, api_key: str) -> AsyncIterator[AsyncMemoryClient]:
    """The asyncio client, as the same fresh tenant as ``sync_client``."""
    async with AsyncMemoryClient(server_url, api_key) as client:
        yield client


@pytest.fixture
def run_example(
    server_url: str, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], None]:
    """Runs ``clients/python/examples/<name>`` as a script, against the real server."""
    monkeypatch.setenv("MEMORY_SERVICE_URL", server_url)
    monkeypatch.setenv("MEMORY_SERVICE_API_KEY", api_key)

    def run(name: str) -> None:
        runpy.run_path(str(Path(EXAMPLES, name)), run_name="__main__")

    return run
