"""The unit of work: every repository over one AsyncSession."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.db.entities import SqlEntities
from memory_service.db.episodes import SqlEpisodes
from memory_service.db.jobs import SqlJobs
from memory_service.db.memories import SqlMemories
from memory_service.db.records import SqlFeedback, SqlIdempotency, SqlRetrievalLog, SqlScopes
from memory_service.db.tenants import SqlTenants
from memory_service.db.transfer import SqlTransfer


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
