"""Consolidation: episodes become facts (Mem0's update rule) and hyperedges over entities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from memory_service.domain.consolidation import (
    Decision,
    EpisodeText,
    ExistingMemory,
    ExtractedEntity,
    ExtractedFact,
    merged_metadata,
)
from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import Episode, Job, NewMemory, SearchQuery
from memory_service.domain.search import finite_or_zero
from memory_service.ports import Embedder, Extractor, SparseEncoder, UnitOfWork, UpdateDecider
from memory_service.services.entities import EntityResolver
from memory_service.services.hypergraph import merge_entities
from memory_service.services.spaces import require_space
from memory_service.services.sparse import encode_episodes
from policies.near_duplicates import merge_near_duplicates


@dataclass(frozen=True, slots=True)
class Consolidator:
    """The parts consolidation needs; ``similar_k`` memories are shown to the decider."""

    embedder: Embedder
    extractor: Extractor
    decider: UpdateDecider
    similar_k: int = 5
    batch_duplicate: float = 0.95
    sparse: SparseEncoder | None = None
    """Encodes the job's episodes for the learned-sparse list (off the write path)."""


@dataclass
class ConsolidationReport:
    episodes: int = 0
    facts: int = 0
    ops: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("ADD", "UPDATE", "DELETE", "NOOP"), 0)
    )
    entities_linked: int = 0


def episode_ids(job: Job) -> list[UUID]:
    try:
        return [UUID(str(x)) for x in job.payload["episode_ids"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"job {job.id} has a malformed payload: {exc!r}") from exc


def job_instructions(job: Job) -> str | None:
    """What the caller asked to remember or ignore (``POST /v1/messages`` ``instructions``)."""
    value = job.payload.get("instructions")
    return value if isinstance(value, str) and value.strip() else None


def joined_instructions(standing: str | None, request: str | None) -> str | None:
    """The tenant's standing instructions, then the request's (which, coming last, win
    where the two disagree)."""
    parts = [p.strip() for p in (standing, request) if p is not None and p.strip()]
    return "\n\n".join(parts) or None


async def consolidate(uow: UnitOfWork, parts: Consolidator, job: Job) -> ConsolidationReport:
    """Extract facts and entities from the job's episodes and fold them into the store.

    Runs inside the caller's transaction, so a crash leaves nothing half-written.
    """
    report = ConsolidationReport()
    # the tenant's record before any vector table, as a reembed's switch takes them
    await require_space(uow, job.tenant_id, parts.embedder, write=True)
    episodes = await uow.episodes.get_many(job.tenant_id, episode_ids(job))
    report.episodes = len(episodes)
    if not episodes:
        return report  # every episode was deleted before the job ran
    if parts.sparse is not None:
        await encode_episodes(uow, parts.sparse, job.tenant_id, episodes)
    texts = [EpisodeText(e.id, e.text, e.speaker, e.occurred_at) for e in episodes]
    instructions = joined_instructions(
        await uow.tenants.instructions(job.tenant_id), job_instructions(job)
    )
    extraction = await parts.extractor.extract(texts, instructions=instructions)
    resolver = EntityResolver(uow, parts.embedder, job.tenant_id, job.scope)
    for episode_id, mentioned in extraction.episode_entities.items():
        report.entities_linked += await _link(resolver, mentioned, episode_id=episode_id)
    embedded = await parts.embedder.embed([f.text for f in extraction.facts])
    facts, vectors = merge_near_duplicates(extraction.facts, embedded, parts.batch_duplicate)
    cause = f"consolidation job {job.id} ({parts.extractor.name}/{parts.decider.name})"
    for fact, vector in zip(facts, vectors, strict=True):
        decision = await _decide(uow, parts, job, fact, vector)
        report.ops[decision.op] += 1
        metadata = fact_metadata(fact, episodes)
        memory_id = await _apply(uow, parts, job, fact, vector, decision, cause, metadata)
        if memory_id is not None:
            report.entities_linked += await _link(resolver, fact.entities, memory_id=memory_id)
    report.facts = len(facts)
    await merge_entities(uow, job.tenant_id, job.scope)
    return report


def fact_metadata(fact: ExtractedFact, episodes: Sequence[Episode]) -> dict[str, Any]:
    """The metadata of the fact's source episodes merged (``merged_metadata``): on a
    key that several hold, the newest episode's value (``episodes`` are in time order)."""
    sources = set(fact.source_episode_ids)
    return merged_metadata([e.metadata for e in episodes if e.id in sources])


async def _decide(
    uow: UnitOfWork, parts: Consolidator, job: Job, fact: ExtractedFact, vector: Sequence[float]
) -> Decision:
    query = SearchQuery(text=fact.text, scope=job.scope, limit=parts.similar_k)
    similar = await uow.memories.vector_search(job.tenant_id, query, vector, parts.similar_k)
    # A stored zero vector's cosine is NaN: 0 (unrelated), or max() could pick it.
    existing = [ExistingMemory(c.id, c.text, finite_or_zero(c.score)) for c in similar]
    return await parts.decider.decide(fact, existing)


async def _apply(
    uow: UnitOfWork,
    parts: Consolidator,
    job: Job,
    fact: ExtractedFact,
    vector: Sequence[float],
    decision: Decision,
    cause: str,
    metadata: Mapping[str, Any],
) -> UUID | None:
    """Carry out one decision; returns the memory that now holds the fact, if any. An
    ADD stores the fact with ``metadata`` (its episodes'); an UPDATE's new memory holds
    the old one's metadata merged with ``metadata`` (the fact's values win); a NOOP
    adds the fact's episodes to the memory's provenance and leaves its metadata."""
    reason = f"{cause}: {decision.reason}" if decision.reason else cause
    memories, tenant = uow.memories, job.tenant_id
    if decision.op == "NOOP":
        if decision.target_id is not None:
            await memories.add_sources(tenant, decision.target_id, fact.source_episode_ids)
        return decision.target_id
    now = datetime.now(UTC)
    if decision.op in ("UPDATE", "DELETE") and decision.target_id is not None:
        old = await memories.get(tenant, decision.target_id, for_update=True)
        if old is None or old.status != "active":
            return None
        status = "superseded" if decision.op == "UPDATE" else "deleted"
        await memories.update(tenant, old.id, status=status, valid_to=fact.valid_from or now)
        new_text = decision.text if decision.op == "UPDATE" else None
        await memories.add_history(
            tenant, old.id, op=decision.op, old_text=old.text, new_text=new_text, cause=reason
        )
        if decision.op == "DELETE":
            return None
        sources = tuple(dict.fromkeys([*old.source_episode_ids, *fact.source_episode_ids]))
        metadata = merged_metadata([old.metadata, metadata])
    else:
        sources = fact.source_episode_ids
    text = decision.text or fact.text
    if text != fact.text:
        [vector] = await parts.embedder.embed([text])
    new = NewMemory(
        text=text,
        scope=job.scope,
        metadata=metadata,
        source_episode_ids=sources,
        valid_from=fact.valid_from,
    )
    memory = await memories.add(tenant, new, vector)
    await memories.add_history(
        tenant, memory.id, op="ADD", old_text=None, new_text=text, cause=reason
    )
    return memory.id


async def _link(
    resolver: EntityResolver,
    mentioned: Sequence[ExtractedEntity],
    *,
    memory_id: UUID | None = None,
    episode_id: UUID | None = None,
) -> int:
    for entity in mentioned:
        entity_id = await resolver.resolve(entity)
        await resolver.uow.entities.link(
            resolver.tenant, entity_id, memory_id=memory_id, episode_id=episode_id
        )
    return len(mentioned)
