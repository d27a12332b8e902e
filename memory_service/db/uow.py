"""The unit of work: every repository over one AsyncSession."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from memory_service.db.entities import SqlEntities
from memory_service.db.episodes import SqlEpisodes
from memory_service.db.filters import DEFAULT_TUNING, SearchTuning
from memory_service.db.jobs import SqlJobs
from memory_service.db.memories import SqlMemories
from memory_service.db.records import (
    SqlFeedback,
    SqlIdempotency,
    SqlRetrievalLog,
    SqlScopes,
)
from memory_service.db.session import UNREACHABLE, enter_tenant, unreachable
from memory_service.db.tenants import SqlTenants
from memory_service.db.transfer import SqlTransfer
from memory_service.domain.errors import DatabaseUnavailable
from memory_service.ports import RetrievalLog


@dataclass
class Lanes:
    """Connections a process lends its reads beside their own transaction (a search's
    candidate lists, read at once): at most ``spare`` at a time, in the whole process.
    Taken without waiting, or not at all: a search that finds none reads on its own
    connection, so the pool can never run dry of connections that searches wait on."""

    sessions: async_sessionmaker[AsyncSession]
    spare: int
    taken: int = 0

    def take(self) -> bool:
        if self.taken >= self.spare:
            return False
        self.taken += 1
        return True

    def give(self) -> None:
        self.taken -= 1


class SqlUnitOfWork:
    """Repositories sharing one transaction; the entrypoint commits or rolls back."""

    def __init__(
        self,
        session: AsyncSession,
        *,
        tuning: SearchTuning = DEFAULT_TUNING,
        retrievals: RetrievalLog | None = None,
        tenant: UUID | None = None,
        lanes: Lanes | None = None,
    ) -> None:
        self.session = session
        self._tenant = tenant
        self._tuning = tuning
        self._lanes = lanes
        self.episodes = SqlEpisodes(session, tuning)
        self.memories = SqlMemories(session, tuning)
        self.jobs = SqlJobs(session)
        self.idempotency = SqlIdempotency(session)
        self.retrievals: RetrievalLog = retrievals or SqlRetrievalLog(session)
        self.scopes = SqlScopes(session)
        self.tenants = SqlTenants(session)
        self.entities = SqlEntities(session)
        self.feedback = SqlFeedback(session)
        self.transfer = SqlTransfer(session)

    async def flush(self) -> None:
        await self.session.flush()

    @asynccontextmanager
    async def beside(self) -> AsyncIterator[SqlUnitOfWork | None]:
        """Another unit of work to read beside this one: a read-only transaction of its
        own, on a connection of its own, under the same tenant; None when the process
        has no connection to spare, or this unit of work lends none (it may write, and
        a read beside it would not see its writes)."""
        lanes, tenant = self._lanes, self._tenant
        if lanes is None or tenant is None or not lanes.take():
            yield None
            return
        try:
            async with transaction(
                lanes.sessions,
                tenant=tenant,
                tuning=self._tuning,
                read_only=True,
                vector_scan=True,
            ) as other:
                yield other
        finally:
            lanes.give()


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
    *,
    tenant: UUID | None = None,
    tuning: SearchTuning = DEFAULT_TUNING,
    read_only: bool = False,
    retrievals: RetrievalLog | None = None,
    lanes: Lanes | None = None,
    vector_scan: bool = False,
) -> AsyncIterator[SqlUnitOfWork]:
    """One transaction: committed when the block ends, rolled back on error; under
    row-level security for ``tenant`` when one is given; ``read_only``: a READ ONLY
    transaction (a write in it fails), with the retrieval log ``retrievals`` if given;
    ``lanes``: the connections its reads may borrow (``SqlUnitOfWork.beside``);
    ``vector_scan`` (read-only, under a tenant): the vector lists' settings sent with
    its first statement (a search's lane: a round trip less before a vector list).

    The database being unreachable, whether on connecting, in the block or on
    committing, leaves as ``DatabaseUnavailable``: the one error every entrypoint maps,
    whatever the driver raised. Lost before the commit, nothing was committed; lost
    during it, the outcome is unknown, and the client's retry with the same idempotency
    key settles it.
    """
    try:
        async with sessions() as session, session.begin():
            if tenant is not None:
                scan = tuning.ef_search if vector_scan else 0
                await enter_tenant(session, tenant, read_only=read_only, vector_scan=scan)
            elif read_only:
                await session.execute(_READ_ONLY)
            yield SqlUnitOfWork(
                session, tuning=tuning, retrievals=retrievals, tenant=tenant, lanes=lanes
            )
    except UNREACHABLE as exc:
        if not unreachable(exc):
            raise
        raise DatabaseUnavailable(
            f"the database is unavailable ({type(exc).__name__}); retry shortly"
        ) from exc


_READ_ONLY = text("SET TRANSACTION READ ONLY")


@asynccontextmanager
async def replica_transaction(
    replica: async_sessionmaker[AsyncSession],
    primary: async_sessionmaker[AsyncSession],
    *,
    tenant: UUID,
    tuning: SearchTuning = DEFAULT_TUNING,
    lanes: Lanes | None = None,
) -> AsyncIterator[SqlUnitOfWork]:
    """A read-only transaction on the replica, under row-level security for ``tenant``.

    The searches it logs are kept (with their ids, which the results already carry) and
    written on ``primary`` when the block ends, in a short transaction of their own, so
    that feedback finds them there. Either database being unreachable leaves as
    ``DatabaseUnavailable``: a search whose log could not be written is not answered.
    """
    log = SqlRetrievalLog.pending()
    async with transaction(
        replica,
        tenant=tenant,
        tuning=tuning,
        read_only=True,
        retrievals=log,
        lanes=lanes,
    ) as uow:
        yield uow
    if log.rows:
        async with transaction(primary, tenant=tenant) as written:
            await log.write(written.session)
