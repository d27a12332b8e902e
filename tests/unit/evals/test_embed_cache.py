"""The runner's embedding cache: each distinct text reaches the model once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from evals.quality.embed_cache import CachedEmbedder, CachedSparse
from memory_service.adapters.hash_sparse import HashSparseEncoder
from memory_service.testing import HashEmbedder


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__(8)
        self.seen: Counter[str] = Counter()

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.seen.update(texts)
        return await super().embed(texts)


async def test_a_text_is_embedded_once() -> None:
    inner = CountingEmbedder()
    cache = CachedEmbedder(inner)
    first = await cache.embed(["filler session turn", "question", "filler session turn"])
    again = await cache.embed(["question", "a new turn", "filler session turn"])
    assert inner.seen == Counter({"filler session turn": 1, "question": 1, "a new turn": 1})
    assert first[0] == first[2] == again[2]
    assert first[1] == again[0]
    assert cache.stats() == {"texts_requested": 6, "texts_embedded": 3}
    assert (cache.dim, cache.name) == (8, "hash")


async def test_vectors_are_the_models_in_float32() -> None:
    cache = CachedEmbedder(HashEmbedder(8))
    [vector] = await cache.embed(["a beagle named Rex"])
    [exact] = await HashEmbedder(8).embed(["a beagle named Rex"])
    assert len(vector) == 8
    assert max(abs(a - b) for a, b in zip(vector, exact, strict=True)) < 1e-6


class CountingSparse(HashSparseEncoder):
    def __init__(self) -> None:
        super().__init__()
        self.seen: Counter[str] = Counter()

    async def encode(self, texts: Sequence[str]) -> list[dict[int, float]]:
        self.seen.update(texts)
        return await super().encode(texts)


async def test_a_text_is_sparse_encoded_once_and_copies_are_handed_out() -> None:
    inner = CountingSparse()
    cache = CachedSparse(inner)
    first = await cache.encode(["a turn", "a question", "a turn"])
    again = await cache.encode(["a question", "a turn"])
    assert inner.seen == Counter({"a turn": 1, "a question": 1})
    assert first[0] == first[2] == again[1] == HashSparseEncoder().encode_sync(["a turn"])[0]
    first[0].clear()  # a caller's change does not reach the cache
    assert (await cache.encode(["a turn"]))[0] == again[1]
    assert cache.stats() == {"texts_requested": 6, "texts_encoded": 2}
    assert (cache.dim, cache.name) == (inner.dim, "hash-sparse")


class QuerySide(CountingEmbedder):
    """An embedder whose query side gives other vectors (as the int8 copies do)."""

    async def embed_query(self, texts: Sequence[str]) -> list[list[float]]:
        self.seen.update(f"query:{t}" for t in texts)
        return [[-x for x in v] for v in await super().embed(texts)]


class SparseQuerySide(CountingSparse):
    async def encode_query(self, texts: Sequence[str]) -> list[dict[int, float]]:
        self.seen.update(f"query:{t}" for t in texts)
        return [{k: 2 * v for k, v in d.items()} for d in await super().encode(texts)]


async def test_queries_go_to_the_query_side_once_and_apart_from_texts() -> None:
    inner = QuerySide()
    cache = CachedEmbedder(inner)
    [text] = await cache.embed(["question"])
    [query] = await cache.embed_query(["question"])
    [again] = await cache.embed_query(["question"])
    assert query == again == [-x for x in text]
    assert inner.seen == Counter({"question": 2, "query:question": 1})
    sparse = SparseQuerySide()
    scache = CachedSparse(sparse)
    [stext] = await scache.encode(["question"])
    [squery] = await scache.encode_query(["question"])
    assert await scache.encode_query(["question"]) == [squery]
    assert squery == {k: 2 * v for k, v in stext.items()}
    assert sparse.seen == Counter({"question": 2, "query:question": 1})
