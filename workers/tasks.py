"""Celery tasks: thin shims over ``workers.jobs`` and the jobs table.

Shared tasks: they belong to whichever app the worker runs (``make_app(settings)``
includes this module), not to an app built here.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from celery import shared_task
from celery.signals import worker_process_init

from memory_service.bootstrap import Components
from memory_service.domain.errors import ConfigurationError
from memory_service.domain.models import ChatMessage
from memory_service.ports import metrics
from memory_service.services.consolidate import Consolidator
from workers import runtime
from workers.chunks import DELIBERATE_CHUNK, completion_to_dict
from workers.dispatch import RUN_JOB
from workers.jobs import Outcome, run_job

log = logging.getLogger(__name__)


@worker_process_init.connect
def _fresh_state(**_: Any) -> None:
    # A forked child must not reuse the parent's event loop or connections.
    runtime.reset()


@shared_task(name=RUN_JOB, acks_late=True, reject_on_worker_lost=True)
def run_job_task(job_id: str) -> str:
    """Run one job; a transient failure is queued again in the table and re-sent later."""
    target = UUID(job_id)

    async def go(components: Components, consolidator: Consolidator) -> Outcome:
        return await run_job(components, consolidator, target)

    outcome = runtime.run(go)
    if outcome.retry_in_s is not None:
        run_job_task.apply_async((job_id,), countdown=outcome.retry_in_s)
    return outcome.state


@shared_task(name="memory.sweep")
def sweep() -> int:
    """Re-send jobs whose message was lost (broker restart) or whose worker died."""

    async def stale(components: Components, _: Consolidator) -> list[UUID]:
        async with components.uow() as uow:
            return await uow.jobs.stale(
                older_than_s=components.settings.job_stale_after_s, limit=500
            )

    job_ids = runtime.run(stale)
    for job_id in job_ids:
        run_job_task.delay(str(job_id))
    if job_ids:
        log.info("sweeper re-sent %d jobs", len(job_ids))
    return len(job_ids)


@shared_task(name=DELIBERATE_CHUNK, ignore_result=False, acks_late=False)
def deliberate_chunk(prompt: str, max_tokens: int) -> dict[str, Any]:
    """One chunk of Full Deliberation, read by this worker's LLM; the completion as a
    plain dict. At most once: a search waits only its time budget, never for a retry."""
    llm = runtime.llm()
    if llm is None:
        raise ConfigurationError("this worker has no LLM: set MEMORY_LLM_MODEL")
    with metrics.purpose("deliberation"):
        out = runtime.loop().run_until_complete(
            llm.complete([ChatMessage("user", prompt)], max_tokens=max_tokens)
        )
    return completion_to_dict(out)
