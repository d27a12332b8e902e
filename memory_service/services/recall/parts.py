"""What the composition root lends the stages of a preset when it builds them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from memory_service.ports import LLM, ChunkRunner, SparseEncoder
from memory_service.ports.providers import PairScorer
from policies.gate import GateConfig
from policies.learned_gate import LearnedGate
from policies.value_model import ValueModel
from policies.value_model import bundled as bundled_value_model

T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True, slots=True)
class Parts:
    """The process-wide parts a stage may need: the LLM (None: local methods only),
    where Full Deliberation's LLM chunks are read (None: in process), the gate's
    pass marks, learned model (None: the marks alone) and audit switch, and the
    learned-sparse encoder of queries (None: the sparse list proposes nothing), the
    cross-encoder (None: a preset that reranks with it refuses its searches), and the
    packer's model."""

    llm: LLM | None = None
    chunks: ChunkRunner | None = None
    gate: GateConfig = field(default_factory=GateConfig)
    gate_model: LearnedGate | None = None
    audit: bool = True
    sparse: SparseEncoder | None = None
    reranker: PairScorer | None = None
    value_model: ValueModel | None = field(default_factory=bundled_value_model)
    """What the packer by value per token estimates with: the bundled model unless
    given (None: presets that pack so refuse their searches)."""


class Spec(Protocol[T_co]):
    """A stage as a preset names it: data that makes the stage from the parts. A stage
    that needs no parts is its own spec (its ``create`` returns itself)."""

    def create(self, parts: Parts) -> T_co: ...
