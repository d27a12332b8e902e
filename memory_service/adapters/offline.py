"""Model loading that never reaches for a hub: the Hugging Face libraries are told to
stay offline before they are imported, so a missing file fails instead of downloading.
And one model loads at a time."""

from __future__ import annotations

import os
import threading

LOADING = threading.Lock()
"""Held by every local model while it loads. transformers imports its classes lazily, and
not safely from two threads at once: a search's two encoders loading at once, each in
its worker thread, failed with ``cannot import name 'AutoModelForMaskedLM'``."""


def stay_offline() -> None:
    """Set the Hugging Face libraries' offline switches (unless the caller set them)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
