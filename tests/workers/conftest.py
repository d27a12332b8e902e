"""Fixtures of the worker tests: a private Redis, and a folder for worker logs."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.workers.test_celery_worker import REDIS, RedisServer


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    if REDIS is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def logdir() -> Iterator[Path]:
    path = ROOT / ".memory-data-test" / f"worker-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)
