"""Passages of conversation around episode hits, with no turn shown twice.

With a window, each episode hit comes with the turns just before and after it. Two
good hits a turn or two apart then show mostly the same turns, and a result of ten
items holds far fewer than ten passages. ``merge_overlapping`` joins such hits into
one passage and gives the freed slot to the next candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from uuid import UUID

from memory_service.domain.models import ContextTurn, SearchHit


@dataclass(eq=False)
class _Passage:
    """A hit and the turns it shows, each at its position relative to the hit."""

    hit: SearchHit
    at: dict[UUID, int] = field(default_factory=dict)
    turns: dict[UUID, ContextTurn] = field(default_factory=dict)
    merged: list[UUID] = field(default_factory=list)
    sources: list[UUID] = field(default_factory=list)

    @classmethod
    def of(cls, hit: SearchHit) -> _Passage:
        p = cls(hit, sources=list(hit.source_episode_ids))
        if hit.occurred_at is not None:
            p._add(ContextTurn(hit.id, hit.speaker, hit.text, hit.occurred_at, 0))
        for turn in hit.context:
            p._add(turn)
        return p

    def _add(self, turn: ContextTurn) -> None:
        self.at[turn.id] = turn.position
        self.turns[turn.id] = turn

    def shared(self, other: _Passage) -> UUID | None:
        return next((i for i in other.at if i in self.at), None)

    def absorb(self, other: _Passage, via: UUID) -> None:
        """Take ``other``'s turns, re-counted from this passage's hit through ``via``."""
        offset = self.at[via] - other.at[via]
        for turn_id, turn in other.turns.items():
            if turn_id not in self.at:
                self._add(replace(turn, position=turn.position + offset))
        self.merged += [other.hit.id, *other.merged]
        self.sources += [s for s in other.sources if s not in self.sources]

    def result(self) -> SearchHit:
        if not self.merged:
            return self.hit
        context = sorted(
            (t for i, t in self.turns.items() if i != self.hit.id), key=lambda t: t.position
        )
        sources = list(dict.fromkeys([*self.sources, *(t.id for t in context)]))
        return replace(
            self.hit,
            context=tuple(context),
            source_episode_ids=tuple(sources),
            merged=tuple(self.merged),
        )


def merge_overlapping(hits: Sequence[SearchHit], limit: int) -> list[SearchHit]:
    """The best ``limit`` passages of ``hits`` (given in rank order).

    An episode hit whose passage (the hit and its context turns) shares a turn with
    a better-ranked passage is merged into it: the passage grows to cover both, its
    positions stay counted from the better hit, and the merged hit's id is listed in
    ``merged``. A hit that joins two passages merges them. Merging frees a slot,
    which the next candidate takes; candidates after the last slot is filled only
    extend the passages they overlap. Other hits (facts) are kept as they are.
    """
    kept: list[_Passage] = []
    for hit in hits:
        new = _Passage.of(hit)
        joined: _Passage | None = None
        for p in list(kept) if hit.kind == "episode" else []:
            if p.hit.kind != "episode":
                continue
            if joined is None:
                via = p.shared(new)
                if via is not None:
                    p.absorb(new, via)
                    joined = p
            elif (via := joined.shared(p)) is not None:
                joined.absorb(p, via)  # the hit joined two passages: the better takes both
                kept.remove(p)
        if joined is None and len(kept) < limit:
            kept.append(new)
    return [p.result() for p in kept]
