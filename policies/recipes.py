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
    merge: bool = True
    """With a window, hits whose passages overlap are merged into one passage, and the
    freed slots go to the next candidates (of ``candidates`` times the limit)."""
    candidates: int = 2


FAST_LISTS: tuple[Source, ...] = (
    "episodes.vector",
    "episodes.text",
    "memories.vector",
    "memories.text",
)
"""Vector and full text over episodes and facts: the lists most presets fuse."""

PRESETS: dict[str, RecallConfig] = {
    "hybrid": RecallConfig("hybrid", FAST_LISTS),
    "hybrid-graph": RecallConfig("hybrid-graph", (*FAST_LISTS, "graph")),
    "fast": RecallConfig(
        "fast",
        FAST_LISTS,
        reranker="memrl",
    ),
    "gated": RecallConfig(
        "gated",
        FAST_LISTS,
        reranker="memrl",
        gate=True,
    ),
    "hybrid-window": RecallConfig(
        "hybrid-window",
        FAST_LISTS,
        window=1,
    ),
    "hybrid-window2": RecallConfig(
        "hybrid-window2",
        FAST_LISTS,
        window=2,
    ),
    "gated-window": RecallConfig(
        "gated-window",
        FAST_LISTS,
        gate=True,
        window=1,
    ),
    "gated-window2": RecallConfig(
        "gated-window2",
        FAST_LISTS,
        gate=True,
        window=2,
    ),
    "fast-window": RecallConfig(
        "fast-window",
        FAST_LISTS,
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
