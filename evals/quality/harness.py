"""The service, in process, for evaluations: a fresh tenant per run, scopes per sample."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete

from memory_service.bootstrap import Components
from memory_service.db.models import Tenant
from memory_service.domain.models import NewEpisode, Scope
from memory_service.services import ingest
from memory_service.services.sparse import encode_pending

BATCH = 200


@dataclass(frozen=True, slots=True)
class SourceTurn:
    """One raw turn as the dataset gives it; ``label`` is its evidence id."""

    label: str
    session: str
    speaker: str
    role: str
    text: str
    occurred_at: datetime


@dataclass
class ScopeRun:
    """One sample ingested into its own scope, and how to read its episodes back."""

    tenant: UUID
    scope: Scope
    turns: Sequence[SourceTurn]
    label_of: dict[UUID, str] = field(default_factory=dict)
    session_of: dict[str, str] = field(default_factory=dict)
    asked_at: datetime | None = None
    """When its questions are asked (LongMemEval gives each question's date); None:
    right after its last turn (``present``)."""

    @property
    def present(self) -> datetime:
        """What the questions' "last year" is resolved against: ``asked_at``, else the
        last turn's time (the conversation's present), else the clock."""
        if self.asked_at is not None:
            return self.asked_at
        return max((t.occurred_at for t in self.turns), default=datetime.now(UTC))


@asynccontextmanager
async def eval_tenant(components: Components, run_id: str) -> AsyncIterator[UUID]:
    """A tenant that lives for one run and is dropped (with all it holds) after it."""
    async with components.uow() as uow:
        tenant = await uow.tenants.create_tenant(f"eval-{run_id}")
    try:
        yield tenant
    finally:
        async with components.uow() as uow:
            await uow.session.execute(delete(Tenant).where(Tenant.id == tenant))


async def ingest_turns(
    components: Components, tenant: UUID, scope_id: str, turns: Sequence[SourceTurn]
) -> ScopeRun:
    """Store ``turns`` through the service's own write path, in batches."""
    run = ScopeRun(tenant=tenant, scope=Scope(user_id=scope_id), turns=turns)
    for start in range(0, len(turns), BATCH):
        chunk = turns[start : start + BATCH]
        messages = [
            NewEpisode(
                role=t.role,
                text=t.text,
                speaker=t.speaker,
                occurred_at=t.occurred_at,
                metadata={"label": t.label, "session": t.session},
            )
            for t in chunk
        ]
        async with components.uow() as uow:
            result = await ingest.add_messages(
                uow, components.embedder, tenant, run.scope, messages, now=datetime.now(UTC)
            )
        for episode_id, turn in zip(result.episode_ids, chunk, strict=True):
            run.label_of[episode_id] = turn.label
    run.session_of = {t.label: t.session for t in turns}
    return run


async def encode_sparse(components: Components, run: ScopeRun) -> int:
    """Encode the scope's episodes the consolidation worker has not (all of them when
    consolidation is off) for the learned-sparse list; none without an encoder."""
    if components.sparse is None:
        return 0
    done = 0
    while True:
        async with components.uow(tenant=run.tenant) as uow:
            n = await encode_pending(uow, components.sparse, run.tenant, run.scope)
        if n == 0:
            return done
        done += n


async def consolidate_all(components: Components, consolidator: Any) -> dict[str, float]:
    """Run every queued job now, in process (the same code a worker runs)."""
    from workers.dispatch import InProcessWorker

    started = time.perf_counter()
    jobs = await InProcessWorker(components, consolidator).drain()
    return {"jobs": jobs, "seconds": time.perf_counter() - started}


async def scope_counts(components: Components, run: ScopeRun) -> dict[str, int]:
    """Active facts and live entities the scope holds."""
    async with components.uow() as uow:
        memories, _ = await uow.memories.page(
            run.tenant, run.scope, include_inactive=False, cursor=None, limit=100_000
        )
        entities, members = await uow.entities.graph(run.tenant, run.scope)
    return {"facts": len(memories), "entities": len(entities), "memberships": len(members)}
