"""What the packer's model reads of a question's ranked hits (``policies.value_model``):
plain features of each hit and of each turn beside an episode hit, the support the
first hits lend each other (a day several of them fall on; a fact among them drawn from
a turn, or a turn among them a fact is drawn from), and whether an item falls in a
period the question names ("in July 2023", "last year", resolved against the search's
``now``).

Token costs are approximate (four characters a token), as the lines will be rendered.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeAlias
from uuid import UUID

from memory_service.domain.models import ContextTurn, SearchHit
from policies.distinct import approx_tokens
from policies.update_rule import content_tokens
from policies.value_model import LISTS

Period: TypeAlias = tuple[datetime, datetime]
"""A half-open [start, end) range the question names (``policies.time_refs``)."""

SUPPORT_OF = 10
"""The first hits, whose days and facts lend support to every hit (of 10, 30 and 60 on
the LoCoMo development folds, 10 held out best by a few tenths of a point)."""


def _day(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d}" if moment else "undated"


def turn_tokens(speaker: str | None, text: str, dated: bool) -> int:
    """A turn's line as a context block renders it: ``- [day] speaker: text``."""
    who = f"{speaker}: " if speaker else ""
    day = "[0000-00-00] " if dated else ""
    return approx_tokens(f"- {day}{who}{text}")


def hit_tokens(hit: SearchHit) -> int:
    """The hit alone: a fact's line, or an episode's own dated turn line."""
    if hit.kind != "episode":
        return approx_tokens(f"- {hit.text} (since {_day(hit.occurred_at)})")
    return turn_tokens(hit.speaker, hit.text, True)


@dataclass(frozen=True, slots=True)
class QueryWords:
    """The query's content words (stemmed), each matched at the start of a word of a
    text: a cheap overlap that needs no stemming of the texts it scores."""

    count: int
    pattern: re.Pattern[str] | None
    seen: dict[str, float]
    """Overlap per text already scored (a turn is often beside several hits)."""

    @classmethod
    def of(cls, query: str) -> QueryWords:
        stems = sorted(content_tokens(query), key=lambda s: (-len(s), s))
        if not stems:
            return cls(0, None, {})
        alternatives = "|".join(re.escape(s) for s in stems)
        return cls(len(stems), re.compile(rf"\b(?:{alternatives})", re.IGNORECASE), {})

    def overlap(self, text: str) -> float:
        """The share of the query's content words that ``text`` holds."""
        if self.pattern is None:
            return 0.0
        if text not in self.seen:
            found = {m.lower() for m in self.pattern.findall(text)}
            self.seen[text] = len(found) / self.count
        return self.seen[text]


def pool_ranks(hits: Sequence[SearchHit]) -> dict[UUID, int]:
    """Each episode's first rank among ``hits`` (0-based): a neighbour's own rank when a
    list proposed it too."""
    ranks: dict[UUID, int] = {}
    for rank, hit in enumerate(hits):
        if hit.kind == "episode":
            ranks.setdefault(hit.id, rank)
    return ranks


def _weight(rank: int) -> float:
    return 1.0 / (1 + rank)


def in_periods(moment: datetime | None, periods: Sequence[Period]) -> float:
    """1.0 when ``moment`` falls in one of ``periods``, else 0.0 (undated: 0.0)."""
    return float(moment is not None and any(start <= moment < end for start, end in periods))


