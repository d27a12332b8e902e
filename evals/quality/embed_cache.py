"""An embedder that embeds each distinct text once per run (the evaluation's, not the
service's: LongMemEval's haystacks share filler sessions, and every pipeline embeds
the same question)."""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Mapping, Sequence

from memory_service.ports import Embedder, SparseEncoder
from memory_service.services.recall.queries import embed_query, encode_query


class CachedEmbedder:
    """Wraps ``inner``; vectors are kept as float32 (what pgvector stores), keyed by a
    128-bit digest of the text (LongMemEval's 100k distinct turns average 1,000 chars).

    Every vector handed out, first time or cached, is the float32 one, so a text gets
    the same vector however often it is asked for.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.dim = inner.dim
        self.name = inner.name
        self._vectors: dict[bytes, array[float]] = {}
        self._queries: dict[bytes, array[float]] = {}
        """Queries' vectors, apart: the service encodes them another way (``embed_query``)."""
        self.requested = 0
        """Texts asked for, repeats included."""
        self.embedded = 0
        """Texts the inner embedder was given: each distinct text once."""

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.requested += len(texts)
        keys, missing = _missing(texts, self._vectors)
        if missing:
            vectors = await self.inner.embed(list(missing.values()))
            self.embedded += len(missing)
            for key, vector in zip(missing, vectors, strict=True):
                self._vectors[key] = array("f", vector)
        return [self._vectors[k].tolist() for k in keys]

    async def embed_query(self, texts: Sequence[str]) -> list[list[float]]:
        """As the service embeds search queries (``recall.queries``), each text once."""
        keys, missing = _missing(texts, self._queries)
        if missing:
            vectors = await embed_query(self.inner, list(missing.values()))
            for key, vector in zip(missing, vectors, strict=True):
                self._queries[key] = array("f", vector)
        return [self._queries[k].tolist() for k in keys]

    def stats(self) -> dict[str, int]:
        """Texts asked for and texts embedded, for the run's summary."""
        return {"texts_requested": self.requested, "texts_embedded": self.embedded}


class CachedSparse:
    """Wraps a learned-sparse ``inner`` encoder the way :class:`CachedEmbedder` wraps
    an embedder: each distinct text is encoded once per run."""

    def __init__(self, inner: SparseEncoder) -> None:
        self.inner = inner
        self.dim = inner.dim
        self.name = inner.name
        self._vectors: dict[bytes, dict[int, float]] = {}
        self._queries: dict[bytes, dict[int, float]] = {}
        self.requested = 0
        self.encoded = 0

    async def encode(self, texts: Sequence[str]) -> list[dict[int, float]]:
        self.requested += len(texts)
        keys, missing = _missing(texts, self._vectors)
        if missing:
            vectors = await self.inner.encode(list(missing.values()))
            self.encoded += len(missing)
            self._vectors.update(zip(missing, vectors, strict=True))
        return [dict(self._vectors[k]) for k in keys]

    async def encode_query(self, texts: Sequence[str]) -> list[dict[int, float]]:
        """As the service encodes search queries (``recall.queries``), each text once."""
        keys, missing = _missing(texts, self._queries)
        if missing:
            vectors = await encode_query(self.inner, list(missing.values()))
            self._queries.update(zip(missing, vectors, strict=True))
        return [dict(self._queries[k]) for k in keys]

    def stats(self) -> dict[str, int]:
        return {"texts_requested": self.requested, "texts_encoded": self.encoded}


def _missing(
    texts: Sequence[str], cache: Mapping[bytes, object]
) -> tuple[list[bytes], dict[bytes, str]]:
    """Each text's key, and the distinct texts ``cache`` lacks, by key, in first-seen order."""
    keys = [_key(t) for t in texts]
    return keys, {k: t for k, t in zip(keys, texts, strict=True) if k not in cache}


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()
