"""The real models behind the batching queue: concurrent one-text calls become one
model call, and each caller gets the vector its text gets alone."""

from __future__ import annotations

import asyncio
import math

from memory_service.adapters.local_embedder import LocalEmbedder
from memory_service.adapters.splade import SpladeEncoder

TOPICS = ("hiking", "the dentist", "a trip to Lisbon", "pottery", "the lease", "Gran's cat")
TEXTS = [f"On day {i} we talked about {TOPICS[i % len(TOPICS)]}." for i in range(16)]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_concurrent_embeds_share_one_model_call(real_embedder: LocalEmbedder) -> None:
    await real_embedder.embed(["warm-up"])
    before = real_embedder.queue.stats.calls
    vectors = await asyncio.gather(*(real_embedder.embed([t]) for t in TEXTS))
    assert real_embedder.queue.stats.calls - before == 1
    alone = real_embedder.embed_sync(TEXTS)
    assert [len(v) for v in vectors] == [1] * len(TEXTS)
    assert all(cosine(v[0], a) > 0.9999 for v, a in zip(vectors, alone, strict=True))


async def test_two_writes_share_one_call_of_two_forward_batches(
    real_embedder: LocalEmbedder,
) -> None:
    """Two concurrent 50-text writes (the forward batch is 64) are one model call of
    100 texts, and each write gets the vectors its texts get alone."""
    writes = [[f"{TEXTS[i % len(TEXTS)]} (write {w}, line {i})" for i in range(50)] for w in "ab"]
    await real_embedder.embed(["warm-up"])
    before = real_embedder.queue.stats.calls
    got = await asyncio.gather(*(real_embedder.embed(w) for w in writes))
    assert real_embedder.queue.stats.calls - before == 1
    assert real_embedder.queue.stats.largest >= 100
    for vectors, texts in zip(got, writes, strict=True):
        alone = real_embedder.embed_sync(texts)
        assert all(cosine(v, a) > 0.9999 for v, a in zip(vectors, alone, strict=True))


async def test_concurrent_sparse_encodes_share_one_model_call() -> None:
    encoder = SpladeEncoder(device="cpu")
    vectors = await asyncio.gather(*(encoder.encode([t]) for t in TEXTS))
    assert encoder.queue.stats.calls == 1
    assert encoder.queue.stats.requests == len(TEXTS)
    for [got], want in zip(vectors, encoder.encode_sync(TEXTS), strict=True):
        assert got.keys() == want.keys()
        assert all(math.isclose(got[i], want[i], rel_tol=1e-3, abs_tol=1e-4) for i in want)
