"""Model loading that never reaches for a hub: the Hugging Face libraries are told to
stay offline before they are imported, so a missing file fails instead of downloading."""

from __future__ import annotations

import os


def stay_offline() -> None:
    """Set the Hugging Face libraries' offline switches (unless the caller set them)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