@dataclass(frozen=True, slots=True)
class Ranked:
    """A question's ranked hits as the model reads them."""

    hits: Sequence[SearchHit]
    asked: QueryWords
    rank_of: Mapping[UUID, int]
    """Each episode's first rank."""
    days: Mapping[date, float]
    """Per day, ``1 / (1 + rank)`` summed over the first ``SUPPORT_OF`` hits of that day."""
    drawn: Mapping[UUID, float]
    """Per turn, the best ``1 / (1 + rank)`` of a fact among the first hits drawn from it."""
    top: int
    periods: tuple[Period, ...] = ()
    """The periods the question names, resolved (none: the time features are 0)."""

    @classmethod
    def of(
        cls,
        hits: Sequence[SearchHit],
        query: str,
        top: int = SUPPORT_OF,
        periods: Sequence[Period] = (),
    ) -> Ranked:
        days: dict[date, float] = defaultdict(float)
        drawn: dict[UUID, float] = {}
        for rank, hit in enumerate(hits[:top]):
            if hit.occurred_at is not None:
                days[hit.occurred_at.date()] += _weight(rank)
            if hit.kind != "episode":
                for turn in hit.source_episode_ids:
                    drawn[turn] = max(drawn.get(turn, 0.0), _weight(rank))
        words = QueryWords.of(query)
        return cls(hits, words, pool_ranks(hits), days, drawn, top, tuple(periods))

    def hit(self, rank: int) -> dict[str, float]:
        """What the model reads of the hit at ``rank`` (0-based)."""
        hit = self.hits[rank]
        scores = hit.scores
        values = {
            "log_rank": math.log1p(rank),
            "inv_rank": _weight(rank),
            "rrf": float(scores.get("rrf", 0.0)) * 60.0,
            "fact": float(hit.kind != "episode"),
            "log_tokens": math.log(hit_tokens(hit)),
            "overlap": self.asked.overlap(hit.text),
            **self._support(hit, rank),
            "names_period": float(bool(self.periods)),
            "in_period": in_periods(hit.occurred_at, self.periods),
        }
        for name in LISTS:
            at = scores.get(f"{name}_rank")
            values[f"{name}.inv_rank"] = 1.0 / at if at else 0.0
            values[f"{name}.present"] = float(at is not None)
        return values

    def _support(self, hit: SearchHit, rank: int) -> dict[str, float]:
        """The other first hits on the hit's day; for a turn, the best fact among the
        first hits drawn from it; for a fact, the best of its turns among them."""
        day = 0.0
        if hit.occurred_at is not None:
            own = _weight(rank) if rank < self.top else 0.0
            day = self.days.get(hit.occurred_at.date(), 0.0) - own
        if hit.kind == "episode":
            return {"day_support": day, "fact_support": self.drawn.get(hit.id, 0.0)}
        sources = [
            self.rank_of[s]
            for s in hit.source_episode_ids
            if s in self.rank_of and self.rank_of[s] < self.top
        ]
        source = _weight(min(sources)) if sources else 0.0
        return {"day_support": day, "source_support": source}

    def neighbour(self, rank: int, own: Mapping[str, float], turn: ContextTurn) -> dict[str, float]:
        """What the model reads of ``turn`` beside the episode hit at ``rank`` (``own``:
        the hit's features)."""
        hit = self.hits[rank]
        pool_rank = self.rank_of.get(turn.id)
        return {
            "hit.log_rank": own["log_rank"],
            "hit.inv_rank": own["inv_rank"],
            "hit.rrf": own["rrf"],
            "hit.log_tokens": own["log_tokens"],
            "hit.overlap": own["overlap"],
            "hit.day_support": own["day_support"],
            "hit.fact_support": own.get("fact_support", 0.0),
            "after": float(turn.position == 1),
            "before": float(turn.position == -1),
            "far": float(abs(turn.position) >= 2),
            "log_tokens": math.log(turn_tokens(turn.speaker, turn.text, False)),
            "overlap": self.asked.overlap(turn.text),
            "pool.inv_rank": _weight(pool_rank) if pool_rank is not None else 0.0,
            "pool.present": float(pool_rank is not None),
            "fact_support": self.drawn.get(turn.id, 0.0),
            "hit_asks": float(hit.text.rstrip().endswith("?")),
            "asks": float(turn.text.rstrip().endswith("?")),
            "in_period": in_periods(turn.occurred_at, self.periods),
        }
