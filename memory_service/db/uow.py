"""The unit of work: every repository over one AsyncSession."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from memory_service.db.entities import SqlEntities
from memory_service.db.episodes import SqlEpisodes
from memory_service.db.jobs import SqlJobs
from memory_service.db.memories import SqlMemories
from memory_service.db.records import SqlFeedback, SqlIdempotency, SqlRetrievalLog, SqlScopes
from memory_service.db.session import UNREACHABLE, enter_tenant
from memory_service.db.tenants import SqlTenants
from memory_service.db.transfer import SqlTransfer
from memory_service.domain.errors import DatabaseUnavailable


class SqlUnitOfWork:
    """Repositories sharing one transaction; the entrypoint commits or rolls back."""

    def __init__(self, session: AsyncSession, *, ef_search: int = 100) -> None:
        self.session = session
        self.episodes = SqlEpisodes(session, ef_search=ef_search)
        self.memories = SqlMemories(session, ef_search=ef_search)
        self.jobs = SqlJobs(session)
        self.idempotency = SqlIdempotency(session)
        self.retrievals = SqlRetrievalLog(session)
        self.scopes = SqlScopes(session)
        self.tenants = SqlTenants(session)
        self.entities = SqlEntities(session)
        self.feedback = SqlFeedback(session)
        self.transfer = SqlTransfer(session)

    async def flush(self) -> None:
        await self.session.flush()


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
    *,
    tenant: UUID | None = None,
    ef_search: int = 100,
) -> AsyncIterator[SqlUnitOfWork]:
    """One transaction: committed when the block ends, rolled back on error; under
    row-level security for ``tenant`` when one is given.

    The database being unreachable, whether on connecting, in the block or on
    committing, leaves as ``DatabaseUnavailable`` (nothing was committed): the one
    error every entrypoint maps, whatever the driver raised.
    """
    try:
        async with sessions() as session, session.begin():
            if tenant is not None:
                await enter_tenant(session, tenant)
            yield SqlUnitOfWork(session, ef_search=ef_search)
    except UNREACHABLE as exc:
        raise DatabaseUnavailable(
            f"the database is unavailable ({type(exc).__name__}); retry shortly"
        ) from exc
