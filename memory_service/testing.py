"""Deterministic fakes shipped with the package, for tests and offline runs.

They live in ``memory_service.adapters`` (the composition root builds them from the
settings); this module is their public name for tests.
"""

from __future__ import annotations

from memory_service.adapters.hash_embedder import HashEmbedder
from memory_service.adapters.scripted_llm import Reply, ScriptedLLM, first_context_line
from memory_service.fake_store import FakeStore, FakeUnitOfWork

__all__ = [
    "FakeStore",
    "FakeUnitOfWork",
    "HashEmbedder",
    "Reply",
    "ScriptedLLM",
    "first_context_line",
]
