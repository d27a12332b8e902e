"""The Celery app: Redis broker, late acks, and a beat schedule for the sweeper.

Creating it connects to nothing; workers start with ``memory-service worker``.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from memory_service.config import Settings
from workers import runtime


def make_app(settings: Settings) -> Celery:
    app = Celery(
        "memory_service",
        broker=settings.broker_url or "redis://127.0.0.1:6379/0",
        include=["workers.tasks"],
    )
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="memory",
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        beat_schedule={
            "sweep-stale-jobs": {"task": "memory.sweep", "schedule": settings.job_sweep_interval_s}
        },
    )
    return app


app = make_app(Settings())


@worker_process_init.connect
def _fresh_state(**_: Any) -> None:
    # A forked child must not reuse the parent's event loop or connections.
    runtime.reset()
