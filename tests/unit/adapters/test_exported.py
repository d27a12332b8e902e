"""Search queries through ONNX Runtime: the model exported at load, used only when it
gives the eager numbers, and the same vectors as the fp32 model's (no model hub: the
export is made from the weights the package ships)."""

from __future__ import annotations

import asyncio
import builtins
from typing import Any

import pytest
import torch

from memory_service.adapters.exported import onnx_forward
from memory_service.adapters.local_embedder import LocalEmbedder
from memory_service.adapters.splade import SpladeEncoder
from memory_service.adapters.traced import PROBE
from tests.unit.adapters.test_traced import Branchy, Sums, Tokenizer

QUERIES = [
    "When did Caroline go to the LGBTQ support group?",
    "What did Melanie paint after the camping trip with her kids last summer?",
    "Hi!",
    "word " * 400,  # past the 256-piece window
]


def test_a_faithful_export_is_used_for_any_batch_shape() -> None:
    model = Sums()
    forward = onnx_forward(model, Tokenizer(), "hidden")
    assert forward is not None
    assert not model.training  # the exporter does not leave it training
    batch = Tokenizer()(["a", "longer text", *PROBE])
    eager = model(**batch).hidden
    got = forward(batch["input_ids"], batch["attention_mask"])
    assert isinstance(got, torch.Tensor)
    assert torch.allclose(got, eager.float())


def test_the_head_runs_in_the_exported_graph() -> None:
    def total(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (hidden * mask).sum(1)

    forward = onnx_forward(Sums(), Tokenizer(), "hidden", total)
    assert forward is not None
    batch = Tokenizer()(["ab", "longer text"])
    got = forward(batch["input_ids"], batch["attention_mask"])
    assert got.shape == (2,)
    assert torch.allclose(got, total(Sums()(**batch).hidden, batch["attention_mask"]).float())


def test_an_export_that_gives_other_numbers_is_refused() -> None:
    assert onnx_forward(Branchy(), Tokenizer(), "hidden") is None


def test_a_model_that_cannot_be_exported_is_refused() -> None:
    assert onnx_forward(Sums(), Tokenizer(), "no such output") is None


def test_no_onnxruntime_leaves_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_runtime(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_runtime)
    assert onnx_forward(Sums(), Tokenizer(), "hidden") is None


def test_a_model_off_the_cpu_is_not_exported() -> None:
    class OnMeta(Sums):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.tensor(0.5, device="meta"))

    assert onnx_forward(OnMeta(), Tokenizer(), "hidden") is None


def test_minilm_queries_in_onnx_are_the_fp32_models_vectors() -> None:
    embedder = LocalEmbedder(device="cpu", query_int8=False)
    texts = embedder.embed_sync(QUERIES)
    queries = embedder.embed_query_sync(QUERIES)
    assert embedder._query_forward is not None  # exported, and checked
    assert embedder._query_forward is not embedder._forward
    assert gap(texts, queries) < 1e-5
    assert gap(asyncio.run(embedder.embed_query(QUERIES)), queries) < 1e-5  # queued


def gap(a: list[list[float]], b: list[list[float]]) -> float:
    return max(abs(x - y) for u, v in zip(a, b, strict=True) for x, y in zip(u, v, strict=True))


def test_splade_queries_in_onnx_are_the_fp32_models_vectors() -> None:
    encoder = SpladeEncoder(device="cpu", query_int8=False)
    texts = encoder.encode_sync(QUERIES)
    queries = encoder.encode_query_sync(QUERIES)
    assert encoder._query_forward is not None
    for text, query in zip(texts, queries, strict=True):
        assert set(text) == set(query)
        assert max(abs(text[k] - query[k]) for k in text) < 1e-4
