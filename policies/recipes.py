"""Retrieval configured as data: named presets shared by the API and the evaluations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Source = Literal["episodes.vector", "episodes.text", "memories.vector", "memories.text", "graph"]


@dataclass(frozen=True, slots=True)
class RecallConfig:
    """Which ranked lists to fuse, and how.

    ``pool`` is how many candidates each list proposes before fusion;
    ``rrf_k`` is the reciprocal-rank-fusion constant.
    """

    name: str
    sources: tuple[Source, ...]
    rrf_k: int = 60
    pool: int = 50


PRESETS: dict[str, RecallConfig] = {
    "hybrid": RecallConfig(
        "hybrid", ("episodes.vector", "episodes.text", "memories.vector", "memories.text")
    ),
    "hybrid-graph": RecallConfig(
        "hybrid-graph",
        ("episodes.vector", "episodes.text", "memories.vector", "memories.text", "graph"),
    ),
    "memories-hybrid": RecallConfig("memories-hybrid", ("memories.vector", "memories.text")),
    "episodes-hybrid": RecallConfig("episodes-hybrid", ("episodes.vector", "episodes.text")),
    "episodes-vector": RecallConfig("episodes-vector", ("episodes.vector",)),
    "episodes-text": RecallConfig("episodes-text", ("episodes.text",)),
}
DEFAULT_PRESET = "hybrid"


def preset(name: str) -> RecallConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; known: {', '.join(sorted(PRESETS))}") from None
