"""The Celery app: Redis broker, late acks, a beat schedule for the sweeper, and a
result store used only by Full Deliberation's chunks.

Creating it connects to nothing; workers start with ``memory-service worker``. The
service builds its apps from the Settings it was given (:func:`make_app`); the
module-level ``app`` exists only for Celery's own command line (``celery -A
workers.celery_app ...``), built from the environment on first access.
"""

from __future__ import annotations

from functools import cache

from celery import Celery

from memory_service.config import Settings
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


@cache
def _cli_app() -> Celery:
    return make_app(Settings())


def __getattr__(name: str) -> Celery:
    """``app``: Celery's command line looks it up here; the service never does."""
    if name == "app":
        return _cli_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
