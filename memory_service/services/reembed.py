"""Re-embed every stored vector with another embedder, beside the live ones, then switch.

The service keeps serving from the live vectors while this runs (with the embedder that
made them); the switch records the new space for every tenant in the transaction that
makes the new vectors live. Killed at any point, a run resumes where its last batch
committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from memory_service.domain.spaces import EmbeddingSpace
from memory_service.ports import Embedder, ReembedStore
from memory_service.services.spaces import space_of


@dataclass(frozen=True, slots=True)
class Step:
    """Progress of one table: ``done`` of about ``total`` rows (``phase``: the keyset
    pass, or ``catch-up`` for rows written meanwhile)."""

    table: str
    phase: str
    done: int
    total: int


Report = Callable[[Step], None]


async def reembed(
    store: ReembedStore, embedder: Embedder, *, batch: int = 256, report: Report | None = None
) -> EmbeddingSpace | None:
    """Re-embed everything with ``embedder``; the space switched to, or None when every
    tenant was in it already (nothing to do)."""
    async with store.exclusive():
        return await _run(store, embedder, batch, report or (lambda _: None))


async def _run(
    store: ReembedStore, embedder: Embedder, batch: int, say: Report
) -> EmbeddingSpace | None:
    space = space_of(embedder)
    if not await store.needed(space):
        return None
    progress = await store.start(space)
    for table in store.tables:
        state = progress[table]
        done, total = state.done, max(state.total, state.done)
        say(Step(table, "keyset", done, total))
        if state.finished:
            continue
        while rows := await store.next_batch(table, batch):
            vectors = await embedder.embed([r.text for r in rows])
            await store.store(table, rows, vectors)
            done += len(rows)
            say(Step(table, "keyset", done, max(total, done)))
    for table in store.tables:
        caught = 0
        while rows := await store.stale(table, batch):
            await store.store_stale(table, rows, await embedder.embed([r.text for r in rows]))
            caught += len(rows)
            say(Step(table, "catch-up", caught, caught))
            if len(rows) < batch:
                break  # the rest (written from now on) is embedded in the switch
    await store.build_indexes()
    await store.switch(space, embedder.embed)
    return space
