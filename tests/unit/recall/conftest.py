"""Fixtures of the read path's unit tests: a fresh fake unit of work per test."""

from __future__ import annotations

import pytest

from memory_service.fake_store import FakeStore, FakeUnitOfWork
from tests.unit.recall.factories import NOW


@pytest.fixture
def store() -> FakeStore:
    return FakeStore(seed=7, clock=lambda: NOW)


@pytest.fixture
def uow(store: FakeStore) -> FakeUnitOfWork:
    return FakeUnitOfWork(store)
