"""Running one job: claim it, do it in one transaction with its completion, or fail it.

Shared by the Celery tasks and the in-process worker, so both behave the same.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from uuid import UUID

from memory_service.domain.errors import (
    DatabaseUnavailable,
    EmbedderMismatch,
    UpstreamUnavailable,
)
from memory_service.ports import metrics
from memory_service.services.consolidate import Consolidator, consolidate
from memory_service.services.ingest import CONSOLIDATE

if TYPE_CHECKING:
    from memory_service.bootstrap import Components

log = logging.getLogger(__name__)
State = Literal["done", "skipped", "retry", "failed"]


@dataclass(frozen=True, slots=True)
class Outcome:
    state: State
    retry_in_s: float | None = None


def backoff_s(attempt: int, base_s: float) -> float:
    """Exponential backoff: base, 2·base, 4·base, ... capped at five minutes."""
    return float(min(base_s * 2 ** max(attempt - 1, 0), 300.0))


async def run_job(components: Components, consolidator: Consolidator, job_id: UUID) -> Outcome:
    """Run ``job_id`` once. Idempotent: a job already done, or running elsewhere and
    alive, is skipped; the work and the "done" mark commit together or not at all."""
    settings = components.settings
    async with components.uow() as uow:
        job = await uow.jobs.start(job_id, stale_after_s=settings.job_stale_after_s)
    if job is None:
        return Outcome("skipped")
    try:
        async with components.uow(tenant=job.tenant_id) as uow:
            current = await uow.jobs.lock(job_id)
            if current is None or current.state != "running" or current.attempts != job.attempts:
                return Outcome("skipped")  # finished, or taken over by a later attempt
            if job.kind != CONSOLIDATE:
                raise ValueError(f"unknown job kind {job.kind!r}")
            await uow.jobs.lock_scope(job.tenant_id, job.scope)
            started = time.perf_counter()
            with metrics.purpose("consolidate"):
                report = await consolidate(uow, consolidator, job)
            metrics.consolidation(time.perf_counter() - started)
            await uow.jobs.finish(job_id)
        log.info("job %s done: %s", job_id, report)
        return Outcome("done")
    except DatabaseUnavailable as exc:
        # The database went away mid-job: nothing was committed, and the job row cannot
        # be updated now. It stays "running", goes stale, and is picked up again.
        log.warning("job %s interrupted by the database: %s", job_id, cause(exc))
        return Outcome("retry", settings.job_stale_after_s)
    except EmbedderMismatch as exc:
        # This worker's embedder is not the tenant's (a reembed switched it, or the worker
        # is misconfigured): the job waits, however long, for a worker that has it.
        log.warning("job %s waits for another embedder: %s", job_id, exc.detail)
        await _fail(
            components, job_id, f"EmbedderMismatch: {exc.detail}", settings.job_stale_after_s
        )
        return Outcome("retry", settings.job_stale_after_s)
    except UpstreamUnavailable as exc:
        retry = (
            backoff_s(job.attempts, settings.job_retry_base_s)
            if job.attempts < settings.job_max_attempts
            else None
        )
        await _fail(components, job_id, f"UpstreamUnavailable: {exc.detail}", retry)
        return Outcome("retry", retry) if retry is not None else Outcome("failed")
    except Exception as exc:  # entrypoint: a poison job fails for good; the others go on
        log.exception("job %s failed", job_id)
        await _fail(components, job_id, f"{type(exc).__name__}: {exc}", None)
        return Outcome("failed")


def cause(exc: BaseException) -> str:
    """The class name of what the driver raised under a domain error (or of ``exc``)."""
    return type(exc.__cause__ or exc).__name__


async def _fail(components: Components, job_id: UUID, error: str, retry: float | None) -> None:
    async with components.uow() as uow:
        await uow.jobs.fail(job_id, error[:2000], retry_in_s=retry)
