"""Embedding spaces: which model made each tenant's vectors, and reembed's progress.

``embedding_spaces`` names one model at one width; ``tenants.space_id`` the space of
the tenant's stored vectors. A tenant from before this revision has none recorded: its
first write records the service's embedder (start it with the one that made them).
``reembed_progress`` is where ``memory-service reembed`` keeps its keyset cursor per
table, so that a killed run resumes. The request role may read spaces and record one.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 11:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "memory_app"


def upgrade() -> None:
    op.create_table(
        "embedding_spaces",
        sa.Column("id", sa.SmallInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_embedding_spaces")),
        sa.UniqueConstraint("model", "dim", name="uq_embedding_spaces_model_dim"),
    )
    op.add_column("tenants", sa.Column("space_id", sa.SmallInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_tenants_space_id_embedding_spaces"),
        "tenants",
        "embedding_spaces",
        ["space_id"],
        ["id"],
    )
    op.create_table(
        "reembed_progress",
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("space_id", sa.SmallInteger(), nullable=False),
        sa.Column("after_tenant", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("after_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("done", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("finished", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["embedding_spaces.id"],
            name=op.f("fk_reembed_progress_space_id_embedding_spaces"),
        ),
        sa.PrimaryKeyConstraint("table_name", name=op.f("pk_reembed_progress")),
    )
    op.execute(
        f"""
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
                EXECUTE 'GRANT SELECT, INSERT ON embedding_spaces TO {ROLE}';
                EXECUTE 'GRANT USAGE, SELECT ON SEQUENCE embedding_spaces_id_seq TO {ROLE}';
            END IF;
        END $$;
        """
    )


def downgrade() -> None:
    op.drop_table("reembed_progress")
    op.drop_constraint(op.f("fk_tenants_space_id_embedding_spaces"), "tenants", type_="foreignkey")
    op.drop_column("tenants", "space_id")
    op.drop_table("embedding_spaces")
