"""The query side of the local encoders: int8 copies on a CPU, close to the fp32 model,
used for queries only; stored texts keep the fp32 model's vectors."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
import torch

from memory_service.adapters.local_embedder import LocalEmbedder
from memory_service.adapters.quantized import int8_copy
from memory_service.adapters.splade import SpladeEncoder
from memory_service.services.recall.queries import embed_query, encode_query

QUERIES = [
    "When did Caroline go to the LGBTQ support group?",
    "What did Melanie paint after the camping trip with her kids last summer?",
    "How many children does Melanie have?",
]


def test_the_copy_quantises_every_linear_layer_and_leaves_the_model_alone() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    copy = int8_copy(model)
    assert copy is not None
    kinds = {type(m).__module__ for m in copy.modules() if "Linear" in type(m).__name__}
    assert all("quantized" in k for k in kinds)
    assert all(type(m) is not torch.nn.Linear for m in copy.modules())
    assert isinstance(model[0], torch.nn.Linear)  # the original is untouched
    x = torch.randn(5, 8)
    with torch.inference_mode():
        assert torch.allclose(copy(x), model(x), atol=0.05)


def test_a_model_off_the_cpu_gets_no_copy() -> None:
    model = torch.nn.Linear(4, 4, device="meta")
    assert int8_copy(model) is None


def test_a_model_torch_cannot_quantise_gets_no_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch.ao.quantization as ao

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("no quantised engine in this build")

    monkeypatch.setattr(ao, "quantize_dynamic", broken)
    assert int8_copy(torch.nn.Linear(4, 4)) is None


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def sparse_cosine(a: dict[int, float], b: dict[int, float]) -> float:
    dot = sum(v * b.get(k, 0.0) for k, v in a.items())
    return dot / math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder(device="cpu")


@pytest.fixture(scope="module")
def splade() -> SpladeEncoder:
    return SpladeEncoder(device="cpu")


def test_queries_are_embedded_by_the_int8_copy_and_texts_by_the_model(
    embedder: LocalEmbedder,
) -> None:
    texts = embedder.embed_sync(QUERIES)
    queries = embedder.embed_query_sync(QUERIES)
    assert embedder._query_forward is not None
    assert embedder._query_forward is not embedder._forward
    for text, query in zip(texts, queries, strict=True):
        assert text != query  # another model...
        assert 0.95 < cosine(text, query) < 1.0  # ...close to the first
        assert math.isclose(sum(x * x for x in query), 1.0, rel_tol=1e-5)
    assert asyncio.run(embedder.embed_query(QUERIES)) == queries
    assert asyncio.run(embed_query(embedder, QUERIES)) == queries
    assert asyncio.run(embedder.embed(QUERIES)) == texts


def test_query_int8_off_embeds_queries_as_texts() -> None:
    fp32 = LocalEmbedder(device="cpu", query_int8=False, query_onnx=False)
    assert fp32.embed_query_sync(QUERIES) == fp32.embed_sync(QUERIES)
    assert fp32._query_forward is None


def test_queries_are_encoded_sparse_by_the_int8_copy(splade: SpladeEncoder) -> None:
    texts = splade.encode_sync(QUERIES)
    queries = splade.encode_query_sync(QUERIES)
    assert splade._query_forward is not None
    for text, query in zip(texts, queries, strict=True):
        assert text != query
        assert sparse_cosine(text, query) > 0.99
        assert all(v > 0 for v in query.values())
    assert asyncio.run(encode_query(splade, QUERIES)) == queries
    fp32 = SpladeEncoder(device="cpu", query_int8=False, query_onnx=False)
    assert fp32.encode_query_sync(QUERIES) == fp32.encode_sync(QUERIES)


def test_an_encoder_without_a_query_side_encodes_queries_its_one_way() -> None:
    class Plain:
        dim, name = 2, "plain"

        async def embed(self, texts: Any) -> list[list[float]]:
            return [[1.0, 0.0] for _ in texts]

        async def encode(self, texts: Any) -> list[dict[int, float]]:
            return [{1: 1.0} for _ in texts]

    assert asyncio.run(embed_query(Plain(), ["q"])) == [[1.0, 0.0]]
    assert asyncio.run(encode_query(Plain(), ["q"])) == [{1: 1.0}]


@pytest.mark.parametrize(
    ("setting", "dense", "sparse"),
    [("sparse", False, True), ("all", True, True), ("none", False, False)],
)
def test_the_setting_chooses_which_models_quantise_queries(
    monkeypatch: pytest.MonkeyPatch, setting: str, dense: bool, sparse: bool
) -> None:
    from memory_service.bootstrap import build_embedder, build_sparse
    from memory_service.config import Settings

    monkeypatch.delenv("MEMORY_QUERY_INT8", raising=False)
    base = Settings(database_url="postgresql+asyncpg://nobody@/none")
    assert base.query_int8 == "sparse"
    monkeypatch.setenv("MEMORY_QUERY_INT8", setting)
    settings = Settings(database_url="postgresql+asyncpg://nobody@/none")
    embedder, encoder = build_embedder(settings), build_sparse(settings)
    assert isinstance(embedder, LocalEmbedder)
    assert isinstance(encoder, SpladeEncoder)
    assert (embedder._query_int8, encoder._query_int8) == (dense, sparse)
    monkeypatch.setenv("MEMORY_QUERY_INT8", "fp16")
    with pytest.raises(ValueError, match="query_int8"):
        Settings(database_url="postgresql+asyncpg://nobody@/none")
