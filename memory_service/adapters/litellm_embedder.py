"""Any embedding model litellm reaches: OpenAI, Azure, Cohere, Voyage, Ollama, or an
OpenAI-compatible server (vLLM, TEI) at ``api_base``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from memory_service.adapters.litellm_llm import retried
from memory_service.domain.errors import ConfigurationError, UpstreamUnavailable


class LiteLLMEmbedder:
    """Embeddings through ``litellm.aembedding``, ``batch_size`` texts a request, retried
    with backoff on transient failures, normalised to unit length.

    ``dim`` is the width its vectors must have (the store's, for a tenant to accept
    them); ``dimensions``, when set, is sent to the model (OpenAI's text-embedding-3
    models shorten their vectors to it). A model that answers with another width raises
    ``ConfigurationError``.
    ``name`` is the model name.
    """

    def __init__(
        self,
        model: str,
        *,
        dim: int,
        api_base: str | None = None,
        api_key: str | None = None,
        dimensions: int | None = None,
        batch_size: int = 64,
        timeout_s: float = 60.0,
        attempts: int = 4,
    ) -> None:
        if not model:
            raise ConfigurationError("MEMORY_EMBEDDER=litellm needs MEMORY_EMBED_MODEL")
        if dimensions is not None and dimensions != dim:
            raise ConfigurationError(
                f"MEMORY_EMBED_DIMENSIONS={dimensions} asks the model for other vectors "
                f"than MEMORY_EMBED_DIM={dim}"
            )
        self.name = model
        self.dim = dim
        self._api_base = api_base
        self._api_key = api_key
        self._dimensions = dimensions
        self._batch_size = batch_size
        self._timeout = timeout_s
        self._attempts = attempts

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            vectors += await self._batch(texts[start : start + self._batch_size])
        return vectors

    async def _batch(self, texts: Sequence[str]) -> list[list[float]]:
        kwargs: dict[str, Any] = {"model": self.name, "input": list(texts)}
        kwargs["timeout"] = self._timeout
        for key, value in (
            ("api_base", self._api_base),
            ("api_key", self._api_key),
            ("dimensions", self._dimensions),
        ):
            if value is not None:
                kwargs[key] = value
        if self._dimensions is not None:
            # litellm sends ``dimensions`` to OpenAI's text-embedding-3 only, unless told;
            # set by hand, it is meant for the model (vLLM's Matryoshka models take it too)
            kwargs["allowed_openai_params"] = ["dimensions"]
        response = await retried("aembedding", self._attempts, self.name, **kwargs)
        return self._vectors(response, len(texts))

    def _vectors(self, response: Any, expected: int) -> list[list[float]]:
        items = sorted(response.data, key=lambda item: _field(item, "index"))
        if len(items) != expected:
            raise UpstreamUnavailable(f"{self.name}: {len(items)} vectors for {expected} texts")
        vectors = [[float(x) for x in _field(item, "embedding")] for item in items]
        for vector in vectors:
            if len(vector) != self.dim:
                raise ConfigurationError(
                    f"{self.name} gives {len(vector)}-d vectors, not {self.dim}-d: set "
                    f"MEMORY_EMBED_DIM={len(vector)} (a store of another width then takes "
                    "`memory-service reembed`), or ask the model for "
                    f"{self.dim} with MEMORY_EMBED_DIMENSIONS if it can"
                )
        return [_unit(v) for v in vectors]


def _field(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, dict) else getattr(item, name)


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]
