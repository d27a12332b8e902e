"""The schema revision a database is at (readiness compares it to the migrations')."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def schema_revision(engine: AsyncEngine) -> str | None:
    """Alembic's revision of the database behind ``engine``; None before any migration
    stamped it. A database that does not answer raises whatever its driver raises."""
    async with engine.connect() as conn:
        revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    return None if revision is None else str(revision)
