"""Row-level security on every tenant table: a second wall behind the tenant filters.

A request's transaction runs as the role ``memory_app`` (no superuser, no BYPASSRLS)
with ``memory.tenant`` set to its tenant; rows of other tenants are then invisible and
cannot be written, whatever a query forgets. System work (jobs, key lookups) leaves
``memory.tenant`` unset.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 01:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "memory_app"
TABLES = (
    "api_keys",
    "episodes",
    "memories",
    "memory_history",
    "entities",
    "hyperedge_members",
    "retrievals",
    "feedback",
    "jobs",
    "idempotency_keys",
)
RULE = (
    "coalesce(current_setting('memory.tenant', true), '') = '' "
    "OR tenant_id = current_setting('memory.tenant', true)::uuid"
)


def upgrade() -> None:
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
                CREATE ROLE {ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
            END IF;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'cannot create role {ROLE}: connect as a non-owner role instead';
        END $$;
        """
    )
    op.execute(
        f"""
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
                EXECUTE 'GRANT USAGE ON SCHEMA public TO {ROLE}';
                EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE'
                    ' ON ALL TABLES IN SCHEMA public TO {ROLE}';
                EXECUTE 'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {ROLE}';
                EXECUTE 'GRANT {ROLE} TO CURRENT_USER';
            END IF;
        END $$;
        """
    )
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_wall ON {table} USING ({RULE}) WITH CHECK ({RULE})")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_wall ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
