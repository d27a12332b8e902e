"""A deterministic sparse encoder without a model: hashed word tokens (tests, offline runs)."""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Sequence

_TOKEN = re.compile(r"[a-z0-9]+")


class HashSparseEncoder:
    """Each word of a text, hashed to one of ``dim`` terms, weighs ``1 + log(count)``:
    texts sharing words score above zero against each other, as SPLADE's would."""

    name = "hash-sparse"

    def __init__(self, dim: int = 30522) -> None:
        self.dim = dim

    def encode_sync(self, texts: Sequence[str]) -> list[dict[int, float]]:
        return [self._one(t) for t in texts]

    async def encode(self, texts: Sequence[str]) -> list[dict[int, float]]:
        return self.encode_sync(texts)

    def _one(self, text: str) -> dict[int, float]:
        counts = Counter(_TOKEN.findall(text.lower()))
        vec: dict[int, float] = {}
        for token, n in counts.items():
            digest = hashlib.blake2b(token.encode(), digest_size=4).digest()
            slot = int.from_bytes(digest, "little") % self.dim
            vec[slot] = vec.get(slot, 0.0) + 1.0 + math.log(n)
        return vec
