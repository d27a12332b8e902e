"""The jobs table: the outbox, and the source of truth for every job's state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import func, insert, or_, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.db.filters import decode_cursor, encode_cursor, scope_filters
from memory_service.db.models import JobRow, table_of
from memory_service.domain.models import Job, JobState, Scope


def _job(row: Any) -> Job:
    return Job(
        id=row.id,
        tenant_id=row.tenant_id,
        scope=Scope(row.user_id, row.agent_id, row.session_id),
        kind=row.kind,
        payload=row.payload,
        state=row.state,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _ago(seconds: float) -> Any:
    return func.now() - text(f"interval '{float(seconds)} seconds'")


class SqlJobs:
    """Job rows. ``created`` lists the jobs added in this unit of work: the outbox
    that the entrypoint dispatches once the transaction has committed."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session
        self.created: list[UUID] = []

    async def add(self, tenant: UUID, scope: Scope, kind: str, payload: Mapping[str, Any]) -> Job:
        table = table_of(JobRow)
        values = {
            "id": uuid4(),
            "tenant_id": tenant,
            "user_id": scope.user_id,
            "agent_id": scope.agent_id,
            "session_id": scope.session_id,
            "kind": kind,
            "payload": dict(payload),
        }
        row = (await self._s.execute(insert(table).values(values).returning(*table.c))).one()
        self.created.append(row.id)
        return _job(row)

    async def get(self, tenant: UUID, job_id: UUID) -> Job | None:
        stmt = select(JobRow).where(JobRow.tenant_id == tenant, JobRow.id == job_id)
        row = (await self._s.execute(stmt)).scalar_one_or_none()
        return _job(row) if row else None

    async def page(
        self,
        tenant: UUID,
        scope: Scope,
        *,
        state: JobState | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Job], str | None]:
        """The tenant's jobs of ``scope`` (and ``state``), newest first: ``(created_at,
        id)`` descending, keyset-paged (``ix_jobs_tenant`` reads them in that order)."""
        clauses = scope_filters(JobRow, tenant, scope)
        if state is not None:
            clauses.append(JobRow.state == state)
        if cursor:
            moment, job_id = decode_cursor(cursor, lambda last: UUID(str(last)))
            clauses.append(tuple_(JobRow.created_at, JobRow.id) < tuple_(moment, job_id))
        stmt = (
            select(JobRow)
            .where(*clauses)
            .order_by(JobRow.created_at.desc(), JobRow.id.desc())
            .limit(limit + 1)
        )
        rows = list((await self._s.execute(stmt)).scalars())
        more = len(rows) > limit
        jobs = [_job(r) for r in rows[:limit]]
        next_cursor = encode_cursor(jobs[-1].created_at, str(jobs[-1].id)) if more else None
        return jobs, next_cursor

    async def start(self, job_id: UUID, *, stale_after_s: float) -> Job | None:
        """Mark a job running (one more attempt) if it is queued, or running but stale
        (its worker died). None when it is done, failed, or alive elsewhere."""
        table = table_of(JobRow)
        stmt = (
            update(table)
            .where(
                table.c.id == job_id,
                or_(
                    (table.c.state == "queued") & (table.c.run_after <= func.now()),
                    (table.c.state == "running") & (table.c.updated_at < _ago(stale_after_s)),
                ),
            )
            .values(
                state="running",
                attempts=table.c.attempts + 1,
                started_at=func.now(),
                updated_at=func.now(),
            )
            .returning(*table.c)
        )
        row = (await self._s.execute(stmt)).one_or_none()
        return _job(row) if row else None

    async def lock(self, job_id: UUID) -> Job | None:
        """The job row, locked until this transaction ends (``FOR UPDATE``)."""
        stmt = select(JobRow).where(JobRow.id == job_id).with_for_update()
        row = (await self._s.execute(stmt)).scalar_one_or_none()
        return _job(row) if row else None

    async def lock_scope(self, tenant: UUID, scope: Scope) -> None:
        """Serialise consolidation per scope until this transaction ends (advisory lock),
        so two jobs of one scope never decide against the same memories at once."""
        key = f"{tenant}:{scope.user_id}:{scope.agent_id}:{scope.session_id}"
        await self._s.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))

    async def finish(self, job_id: UUID) -> None:
        await self._set(job_id, state="done", finished_at=func.now(), last_error=None)

    async def fail(self, job_id: UUID, error: str, *, retry_in_s: float | None) -> None:
        """Queue again after ``retry_in_s``, or fail for good when it is None."""
        if retry_in_s is None:
            await self._set(job_id, state="failed", finished_at=func.now(), last_error=error)
        else:
            run_after = func.now() + text(f"interval '{float(retry_in_s)} seconds'")
            await self._set(job_id, state="queued", run_after=run_after, last_error=error)

    async def runnable(self, *, stale_after_s: float, limit: int) -> list[UUID]:
        """Jobs a worker may start now: queued and due, or running but stale; oldest first."""
        stmt = (
            select(JobRow.id)
            .where(
                or_(
                    (JobRow.state == "queued") & (JobRow.run_after <= func.now()),
                    (JobRow.state == "running") & (JobRow.updated_at < _ago(stale_after_s)),
                )
            )
            .order_by(JobRow.created_at)
            .limit(limit)
        )
        return list((await self._s.execute(stmt)).scalars())

    async def stale(self, *, older_than_s: float, limit: int) -> list[UUID]:
        """Jobs whose dispatch was lost (queued, due, untouched for ``older_than_s``) or
        whose worker died (running, untouched as long). Dispatching one twice is
        harmless: :meth:`start` lets only one run begin."""
        stmt = (
            select(JobRow.id)
            .where(
                or_(JobRow.state == "queued", JobRow.state == "running"),
                JobRow.run_after <= func.now(),
                JobRow.updated_at < _ago(older_than_s),
            )
            .order_by(JobRow.created_at)
            .limit(limit)
        )
        return list((await self._s.execute(stmt)).scalars())

    async def counts(self) -> dict[str, int]:
        stmt = select(JobRow.state, func.count()).group_by(JobRow.state)
        found = {state: int(n) for state, n in (await self._s.execute(stmt)).all()}
        return {state: found.get(state, 0) for state in ("queued", "running", "done", "failed")}

    async def _set(self, job_id: UUID, **values: Any) -> None:
        table = table_of(JobRow)
        await self._s.execute(
            update(table).where(table.c.id == job_id).values(updated_at=func.now(), **values)
        )
