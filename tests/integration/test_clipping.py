"""Long texts are cut before tokenizing, and the models still read exactly the pieces
they read from the whole text (the real tokenizers of MiniLM and SPLADE-tiny)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from memory_service.adapters.clipping import CHARS_PER_PIECE, clip
from memory_service.adapters.local_embedder import LocalEmbedder
from memory_service.adapters.splade import SpladeEncoder

WINDOW = 256


WORDS = (
    "the",
    "greyhound",
    "Pixel",
    "ran",
    "along",
    "Brighton's",
    "beach,",
    "gulls;",
    "2024-06-01",
)


def prose(chars: int, seed: int) -> str:
    rng = random.Random(seed)
    out = ""
    while len(out) < chars:
        out += rng.choice(WORDS) + rng.choice([" ", " ", "\n", "\t", ". "])
    return out[:chars]


TEXTS = {
    "prose": prose(8_000, 1),
    "at the limit": prose(32_000, 2),
    "short": "Pixel is a greyhound",
    "just over the budget": prose(WINDOW * CHARS_PER_PIECE + 5, 3),
    "long words": " ".join(["x" * 150] * 200),  # one [UNK] per 151 characters
    "no whitespace": "ab" * 4_000,
    "cjk": "我的狗叫皮克斯尔 " * 800,
    "url-like": " ".join(f"https://example.com/{'a1b2' * 30}/{n}" for n in range(100)),
    "accents": prose(4_000, 4).replace("a", "á") + " end",
}


@pytest.fixture(scope="module", params=["minilm", "splade"])
def tokenizer(request: pytest.FixtureRequest) -> Any:
    if request.param == "minilm":
        return LocalEmbedder(device="cpu")._load().tokenizer
    return SpladeEncoder(device="cpu")._load()[0]


def pieces(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    ids: list[list[int]] = tokenizer(texts, truncation=True, max_length=WINDOW)["input_ids"]
    return ids


def test_the_model_reads_the_same_pieces(tokenizer: Any) -> None:
    texts = list(TEXTS.values())
    clipped = clip(tokenizer, texts, WINDOW)
    assert pieces(tokenizer, clipped) == pieces(tokenizer, texts)
    cut = {
        name for (name, text), short in zip(TEXTS.items(), clipped, strict=True) if short != text
    }
    assert {"prose", "at the limit", "accents", "cjk"} <= cut
    assert "short" not in cut
    assert "long words" not in cut  # its prefix holds too few pieces: passed whole
    assert all(len(c) <= WINDOW * CHARS_PER_PIECE for c in clipped if c not in texts)


def test_the_embedding_of_a_long_text_is_unchanged(real_embedder: LocalEmbedder) -> None:
    model = real_embedder._load()
    texts = [TEXTS["prose"], TEXTS["at the limit"]]
    whole = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    clipped = np.asarray(real_embedder.embed_sync(texts))
    assert np.abs(clipped - whole).max() < 1e-5
