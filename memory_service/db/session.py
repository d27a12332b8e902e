"""Engine creation (asyncpg; pgvector's ``vector`` values travel in binary)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from memory_service.db.filters import VECTOR_SETTINGS, mark_vector_scan
from memory_service.db.vectors import register_binary_vectors

UNREACHABLE: tuple[type[Exception], ...] = (DBAPIError, OSError)
"""The classes a lost database may arrive as; ``unreachable`` says which instances
do (a ``DBAPIError`` may as well be a bad statement or a broken constraint)."""

CONNECTION_LOST_STATES = frozenset({"57P01", "57P02", "57P03"})
"""SQLSTATEs besides class 08 (connection exception) that mean the server is going or
not there yet: admin shutdown, crash shutdown, cannot connect now."""


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it was raised from) says the database cannot be reached:
    refused, restarting, or the connection lost, on connecting, mid-statement or at
    commit. asyncpg's ``ConnectionDoesNotExistError`` (08003, "connection was closed in
    the middle of operation") arrives as a bare ``DBAPIError``, hence the SQLSTATE and
    SQLAlchemy's ``connection_invalidated`` rather than the class alone."""
    seen = 0
    cause: BaseException | None = exc
    while cause is not None and seen < 8:
        if isinstance(cause, OperationalError | InterfaceError | OSError):
            return True
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        state = sqlstate(cause)
        if state is not None and (state.startswith("08") or state in CONNECTION_LOST_STATES):
            return True
        cause, seen = cause.__cause__, seen + 1
    return False


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error, wrapped by SQLAlchemy (``orig``) or not."""
    state = getattr(getattr(exc, "orig", None), "sqlstate", None) or getattr(exc, "sqlstate", None)
    return state if isinstance(state, str) else None


def make_engine(url: str, *, pool: bool = True, pool_size: int = 10) -> AsyncEngine:
    """An async engine; ``pool=False`` opens a connection per use (scripts, tests)."""
    kwargs: dict[str, Any] = (
        {"pool_size": pool_size, "max_overflow": pool_size} if pool else {"poolclass": NullPool}
    )
    engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "connect", _on_connect)
    event.listen(engine.sync_engine, "checkout", _on_checkout)
    return engine


def _on_connect(dbapi_connection: Any, record: Any) -> None:
    record.info["binary_vectors"] = dbapi_connection.run_async(register_binary_vectors)


def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """A pooled connection the server has closed (a restart, an idle timeout: the
    driver saw its socket close) is replaced before use: the pool opens another. This
    in place of SQLAlchemy's pre-ping, which costs three round trips (BEGIN, an empty
    query, ROLLBACK) on every checkout, four times a search. A connection lost without
    the socket closing fails its first statement, as a pinged one would hang on its
    ping; that error is ``DatabaseUnavailable`` and the pool starts afresh.

    And a connection opened before the ``vector`` type existed (the first start, before
    the migrations) gets the codec once the type is there."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")
    if not record.info.get("binary_vectors"):
        record.info["binary_vectors"] = dbapi_connection.run_async(register_binary_vectors)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def sync_url(url: str) -> str:
    """The same database through psycopg 3, for Alembic."""
    return url.replace("postgresql+asyncpg://", "postgresql+psycopg://", 1)


APP_ROLE = "memory_app"
SETUP_LOCK = 0x6D656D6F7279
"""The advisory lock that serialises setup across processes sharing one database:
migrations, and the first start's default tenant."""


async def enter_tenant(
    session: AsyncSession, tenant: UUID, *, read_only: bool = False, vector_scan: int = 0
) -> None:
    """For this transaction: act as the unprivileged role (when it exists and we may
    use it), and let row-level security see only ``tenant``'s rows; ``read_only``: a
    READ ONLY transaction; ``vector_scan`` (an ``hnsw.ef_search``; 0: none): the vector
    lists' settings too (``filters.tune_vector_scan``, whose round trip this saves).
    One round trip: ``set_config('role', ...)`` is ``SET LOCAL ROLE``, and
    ``transaction_read_only`` on is ``SET TRANSACTION READ ONLY``, which may come at any
    point of a transaction (only turning it off must come first)."""
    binds = {"tenant": str(tenant), "role": APP_ROLE}
    if vector_scan:
        binds["ef"] = str(int(vector_scan))
    await session.execute(_ENTER[read_only, bool(vector_scan)], binds)
    if vector_scan:
        mark_vector_scan(session, vector_scan)


_ENTER_SQL = (
    "SELECT set_config('memory.tenant', :tenant, true), "
    "CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :role) THEN "
    "CASE WHEN pg_has_role(current_user, :role, 'MEMBER') "
    "THEN set_config('role', :role, true) END END"
)
_ENTER = {
    (read_only, scan): text(
        _ENTER_SQL
        + (", set_config('transaction_read_only', 'on', true)" if read_only else "")
        + (", " + VECTOR_SETTINGS if scan else "")
    )
    for read_only in (False, True)
    for scan in (False, True)
}
"""The statement entering a tenant, by (read only, with the vector lists' settings)."""
