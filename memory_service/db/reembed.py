"""``memory-service reembed`` in PostgreSQL: new vectors in a column beside the live one
(``embedding_next``, of the new model's width), then a column swap in one transaction.

While a run goes on, the service keeps reading and writing the live column; a trigger
clears a row's new vector when the service writes the row's live one (an edited
memory), and rows written since the cursor passed have none: both are found by
``stale``. The new column's HNSW index is built concurrently before the switch, so the
switch itself only renames: the search path keeps its query and an HNSW index on
``embedding``, of whatever width the store now has.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from memory_service.db.session import sqlstate
from memory_service.domain.errors import Conflict
from memory_service.domain.spaces import EmbeddingSpace, TableProgress, TextToEmbed
from memory_service.ports import EmbedFn

log = logging.getLogger(__name__)

TABLES = ("episodes", "memories", "entities")
TEXT = {
    "episodes": "CASE WHEN coalesce(speaker, '') <> '' THEN speaker || ': ' || text "
    "ELSE text END",  # as ``NewEpisode.embedding_text``
    "memories": "text",
    "entities": "name",
}
"""What each table's vectors are made from, as the service embeds it."""
NOT_NULL = ("episodes", "memories")
"""Tables whose ``embedding`` is NOT NULL (an entity's may be NULL: never embedded)."""
NEXT = "embedding_next"
TRIGGER = "reembed_stale"
FUNCTION = "memory_reembed_stale"
SWITCH_TRIES = 5
SWITCH_LOCK_TIMEOUT = "10s"
RUN_LOCK = 0x7265656D626564
"""The advisory lock one run holds from start to end (on a connection of its own)."""
RETRYABLE = frozenset({"40P01", "55P03", "40001"})
"""Deadlock, lock not available (the lock timeout), serialization failure."""


def vector_literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


def _rows(result: Any) -> list[TextToEmbed]:
    return [TextToEmbed(r.tenant_id, r.id, r.body) for r in result]


async def vector_width(conn: AsyncConnection, table: str, column: str = "embedding") -> int | None:
    """The declared width of a vector column (None: untyped or absent)."""
    width = (
        await conn.execute(
            text(
                "SELECT atttypmod FROM pg_attribute WHERE attrelid = to_regclass(:t) "
                "AND attname = :c AND NOT attisdropped"
            ),
            {"t": table, "c": column},
        )
    ).scalar_one_or_none()
    return int(width) if width is not None and width > 0 else None


