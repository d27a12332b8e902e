"""One event loop and one set of components per worker process, built on first use."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from memory_service.bootstrap import Components, build_components, build_consolidator, build_llm
from memory_service.config import Settings
from memory_service.ports import LLM
from memory_service.services.consolidate import Consolidator

T = TypeVar("T")

_state: dict[str, Any] = {}


def loop() -> asyncio.AbstractEventLoop:
    if "loop" not in _state:
        _state["loop"] = asyncio.new_event_loop()
    current: asyncio.AbstractEventLoop = _state["loop"]
    return current


def parts() -> tuple[Components, Consolidator]:
    """The process's components and consolidator (the engine binds to :func:`loop`)."""
    if "components" not in _state:
        settings = Settings()
        components = build_components(settings, run_migrations=False, pool_size=2)
        _state["components"] = components
        _state["consolidator"] = build_consolidator(
            settings, components.embedder, sparse=components.sparse
        )
    return _state["components"], _state["consolidator"]


def llm() -> LLM | None:
    """The process's own LLM (``MEMORY_LLM_MODEL``), built on first use; no database."""
    if "llm" not in _state:
        _state["llm"] = build_llm(Settings())
    model: LLM | None = _state["llm"]
    return model


def run(fn: Callable[[Components, Consolidator], Awaitable[T]]) -> T:
    """Run ``fn(components, consolidator)`` to completion on the process's loop."""
    components, consolidator = parts()
    return loop().run_until_complete(fn(components, consolidator))


def reset() -> None:
    """Forget the process's state (after a fork, the parent's loop and pool are unusable)."""
    _state.clear()
