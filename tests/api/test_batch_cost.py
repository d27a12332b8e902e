"""A maximum-size batch (``max_batch_messages`` messages at 8,000 characters) keeps
its cost to itself: while tenant A's batch is embedded, tenant B's reads and searches
answer promptly, over real HTTP against a real server (uvicorn, in a thread of its own
with its own event loop, so a model call on that loop would show as B's latency).

The model is the local embedder's own class and queue with a fake model call: hash
vectors, and a sleep per padded word piece as a CPU model spends its time (a call of
``n`` texts costs ``n`` times its longest), on the writes' side and the queries' side
alike. A's batch takes seconds; B's writes queue behind at most one call of A's, which
the queue keeps to a bounded size, and B's search goes through the queries' queue.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import httpx
import uvicorn

from memory_service.adapters.clipping import SHORT_PIECES, estimated_pieces
from memory_service.adapters.hash_embedder import HashEmbedder
from memory_service.adapters.local_embedder import WINDOW, LocalEmbedder
from memory_service.api.app import create_app
from memory_service.bootstrap import Components
from memory_service.db.session import make_engine, make_sessionmaker
from tests.conftest import free_port, new_key

SECONDS_PER_PIECE = 40e-6
"""The fake model's time per padded word piece: a full call (64 x 64 pieces) 0.16 s."""
CHARS = 8_000
BYSTANDER_BOUND_S = 2.0
CHARS_READ = 1_000
"""What the fake model hashes of a text (hashing all 4 MB would hold the GIL)."""


class TimedModel(LocalEmbedder):
    """LocalEmbedder with its queue as configured, and a fake model behind it."""

    def __init__(self) -> None:
        super().__init__(device="cpu")
        self._hash = HashEmbedder()
        self.busy_s = 0.0

    def embed_sync(self, texts: Sequence[str]) -> list[list[float]]:
        padded = len(texts) * max(estimated_pieces(t, WINDOW) for t in texts)
        time.sleep(padded * SECONDS_PER_PIECE)
        self.busy_s += padded * SECONDS_PER_PIECE
        return self._hash.embed_sync([t[:CHARS_READ] for t in texts])

    def embed_query_sync(self, texts: Sequence[str]) -> list[list[float]]:
        # The same fake call: the real model's query side would load MiniLM (seconds).
        return self.embed_sync(texts)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """uvicorn serving ``app`` on a loopback port, from a thread with its own loop."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="test-uvicorn")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn exited"
        assert time.monotonic() < deadline, "uvicorn did not start in 30 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(60)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_other_tenants_keep_their_latency_during_a_max_batch(
    components: Components, database_url: str
) -> None:
    model = TimedModel()
    # The server's own engine (no pool: its connections belong to the server's loop).
    engine = make_engine(database_url, pool=False)
    parts = replace(components, engine=engine, sessions=make_sessionmaker(engine), embedder=model)
    size = components.settings.max_batch_messages
    batch_key, other_key = await new_key(parts, "bulk"), await new_key(parts, "bystander")
    texts = [f"message {n} " + "the greyhound ran along the beach " * 250 for n in range(size)]
    texts = [t[:CHARS] for t in texts]
    latencies: list[float] = []
    with serving(create_app(components=parts, background=False)) as url:
        async with (
            httpx.AsyncClient(base_url=url, headers=bearer(batch_key), timeout=120) as a,
            httpx.AsyncClient(base_url=url, headers=bearer(other_key), timeout=120) as b,
        ):
            r = await b.post("/v1/messages", json={"user_id": "b", "messages": [{"content": "hi"}]})
            assert r.status_code == 201, r.text
            body = {"user_id": "a", "messages": [{"content": t} for t in texts]}
            batch = asyncio.create_task(a.post("/v1/messages", json=body))
            while not batch.done():
                for call in (
                    b.get("/v1/episodes", params={"user_id": "b"}),
                    b.post("/v1/search", json={"user_id": "b", "query": "hi"}),
                ):
                    sent = time.perf_counter()
                    assert (await call).status_code == 200
                    latencies.append(time.perf_counter() - sent)
                await asyncio.sleep(0.05)
            answer = await batch
    await engine.dispose()
    assert answer.status_code == 201, answer.text
    assert len(answer.json()["episode_ids"]) == size
    assert model.busy_s > 2.0  # the batch was costly ...
    assert len(latencies) >= 10  # ... and B's requests ran while it was
    assert max(latencies) < BYSTANDER_BOUND_S, sorted(latencies)[-5:]
    # Long texts go a few to a call: no call held more padded pieces than 64 short ones.
    assert model.queue.stats.largest == 64 * SHORT_PIECES // WINDOW