class SqlReembed:
    """A :class:`~memory_service.ports.ReembedStore` over ``engine`` (the owner's role:
    no tenant is entered, so row-level security lets every tenant's rows through)."""

    tables = TABLES

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        async with self._engine.connect() as conn:
            got = (
                await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": RUN_LOCK})
            ).scalar()
            await conn.commit()
            if not got:
                raise Conflict("another `memory-service reembed` is running on this database")
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": RUN_LOCK})
                await conn.commit()

    async def needed(self, space: EmbeddingSpace) -> bool:
        async with self._engine.connect() as conn:
            if (await conn.execute(text("SELECT count(*) FROM reembed_progress"))).scalar():
                return True
            if await vector_width(conn, "episodes") != space.dim:
                return True
            # a tenant of another space, or of none that holds vectors (from before 0009)
            holds = " OR ".join(
                f"EXISTS (SELECT 1 FROM {table} x WHERE x.tenant_id = t.id)" for table in TABLES
            )
            other = await conn.execute(
                text(
                    "SELECT 1 FROM tenants t LEFT JOIN embedding_spaces s ON s.id = t.space_id "
                    f"WHERE (s.id IS NULL AND ({holds})) OR s.model <> :m OR s.dim <> :d LIMIT 1"
                ),
                {"m": space.model, "d": space.dim},
            )
            return other.first() is not None

    async def start(self, space: EmbeddingSpace) -> dict[str, TableProgress]:
        async with self._engine.begin() as conn:
            space_id = await _space_id(conn, space)
            for table in TABLES:
                row = (
                    await conn.execute(
                        text("SELECT space_id FROM reembed_progress WHERE table_name = :t"),
                        {"t": table},
                    )
                ).first()
                same = row is not None and row.space_id == space_id
                if same and await vector_width(conn, table, NEXT) == space.dim:
                    continue  # resume
                await conn.execute(text(f"ALTER TABLE {table} DROP COLUMN IF EXISTS {NEXT}"))
                await conn.execute(
                    text(f"ALTER TABLE {table} ADD COLUMN {NEXT} vector({int(space.dim)})")
                )
                await conn.execute(
                    text(
                        "INSERT INTO reembed_progress (table_name, space_id) VALUES (:t, :s) "
                        "ON CONFLICT (table_name) DO UPDATE SET space_id = :s, "
                        "after_tenant = NULL, after_id = NULL, done = 0, finished = false, "
                        "started_at = now(), updated_at = now()"
                    ),
                    {"t": table, "s": space_id},
                )
            await conn.execute(
                text(
                    f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger "
                    "LANGUAGE plpgsql AS $$ BEGIN "
                    f"IF NEW.embedding IS DISTINCT FROM OLD.embedding THEN NEW.{NEXT} := NULL; "
                    "END IF; RETURN NEW; END $$"
                )
            )
            for table in TABLES:
                await conn.execute(text(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}"))
                await conn.execute(
                    text(
                        f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OF embedding ON {table} "
                        f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
                    )
                )
            return await self._progress(conn)

    async def _progress(self, conn: AsyncConnection) -> dict[str, TableProgress]:
        found: dict[str, TableProgress] = {}
        for table in TABLES:
            where = "" if table in NOT_NULL else " WHERE embedding IS NOT NULL"
            total = (await conn.execute(text(f"SELECT count(*) FROM {table}{where}"))).scalar()
            row = (
                await conn.execute(
                    text("SELECT done, finished FROM reembed_progress WHERE table_name = :t"),
                    {"t": table},
                )
            ).one()
            found[table] = TableProgress(int(row.done), int(total or 0), bool(row.finished))
        return found

    async def next_batch(self, table: str, limit: int) -> list[TextToEmbed]:
        live = "" if table in NOT_NULL else " AND x.embedding IS NOT NULL"
        async with self._engine.connect() as conn:
            result = await conn.execute(
                text(
                    f"SELECT x.tenant_id, x.id, {TEXT[table]} AS body FROM {table} x, "
                    "reembed_progress p WHERE p.table_name = :t AND NOT p.finished "
                    "AND (p.after_tenant IS NULL OR (x.tenant_id, x.id) > "
                    f"(p.after_tenant, p.after_id)){live} ORDER BY x.tenant_id, x.id LIMIT :n"
                ),
                {"t": table, "n": limit},
            )
            rows = _rows(result)
            if not rows:
                await conn.execute(
                    text("UPDATE reembed_progress SET finished = true WHERE table_name = :t"),
                    {"t": table},
                )
                await conn.commit()
            return rows

    async def store(
        self, table: str, rows: Sequence[TextToEmbed], vectors: Sequence[Sequence[float]]
    ) -> None:
        if not rows:
            return
        async with self._engine.begin() as conn:
            await _write(conn, table, rows, vectors)
            await conn.execute(
                text(
                    "UPDATE reembed_progress SET after_tenant = :a, after_id = :i, "
                    "done = done + :n, updated_at = now() WHERE table_name = :t"
                ),
                {"a": rows[-1].tenant, "i": rows[-1].id, "n": len(rows), "t": table},
            )

    async def stale(self, table: str, limit: int) -> list[TextToEmbed]:
        async with self._engine.connect() as conn:
            return await _stale(conn, table, limit)

    async def store_stale(
        self, table: str, rows: Sequence[TextToEmbed], vectors: Sequence[Sequence[float]]
    ) -> None:
        async with self._engine.begin() as conn:
            await _write(conn, table, rows, vectors)

    async def build_indexes(self) -> None:
        async with self._engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in TABLES:
                index = f"ix_{table}_{NEXT}"
                valid = (
                    await auto.execute(
                        text(
                            "SELECT i.indisvalid FROM pg_index i "
                            "WHERE i.indexrelid = to_regclass(:ix)"
                        ),
                        {"ix": index},
                    )
                ).scalar_one_or_none()
                if valid is True:
                    continue
                if valid is False:  # a build that was killed: start it again
                    await auto.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {index}"))
                await auto.execute(
                    text(
                        f"CREATE INDEX CONCURRENTLY {index} ON {table} USING hnsw "
                        f"({NEXT} vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
                    )
                )

    async def switch(self, space: EmbeddingSpace, embed: EmbedFn) -> None:
        for attempt in range(1, SWITCH_TRIES + 1):
            try:
                await self._switch(space, embed)
                break
            except DBAPIError as exc:
                if sqlstate(exc) not in RETRYABLE or attempt == SWITCH_TRIES:
                    raise
                log.warning("reembed: switch attempt %d gave way (%s); again", attempt, exc)
                await asyncio.sleep(0.5 * attempt)
        async with self._engine.connect() as conn:  # every row was rewritten: tidy, re-plan
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(text(f"VACUUM (ANALYZE) {', '.join(TABLES)}"))

    async def _switch(self, space: EmbeddingSpace, embed: EmbedFn) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(text(f"SET LOCAL lock_timeout = '{SWITCH_LOCK_TIMEOUT}'"))
            space_id = await _space_id(conn, space)
            # Tenants first: a writer holds its tenant's row (in share mode) before it
            # touches a vector table, so taking both in this order cannot deadlock it.
            await conn.execute(text("UPDATE tenants SET space_id = :s"), {"s": space_id})
            await conn.execute(text(f"LOCK TABLE {', '.join(TABLES)} IN ACCESS EXCLUSIVE MODE"))
            for table in TABLES:
                while rows := await _stale(conn, table, 1000):
                    await _write(conn, table, rows, await embed([r.text for r in rows]))
            for table in TABLES:
                await conn.execute(text(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}"))
                await conn.execute(text(f"ALTER TABLE {table} DROP COLUMN embedding"))
                await conn.execute(text(f"ALTER TABLE {table} RENAME COLUMN {NEXT} TO embedding"))
                await conn.execute(
                    text(f"ALTER INDEX ix_{table}_{NEXT} RENAME TO ix_{table}_embedding")
                )
                if table in NOT_NULL:
                    await conn.execute(
                        text(f"ALTER TABLE {table} ALTER COLUMN embedding SET NOT NULL")
                    )
            await conn.execute(text(f"DROP FUNCTION IF EXISTS {FUNCTION}()"))
            await conn.execute(text("DELETE FROM reembed_progress"))


async def _space_id(conn: AsyncConnection, space: EmbeddingSpace) -> int:
    await conn.execute(
        text(
            "INSERT INTO embedding_spaces (model, dim) VALUES (:m, :d) "
            "ON CONFLICT (model, dim) DO NOTHING"
        ),
        {"m": space.model, "d": space.dim},
    )
    found = await conn.execute(
        text("SELECT id FROM embedding_spaces WHERE model = :m AND dim = :d"),
        {"m": space.model, "d": space.dim},
    )
    return int(found.scalar_one())


async def _stale(conn: AsyncConnection, table: str, limit: int) -> list[TextToEmbed]:
    result = await conn.execute(
        text(
            f"SELECT tenant_id, id, {TEXT[table]} AS body FROM {table} "
            f"WHERE {NEXT} IS NULL AND embedding IS NOT NULL ORDER BY tenant_id, id LIMIT :n"
        ),
        {"n": limit},
    )
    return _rows(result)


async def _write(
    conn: AsyncConnection,
    table: str,
    rows: Sequence[TextToEmbed],
    vectors: Sequence[Sequence[float]],
) -> None:
    stmt = text(
        f"UPDATE {table} x SET {NEXT} = CAST(v.e AS vector) "
        "FROM unnest(CAST(:tenants AS uuid[]), CAST(:ids AS uuid[]), CAST(:vectors AS text[])) "
        "AS v(tenant_id, id, e) WHERE x.tenant_id = v.tenant_id AND x.id = v.id"
    )
    await conn.execute(
        stmt,
        {
            "tenants": [r.tenant for r in rows],
            "ids": [r.id for r in rows],
            "vectors": [vector_literal(v) for v in vectors],
        },
    )
