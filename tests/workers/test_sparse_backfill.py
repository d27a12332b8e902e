"""The backfill: ``memory-service encode-sparse`` encodes every tenant's episodes that
have no learned-sparse vector (written before the list existed, or imported)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from memory_service.adapters.hash_sparse import HashSparseEncoder
from memory_service.bootstrap import Components
from memory_service.cli import main
from memory_service.domain.models import NewEpisode, Scope, SearchQuery
from memory_service.services import ingest
from memory_service.services.sparse import encode_backlog

SCOPE = Scope(user_id="u")


async def write(components: Components, name: str, texts: list[str]) -> object:
    async with components.uow() as uow:
        tenant = await uow.tenants.create_tenant(name)
    async with components.uow(tenant) as uow:
        await ingest.add_messages(
            uow,
            components.embedder,
            tenant,
            SCOPE,
            [NewEpisode(role="user", text=t) for t in texts],
            now=datetime.now(UTC),
        )
    return tenant


async def pending(components: Components, tenant: object) -> int:
    async with components.uow(tenant) as uow:  # type: ignore[arg-type]
        return len(await uow.episodes.unencoded(tenant, SCOPE, 1000))  # type: ignore[arg-type]


async def test_the_backlog_of_every_tenant_is_encoded_in_batches(components: Components) -> None:
    a = await write(components, "a", ["one fish", "two fish", "red fish"])
    b = await write(components, "b", ["blue fish", "old fish"])
    done = []
    while True:
        async with components.uow() as uow:
            n = await encode_backlog(uow, HashSparseEncoder(), limit=2)
        if n == 0:
            break
        done.append(n)
    assert done == [2, 2, 1]
    assert await pending(components, a) == 0
    assert await pending(components, b) == 0
    async with components.uow(b) as uow:
        [vector] = await HashSparseEncoder().encode(["blue"])
        hits = await uow.episodes.sparse_search(b, SearchQuery("blue", SCOPE), vector, 5)
    assert [h.text for h in hits] == ["blue fish"]


async def test_the_command_encodes_the_backlog(
    components: Components,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tenant = await write(components, "c", ["a cat", "a dog"])
    monkeypatch.setenv("MEMORY_DATABASE_URL", database_url)
    monkeypatch.setenv("MEMORY_SPARSE_ENCODER", "hash")
    assert await asyncio.to_thread(main, ["encode-sparse", "--batch", "1"]) == 0
    assert "2 episodes encoded with hash-sparse" in capsys.readouterr().out
    assert await pending(components, tenant) == 0
    monkeypatch.setenv("MEMORY_SPARSE_ENCODER", "none")
    assert await asyncio.to_thread(main, ["encode-sparse"]) == 2
