"""The in-process worker stops after the job in hand, even when the cancellation that
stops it comes back from the job as a database error (as the driver reports a cancel
that lands mid-statement): ``serve`` hung on SIGTERM, draining on, before."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from httpx import AsyncClient

from memory_service.bootstrap import Components, build_consolidator
from memory_service.domain.consolidation import EpisodeText, Extraction
from memory_service.domain.errors import DatabaseUnavailable
from memory_service.services.consolidate import Consolidator
from workers.dispatch import InProcessWorker


class CancelSeenAsLostConnection:
    """Waits until cancelled, then raises what the driver raises for a cancelled call."""

    name = "cancel-as-lost-connection"

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.calls = 0

    async def extract(
        self, episodes: Sequence[EpisodeText], *, instructions: str | None = None
    ) -> Extraction:
        self.calls += 1
        self.started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            raise DatabaseUnavailable("the connection was closed mid-operation") from None
        raise AssertionError("never cancelled")


async def test_stop_ends_the_loop_when_the_cancel_is_swallowed(
    client: AsyncClient, components: Components
) -> None:
    for text in ("I moved to Lisbon", "I sold my car"):
        body = {"user_id": "u", "messages": [{"content": text}]}
        assert (await client.post("/v1/messages", json=body)).status_code == 201
    extractor = CancelSeenAsLostConnection()
    base = build_consolidator(components.settings, components.embedder)
    worker = InProcessWorker(
        components, Consolidator(components.embedder, extractor, base.decider), poll_s=0.05
    )
    worker.start()
    await asyncio.wait_for(extractor.started.wait(), timeout=10)

    stopping = asyncio.ensure_future(worker.stop())
    done, _ = await asyncio.wait({stopping}, timeout=5)

    assert stopping in done, "stop() did not return: the loop drained on"
    assert extractor.calls == 1  # the second job was left for the next start
