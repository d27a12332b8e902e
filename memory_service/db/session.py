"""Engine creation (asyncpg; pgvector values travel in their text form)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

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
        {"pool_size": pool_size, "max_overflow": pool_size, "pool_pre_ping": True}
        if pool
        else {"poolclass": NullPool}
    )
    return create_async_engine(url, **kwargs)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def sync_url(url: str) -> str:
    """The same database through psycopg 3, for Alembic."""
    return url.replace("postgresql+asyncpg://", "postgresql+psycopg://", 1)


APP_ROLE = "memory_app"
SETUP_LOCK = 0x6D656D6F7279
"""The advisory lock that serialises setup across processes sharing one database:
migrations, and the first start's default tenant."""


async def enter_tenant(session: AsyncSession, tenant: UUID) -> None:
    """For this transaction: act as the unprivileged role (when it exists and we may
    use it), and let row-level security see only ``tenant``'s rows. One round trip:
    ``set_config('role', ...)`` is ``SET LOCAL ROLE``."""
    await session.execute(_ENTER_TENANT, {"tenant": str(tenant), "role": APP_ROLE})


_ENTER_TENANT = text(
    "SELECT set_config('memory.tenant', :tenant, true), "
    "CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :role) THEN "
    "CASE WHEN pg_has_role(current_user, :role, 'MEMBER') "
    "THEN set_config('role', :role, true) END END"
)
