"""The fake unit of work: every repository over one in-memory store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from types import TracebackType

from memory_service.fake_store._entities import FakeEntities
from memory_service.fake_store._episodes import FakeEpisodes
from memory_service.fake_store._jobs import FakeJobs
from memory_service.fake_store._memories import FakeMemories
from memory_service.fake_store._records import (
    FakeFeedback,
    FakeIdempotency,
    FakeRetrievalLog,
    FakeScopes,
)
from memory_service.fake_store._tables import FakeStore, HeldLocks
from memory_service.fake_store._tenants import FakeTenants
from memory_service.fake_store._transfer import FakeTransfer


class FakeUnitOfWork:
    """A :class:`~memory_service.ports.UnitOfWork` in memory, deterministic, for tests
    that need no PostgreSQL: every repository of the port, with the contracts of
    ``memory_service.db`` (tenant and scope filters, orderings, cascades).

    Units of work built over one ``store`` share its rows, as transactions share a
    database. ``now`` (default: the store's clock) is the time every row written here
    carries, as PostgreSQL's ``now()`` is the transaction's start. Where it is not
    PostgreSQL:

    - writes are visible at once and there is no rollback (``flush`` has nothing to
      do); nothing is isolated between units of work;
    - full text matches any query word and ranks by word overlap, not ``ts_rank_cd``
      (no stemming; see ``memory_service.fake_store._text``); vector search is exact;
    - a broken constraint raises the core's errors (``Conflict`` for a duplicate,
      ``NotFound`` for a missing parent), not the driver's ``IntegrityError``;
    - ``async with FakeUnitOfWork(store) as uow:`` is a transaction for locks: the row
      and advisory locks it takes (``memories.get(for_update=True)``, ``jobs.lock``,
      ``jobs.lock_scope``) are held until the block ends, and another unit of work
      taking one waits, as in PostgreSQL. Used without ``async with``, a unit of work
      lets a lock go as soon as it has it (so sequential tests never wait).

    ``retrievals.records`` lists what this unit of work logged; ``jobs.created`` is
    its outbox. It lends ``spare`` units of work over the same store to read beside it
    (``beside``; none by default, as a writing transaction lends none).
    """

    def __init__(
        self, store: FakeStore | None = None, *, now: datetime | None = None, spare: int = 0
    ) -> None:
        self.store = store if store is not None else FakeStore()
        self.now = now if now is not None else self.store.clock()
        self.spare = spare
        """How many units of work it lends at a time to read beside it (``beside``)."""
        self.lent = 0
        self._locks = HeldLocks(self.store)
        self.episodes = FakeEpisodes(self.store, self.now)
        self.memories = FakeMemories(self.store, self.now, self._locks)
        self.jobs = FakeJobs(self.store, self.now, self._locks)
        self.idempotency = FakeIdempotency(self.store, self.now)
        self.retrievals = FakeRetrievalLog(self.store, self.now)
        self.scopes = FakeScopes(self.store)
        self.tenants = FakeTenants(self.store, self.now)
        self.entities = FakeEntities(self.store, self.now)
        self.feedback = FakeFeedback(self.store, self.now)
        self.transfer = FakeTransfer(self.store, self.now)

    async def flush(self) -> None:
        """Nothing to send: the fake's writes are in the store already."""

    @asynccontextmanager
    async def beside(self) -> AsyncIterator[FakeUnitOfWork | None]:
        """Another unit of work over the same store (up to ``spare`` at a time), else
        None."""
        if self.lent >= self.spare:
            yield None
            return
        self.lent += 1
        try:
            async with FakeUnitOfWork(self.store, now=self.now) as other:
                yield other
        finally:
            self.lent -= 1

    def close(self) -> None:
        """End the transaction: release the locks it holds."""
        self._locks.release()
        self._locks.open = False

    async def __aenter__(self) -> FakeUnitOfWork:
        self._locks.open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
