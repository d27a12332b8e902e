"""What consolidation extracts from episodes and decides about existing memories."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

EntityType = Literal["person", "place", "organization", "object", "date", "event", "other"]
UpdateOp = Literal["ADD", "UPDATE", "DELETE", "NOOP"]


@dataclass(frozen=True, slots=True)
class EpisodeText:
    """The part of an episode that extraction reads."""

    id: UUID
    text: str
    speaker: str | None
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class ExtractedEntity:
    """A thing mentioned; ``name`` as written (resolution against stored entities is later)."""

    name: str
    type: EntityType


@dataclass(frozen=True, slots=True)
class ExtractedFact:
    """A self-contained statement (who, what, when), with the episodes it came from.

    ``valid_from`` is when the fact became true, when the text says (relative
    dates resolved against the episode's time); else None.
    """

    text: str
    source_episode_ids: tuple[UUID, ...]
    entities: tuple[ExtractedEntity, ...] = ()
    valid_from: datetime | None = None


@dataclass(frozen=True, slots=True)
class Extraction:
    facts: Sequence[ExtractedFact]
    episode_entities: Mapping[UUID, Sequence[ExtractedEntity]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ExistingMemory:
    """A stored memory similar to a new fact; ``similarity`` is cosine in [-1, 1]."""

    id: UUID
    text: str
    similarity: float


@dataclass(frozen=True, slots=True)
class Decision:
    """Mem0's update rule: what to do with a new fact given the similar memories.

    ADD stores ``text`` as a new memory; UPDATE replaces ``target_id`` by ``text``
    (the old one is closed, not erased); DELETE closes ``target_id``; NOOP does nothing.
    """

    op: UpdateOp
    text: str
    target_id: UUID | None = None
    reason: str = ""


def merged_metadata(layers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The metadata of a fact drawn from several sources: every key of every layer, a
    key's value from the last layer holding it (layers oldest first, so the newest
    episode's value wins; an UPDATE puts the replaced memory's metadata first). Top-level
    keys only: nested objects are replaced, not merged."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    return merged
