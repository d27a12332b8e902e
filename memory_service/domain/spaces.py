"""Embedding spaces: which model made a store's vectors, at what width."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True, slots=True)
class EmbeddingSpace:
    """The model whose vectors a tenant's rows hold, and their width. Vectors of two
    spaces are never compared: a cosine between them means nothing."""

    model: str
    dim: int

    def __str__(self) -> str:
        return f"{self.model} ({self.dim}-d)"


@dataclass(frozen=True, slots=True)
class TextToEmbed:
    """One stored row's key and the text its vector is made from."""

    tenant: UUID
    id: UUID
    text: str


@dataclass(frozen=True, slots=True)
class TableProgress:
    """How far a reembed got through one table: ``done`` of about ``total`` rows."""

    done: int
    total: int
    finished: bool
