"""A deterministic embedder without a model: hashed word tokens (tests, offline runs)."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

_TOKEN = re.compile(r"[a-z0-9]+")


class HashEmbedder:
    """Bag of hashed word tokens, normalised: same text, same vector, no model.

    Texts sharing words have positive cosine similarity, so search behaves
    sensibly in tests without loading weights.
    """

    def __init__(self, dim: int = 384, *, name: str = "hash") -> None:
        self.dim = dim
        self.name = name  # another name is another embedding space (tests of two models)

    def embed_sync(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._one(t) for t in texts]

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return self.embed_sync(texts)

    def _one(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        tokens = _TOKEN.findall(text.lower()) or [text]
        for token in tokens:
            digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
            slot = int.from_bytes(digest[:4], "little") % self.dim
            vec[slot] += 1.0 if digest[4] & 1 else -1.0
        norm = math.sqrt(sum(x * x for x in vec)) or 1.0
        return [x / norm for x in vec]
