"""A serving process loads its own models before it is ready; a model behind an API is
never called for that."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from memory_service.adapters import local_extractor
from memory_service.adapters.splade import SpladeEncoder
from memory_service.bootstrap import Components


class Remote:
    """An embedder behind an API: it notes every call."""

    dim, name = 384, "remote"

    def __init__(self) -> None:
        self.calls = 0

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        return [[1.0] + [0.0] * 383 for _ in texts]


async def test_local_models_load_before_serving_and_remote_ones_are_not_called(
    components: Components, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_extractor, "_PIPELINES", {})  # as in a new process
    sparse, remote = SpladeEncoder(), Remote()
    parts = Components(
        settings=components.settings,
        engine=components.engine,
        sessions=components.sessions,
        embedder=remote,
        database_url=components.database_url,
        sparse=sparse,
    )
    assert sparse._loaded is None  # loaded on first use, never at construction
    await parts.load_models()
    assert sparse._loaded is not None
    assert sparse._forward is not None  # traced, and checked, before the first request
    assert remote.calls == 0
    assert list(local_extractor._PIPELINES) == [local_extractor.MODEL_NAME]  # for the worker
    await parts.load_models()  # again: nothing to do
