"""The write path over the fake unit of work: a request of many messages is embedded
chunk by chunk, each chunk inserted while the next is embedded, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from memory_service.domain.models import NewEpisode, Scope
from memory_service.fake_store import FakeStore, FakeUnitOfWork
from memory_service.services import ingest
from memory_service.testing import HashEmbedder
from tests.unit.recall.factories import NOW, TENANT

ALICE = Scope(user_id="alice")


class Recording(HashEmbedder):
    """The hash embedder, slowed a little; it notes each call's size and, for each call,
    how many episodes were stored when it ended."""

    def __init__(self, uow: FakeUnitOfWork, fail_at: int | None = None) -> None:
        super().__init__()
        self.uow, self.fail_at = uow, fail_at
        self.calls: list[tuple[int, int]] = []

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        await asyncio.sleep(0.01)
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise RuntimeError("the model failed")
        stored = len(self.uow.store.episodes)
        self.calls.append((len(texts), stored))
        return await super().embed(texts)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork(FakeStore(seed=7, clock=lambda: NOW))


def said(n: int) -> list[NewEpisode]:
    return [NewEpisode("user", f"message number {i}") for i in range(n)]


async def test_many_messages_are_stored_in_order_a_chunk_at_a_time(uow: FakeUnitOfWork) -> None:
    embedder = Recording(uow)
    result = await ingest.add_messages(uow, embedder, TENANT, ALICE, said(40), now=NOW)
    # three model calls; each after the first ended once the chunk before it was in
    assert [size for size, _ in embedder.calls] == [16, 16, 8]
    assert [stored for _, stored in embedder.calls] == [0, 16, 32]
    episodes = await uow.episodes.get_many(TENANT, list(result.episode_ids))
    by_id = {e.id: e for e in episodes}
    assert [by_id[i].text for i in result.episode_ids] == [f"message number {i}" for i in range(40)]
    expected = await HashEmbedder().embed([f"message number {i}" for i in range(40)])
    exact = await uow.episodes.similarities(TENANT, list(result.episode_ids), expected[7])
    assert exact[result.episode_ids[7]][0] == pytest.approx(1.0)


async def test_a_failed_chunk_fails_the_request_and_leaves_nothing_running(
    uow: FakeUnitOfWork,
) -> None:
    embedder = Recording(uow, fail_at=1)
    before = asyncio.all_tasks()
    with pytest.raises(RuntimeError, match="the model failed"):
        await ingest.add_messages(uow, embedder, TENANT, ALICE, said(40), now=NOW)
    await asyncio.sleep(0)
    assert all(t.done() for t in asyncio.all_tasks() - before - {asyncio.current_task()})
