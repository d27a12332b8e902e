"""Full-text search through the GIN index under row-level security.

Under row-level security PostgreSQL will not use the GIN index for ``@@`` (the operator
is not leakproof), so a full-text search scanned every row of the tenant. Two SECURITY
DEFINER functions search instead. They run as their owner (the migration's role, which
on the embedded server bypasses row-level security) and keep the tenant wall themselves:

- they keep to the tenant they are given, and return nothing when ``memory.tenant``
  (the setting row-level security reads) names another one: exactly the rows the
  policy and the caller's tenant filter together let through;
- every argument is bound (``EXECUTE ... USING``), ``search_path`` is pinned;
- they return ids and ranks only; the caller joins them back to the table under
  row-level security, which checks the tenant a second time;
- EXECUTE is revoked from PUBLIC and granted to the application role.

Where the owner does not bypass row-level security (a managed PostgreSQL), the policy
still applies inside them: the same rows, without the GIN index.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 05:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "memory_app"
WALL = "nullif(current_setting('memory.tenant', true), '')::uuid"

EPISODES = f"""
CREATE OR REPLACE FUNCTION episode_text_hits(
    tenant uuid, terms tsquery, user_id text, agent_id text, session_id text,
    since timestamptz, until timestamptz, k integer
) RETURNS TABLE (id uuid, rank real)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    wall uuid := {WALL};
BEGIN
    IF tenant IS NULL OR terms IS NULL OR (wall IS NOT NULL AND wall <> tenant) THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE
        'SELECT e.id, ts_rank_cd(e.tsv, $1) FROM public.episodes e
          WHERE e.tenant_id = $2
            AND ($3::text IS NULL OR e.user_id = $3)
            AND ($4::text IS NULL OR e.agent_id = $4)
            AND ($5::text IS NULL OR e.session_id = $5)
            AND ($6::timestamptz IS NULL OR e.occurred_at >= $6)
            AND ($7::timestamptz IS NULL OR e.occurred_at < $7)
            AND e.tsv @@ $1
          ORDER BY 2 DESC, e.seq
          LIMIT $8'
        USING terms, tenant, user_id, agent_id, session_id, since, until, k;
END
$fn$
"""

MEMORIES = f"""
CREATE OR REPLACE FUNCTION memory_text_hits(
    tenant uuid, terms tsquery, user_id text, agent_id text, session_id text,
    since timestamptz, until timestamptz, k integer
) RETURNS TABLE (id uuid, rank real)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    wall uuid := {WALL};
BEGIN
    IF tenant IS NULL OR terms IS NULL OR (wall IS NOT NULL AND wall <> tenant) THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE
        'SELECT m.id, ts_rank_cd(m.tsv, $1) FROM public.memories m
          WHERE m.tenant_id = $2
            AND m.status = ''active''
            AND ($3::text IS NULL OR m.user_id = $3)
            AND ($4::text IS NULL OR m.agent_id = $4)
            AND ($5::text IS NULL OR m.session_id = $5)
            AND ($6::timestamptz IS NULL OR coalesce(m.valid_from, m.created_at) >= $6)
            AND ($7::timestamptz IS NULL OR coalesce(m.valid_from, m.created_at) < $7)
            AND m.tsv @@ $1
          ORDER BY 2 DESC, m.created_at
          LIMIT $8'
        USING terms, tenant, user_id, agent_id, session_id, since, until, k;
END
$fn$
"""

SIGNATURE = "(uuid, tsquery, text, text, text, timestamptz, timestamptz, integer)"
FUNCTIONS = ("episode_text_hits", "memory_text_hits")


def upgrade() -> None:
    op.execute(EPISODES)
    op.execute(MEMORIES)
    for name in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {name}{SIGNATURE} FROM PUBLIC")
        op.execute(
            f"""
            DO $$
            BEGIN
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
                    EXECUTE 'GRANT EXECUTE ON FUNCTION {name}{SIGNATURE} TO {ROLE}';
                END IF;
            END $$;
            """
        )


def downgrade() -> None:
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {name}{SIGNATURE}")
