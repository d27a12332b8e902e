"""Tests here call the runner's ``main`` in process: it configures logging on the
stream pytest captures, which is closed by the time the embedded PostgreSQL's exit
hook logs. The root logger's handlers are put back after each test."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
