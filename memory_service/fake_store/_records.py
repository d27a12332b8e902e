"""Idempotency keys, the retrieval log, feedback and forgetting a scope, in memory, with
the contracts of ``memory_service.db.records``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from memory_service.domain.errors import NotFound
from memory_service.domain.models import RetrievalRecord, Scope, ScopeSummary, SearchQuery
from memory_service.fake_store._tables import (
    FakeStore,
    FeedbackRow,
    IdempotencyRow,
    RetrievalRow,
    decode_cursor,
    encode_cursor,
    in_scope,
    plain_json,
)


class FakeIdempotency:
    def __init__(self, store: FakeStore, now: datetime) -> None:
        self._db = store
        self._now = now

    async def claim(
        self, tenant: UUID, key: str, request_hash: str, user_id: str | None
    ) -> tuple[str, Mapping[str, Any]] | None:
        """Reserve ``key``; return ``(request_hash, response)`` when it was used before."""
        row = self._db.idempotency.get((tenant, key))
        if row is not None:
            return row.request_hash, row.response
        self._db.idempotency[(tenant, key)] = IdempotencyRow(request_hash, {}, user_id, self._now)
        return None

    async def store(self, tenant: UUID, key: str, response: Mapping[str, Any]) -> None:
        row = self._db.idempotency.get((tenant, key))
        if row is not None:
            row.response = plain_json(response)


class FakeRetrievalLog:
    """Every search logged; ``records`` are the rows this unit of work logged, in order."""

    def __init__(self, store: FakeStore, now: datetime) -> None:
        self._db = store
        self._now = now
        self.records: list[RetrievalRow] = []

    async def record(
        self,
        tenant: UUID,
        query: SearchQuery,
        *,
        request: Mapping[str, Any],
        stages: Mapping[str, Any],
        gate: Mapping[str, Any] | None = None,
        route: str,
        results: Sequence[Mapping[str, Any]],
    ) -> UUID:
        """The row as the jsonb columns would hold it (a JSON round trip)."""
        row = RetrievalRow(
            id=self._db.new_id(),
            tenant=tenant,
            scope=query.scope,
            query=query.text,
            request=plain_json(request),
            stages=plain_json(stages),
            gate=plain_json(gate) if gate is not None else None,
            route=route,
            results=[plain_json(r) for r in results],
            created_at=self._now,
        )
        self._db.retrievals[(tenant, row.id)] = row
        self.records.append(row)
        return row.id


class FakeFeedback:
    def __init__(self, store: FakeStore, now: datetime) -> None:
        self._db = store
        self._now = now

    async def retrieval(self, tenant: UUID, retrieval_id: UUID) -> RetrievalRecord | None:
        row = self._db.retrievals.get((tenant, retrieval_id))
        if row is None or row.tenant != tenant:
            return None
        items = tuple((str(r["kind"]), UUID(str(r["id"]))) for r in row.results)
        return RetrievalRecord(id=row.id, query=row.query, route=row.route, items=items)

    async def add(
        self,
        tenant: UUID,
        feedback_id: UUID,
        retrieval_id: UUID,
        reward: float,
        item_ids: Sequence[UUID],
    ) -> bool:
        """Record feedback once per id; False when this id was recorded before. The
        retrieval must exist (the foreign key), else NotFound."""
        if (tenant, feedback_id) in self._db.feedback:
            return False
        if (tenant, retrieval_id) not in self._db.retrievals:
            raise NotFound(f"retrieval {retrieval_id} not found")
        self._db.feedback[(tenant, feedback_id)] = FeedbackRow(
            feedback_id, tenant, retrieval_id, reward, list(item_ids), self._now
        )
        return True

    async def update_utilities(
        self, tenant: UUID, items: Sequence[tuple[str, UUID]], reward: float, alpha: float
    ) -> dict[UUID, float]:
        """``Q <- Q + alpha (reward - Q)`` once for each of ``tenant``'s items (an id
        named twice moves once, as one SQL UPDATE moves each row once)."""
        updated: dict[UUID, float] = {}
        for kind in ("memory", "episode"):
            for item_id in dict.fromkeys(i for k, i in items if k == kind):
                updated.update(self._learn(tenant, kind, item_id, reward, alpha))
        return updated

    def _learn(
        self, tenant: UUID, kind: str, item_id: UUID, reward: float, alpha: float
    ) -> dict[UUID, float]:
        if kind == "memory":
            memory = self._db.memories.get((tenant, item_id))
            if memory is None or memory.tenant != tenant:
                return {}
            q = memory.memory.utility
            memory.memory = replace(memory.memory, utility=q + alpha * (reward - q))
            return {item_id: memory.memory.utility}
        episode = self._db.episodes.get((tenant, item_id))
        if episode is None or episode.tenant != tenant:
            return {}
        q = episode.episode.utility
        episode.episode = replace(episode.episode, utility=q + alpha * (reward - q))
        return {item_id: episode.episode.utility}


class FakeScopes:
    def __init__(self, store: FakeStore) -> None:
        self._db = store

    async def forget(self, tenant: UUID, scope: Scope) -> dict[str, int]:
        """Delete every row of ``tenant`` matching each part ``scope`` gives (an empty
        scope: all of them), with what cascades (history, memberships, feedback);
        return counts per table. Idempotency keys go only with a user-only scope."""
        db = self._db

        def mine(row_tenant: UUID, row_scope: Scope) -> bool:
            return row_tenant == tenant and all(
                want is None or want == have
                for want, have in (
                    (scope.user_id, row_scope.user_id),
                    (scope.agent_id, row_scope.agent_id),
                    (scope.session_id, row_scope.session_id),
                )
            )

        counts = {
            "memories": db.delete_memories(
                [i for i, r in db.memories.items() if mine(r.tenant, r.memory.scope)]
            ),
            "episodes": db.delete_episodes(
                [i for i, r in db.episodes.items() if mine(r.tenant, r.episode.scope)]
            ),
            "entities": db.delete_entities(
                [i for i, r in db.entities.items() if mine(r.tenant, r.entity.scope)]
            ),
            "retrievals": db.delete_retrievals(
                [i for i, r in db.retrievals.items() if mine(r.tenant, r.scope)]
            ),
        }
        jobs = [i for i, r in db.jobs.items() if mine(r.job.tenant_id, r.job.scope)]
        for job_id in jobs:
            del db.jobs[job_id]
        keys: list[Any] = []
        if scope.agent_id is None and scope.session_id is None:
            keys = [k for k, r in db.idempotency.items() if mine(k[0], Scope(user_id=r.user_id))]
        for key in keys:
            del db.idempotency[key]
        return {**counts, "jobs": len(jobs), "idempotency_keys": len(keys)}

    async def page(
        self, tenant: UUID, scope: Scope, *, cursor: str | None, limit: int
    ) -> tuple[list[ScopeSummary], str | None]:
        """Most recently active first, then by ids (absent first, code-point order)."""
        found = sorted(self._summaries(tenant, scope), key=_scope_order)
        if cursor:
            moment, after = decode_cursor(cursor, _sort_keys)
            found = [s for s in found if _scope_order(s) > (_negated(moment), after)]
        more = len(found) > limit
        found = found[:limit]
        next_cursor = None
        if more and found[-1].last_activity is not None:
            keys = list(_scope_order(found[-1])[1])
            next_cursor = encode_cursor(found[-1].last_activity, json.dumps(keys))
        return found, next_cursor

    def _summaries(self, tenant: UUID, scope: Scope) -> list[ScopeSummary]:
        db = self._db
        counts: dict[Scope, list[Any]] = {}
        for e in db.episodes.values():
            if in_scope(e.tenant, e.episode.scope, tenant, scope):
                row = counts.setdefault(e.episode.scope, [0, 0, None])
                row[0] += 1
                row[2] = max(filter(None, (row[2], e.episode.created_at)))
        for m in db.memories.values():
            if in_scope(m.tenant, m.memory.scope, tenant, scope):
                row = counts.setdefault(m.memory.scope, [0, 0, None])
                row[1] += m.memory.status == "active"
                row[2] = max(filter(None, (row[2], m.memory.updated_at)))
        entities: dict[Scope, int] = {}
        for n in db.entities.values():
            if n.merged_into is None and in_scope(n.tenant, n.entity.scope, tenant, scope):
                entities[n.entity.scope] = entities.get(n.entity.scope, 0) + 1
        return [
            ScopeSummary(key, episodes, facts, entities.get(key, 0), at)
            for key, (episodes, facts, at) in counts.items()
        ]


def _sort_keys(value: Any) -> tuple[str, str, str]:
    parts = json.loads(value)
    if not (isinstance(parts, list) and len(parts) == 3 and all(isinstance(p, str) for p in parts)):
        raise ValueError("not a scope")
    return parts[0], parts[1], parts[2]


def _negated(moment: datetime | None) -> float:
    return -moment.timestamp() if moment is not None else float("inf")


def _scope_order(s: ScopeSummary) -> tuple[float, tuple[str, str, str]]:
    ids = (s.scope.user_id or "", s.scope.agent_id or "", s.scope.session_id or "")
    return _negated(s.last_activity), ids
