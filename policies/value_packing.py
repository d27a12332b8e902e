"""Packing by value per token: what goes first into a context is what most likely holds
evidence for each token it costs.

Each ranked hit gets P(its turn, or a fact's source turn, is evidence) and each turn
beside an episode hit P(it is), from ``policies.value_model`` (two logistic regressions
over the features of ``policies.value_features``). Items are then taken greedily by
expected new evidence per token: a fact whose source turns are all shown, and a turn
already shown, add nothing and are dropped (the same text never appears twice); a
neighbour joins its hit's passage only while it is still joined to the hit by unshown
turns, worth its tokens, and the passage stays short (about 256 tokens: long turns come
alone); a date is written once per day of a passage. Because the order is by value per
token, every prefix of the answer is a good context for its size, whatever budget the
caller cuts it at. Token costs are approximate (four characters a token).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from uuid import UUID

from memory_service.domain.models import ContextTurn, SearchHit
from policies.distinct import walk_outward
from policies.value_features import Period, Ranked, hit_tokens, turn_tokens
from policies.value_model import ValueModel

NEIGHBOURS_OF = 40
"""Only the first hits keep neighbours: beyond them a neighbour is rarely worth reading."""
MAX_PASSAGE_TOKENS = 256
"""A passage grows by neighbours only while it stays this short (approximate tokens):
with long turns (a chat assistant's answers) a window of five would fill a budget."""


@dataclass(frozen=True, slots=True)
class Line:
    """A turn of a passage with its probability and its line's cost, dated or not."""

    turn: ContextTurn
    p: float
    dated: int
    undated: int


@dataclass(frozen=True, slots=True)
class Valued:
    """A hit with its probability and cost (an episode: its own line), and its
    neighbours' lines by position."""

    hit: SearchHit
    p: float
    own: Line | None
    cost: int
    beside: Mapping[int, Line]


def line_of(turn: ContextTurn, p: float) -> Line:
    undated = turn_tokens(turn.speaker, turn.text, False)
    return Line(turn, p, turn_tokens(turn.speaker, turn.text, True), undated)


def valued(
    ranked: Ranked,
    model: ValueModel,
    neighbours_of: int = NEIGHBOURS_OF,
) -> list[Valued]:
    """Each ranked hit with the model's probabilities; neighbours only for the first
    ``neighbours_of`` hits."""
    out = []
    for rank, hit in enumerate(ranked.hits):
        own = ranked.hit(rank)
        p = model.hit.probability(own)
        if hit.kind != "episode" or hit.occurred_at is None:
            out.append(Valued(hit, p, None, hit_tokens(hit), {}))
            continue
        beside: dict[int, Line] = {}
        if rank < neighbours_of:
            for turn in hit.context:
                values = ranked.neighbour(rank, own, turn)
                beside[turn.position] = line_of(turn, model.neighbour.probability(values))
        line = line_of(ContextTurn(hit.id, hit.speaker, hit.text, hit.occurred_at, 0), p)
        out.append(Valued(hit, p, line, line.dated, beside))
    return out


def passage_cost(lines: Sequence[Line]) -> int:
    """Lines in position order, each day's date written once."""
    total, day = 0, None
    for line in lines:
        today = line.turn.occurred_at.date()
        total += line.undated if today == day else line.dated
        day = today
    return total


@dataclass(frozen=True, slots=True)
class _Option:
    """An item as it would be taken now: the neighbours it keeps, the turns it shows,
    and its expected new evidence per token."""

    kept: tuple[ContextTurn, ...]
    shows: tuple[UUID, ...]
    density: float


def _option(item: Valued, shown: set[UUID], join: float, max_tokens: int | None) -> _Option | None:
    """``item`` as it would be taken with ``shown`` already in the context; None when it
    adds nothing. Neighbours join nearest first, the turn after before the turn before,
    each side while its turns are unshown, worth ``join`` per token, and the passage
    stays within ``max_tokens`` (its hit is always shown: a long turn comes alone)."""
    hit = item.hit
    if item.own is None:
        sources = tuple(hit.source_episode_ids)
        new = [s for s in sources if s not in shown]
        if hit.kind == "episode":
            new = [] if hit.id in shown else [hit.id]
            sources = (hit.id,)
        if sources and not new:
            return None
        value = item.p * (len(new) / len(sources) if sources else 1.0)
        return _Option((), tuple(new), value / item.cost)
    if hit.id in shown:
        return None
    lines, spent = [item.own], item.own.undated

    def take(position: int) -> bool:
        nonlocal spent
        line = item.beside.get(position)
        if line is None or line.turn.id in shown or line.p / line.undated < join:
            return False
        if max_tokens is not None and spent + line.undated > max_tokens:
            return False
        lines.append(line)
        spent += line.undated
        return True

    walk_outward(take)
    value = sum(line.p for line in lines)
    lines.sort(key=lambda line: line.turn.position)
    kept = tuple(line.turn for line in lines if line.turn.position != 0)
    shows = (hit.id, *(t.id for t in kept))
    return _Option(kept, shows, value / passage_cost(lines))


def value_passages(
    hits: Sequence[SearchHit],
    query: str,
    limit: int,
    model: ValueModel,
    *,
    join: float = 0.0,
    max_tokens: int | None = MAX_PASSAGE_TOKENS,
    neighbours_of: int = NEIGHBOURS_OF,
    periods: Sequence[Period] = (),
) -> list[SearchHit]:
    """At most ``limit`` items of ``hits`` (ranked for ``query``, episode hits with their
    window in ``context``), in order of expected new evidence per token; a neighbour joins
    its passage while its probability per token is at least ``join`` and the passage
    stays within ``max_tokens`` (approximate; None: no bound); ``periods``: the times
    the query names, resolved (``policies.time_refs.time_ranges``).

    Greedy with lazy updates: an item's value only changes when another takes its turns,
    so the best stale value is recomputed and taken when it still leads."""
    ranked = Ranked.of(hits, query, periods=periods)
    items = valued(ranked, model, neighbours_of)
    shown: set[UUID] = set()
    queue: list[tuple[float, int]] = []
    for i, item in enumerate(items):
        first = _option(item, shown, join, max_tokens)
        if first is not None:
            queue.append((-first.density, i))
    heapq.heapify(queue)
    out: list[SearchHit] = []
    while queue and len(out) < limit:
        _, i = heapq.heappop(queue)
        option = _option(items[i], shown, join, max_tokens)
        if option is None or option.density <= 0.0:
            continue
        if queue and -option.density > queue[0][0]:
            heapq.heappush(queue, (-option.density, i))  # another now leads
            continue
        hit = items[i].hit
        if items[i].own is not None:
            hit = _led(
                hits,
                ranked.rank_of,
                replace(hit, context=option.kept, source_episode_ids=option.shows),
            )
        out.append(hit)
        shown.update(option.shows)
    return out


def _led(hits: Sequence[SearchHit], rank_of: Mapping[UUID, int], passage: SearchHit) -> SearchHit:
    """``passage`` led by its best-ranked turn: when a neighbour is itself a hit the
    lists ranked higher, the passage is shown as that hit's, its turns placed around it
    (the same lines, so the same cost), and the hit it grew from is named in
    ``merged``. A search's items then lead with what the lists matched best."""
    ranked = [t for t in passage.context if t.id in rank_of]
    if not ranked:
        return passage
    best = min(ranked, key=lambda t: rank_of[t.id])
    if rank_of[best.id] >= rank_of.get(passage.id, len(hits)):
        return passage
    lead, shift = hits[rank_of[best.id]], best.position
    turns = [t for t in passage.passage() if t.id != lead.id]
    context = tuple(replace(t, position=t.position - shift) for t in turns)
    return replace(
        lead,
        context=context,
        source_episode_ids=(lead.id, *(t.id for t in context)),
        merged=(passage.id, *passage.merged),
    )
