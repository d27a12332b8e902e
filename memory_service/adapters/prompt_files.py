"""Prompt files that replace the packaged ones (``MEMORY_EXTRACTION_PROMPT_FILE``,
``MEMORY_UPDATE_PROMPT_FILE``), checked once at start."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from memory_service.domain.errors import ConfigurationError

__all__ = ["EXTRACTION_PROMPT_NAMES", "UPDATE_PROMPT_NAMES", "read_prompt_file"]

EXTRACTION_PROMPT_NAMES = ('"facts"', '"message_ids"', '"messages"')
"""The reply keys an extraction prompt must ask for: the parser reads those."""
UPDATE_PROMPT_NAMES = ('"op"', '"id"', '"text"')
"""The reply keys an update-decision prompt must ask for."""


def read_prompt_file(path: Path, *, setting: str, required: Sequence[str]) -> str:
    """The text of a system prompt file, or ConfigurationError naming ``setting``: the
    file is missing or unreadable, not UTF-8, blank, or never names one of ``required``
    (the JSON keys of the reply the adapter parses; a prompt that does not ask for them
    gets replies that all fail validation)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{setting}: cannot read the prompt file {path}: {exc}") from exc
    if not text.strip():
        raise ConfigurationError(f"{setting}: the prompt file {path} is empty")
    missing = [name for name in required if name not in text]
    if missing:
        raise ConfigurationError(
            f"{setting}: the prompt file {path} must describe the JSON reply the service "
            f"parses, with the keys {', '.join(required)}; it never names {', '.join(missing)}"
        )
    return text
