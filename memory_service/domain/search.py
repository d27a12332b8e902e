"""What one search asks for beyond its query: the route and System 2's budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
