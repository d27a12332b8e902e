"""The measurements the core and the adapters report, and where they go.

A :class:`Meter` receives them; the API implements it over Prometheus
(``memory_service.api.metrics``), so the core knows nothing of Prometheus. Meters are
registered for the process (:func:`register`), held weakly: a registered meter lives
as long as whatever owns it (an app). With none registered a report costs a loop over
an empty set.

``purpose`` labels the LLM calls made inside a block: the consolidation, the quality
gate's audit, Full Deliberation, the answer; a call outside any is ``other``.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol


class Meter(Protocol):
    def consolidation(self, seconds: float) -> None:
        """A consolidation job's run took ``seconds`` (extraction to the last write)."""

    def llm_call(self, purpose: str, input_tokens: int, output_tokens: int) -> None:
        """One chat completion, for ``purpose``, with the tokens the provider counted."""

    def search_route(self, route: str) -> None:
        """A search took ``route``: ``fast`` (System 1) or ``deliberate`` (System 2)."""

    def embed_batch(self, size: int) -> None:
        """A text model (embedder, sparse encoder) was called on ``size`` texts at once."""


_meters: weakref.WeakSet[Meter] = weakref.WeakSet()
_purpose: ContextVar[str] = ContextVar("llm_purpose", default="other")


def register(meter: Meter) -> None:
    _meters.add(meter)


def unregister(meter: Meter) -> None:
    _meters.discard(meter)


@contextmanager
def purpose(name: str) -> Iterator[None]:
    """LLM calls inside the block count under ``name``."""
    token = _purpose.set(name)
    try:
        yield
    finally:
        _purpose.reset(token)


def consolidation(seconds: float) -> None:
    for meter in list(_meters):
        meter.consolidation(seconds)


def llm_call(input_tokens: int, output_tokens: int) -> None:
    """Report a completion under the current purpose."""
    name = _purpose.get()
    for meter in list(_meters):
        meter.llm_call(name, input_tokens, output_tokens)


def search_route(route: str) -> None:
    for meter in list(_meters):
        meter.search_route(route)


def embed_batch(size: int) -> None:
    for meter in list(_meters):
        meter.embed_batch(size)
