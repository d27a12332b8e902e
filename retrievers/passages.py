"""Passage builders: what each ranked hit shows (``memory_service.ports.PassageBuilder``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Self

from memory_service.domain.models import SearchHit
from memory_service.ports import Search


@dataclass(frozen=True, slots=True)
class Window:
    """Each episode hit with up to ``turns`` neighbouring turns before and after it, in
    ``context`` (its provenance covers them too), none outside the query's ``since``
    and ``until`` or refused by its metadata filter; ``turns=0``: hits as they are."""

    turns: int = 0

    async def build(self, search: Search, ranked: Sequence[SearchHit]) -> list[SearchHit]:
        if self.turns < 1:
            return list(ranked)
        around = await search.uow.episodes.neighbours(
            search.tenant,
            search.query.scope,
            [h.id for h in ranked if h.kind == "episode"],
            self.turns,
            where=search.query.filters,
        )
        since, until = search.query.since, search.query.until
        out = []
        for h in ranked:
            turns = [
                t
                for t in (around.get(h.id, []) if h.kind == "episode" else [])
                if (since is None or t.occurred_at >= since)
                and (until is None or t.occurred_at < until)
            ]
            if turns:
                sources = tuple(dict.fromkeys([*h.source_episode_ids, *(t.id for t in turns)]))
                h = replace(h, context=tuple(turns), source_episode_ids=sources)
            out.append(h)
        return out

    def create(self, parts: object) -> Self:
        return self
