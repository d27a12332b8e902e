"""Context blocks: what an agent should paste into its prompt, packed to a token budget."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from memory_service.domain.filters import MetadataFilter
from memory_service.domain.models import Scope, SearchHit, SearchQuery
from memory_service.ports import UnitOfWork
from memory_service.services import recall
from memory_service.services.audit import turn_line
from memory_service.services.recall import RecallPipeline

Counter = Callable[[str], int]

TOKENS_PER_ITEM = 25
"""About the fewest tokens an item takes (a fact line, a single turn): how many items a
budget may need, when a preset packs short items first."""


def items_for(token_budget: int) -> int:
    """Items a context block of ``token_budget`` tokens asks the search for: 50, more
    for budgets that 50 short items would leave half empty (at most 200)."""
    return max(50, min(200, token_budget // TOKENS_PER_ITEM))


@dataclass
class ContextBlock:
    text: str
    tokens: int
    memory_ids: list[UUID] = field(default_factory=list)
    episode_ids: list[UUID] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    retrieval_id: UUID | None = None


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else "undated"


def _lines(hit: SearchHit) -> list[str]:
    """A fact's line, or an episode's passage (the hit and its context turns), its
    date written once, and again only where the day changes."""
    if hit.kind != "episode":
        return [f"- {hit.text} (since {_when(hit.occurred_at)})"]
    lines, day = [], ""
    for turn in hit.passage():
        if f"{turn.occurred_at:%Y-%m-%d}" == day:
            lines.append(f"- {turn_line(turn, dated=False)}")
        else:
            lines.append(f"- {turn_line(turn)}")
            day = f"{turn.occurred_at:%Y-%m-%d}"
    return lines


TITLES = ("## Facts", "## Conversation excerpts")


def _render(
    facts: Sequence[SearchHit], episodes: Sequence[SearchHit], lines: Mapping[int, list[str]]
) -> list[str]:
    """The block's lines: a section per kind (facts, then conversation excerpts), each
    hit's lines from ``lines`` (by ``id()`` of the hit, rendered once)."""
    out: list[str] = []
    for title, hits in zip(TITLES, (facts, episodes), strict=True):
        if hits:
            out += [title, *(line for hit in hits for line in lines[id(hit)])]
    return out


def pack(
    hits: Sequence[SearchHit],
    entities: Sequence[str],
    budget: int,
    count: Counter,
) -> ContextBlock:
    """The hits in rank order, each kept only while the whole block still fits
    ``budget`` (a hit that does not fit gives its room to the next), shown in sections:
    facts, then conversation excerpts, each in rank order; then the entities.

    Each hit is rendered and counted once, and the block's count is kept as an upper
    bound (the hits' counts, a newline between lines, each section's title: joining
    lines never adds tokens). A hit that fits under the bound is taken uncounted; near
    the budget the block is counted whole, and a hit that would not fit even if its
    seams merged away is passed over uncounted. The final block is counted whole too
    (the last hits are dropped, should it not fit)."""
    block = ContextBlock(text="", tokens=0)
    lines = {id(hit): _lines(hit) for hit in hits}
    newline = count("\n")
    titles = [count(title) for title in TITLES]
    taken: list[SearchHit] = []
    opened: set[bool] = set()
    used, exact = 0, True

    def render(chosen: Sequence[SearchHit]) -> list[str]:
        facts = [h for h in chosen if h.kind != "episode"]
        return _render(facts, [h for h in chosen if h.kind == "episode"], lines)

    for hit in hits:
        episode = hit.kind == "episode"
        joins = (1 if taken else 0) + (1 if episode not in opened else 0)
        cost = count("\n".join(lines[id(hit)])) + joins * newline
        cost += titles[episode] if episode not in opened else 0
        if used + cost > budget and not exact:
            used, exact = count("\n".join(render(taken))), True
        if used + cost <= budget:
            used, exact = used + cost, False
        elif used + cost - joins * newline > budget:
            continue  # over even if its seams merged away
        elif (whole := count("\n".join(render([*taken, hit])))) <= budget:
            used, exact = whole, True
        else:
            continue
        taken.append(hit)
        opened.add(episode)
    parts = render(taken)
    while taken and count("\n".join(parts)) > budget:
        taken.pop()
        parts = render(taken)
    block.memory_ids = [h.id for h in taken if h.kind != "episode"]
    block.episode_ids = [h.id for h in taken if h.kind == "episode"]
    if entities:
        line = "## Entities\n" + ", ".join(entities)
        if count("\n".join([*parts, line])) <= budget:
            parts.append(line)
            block.entities = list(entities)
    block.text = "\n".join(parts)
    block.tokens = count(block.text) if parts else 0
    return block


async def build_context(
    uow: UnitOfWork,
    pipeline: RecallPipeline,
    tenant: UUID,
    scope: Scope,
    *,
    query: str | None,
    token_budget: int,
    count: Counter,
    now: datetime,
    where: MetadataFilter | None = None,
) -> ContextBlock:
    """The most useful facts, the relevant episodes with their dates, and the entities
    involved. Without a query: the facts with the highest utility, then the latest.
    Only items whose metadata passes ``where``. The scope must name an owner
    (InvalidInput otherwise)."""
    scope.require()
    if query:
        query_ = SearchQuery(text=query, scope=scope, limit=items_for(token_budget), filters=where)
        result = await recall.search(uow, pipeline, tenant, query_, mode="fast", now=now)
        hits = list(result.hits)
        retrieval_id: UUID | None = result.retrieval_id
    else:
        hits = await _useful_facts(uow, tenant, scope, where)
        retrieval_id = None
    entities = await _entities(uow, tenant, hits)
    block = pack(hits, entities, token_budget, count)
    block.retrieval_id = retrieval_id
    return block


async def _useful_facts(
    uow: UnitOfWork, tenant: UUID, scope: Scope, where: MetadataFilter | None
) -> list[SearchHit]:
    memories, _ = await uow.memories.page(
        tenant, scope, include_inactive=False, cursor=None, limit=200, where=where
    )
    ranked = sorted(memories, key=lambda m: (-m.utility, -m.created_at.timestamp()))
    return [
        SearchHit(
            kind="memory",
            id=m.id,
            text=m.text,
            occurred_at=m.valid_from or m.created_at,
            score=m.utility,
            scores={"utility": m.utility},
            source_episode_ids=m.source_episode_ids,
        )
        for m in ranked
    ]


async def _entities(uow: UnitOfWork, tenant: UUID, hits: Sequence[SearchHit]) -> list[str]:
    members = await uow.entities.of_edges(
        tenant,
        memory_ids=[h.id for h in hits if h.kind == "memory"][:20],
        episode_ids=[h.id for h in hits if h.kind == "episode"][:20],
    )
    names = await uow.entities.names(tenant, list(dict.fromkeys(m.entity_id for m in members)))
    return sorted(set(names.values()), key=str.lower)[:30]
