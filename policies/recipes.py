"""Retrieval configured as data: named presets shared by the API and the evaluations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from memory_service.domain.errors import InvalidInput

Source = Literal["episodes.vector", "episodes.text", "memories.vector", "memories.text", "graph"]


@dataclass(frozen=True, slots=True)
class RecallConfig:
    """Which ranked lists to fuse, and how.

    ``pool`` is how many candidates each list proposes before fusion;
    ``rrf_k`` is the reciprocal-rank-fusion constant. ``reranker="memrl"`` orders
    the fused pool by ``(1-lam) z(sim) + lam z(Q)`` above the similarity ``floor``;
    ``gate`` routes to Full Deliberation when the fast result fails the quality
    gate; ``time_filter`` restricts the lists to a period the query names.
    """

    name: str
    sources: tuple[Source, ...]
    rrf_k: int = 60
    pool: int = 50
    reranker: Literal["rrf", "memrl"] = "rrf"
    lam: float = 0.5
    floor: float = 0.2
    gate: bool = False
    time_filter: bool = False
    window: int = 0
    """Episode hits come with up to this many neighbouring turns before and after."""


PRESETS: dict[str, RecallConfig] = {
    "hybrid": RecallConfig(
        "hybrid", ("episodes.vector", "episodes.text", "memories.vector", "memories.text")
    ),
    "hybrid-graph": RecallConfig(
        "hybrid-graph",
        ("episodes.vector", "episodes.text", "memories.vector", "memories.text", "graph"),
    ),
    "fast": RecallConfig(
        "fast",
        ("episodes.vector", "episodes.text", "memories.vector", "memories.text"),
        reranker="memrl",
    ),
    "gated": RecallConfig(
        "gated",
        ("episodes.vector", "episodes.text", "memories.vector", "memories.text"),
        reranker="memrl",
        gate=True,
    ),
    "hybrid-window": RecallConfig(
        "hybrid-window",
        ("episodes.vector", "episodes.text", "memories.vector", "memories.text"),
        window=1,
    ),
    "hybrid-window2": RecallConfig(
        "hybrid-window2",
        ("episodes.vector", "episodes.text", "memories.vector", "memories.text"),
        window=2,
    ),
    "gated-window": RecallConfig(
        "gated-window",
        ("episodes.vector", "episodes.text", "memories.vector", "memories.text"),
        gate=True,
        window=1,
    ),
    "gated-window2": RecallConfig(
        "gated-window2",
        ("episodes.vector", "episodes.text", "memories.vector", "memories.text"),
        gate=True,
        window=2,
    ),
    "fast-window": RecallConfig(
        "fast-window",
        ("episodes.vector", "episodes.text", "memories.vector", "memories.text"),
        reranker="memrl",
        window=1,
    ),
    "memories-hybrid": RecallConfig("memories-hybrid", ("memories.vector", "memories.text")),
    "episodes-hybrid": RecallConfig("episodes-hybrid", ("episodes.vector", "episodes.text")),
    "episodes-vector": RecallConfig("episodes-vector", ("episodes.vector",)),
    "episodes-text": RecallConfig("episodes-text", ("episodes.text",)),
}


def preset(name: str) -> RecallConfig:
    """The preset called ``name``; an unknown name is the caller's mistake (422)."""
    if name not in PRESETS:
        raise InvalidInput({"preset": f"unknown preset; known: {sorted(PRESETS)}"})
    return PRESETS[name]
