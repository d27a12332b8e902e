"""A search's query through the encoders' query side: ``embed_query`` and
``encode_query`` where an encoder has them (the local models' int8 copies:
``adapters.quantized``), else the encoder's one way of encoding."""

from __future__ import annotations

from collections.abc import Sequence

from memory_service.ports import Embedder, SparseEncoder, SparseVector


async def embed_query(embedder: Embedder, texts: Sequence[str]) -> list[list[float]]:
    query = getattr(embedder, "embed_query", None)
    vectors: list[list[float]] = await (query or embedder.embed)(texts)
    return vectors


async def encode_query(encoder: SparseEncoder, texts: Sequence[str]) -> list[SparseVector]:
    query = getattr(encoder, "encode_query", None)
    vectors: list[SparseVector] = await (query or encoder.encode)(texts)
    return vectors
