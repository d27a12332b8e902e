"""Jobs in memory, with the contracts of ``memory_service.db.jobs``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from memory_service.domain.models import Job, JobState, Scope
from memory_service.fake_store._tables import (
    FakeStore,
    HeldLocks,
    JobRow,
    decode_cursor,
    encode_cursor,
    in_scope,
    plain_json,
)

STATES: tuple[JobState, ...] = ("queued", "running", "done", "failed")


class FakeJobs:
    """Job rows; ``created`` lists the jobs added in this unit of work (the outbox).
    Times compare with the unit of work's ``now``; ``lock`` and ``lock_scope`` hold
    until its ``async with`` block ends."""

    def __init__(self, store: FakeStore, now: datetime, locks: HeldLocks) -> None:
        self._db = store
        self._now = now
        self._locks = locks
        self.created: list[UUID] = []

    def _ago(self, seconds: float) -> datetime:
        return self._now - timedelta(seconds=seconds)

    def _set(self, job_id: UUID, **values: Any) -> None:
        row = self._db.jobs.get(job_id)
        if row is None:
            return
        for name in ("run_after", "started_at", "finished_at"):
            if name in values:
                setattr(row, name, values.pop(name))
        row.job = replace(row.job, updated_at=self._now, **values)

    def _oldest_first(self, rows: list[JobRow], limit: int) -> list[UUID]:
        return [r.job.id for r in sorted(rows, key=lambda r: (r.job.created_at, r.seq))][:limit]

    def _startable(self, row: JobRow, stale_after_s: float) -> bool:
        job = row.job
        return (job.state == "queued" and row.run_after <= self._now) or (
            job.state == "running" and job.updated_at < self._ago(stale_after_s)
        )

    async def add(self, tenant: UUID, scope: Scope, kind: str, payload: Mapping[str, Any]) -> Job:
        job = Job(
            id=self._db.new_id(),
            tenant_id=tenant,
            scope=scope,
            kind=kind,
            payload=plain_json(payload),
            state="queued",
            attempts=0,
            last_error=None,
            created_at=self._now,
            updated_at=self._now,
        )
        self._db.jobs[job.id] = JobRow(self._db.next_seq(), job, run_after=self._now)
        self.created.append(job.id)
        return job

    async def get(self, tenant: UUID, job_id: UUID) -> Job | None:
        row = self._db.jobs.get(job_id)
        return row.job if row is not None and row.job.tenant_id == tenant else None

    async def page(
        self,
        tenant: UUID,
        scope: Scope,
        *,
        state: JobState | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Job], str | None]:
        """The tenant's jobs of ``scope`` (and ``state``), newest first."""
        found = [
            r.job
            for r in self._db.jobs.values()
            if in_scope(r.job.tenant_id, r.job.scope, tenant, scope)
            and (state is None or r.job.state == state)
        ]
        found.sort(key=lambda j: (j.created_at, j.id), reverse=True)
        if cursor:
            before = decode_cursor(cursor, lambda last: UUID(str(last)))
            found = [j for j in found if (j.created_at, j.id) < before]
        more = len(found) > limit
        found = found[:limit]
        next_cursor = encode_cursor(found[-1].created_at, str(found[-1].id)) if more else None
        return found, next_cursor

    async def start(self, job_id: UUID, *, stale_after_s: float) -> Job | None:
        """Mark a job running (one more attempt) if it is queued and due, or running
        but stale. None when it is done, failed, not due, or alive elsewhere."""
        row = self._db.jobs.get(job_id)
        if row is None or not self._startable(row, stale_after_s):
            return None
        self._set(job_id, state="running", attempts=row.job.attempts + 1, started_at=self._now)
        return row.job

    async def lock(self, job_id: UUID) -> Job | None:
        """The job, its row locked until this unit of work's transaction ends."""
        row = self._db.jobs.get(job_id)
        if row is None:
            return None
        await self._locks.take(f"job:{job_id}")
        return self._db.jobs[job_id].job if job_id in self._db.jobs else None

    async def lock_scope(self, tenant: UUID, scope: Scope) -> None:
        """Serialise work on one scope until this unit of work's transaction ends."""
        await self._locks.take(f"{tenant}:{scope.user_id}:{scope.agent_id}:{scope.session_id}")

    async def finish(self, job_id: UUID) -> None:
        self._set(job_id, state="done", finished_at=self._now, last_error=None)

    async def fail(self, job_id: UUID, error: str, *, retry_in_s: float | None) -> None:
        """Queue again after ``retry_in_s``, or fail for good when it is None."""
        if retry_in_s is None:
            self._set(job_id, state="failed", finished_at=self._now, last_error=error)
        else:
            later = self._now + timedelta(seconds=retry_in_s)
            self._set(job_id, state="queued", run_after=later, last_error=error)

    async def runnable(self, *, stale_after_s: float, limit: int) -> list[UUID]:
        """Jobs a worker may start now (every tenant's), oldest first."""
        rows = [r for r in self._db.jobs.values() if self._startable(r, stale_after_s)]
        return self._oldest_first(rows, limit)

    async def stale(self, *, older_than_s: float, limit: int) -> list[UUID]:
        """Queued or running jobs, due, untouched for ``older_than_s``; oldest first."""
        rows = [
            r
            for r in self._db.jobs.values()
            if r.job.state in ("queued", "running")
            and r.run_after <= self._now
            and r.job.updated_at < self._ago(older_than_s)
        ]
        return self._oldest_first(rows, limit)

    async def counts(self) -> dict[str, int]:
        found = [r.job.state for r in self._db.jobs.values()]
        return {state: found.count(state) for state in STATES}
