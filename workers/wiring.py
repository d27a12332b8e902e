"""Attaching workers to the composition root's components, for the entrypoints (the
CLI, the API's lifespan, the MCP server): the composition root knows nothing of them.

Components are frozen: each function here returns a copy with its parts set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from memory_service.bootstrap import Components, build_consolidator
from memory_service.config import Settings
from memory_service.ports import ChunkRunner
from workers.celery_app import make_app
from workers.chunks import CeleryChunkRunner
from workers.dispatch import CeleryDispatcher, InProcessWorker


def build_chunk_runner(settings: Settings) -> ChunkRunner | None:
    """Celery workers read Full Deliberation's chunks when a broker is configured (and
    ``deliberation_workers`` is on); otherwise (None) the API process reads them itself."""
    if not (settings.broker_url and settings.deliberation_workers):
        return None
    return CeleryChunkRunner(make_app(settings, current=False))


def with_chunk_runner(components: Components) -> Components:
    """``components`` with the chunk runner their settings ask for."""
    return replace(components, chunk_runner=build_chunk_runner(components.settings))


@asynccontextmanager
async def attached_worker(components: Components) -> AsyncIterator[Components]:
    """``components`` whose committed jobs reach a worker: Celery's, through the broker
    of their settings, when one is configured; else an in-process worker, started here
    (in the running event loop) and stopped when the block ends."""
    settings = components.settings
    if settings.broker_url:
        yield replace(components, dispatcher=CeleryDispatcher(make_app(settings, current=False)))
        return
    worker = InProcessWorker(
        components, build_consolidator(settings, components.embedder, sparse=components.sparse)
    )
    worker.start()
    try:
        yield replace(components, dispatcher=worker)
    finally:
        await worker.stop()
