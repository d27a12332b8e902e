"""Engine creation (asyncpg; pgvector values travel in their text form)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool


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
