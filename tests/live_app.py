"""The app that the blocking client's tests run under uvicorn, in a process of its own.

Configured from ``MEMORY_*`` environment variables set by the ``server_url`` fixture.
No in-process worker: jobs stay queued, so nothing races the per-test cleanup.
"""

from __future__ import annotations

from fastapi import FastAPI

from memory_service.api.app import create_app


def create() -> FastAPI:
    return create_app(background=False)
