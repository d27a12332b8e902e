"""System 2: Full Deliberation over every raw episode of the scope, within a budget."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from memory_service.domain.models import SearchQuery
from memory_service.ports import LLM, ChunkRunner, UnitOfWork
from retrievers.deliberation import (
    Budget,
    Deliberation,
    InProcessChunkRunner,
    LLMDeliberation,
    local_deliberation,
)

MAX_EPISODES = 200_000
"""A hard cap on one scan; the token budget normally stops reading long before."""


async def deliberate(
    uow: UnitOfWork,
    tenant: UUID,
    query: SearchQuery,
    vector: Sequence[float],
    *,
    llm: LLM | None,
    budget: Budget,
    chunks: ChunkRunner | None = None,
) -> Deliberation:
    """With an LLM, read the scope in chunks and extract query-relevant facts; without
    one, score every episode exhaustively. Both see the episodes in time order: the
    most recent ones that fit the token budget (``truncated`` when older ones are left).

    ``chunks`` reads the chunks elsewhere (Celery workers); when it cannot start, or
    is not given, ``llm`` reads them in this process.
    """
    scanned, older_left = await uow.episodes.scan(
        tenant, query.scope, vector, limit=MAX_EPISODES, max_tokens=budget.max_tokens
    )
    if llm is None:
        found = local_deliberation(scanned, query.text, query.limit, budget)
    else:
        episodes = [episode for episode, _ in scanned]
        here = InProcessChunkRunner(llm)
        reader = LLMDeliberation(chunks, fallback=here) if chunks else LLMDeliberation(here)
        found = await reader.deliberate(episodes, query.text, query.limit, budget)
    found.truncated = found.truncated or older_left
    return found
