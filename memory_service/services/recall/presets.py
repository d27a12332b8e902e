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
from policies.cross_encoder import CrossEncoder
from policies.packing import DistinctPassages, MergedPassages, TopK, ValuePacking
from policies.rerankers import MemRL
from retrievers.fusion import RRF
from retrievers.lists import (
    EpisodeSparse,
    EpisodeText,
    EpisodeVectors,
    GraphEdges,
    MemoryText,
    MemoryVectors,
)
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
    deliberated: Spec[Packer] | None = None
    """Packs System 2's ranking (None: ``packer``): a packer that reorders by what the
    fused lists said would undo what System 2 read."""
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
            deliberated=(self.deliberated or self.packer).create(parts),
            depth=self.depth,
            gate=self.gate.create(parts),
            deliberator=self.deliberation.create(parts),
            sparse=parts.sparse,
        )


FAST_LISTS: tuple[Spec[Retriever], ...] = (
    EpisodeVectors(),
    EpisodeText(),
    MemoryVectors(),
    MemoryText(),
)
"""Vector and full text over episodes and facts: the lists most presets fuse."""
SPARSE_LISTS: tuple[Spec[Retriever], ...] = (*FAST_LISTS, EpisodeSparse())
"""The fast lists and the learned-sparse list over episodes."""
SPLADE_LISTS: tuple[Spec[Retriever], ...] = (
    EpisodeVectors(),
    EpisodeSparse(),
    MemoryVectors(),
    MemoryText(),
)
"""The learned-sparse list in place of full text over episodes (vectors over both, full
text over facts)."""
SPARSE_HEAVY = RRF(weights=(("episodes.sparse", 2.0),))
"""The learned-sparse list counts twice: alone it recalls more than the others fused."""
FOCUSED = DistinctPassages(wide=10)
"""Distinct passages where only the first ten items keep their neighbours."""
GATED = QualityGateSpec(routes=True)
"""The quality gate routes in ``auto`` mode, to Full Deliberation when it fails."""
UNGATED = QualityGateSpec(routes=False)
"""The gate runs only when a mode is forced, to report its scores."""


def _windowed(
    name: str,
    turns: int,
    *,
    lists: tuple[Spec[Retriever], ...] = FAST_LISTS,
    fusion: Spec[Fusion] | None = None,
    rerankers: tuple[Spec[Reranker], ...] = (),
    gate: Spec[Gate] = UNGATED,
    packer: Spec[Packer] | None = None,
    deliberated: Spec[Packer] | None = None,
) -> Preset:
    """Episode hits with ``turns`` neighbours a side; overlapping passages merged (or,
    with ``DistinctPassages``, no turn shown twice)."""
    return Preset(
        name,
        lists,
        fusion=fusion or RRF(),
        rerankers=rerankers,
        passages=Window(turns),
        packer=packer or MergedPassages(),
        deliberated=deliberated,
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
        Preset("sparse", SPARSE_LISTS),
        Preset("sparse2", SPARSE_LISTS, fusion=SPARSE_HEAVY),
        _windowed("distinct-window2", 2, packer=DistinctPassages()),
        _windowed("sparse-distinct2", 2, lists=SPARSE_LISTS, packer=DistinctPassages()),
        _windowed("focus-window2", 2, packer=FOCUSED),
        _windowed("sparse-focus2", 2, lists=SPARSE_LISTS, packer=FOCUSED),
        _windowed("splade-focus2", 2, lists=SPLADE_LISTS, packer=FOCUSED),
        _windowed(
            "sparse-value2", 2, lists=SPARSE_LISTS, packer=ValuePacking(), deliberated=FOCUSED
        ),
        _windowed(
            "sparse-focus2-ce",
            2,
            lists=SPARSE_LISTS,
            rerankers=(CrossEncoder(top=30),),
            packer=FOCUSED,
        ),
        _windowed("gated-focus2", 2, packer=FOCUSED, gate=GATED),
        Preset("memories-hybrid", (MemoryVectors(), MemoryText())),
        Preset("episodes-hybrid", (EpisodeVectors(), EpisodeText())),
        Preset("episodes-vector", (EpisodeVectors(),)),
        Preset("episodes-text", (EpisodeText(),)),
        Preset("episodes-sparse", (EpisodeSparse(),)),
    )
}


def preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name is the caller's mistake (422)."""
    if name not in PRESETS:
        raise InvalidInput({"preset": f"unknown preset; known: {sorted(PRESETS)}"})
    return PRESETS[name]
