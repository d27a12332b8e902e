"""Ports to the outside world's models and queues: embedder, sparse encoder, LLM, chunk
runner, dispatcher, extractor, update decider."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from memory_service.domain.consolidation import (
    Decision,
    EpisodeText,
    ExistingMemory,
    ExtractedFact,
    Extraction,
)
from memory_service.domain.models import (
    ChatMessage,
    ChunkReply,
    Completion,
)


class Embedder(Protocol):
    """Turns texts into unit-length vectors of width ``dim``."""

    dim: int
    name: str

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


SparseVector = dict[int, float]
"""A learned-sparse text vector: vocabulary index to weight, only the non-zero ones."""


class SparseEncoder(Protocol):
    """Turns texts into learned-sparse vectors over a vocabulary of ``dim`` terms
    (SPLADE); their inner product scores a query against a text."""

    dim: int
    name: str

    async def encode(self, texts: Sequence[str]) -> list[SparseVector]: ...


class PairScorer(Protocol):
    """Scores how well each text answers a query, reading both together (a
    cross-encoder): one logit per text, higher is more relevant, comparable only
    within one call."""

    name: str

    async def score(self, query: str, texts: Sequence[str]) -> list[float]: ...


class LLM(Protocol):
    """A chat model. Deterministic settings by default (temperature 0)."""

    model: str

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> Completion: ...


class ChunkRunner(Protocol):
    """Completes many independent prompts (Full Deliberation's chunks), in parallel where
    it can, as one user message each.

    Returns one reply per prompt, in order, within ``timeout_s`` seconds: a prompt that
    did not come back in time has ``timed_out``, one that failed an ``error``. Raises
    ``UpstreamUnavailable`` when it could not start at all (its broker is down), so the
    caller may read the chunks another way.
    """

    name: str

    async def complete_many(
        self, prompts: Sequence[str], *, max_tokens: int, timeout_s: float
    ) -> list[ChunkReply]: ...


class Dispatcher(Protocol):
    """Sends committed jobs to whatever runs them; losing one is allowed (the sweeper
    finds it in the jobs table), raising is not."""

    async def dispatch(self, job_ids: Sequence[UUID]) -> None: ...


class Extractor(Protocol):
    """Facts and entities from a batch of episodes of one scope.

    ``instructions``: what the caller asked to remember and to ignore, in words; an
    extractor that cannot read free text (the local one) ignores them."""

    name: str

    async def extract(
        self, episodes: Sequence[EpisodeText], *, instructions: str | None = None
    ) -> Extraction: ...


class UpdateDecider(Protocol):
    """Mem0's rule: ADD, UPDATE, DELETE or NOOP for a new fact against similar memories."""

    name: str

    async def decide(self, fact: ExtractedFact, similar: Sequence[ExistingMemory]) -> Decision: ...
