"""The Celery app: Redis broker, late acks, a beat schedule for the sweeper, and a
result store used only by Full Deliberation's chunks.

Creating it connects to nothing; workers start with ``memory-service worker``.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from memory_service.config import Settings
from workers import runtime
from workers.chunks import DELIBERATE_CHUNK, DELIBERATION_QUEUE


def make_app(settings: Settings, *, current: bool = True) -> Celery:
    """The app; ``current=False`` leaves Celery's current app alone (a second app in a
    process, e.g. the API's for deliberation chunks).

    Results are kept only for the tasks that ask for them (the deliberation chunks, in
    the result backend, for an hour); job tasks report through the jobs table.
    """
    broker = settings.broker_url or "redis://127.0.0.1:6379/0"
    app = Celery(
        "memory_service",
        broker=broker,
        backend=settings.result_backend_url or broker,
        include=["workers.tasks"],
        set_as_current=current,
    )
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="memory",
        task_routes={DELIBERATE_CHUNK: {"queue": DELIBERATION_QUEUE}},
        task_ignore_result=True,
        result_expires=3600,
        # A result store that is down fails a search's send in about a second (it then
        # reads in process), not after Celery's default 20 reconnection attempts.
        result_backend_transport_options={
            "retry_policy": {
                "max_retries": 2,
                "interval_start": 0,
                "interval_step": 0.2,
                "interval_max": 0.5,
            }
        },
        redis_socket_connect_timeout=2,
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
