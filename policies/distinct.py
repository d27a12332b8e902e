"""Passages that never show a turn twice and never grow past their window.

``merge_overlapping`` joins overlapping windows into one passage, which then keeps
growing as later hits chain onto it: at a large limit the first item can run to
thousands of tokens, and a context budget holds little else. ``distinct_passages``
keeps each passage to its own hit and the neighbours no earlier item shows (only
those still joined to the hit, so a passage stays one stretch of conversation, and
only while the passage stays within a token bound: long turns come alone); a
hit already shown by an earlier passage, and a fact whose source turns are all
shown, add nothing and give their slot to the next candidate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from uuid import UUID

from memory_service.domain.models import ContextTurn, SearchHit


def approx_tokens(text: str) -> int:
    """Four characters a token: cheap, and close enough to bound a passage."""
    return max(1, len(text) // 4)


def walk_outward(take: Callable[[int], bool]) -> None:
    """Offer positions nearest first, the turn after before the turn before (1, -1, 2,
    -2, ...), each side until ``take`` refuses one of its positions."""
    open_sides = {1: True, -1: True}
    distance = 1
    while any(open_sides.values()):
        for side in (1, -1):
            if open_sides[side] and not take(side * distance):
                open_sides[side] = False
        distance += 1


def _joined(hit: SearchHit, shown: set[UUID], max_tokens: int | None) -> list[ContextTurn]:
    """The context turns not yet shown that still touch the hit (position 0) through
    unshown turns, nearest first, the turn after before the turn before (an answer
    follows its question more often than it precedes it), while the passage stays
    within ``max_tokens``; in position order."""
    by_position = {t.position: t for t in hit.context}
    spent = approx_tokens(hit.text)
    kept: list[ContextTurn] = []

    def take(position: int) -> bool:
        nonlocal spent
        turn = by_position.get(position)
        if turn is None or turn.id in shown:
            return False
        cost = approx_tokens(turn.text)
        if max_tokens is not None and spent + cost > max_tokens:
            return False
        kept.append(turn)
        spent += cost
        return True

    walk_outward(take)
    return sorted(kept, key=lambda t: t.position)


def distinct_passages(
    hits: Sequence[SearchHit],
    limit: int,
    *,
    max_tokens: int | None = None,
    wide: int | None = None,
) -> list[SearchHit]:
    """The best ``limit`` items of ``hits`` (in rank order), no turn shown twice, each
    passage within ``max_tokens`` (approximate; its hit is always shown). Only the
    first ``wide`` items (None: all) keep neighbours: a neighbour of a top hit is
    likelier evidence than a neighbour of the twentieth, and costs as much."""
    shown: set[UUID] = set()
    out: list[SearchHit] = []
    for hit in hits:
        if len(out) >= limit:
            break
        if hit.kind != "episode":
            sources = hit.source_episode_ids
            if not (sources and all(s in shown for s in sources)):
                out.append(hit)
            continue
        if hit.id in shown:
            continue
        context = _joined(hit, shown, max_tokens) if wide is None or len(out) < wide else []
        shown.update([hit.id, *(t.id for t in context)])
        sources = tuple(dict.fromkeys([hit.id, *(t.id for t in context)]))
        out.append(replace(hit, context=tuple(context), source_episode_ids=sources))
    return out
