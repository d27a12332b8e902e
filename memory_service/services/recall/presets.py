"""Retrieval configured as data: named presets, shared by the API and the evaluations.

A preset names the stages of the read path and their configs; the composition root
builds each preset's :class:`RecallPipeline` once. A new stage is a new module with
its spec (see :class:`~memory_service.services.recall.parts.Spec`) and a line here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from memory_service.domain.errors import InvalidInput
from memory_service.ports import (
    Deliberator,
    Embedder,
    Fusion,
    Gate,
    Packer,
    PassageBuilder,
    Reranker,
    Retriever,
)
from memory_service.services.recall.parts import Parts, Spec
from memory_service.services.recall.pipeline import RecallPipeline
from memory_service.services.recall.routing import QualityGateSpec
from memory_service.services.recall.system2 import FullDeliberation
from policies.packing import MergedPassages, TopK
from policies.rerankers import MemRL
from retrievers.fusion import RRF
from retrievers.lists import EpisodeText, EpisodeVectors, GraphEdges, MemoryText, MemoryVectors
from retrievers.passages import Window


@dataclass(frozen=True, slots=True)
class Preset:
    """A read path's stages, in order. ``pool``: candidates each list proposes;
    ``depth``: ranked candidates kept per requested item (2 when merged passages free
    slots for the next ones)."""

    name: str
    lists: tuple[Spec[Retriever], ...]
    fusion: Spec[Fusion] = field(default_factory=RRF)
    pool: int = 50
    rerankers: tuple[Spec[Reranker], ...] = ()
    passages: Spec[PassageBuilder] = field(default_factory=Window)
    packer: Spec[Packer] = field(default_factory=TopK)
    depth: int = 1
    gate: Spec[Gate] = field(default_factory=QualityGateSpec)
    deliberation: Spec[Deliberator] = field(default_factory=FullDeliberation)

    def build(self, embedder: Embedder, parts: Parts) -> RecallPipeline:
        return RecallPipeline(
            name=self.name,
            embedder=embedder,
            lists=tuple(s.create(parts) for s in self.lists),
            fusion=self.fusion.create(parts),
            pool=self.pool,
            rerankers=tuple(s.create(parts) for s in self.rerankers),
            passages=self.passages.create(parts),
            packer=self.packer.create(parts),
            depth=self.depth,
            gate=self.gate.create(parts),
            deliberator=self.deliberation.create(parts),
        )


FAST_LISTS: tuple[Spec[Retriever], ...] = (
    EpisodeVectors(),
    EpisodeText(),
    MemoryVectors(),
    MemoryText(),
)
"""Vector and full text over episodes and facts: the lists most presets fuse."""
GATED = QualityGateSpec(routes=True)
"""The quality gate routes in ``auto`` mode, to Full Deliberation when it fails."""
UNGATED = QualityGateSpec(routes=False)
"""The gate runs only when a mode is forced, to report its scores."""


def _windowed(
    name: str,
    turns: int,
    *,
    rerankers: tuple[Spec[Reranker], ...] = (),
    gate: Spec[Gate] = UNGATED,
) -> Preset:
    """Episode hits with ``turns`` neighbours a side; overlapping passages merged."""
    return Preset(
        name,
        FAST_LISTS,
        rerankers=rerankers,
        passages=Window(turns),
        packer=MergedPassages(),
        depth=2,
        gate=gate,
    )


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("hybrid", FAST_LISTS),
        Preset("hybrid-graph", (*FAST_LISTS, GraphEdges())),
        Preset("fast", FAST_LISTS, rerankers=(MemRL(lam=0.5, floor=0.2),)),
        Preset("gated", FAST_LISTS, rerankers=(MemRL(lam=0.5, floor=0.2),), gate=GATED),
        _windowed("hybrid-window", 1),
        _windowed("hybrid-window2", 2),
        _windowed("gated-window", 1, gate=GATED),
        _windowed("gated-window2", 2, gate=GATED),
        _windowed("fast-window", 1, rerankers=(MemRL(lam=0.5, floor=0.2),)),
        Preset("memories-hybrid", (MemoryVectors(), MemoryText())),
        Preset("episodes-hybrid", (EpisodeVectors(), EpisodeText())),
        Preset("episodes-vector", (EpisodeVectors(),)),
        Preset("episodes-text", (EpisodeText(),)),
    )
}


def preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name is the caller's mistake (422)."""
    if name not in PRESETS:
        raise InvalidInput({"preset": f"unknown preset; known: {sorted(PRESETS)}"})
    return PRESETS[name]
