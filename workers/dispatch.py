"""Getting committed jobs to a worker: Celery on Redis, or an in-process worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from uuid import UUID

from memory_service.domain.errors import DatabaseUnavailable
from memory_service.services.consolidate import Consolidator
from workers.jobs import cause, run_job

if TYPE_CHECKING:
    from memory_service.bootstrap import Components

log = logging.getLogger(__name__)
RUN_JOB = "memory.run_job"


class CeleryDispatcher:
    """Publishes one ``memory.run_job`` message per job. A broker that is down loses
    nothing: the job stays queued in PostgreSQL and the sweeper sends it again."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def _send(self, job_ids: Sequence[UUID]) -> None:
        from kombu.exceptions import OperationalError
        from redis.exceptions import RedisError

        for job_id in job_ids:
            try:
                self._app.send_task(
                    RUN_JOB,
                    args=[str(job_id)],
                    ignore_result=True,  # its outcome is in the jobs table, not the result store
                    retry=True,
                    retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
                )
            except (OperationalError, RedisError, OSError) as exc:
                log.warning("broker unavailable, job %s waits for the sweeper: %s", job_id, exc)

    async def dispatch(self, job_ids: Sequence[UUID]) -> None:
        if job_ids:
            await asyncio.to_thread(self._send, list(job_ids))


class InProcessWorker:
    """Runs jobs in the API's own event loop when no broker is configured, fed from the
    same jobs table: woken by each commit, and polling so nothing waits forever. Jobs
    that its own jobs add wake it too."""

    def __init__(
        self, components: Components, consolidator: Consolidator, *, poll_s: float = 2.0
    ) -> None:
        self._components = replace(components, dispatcher=self)
        self._consolidator = consolidator
        self._poll_s = poll_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.completed = 0

    async def dispatch(self, job_ids: Sequence[UUID]) -> None:
        if job_ids:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="memory-in-process-worker")

    async def stop(self) -> None:
        """Stop after the job in hand. The flag, not only the cancellation, ends the loop:
        a cancellation that lands inside a database call can come back as the driver's
        error, which ``run_job`` takes for a lost connection (the job is retried later),
        and the loop would go on draining, and ``serve`` never exit."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def drain(self) -> int:
        """Run every runnable job now; returns how many ran (for tests and evals)."""
        ran = 0
        while not self._stopping and (batch := await self._runnable()):
            for job_id in batch:
                if self._stopping:
                    break
                await run_job(self._components, self._consolidator, job_id)
                ran += 1
        return ran

    async def _runnable(self) -> list[UUID]:
        settings = self._components.settings
        async with self._components.uow() as uow:
            return await uow.jobs.runnable(stale_after_s=settings.job_stale_after_s, limit=20)

    async def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                self.completed += await self.drain()
            except DatabaseUnavailable as exc:  # keep serving: the jobs wait in the table
                log.warning("in-process worker: database unavailable (%s)", cause(exc))
            except Exception:  # entrypoint: this loop must outlive any one failure
                log.exception("in-process worker: unexpected error; retrying after a pause")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_s)
