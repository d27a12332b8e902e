"""Write path: validate, embed, store episodes and their consolidation job together."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from memory_service.domain.errors import Conflict, InvalidInput
from memory_service.domain.models import NewEpisode, Scope
from memory_service.ports import Embedder, UnitOfWork
from memory_service.services.spaces import require_space

CONSOLIDATE = "consolidate"
"""The kind of the job every write queues."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    episode_ids: Sequence[UUID]
    job_id: UUID | None
    """None when the batch was stored without inference (no consolidation job)."""
    replayed: bool = False

    def to_record(self) -> dict[str, Any]:
        job = None if self.job_id is None else str(self.job_id)
        return {"episode_ids": [str(i) for i in self.episode_ids], "job_id": job}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> IngestResult:
        return cls(
            episode_ids=[UUID(i) for i in record["episode_ids"]],
            job_id=None if record["job_id"] is None else UUID(record["job_id"]),
            replayed=True,
        )


def fingerprint(payload: Any) -> str:
    """A stable hash of a request body, to tell a replay from a reused key."""
    raw = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


async def add_messages(
    uow: UnitOfWork,
    embedder: Embedder,
    tenant: UUID,
    scope: Scope,
    messages: Sequence[NewEpisode],
    *,
    now: datetime,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
    infer: bool = True,
    instructions: str | None = None,
) -> IngestResult:
    """Store ``messages`` as episodes plus one consolidation job, atomically.

    With ``infer`` false no job is queued: the episodes are stored (and searchable)
    but no memories are extracted from them. ``instructions`` (what to remember and
    what to ignore, in words) are kept in the job's payload for the extractor. Under an
    idempotency key, a replay of the same request returns the first answer and stores
    nothing; the same key with another body is a Conflict.
    """
    scope.require()
    if not messages:
        raise InvalidInput({"messages": "at least one message is required"})
    if idempotency_key is not None:
        # Instructions join the hash only when given: keys stored before them still replay.
        parts = [scope, messages, infer] + ([instructions] if instructions is not None else [])
        request_hash = request_hash or fingerprint(parts)
        # Claimed before embedding: a replay pays for nothing, and a concurrent
        # duplicate waits on this row until we commit, then replays our answer.
        prior = await uow.idempotency.claim(tenant, idempotency_key, request_hash, scope.user_id)
        if prior is not None:
            return _replay(prior, request_hash)
    await require_space(uow, tenant, embedder, write=True)
    vectors = await embedder.embed([m.embedding_text() for m in messages])
    episodes = await uow.episodes.add_many(tenant, scope, messages, vectors, now)
    ids = [e.id for e in episodes]
    job_id = None
    if infer:
        payload: dict[str, Any] = {"episode_ids": [str(i) for i in ids]}
        if instructions is not None:
            payload["instructions"] = instructions
        job_id = (await uow.jobs.add(tenant, scope, CONSOLIDATE, payload)).id
    result = IngestResult(episode_ids=ids, job_id=job_id)
    if idempotency_key is not None:
        await uow.idempotency.store(tenant, idempotency_key, result.to_record())
    return result


def _replay(prior: tuple[str, Mapping[str, Any]], request_hash: str) -> IngestResult:
    stored_hash, response = prior
    if stored_hash != request_hash:
        raise Conflict("this Idempotency-Key was already used with a different request body")
    if not response:
        raise Conflict("a request with this Idempotency-Key is still in progress")
    return IngestResult.from_record(response)
