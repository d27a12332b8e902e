"""What one search asks for beyond its query: the route and System 2's budget."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

Mode = Literal["auto", "fast", "deliberate"]
"""``auto`` lets the quality gate route; ``fast`` and ``deliberate`` force the route."""

Route = Literal["fast", "deliberate"]
"""System 1's result as it is, or escalated to System 2 (Full Deliberation)."""


@dataclass(frozen=True, slots=True)
class Budget:
    """Full Deliberation reads at most ``max_tokens`` of episode text and spends at most
    ``max_seconds``; an LLM reads ``chunk`` messages a call, with ``context`` before."""

    max_tokens: int = 250_000
    max_seconds: float = 60.0
    chunk: int = 60
    context: int = 4


def finite_or_zero(score: float) -> float:
    """``score``, or 0.0 when it is not a finite number.

    A zero vector has no direction: pgvector's ``1 - cosine_distance`` to one is NaN
    (so is the fake store's cosine). Such an item is taken as unrelated to the query
    (cosine 0) wherever a search reads similarities, so that no NaN reaches a ranking,
    the gate's features, the retrieval log or a JSON reply."""
    return score if math.isfinite(score) else 0.0


def finite_json(value: Any) -> Any:
    """``value`` (JSON-like) with every non-finite float replaced by None: PostgreSQL's
    ``jsonb`` and a JSON reply cannot hold NaN or Infinity (the retrieval log's guard)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    return value
